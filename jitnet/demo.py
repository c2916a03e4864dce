"""``python -m jitnet demo``: the book's chapter-10 spiral, jitnet against the book.

Trains the 2-64-3 network (Adam, learning rate 0.05, decay 5e-7) on
``spiral_data(100, 3)`` with jitnet, then the same run with
``jitnet.reference`` (the book's NumPy code), and prints the book's log lines,
the accuracy and loss on a fresh test spiral, both wall times and the speedup.
"""
import time

import numpy as np
from nnfs.datasets import spiral_data

SEED = 0


def train_spiral(lib, X, y, epochs, print_every=0, out=print):
    """The book's chapter-10 loop with ``lib``'s classes; returns the layers."""
    np.random.seed(SEED)
    dense1, relu = lib.Layer_Dense(2, 64), lib.Activation_ReLU()
    dense2 = lib.Layer_Dense(64, 3)
    loss_activation = lib.Activation_Softmax_Loss_CategoricalCrossentropy()
    optimizer = lib.Optimizer_Adam(learning_rate=0.05, decay=5e-7)
    for epoch in range(epochs):
        dense1.forward(X)
        relu.forward(dense1.output)
        dense2.forward(relu.output)
        loss = loss_activation.forward(dense2.output, y)
        if print_every and not epoch % print_every:
            accuracy = np.mean(np.argmax(loss_activation.output, axis=1) == y)
            out(f"epoch: {epoch}, acc: {accuracy:.3f}, loss: {loss:.3f}, "
                f"lr: {optimizer.current_learning_rate}")
        loss_activation.backward(loss_activation.output, y)
        dense2.backward(loss_activation.dinputs)
        relu.backward(dense2.dinputs)
        dense1.backward(relu.dinputs)
        optimizer.pre_update_params()
        optimizer.update_params(dense1)
        optimizer.update_params(dense2)
        optimizer.post_update_params()
    return dense1, relu, dense2, loss_activation


def evaluate(lib, layers, X, y):
    """Accuracy and loss of trained layers on (X, y)."""
    dense1, relu, dense2, loss_activation = layers
    dense1.forward(X)
    relu.forward(dense1.output)
    dense2.forward(relu.output)
    loss = loss_activation.forward(dense2.output, y)
    return float(np.mean(np.argmax(loss_activation.output, axis=1) == y)), float(loss)


def run(epochs=10001, print_every=1000, out=print):
    """Run the demo; return a dict of what it printed."""
    import jitnet.nnfs as fast
    import jitnet.reference as book

    np.random.seed(SEED)
    X, y = spiral_data(samples=100, classes=3)
    X_test, y_test = spiral_data(samples=100, classes=3)
    X, X_test = X.astype(np.float32), X_test.astype(np.float32)

    train_spiral(fast, X, y, 2)  # compile (or load from cache) first
    out(f"jitnet: chapter 10 spiral, 2-64-3, Adam(0.05, decay=5e-7), {epochs} epochs")
    start = time.perf_counter()
    layers = train_spiral(fast, X, y, epochs, print_every, out)
    fast_time = time.perf_counter() - start
    acc, loss = evaluate(fast, layers, X_test, y_test)
    out(f"test spiral: acc: {acc:.3f}, loss: {loss:.3f}")

    start = time.perf_counter()
    train_spiral(book, X, y, epochs)
    book_time = time.perf_counter() - start
    out(f"jitnet {fast_time:.2f} s, book NumPy {book_time:.2f} s: "
        f"{book_time / fast_time:.1f}x faster")
    return {"accuracy": acc, "loss": loss, "jitnet_seconds": fast_time,
            "reference_seconds": book_time}
