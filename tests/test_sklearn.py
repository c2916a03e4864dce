"""``jitnet.sklearn``: the estimator contract, sweeps on threads and on a Dask cluster."""
import joblib
import numpy as np
import pytest

pytest.importorskip("sklearn")
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from jitnet.sklearn import MLPClassifier, MLPRegressor  # noqa: E402


@parametrize_with_checks([MLPClassifier(epochs=20, random_state=0),
                          MLPRegressor(epochs=20, random_state=0)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def _digits(n=600):
    digits = load_digits()
    return digits.data[:n] / 16.0, digits.target[:n]


def test_string_labels_probabilities_and_repeatable_fits():
    X, y = _digits(300)
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                      "eight", "nine"])[y]
    clf = MLPClassifier(hidden_layer_sizes=(32,), epochs=30, random_state=3).fit(X, names)
    assert set(clf.classes_) == set(names) and clf.n_features_in_ == 64
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert clf.score(X, names) > 0.9
    again = MLPClassifier(hidden_layer_sizes=(32,), epochs=30, random_state=3).fit(X, names)
    np.testing.assert_array_equal(again.predict_proba(X), proba)
    state = np.random.get_state()[1].copy()
    MLPClassifier(epochs=1, random_state=4).fit(X, names)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # global RNG untouched


@pytest.mark.parametrize("optimizer", ["sgd", "adagrad", "rmsprop", "adam"])
def test_every_optimizer_and_partial_fit(optimizer):
    X, y = _digits(300)
    clf = MLPClassifier(optimizer=optimizer, learning_rate=0.05 if optimizer != "adam" else 0.005,
                        momentum=0.5, dropout=0.1, l2=1e-4, epochs=1, random_state=0)
    clf.partial_fit(X, y, classes=np.arange(10))
    first = clf.loss_curve_[-1]
    for _ in range(10):
        clf.partial_fit(X, y)
    assert len(clf.loss_curve_) == 11 and clf.loss_curve_[-1] < first
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X[:3], np.array([10, 11, 12]))


def test_regressor_multi_output():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    Y = np.column_stack([X @ [1.0, -2.0, 0.5], X[:, 0] ** 2])
    reg = MLPRegressor(hidden_layer_sizes=(32, 32), epochs=150, learning_rate=0.005,
                       random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (200, 2) and reg.score(X, Y) > 0.8
    single = MLPRegressor(epochs=50, random_state=0).fit(X, Y[:, 0])
    assert single.predict(X).shape == (200,)


def test_bad_settings_raise():
    X, y = _digits(50)
    with pytest.raises(ValueError, match="optimizer"):
        MLPClassifier(optimizer="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="activation"):
        MLPClassifier(activation="tanh").fit(X, y)
    with pytest.raises(ValueError, match="2 classes"):
        MLPClassifier().fit(X, np.zeros(len(X)))


GRID = {"learning_rate": [0.002, 0.01], "hidden_layer_sizes": [(32,), (64,)],
        "dropout": [0.0, 0.1]}


def test_grid_search_on_threads():
    X, y = _digits()
    search = GridSearchCV(MLPClassifier(epochs=15, random_state=0), GRID, cv=2, n_jobs=2)
    with joblib.parallel_backend("threading"):
        search.fit(X, y)
    assert search.best_score_ > 0.8
    serial = GridSearchCV(MLPClassifier(epochs=15, random_state=0), GRID, cv=2, n_jobs=1)
    serial.fit(X, y)
    # Each fit seeds its own thread's generators: threads change nothing.
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               serial.cv_results_["mean_test_score"])


def test_grid_search_on_a_dask_cluster():
    distributed = pytest.importorskip("distributed")
    X, y = _digits()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        search = GridSearchCV(MLPClassifier(epochs=15, random_state=0), GRID, cv=2)
        with joblib.parallel_backend("dask"):
            search.fit(X, y)
    assert search.best_score_ > 0.8 and len(search.cv_results_["params"]) == 8
