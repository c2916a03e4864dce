"""Chapter 10: the four optimizers on the spiral, side by side.

Trains the book's 2-64-3 network with SGD (+momentum), Adagrad, RMSprop and
Adam, using the book's settings, prints a table of final loss and accuracy
(train and a fresh test spiral) and saves their loss curves next to this file.
    python examples/ch10_optimizers.py
"""
import pathlib
import sys

import jitnet as jn
from jitnet.datasets import spiral_data

EPOCHS = 2001
OPTIMIZERS = {
    "SGD, momentum 0.9": lambda: jn.SGD(learning_rate=1.0, decay=1e-3, momentum=0.9),
    "Adagrad": lambda: jn.Adagrad(learning_rate=1.0, decay=1e-4),
    "RMSprop": lambda: jn.RMSprop(learning_rate=0.02, decay=1e-5, rho=0.999),
    "Adam": lambda: jn.Adam(learning_rate=0.05, decay=5e-7),
}

jn.seed(0)
X, y = spiral_data(samples=100, classes=3)
X_test, y_test = spiral_data(samples=100, classes=3)

curves = {}
print(f"{'optimizer':<18} {'loss':>7} {'acc':>7} {'test loss':>10} {'test acc':>9}")
for name, make in OPTIMIZERS.items():
    jn.seed(0)  # the same initial weights for every optimizer
    model = jn.Model()
    model.add(jn.Dense(2, 64))
    model.add(jn.ReLU())
    model.add(jn.Dense(64, 3))
    model.add(jn.Softmax())
    model.set(loss=jn.CategoricalCrossentropy(), optimizer=make(),
              accuracy=jn.CategoricalAccuracy())
    model.finalize()
    history = model.train(X, y, epochs=EPOCHS, verbose=False)
    test_loss, test_acc = model.evaluate(X_test, y_test, verbose=False)
    curves[name] = history.loss
    print(f"{name:<18} {history.loss[-1]:7.3f} {history.accuracy[-1]:7.3f}"
          f" {test_loss:10.3f} {test_acc:9.3f}")

try:
    import matplotlib.pyplot as plt
except ImportError:
    print("(install matplotlib for the plot: pip install -e \".[examples]\")")
    sys.exit(0)
fig, ax = plt.subplots(figsize=(6, 4))
for name, losses in curves.items():
    ax.plot(losses, label=name)
ax.set(xlabel="epoch", ylabel="training loss", yscale="log",
       title="Chapter 10: optimizers on the spiral (2-64-3)")
ax.legend()
fig.tight_layout()
out = pathlib.Path(__file__).with_suffix(".png")
fig.savefig(out)
print(f"saved {out}")
