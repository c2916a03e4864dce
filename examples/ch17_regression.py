"""Chapter 17: regression on sine_data (linear output, mean squared error).

1-64-64-1 network, weights started at 0.1 * randn as the book settles on, and
a plot of the fit saved next to this file.
    python examples/ch17_regression.py
"""
import pathlib
import sys

import jitnet as jn
from jitnet.datasets import sine_data

jn.seed(0)
X, y = sine_data()

model = jn.Model()
for layer in (jn.Dense(1, 64, weight_scale=0.1), jn.ReLU(),  # chapter 17's 0.1 * randn
              jn.Dense(64, 64, weight_scale=0.1), jn.ReLU(),
              jn.Dense(64, 1, weight_scale=0.1), jn.Linear()):
    model.add(layer)
model.set(loss=jn.MeanSquaredError(), optimizer=jn.Adam(learning_rate=0.005, decay=1e-3),
          accuracy=jn.RegressionAccuracy())
model.finalize()
model.train(X, y, epochs=10001, print_every=2500)
prediction = model.predict(X)
print(f"mean absolute error: {abs(prediction - y).mean():.4f}")

try:
    import matplotlib.pyplot as plt
except ImportError:
    print("(install matplotlib for the plot: pip install -e \".[examples]\")")
    sys.exit(0)
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(X, y, label="sine_data", lw=3, alpha=0.5)
ax.plot(X, prediction, "--", label="jitnet model", lw=1.5)
ax.set(xlabel="x", ylabel="y", title="Chapter 17: regression, 1-64-64-1")
ax.legend()
fig.tight_layout()
out = pathlib.Path(__file__).with_suffix(".png")
fig.savefig(out)
print(f"saved {out}")
