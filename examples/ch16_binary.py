"""Chapter 16: binary logistic regression (sigmoid + binary cross-entropy).

Two-class spiral, 2-64-1 network with L2, as in the book.
    python examples/ch16_binary.py
"""
import jitnet as jn
from jitnet.datasets import spiral_data

jn.seed(0)
X, y = spiral_data(samples=100, classes=2)
X_test, y_test = spiral_data(samples=100, classes=2)
y, y_test = y.reshape(-1, 1), y_test.reshape(-1, 1)  # one output per sample

model = jn.Model()
model.add(jn.Dense(2, 64, weight_regularizer_l2=5e-4, bias_regularizer_l2=5e-4))
model.add(jn.ReLU())
model.add(jn.Dense(64, 1))
model.add(jn.Sigmoid())
model.set(loss=jn.BinaryCrossentropy(), optimizer=jn.Adam(decay=5e-7),
          accuracy=jn.CategoricalAccuracy(binary=True))
model.finalize()
model.train(X, y, epochs=10001, print_every=2000)
loss, accuracy = model.evaluate(X_test, y_test)
probabilities = model.predict(X_test[:5])
print("first test samples: p(class 1) =", probabilities.ravel().round(3),
      "predicted", model.output_layer_activation.predictions(probabilities).ravel(),
      "true", y_test[:5].ravel())
