"""Real data: scikit-learn's diabetes progression set (10 features, regression).

Linear output and mean squared error; reports R^2 on held-out patients.
    python examples/sklearn_diabetes.py
"""
from sklearn.datasets import load_diabetes
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import jitnet as jn

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
x_scaler = StandardScaler().fit(X_train)
y_mean, y_std = y_train.mean(), y_train.std()  # targets 25..346: scale them too
X_train, X_test = x_scaler.transform(X_train), x_scaler.transform(X_test)
t_train = ((y_train - y_mean) / y_std).reshape(-1, 1)

jn.seed(0)
model = jn.Model()
model.add(jn.Dense(10, 64, weight_regularizer_l2=1e-3))
model.add(jn.ReLU())
model.add(jn.Dense(64, 1))
model.add(jn.Linear())
model.set(loss=jn.MeanSquaredError(), optimizer=jn.Adam(learning_rate=0.001, decay=1e-3),
          accuracy=jn.RegressionAccuracy())
model.finalize()
history = model.train(X_train, t_train, epochs=200, batch_size=32, shuffle=True, verbose=False)
print(f"{len(history)} epochs: train loss {history.loss[-1]:.3f}")
prediction = model.predict(X_test).ravel() * y_std + y_mean
print(f"diabetes test R^2: {r2_score(y_test, prediction):.3f}"
      f" (a linear model gets about 0.36 on this split)")
