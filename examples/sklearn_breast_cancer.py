"""Real data: scikit-learn's breast cancer set (30 features, benign or malignant).

Binary classification with a sigmoid output and binary cross-entropy.
    python examples/sklearn_breast_cancer.py
"""
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import jitnet as jn

data = load_breast_cancer()
X_train, X_test, y_train, y_test = train_test_split(
    data.data, data.target, test_size=0.25, random_state=0, stratify=data.target)
scaler = StandardScaler().fit(X_train)  # features span 0.001..4000: standardise
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
y_train, y_test = y_train.reshape(-1, 1), y_test.reshape(-1, 1)

jn.seed(0)
model = jn.Model()
model.add(jn.Dense(30, 32, weight_regularizer_l2=1e-4))
model.add(jn.ReLU())
model.add(jn.Dropout(0.1))
model.add(jn.Dense(32, 1))
model.add(jn.Sigmoid())
model.set(loss=jn.BinaryCrossentropy(), optimizer=jn.Adam(learning_rate=0.001),
          accuracy=jn.CategoricalAccuracy(binary=True))
model.finalize()
history = model.train(X_train, y_train, epochs=60, batch_size=32, shuffle=True, verbose=False)
print(f"{len(history)} epochs: train loss {history.loss[-1]:.3f}, acc {history.accuracy[-1]:.3f}")
loss, accuracy = model.evaluate(X_test, y_test)
print(f"breast cancer test accuracy: {accuracy:.3f} ({len(X_test)} patients)")
