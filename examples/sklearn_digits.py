"""Real data: scikit-learn's handwritten digits (8x8 images, 10 classes).

A 64-128-10 network, minibatches with shuffling, held-out test set.
    python examples/sklearn_digits.py
"""
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import jitnet as jn

digits = load_digits()
X = digits.data.astype(np.float32) / 16.0  # pixels 0..16 -> 0..1
X_train, X_test, y_train, y_test = train_test_split(
    X, digits.target, test_size=0.25, random_state=0, stratify=digits.target)

jn.seed(0)
model = jn.Model()
model.add(jn.Dense(64, 128))
model.add(jn.ReLU())
model.add(jn.Dense(128, 10))
model.add(jn.Softmax())
model.set(loss=jn.CategoricalCrossentropy(), optimizer=jn.Adam(learning_rate=0.005),
          accuracy=jn.CategoricalAccuracy())
model.finalize()
history = model.train(X_train, y_train, epochs=30, batch_size=32, shuffle=True,
                      validation_data=(X_test, y_test), verbose=False)
print(f"{len(history)} epochs: train acc {history.accuracy[-1]:.3f},"
      f" validation acc {history.val_accuracy[-1]:.3f}")
loss, accuracy = model.evaluate(X_test, y_test)
print(f"digits test accuracy: {accuracy:.3f} ({len(X_test)} images)")
