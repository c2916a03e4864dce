"""Early stopping on real data: scikit-learn's handwritten digits.

A 64-256-256-10 network overfits the 1077 training images within a few dozen
epochs: its validation loss turns up while the training loss keeps falling.
``jn.EarlyStopping`` stops training once the validation loss has not improved
for 10 epochs and puts back the best epoch's parameters; the plot shows both
curves and where it stopped.
    python examples/early_stopping_digits.py     (writes early_stopping_digits.png)
"""
import pathlib

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import jitnet as jn

digits = load_digits()
X = digits.data.astype(np.float32) / 16.0  # pixels 0..16 -> 0..1
X_rest, X_test, y_rest, y_test = train_test_split(
    X, digits.target, test_size=0.2, random_state=0, stratify=digits.target)
X_train, X_val, y_train, y_val = train_test_split(
    X_rest, y_rest, test_size=0.25, random_state=0, stratify=y_rest)

jn.seed(0)
np.random.seed(0)
model = jn.Model()
for n_in, n_out in ((64, 256), (256, 256)):
    model.add(jn.Dense(n_in, n_out))
    model.add(jn.ReLU())
model.add(jn.Dense(256, 10))
model.add(jn.Softmax())
model.set(loss=jn.CategoricalCrossentropy(), optimizer=jn.Adam(learning_rate=0.002),
          accuracy=jn.CategoricalAccuracy())
model.finalize()

stopper = jn.EarlyStopping(monitor="val_loss", patience=10)
max_epochs = 500
history = model.train(X_train, y_train, epochs=max_epochs, batch_size=32, shuffle=True,
                      validation_data=(X_val, y_val), verbose=False, callbacks=[stopper])
print(f"stopped after {len(history)} of {max_epochs} epochs; best epoch"
      f" {stopper.best_epoch}: val_loss {stopper.best:.4f}")
loss, accuracy = model.evaluate(X_test, y_test, verbose=False)
print(f"digits test accuracy: {accuracy:.3f} ({len(X_test)} images, best epoch's network)")

fig, ax = plt.subplots(figsize=(6.4, 3.6))
ax.plot(history.epochs, history.loss, label="training loss")
ax.plot(history.epochs, history.val_loss, label="validation loss")
ax.axvline(stopper.best_epoch, color="grey", linestyle="--",
           label=f"best epoch ({stopper.best_epoch}), restored")
ax.set(xlabel="epoch", ylabel="categorical cross-entropy", yscale="log",
       title="Digits 64-256-256-10, EarlyStopping(patience=10)")
ax.legend()
fig.tight_layout()
fig.savefig(pathlib.Path(__file__).with_suffix(".png"), dpi=100)
