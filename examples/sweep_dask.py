"""A hyperparameter sweep on a Dask cluster: scikit-learn's GridSearchCV, jitnet's MLP.

Searches learning rate, layer size and dropout on the digits data. By default
it starts a local cluster (2 worker processes); give a scheduler address to
use a real one:
    python examples/sweep_dask.py [--scheduler tcp://host:8786] [--epochs 20]
"""
import argparse
import time

import joblib
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split

from jitnet.sklearn import MLPClassifier

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler", help="address of a running Dask scheduler")
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.25,
                                                        random_state=0, stratify=y)
    grid = {"learning_rate": [0.001, 0.005, 0.02], "hidden_layer_sizes": [(32,), (128,)],
            "dropout": [0.0, 0.2]}
    search = GridSearchCV(MLPClassifier(epochs=args.epochs, batch_size=32, random_state=0),
                          grid, cv=3)

    if args.scheduler:
        client, cluster = Client(args.scheduler), None
    else:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
    print(f"Dask: {len(client.scheduler_info()['workers'])} workers at {client.scheduler.address}")
    start = time.perf_counter()
    with joblib.parallel_backend("dask"):
        search.fit(X_train, y_train)
    print(f"{len(search.cv_results_['params'])} settings x 3 folds in"
          f" {time.perf_counter() - start:.1f} s")
    print(f"best cross-validated accuracy {search.best_score_:.3f} with {search.best_params_}")
    print(f"test accuracy of the refitted best model: {search.score(X_test, y_test):.3f}")
    client.close()
    if cluster is not None:
        cluster.close()


if __name__ == "__main__":  # Dask starts workers by re-importing this file
    main()
