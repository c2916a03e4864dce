"""Chapters 14 and 15: L2 regularisation and dropout against overfitting.

Trains the book's spiral network four ways (plain, L2 5e-4, dropout 0.1,
both) and reads the train/validation gap from each run's History. To make
overfitting visible it uses chapter 15's 512 neurons on only 100 training
points per class: with chapter 14's 64 neurons and 1000 points per class the
gap is a few hundredths either way and which run wins depends on the seed.
    python examples/ch14_15_regularization.py
"""
import jitnet as jn
from jitnet.datasets import spiral_data

EPOCHS = 3001

jn.seed(0)
X, y = spiral_data(samples=100, classes=3)
X_val, y_val = spiral_data(samples=100, classes=3)


def train(l2, dropout):
    jn.seed(0)
    model = jn.Model()
    model.add(jn.Dense(2, 512, weight_regularizer_l2=l2, bias_regularizer_l2=l2))
    model.add(jn.ReLU())
    if dropout:
        model.add(jn.Dropout(dropout))
    model.add(jn.Dense(512, 3))
    model.add(jn.Softmax())
    model.set(loss=jn.CategoricalCrossentropy(),
              optimizer=jn.Adam(learning_rate=0.05, decay=5e-5),
              accuracy=jn.CategoricalAccuracy())
    model.finalize()
    history = model.train(X, y, epochs=EPOCHS, validation_data=(X_val, y_val),
                          verbose=False)
    # Training accuracy with dropout is measured with neurons dropped; score
    # both sets the same way (inference mode) for a fair gap.
    _, train_acc = model.evaluate(X, y, verbose=False)
    return train_acc, history.val_accuracy[-1], history.val_loss[-1]


print(f"{'model':<22} {'train acc':>9} {'val acc':>8} {'gap':>7} {'val loss':>9}")
for name, l2, dropout in (("plain", 0, 0), ("L2 5e-4", 5e-4, 0),
                          ("dropout 0.1", 0, 0.1), ("L2 5e-4 + dropout 0.1", 5e-4, 0.1)):
    train_acc, val_acc, val_loss = train(l2, dropout)
    print(f"{name:<22} {train_acc:9.3f} {val_acc:8.3f} {train_acc - val_acc:7.3f}"
          f" {val_loss:9.3f}")
print("Each kind of regularisation narrows the gap and lowers the validation loss.")
