"""The benchmark workloads, shared by ``python -m jitnet bench`` and the asv suite.

Each builder returns a callable that runs the workload once, from freshly
initialised weights (a run that went on training the previous run's network
would drift, e.g. into denormal floats, and time different arithmetic).
Compilation and data generation happen in the builder, never in the callable.
Data are seeded, so every run times the same arithmetic.
"""
import importlib

import numpy as np
from nnfs.datasets import spiral_data

SPIRAL_LR, SPIRAL_DECAY = 0.05, 5e-7
WIDE_LR, WIDE_DECAY = 0.001, 1e-3
WIDE_SHAPE = (784, 128, 128, 10)  # chapter 19's Fashion-MNIST network
WIDE_SAMPLES, WIDE_BATCH = 60000, 128  # 469 steps per epoch


def spiral():
    """Chapter 10's data: 300 points, 3 classes, seeded."""
    np.random.seed(0)
    X, y = spiral_data(samples=100, classes=3)
    return X.astype(np.float32), y


def fashion_like(samples=WIDE_SAMPLES):
    """Random data of Fashion-MNIST's shape, scaled to [-1, 1] as in chapter 19."""
    rng = np.random.default_rng(0)
    # In place and in float32: the peak memory measured should be training's.
    X = rng.random((samples, WIDE_SHAPE[0]), dtype=np.float32)
    X *= 2
    X -= 1
    y = rng.integers(0, WIDE_SHAPE[-1], samples)
    return X, y


def model(lib, sizes, optimizer):
    """A book ``Model`` (ReLU between Dense layers, softmax + CCE) from ``lib``."""
    np.random.seed(0)
    m = lib.Model()
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        m.add(lib.Layer_Dense(n_in, n_out))
        m.add(lib.Activation_ReLU() if i < len(sizes) - 2 else lib.Activation_Softmax())
    m.set(loss=lib.Loss_CategoricalCrossentropy(), optimizer=optimizer,
          accuracy=lib.Accuracy_Categorical())
    m.finalize()
    return m


def spiral_model_train(lib, epochs):
    """``Model.train`` on the spiral (2-64-3, Adam 0.05 / 5e-7), full batch."""
    X, y = spiral()

    def run(n=epochs):
        m = model(lib, (2, 64, 3), lib.Optimizer_Adam(learning_rate=SPIRAL_LR,
                                                      decay=SPIRAL_DECAY))
        m.train(X, y, epochs=n, verbose=False)

    run(1)  # compile (or load from cache) here, not in the timing
    return run


#: What :func:`spiral_model_callbacks` passes as ``callbacks``, by name.
CALLBACK_KINDS = ("none", "early_stopping", "python_callable")


def spiral_model_callbacks(kind, epochs):
    """jitnet's spiral ``Model.train`` with the callbacks named ``kind``.

    ``"early_stopping"`` is an ``EarlyStopping`` on the training loss that
    never stops it (the loss falls every epoch, so the best epoch's snapshot
    is taken every epoch: the rule's worst case); ``"python_callable"`` a
    do-nothing function, which makes every epoch a compiled call of its own.
    """
    import jitnet  # only here: the reference's workloads load no Numba

    X, y = spiral()
    lib = library("jitnet")
    make = {"none": lambda: None,
            "early_stopping": lambda: [jitnet.EarlyStopping(monitor="loss",
                                                            patience=epochs)],
            "python_callable": lambda: [lambda epoch, logs: None]}[kind]

    def run(n=epochs):
        m = model(lib, (2, 64, 3), lib.Optimizer_Adam(learning_rate=SPIRAL_LR,
                                                      decay=SPIRAL_DECAY))
        m.train(X, y, epochs=n, verbose=False, callbacks=make())

    run(1)
    return run


def spiral_book_loop(lib, epochs):
    """Chapter 10's per-layer loop with ``lib``'s classes (jitnet.nnfs or reference)."""
    X, y = spiral()

    def run(n=epochs):
        np.random.seed(0)
        dense1, relu = lib.Layer_Dense(2, 64), lib.Activation_ReLU()
        dense2 = lib.Layer_Dense(64, 3)
        head = lib.Activation_Softmax_Loss_CategoricalCrossentropy()
        optimizer = lib.Optimizer_Adam(learning_rate=SPIRAL_LR, decay=SPIRAL_DECAY)
        for _ in range(n):
            dense1.forward(X)
            relu.forward(dense1.output)
            dense2.forward(relu.output)
            head.forward(dense2.output, y)
            head.backward(head.output, y)
            dense2.backward(head.dinputs)
            relu.backward(dense2.dinputs)
            dense1.backward(relu.dinputs)
            optimizer.pre_update_params()
            optimizer.update_params(dense1)
            optimizer.update_params(dense2)
            optimizer.post_update_params()

    run(2)
    return run


def softmax_backward(lib, repeat=100):
    """``Softmax.backward`` on (300, 3), ``repeat`` times (the book's Jacobian loop)."""
    rng = np.random.default_rng(0)
    act = lib.Activation_Softmax()
    act.forward(rng.standard_normal((300, 3)).astype(np.float32))
    dvalues = rng.standard_normal((300, 3)).astype(np.float32)
    act.backward(dvalues)

    def run():
        for _ in range(repeat):
            act.backward(dvalues)
    return run


def wide_model_train(lib, samples=WIDE_SAMPLES):
    """One epoch of ``Model.train`` on the 784-128-128-10 network, batches of 128."""
    X, y = fashion_like(samples)

    def run(rows=samples):
        m = model(lib, WIDE_SHAPE, lib.Optimizer_Adam(learning_rate=WIDE_LR, decay=WIDE_DECAY))
        m.train(X[:rows], y[:rows], epochs=1, batch_size=WIDE_BATCH, verbose=False)

    run(WIDE_BATCH * 2)
    return run


# Imported by name, so that a process measuring the reference loads no Numba.
LIBRARIES = {"jitnet": "jitnet.nnfs", "reference": "jitnet.reference"}


def library(name):
    """The module of book-named classes for ``name`` ("jitnet" or "reference")."""
    return importlib.import_module(LIBRARIES[name])
