"""The book's own chapter scripts as benchmark workloads (chapters 10 and 14-19).

Each builder runs the training loop of one chapter's published script
(``Chapter_NN/ChNN_Final.py`` of the book's repository) with the classes of
``lib``, which is ``jitnet.workloads.library("jitnet")`` (``jitnet.nnfs``) or
``library("reference")`` (``jitnet.reference``, the book in pure NumPy; for
chapters 10-17 its classes as those scripts write them, :data:`SCRIPT_CLASSES`).
A reader who swaps the class definitions of a script for ``from jitnet.nnfs
import *`` runs exactly this code, so these rows measure what such a reader
gains, per epoch, lines between the calls included:

* chapters 10, 14, 15, 16, 17: the per-layer loop, with the script's data,
  layer sizes, regularisers, dropout and optimizer, and its per-epoch lines
  (loss ``calculate`` and ``regularization_loss`` calls, the argmax or
  ``np.mean`` accuracy, the ``if not epoch % 100`` progress line, formatted
  but written to an in-memory sink so a benchmark's output is not flooded);
* chapters 18 and 19: the book's ``Model`` and ``model.train(...)``, with the
  script's arguments and ``verbose=False`` where the library's ``train``
  accepts it (both jitnet's and the reference's do), else stdout redirected.

A book script starts with ``nnfs.init()``, which replaces ``np.dot`` (float64
arithmetic, float32 result), ``np.zeros``, ``np.eye`` and ``np.random.randn``
(float32 results) and seeds NumPy. :func:`nnfs_conditions` applies it and
undoes it afterwards; :func:`one_core` limits BLAS to one thread and pins the
process to one CPU, as the issue measured. ``jitnet.bench`` runs the chapter
rows inside both.

Each builder makes its data once, returns ``(run, epochs)`` where
``run(epochs=epochs)`` trains from freshly initialised, seeded weights (a run
that continued the previous run's network would time different arithmetic),
and has already run once briefly, so compilation is never timed.

Departures from the scripts, all outside the timed loop: weights are seeded
with ``np.random.seed(0)`` right before the layers are built (a script draws
them after its data, from ``nnfs.init()``'s seed); chapter 19's images are
random bytes of Fashion-MNIST's shape, since the real files are not available
offline, scaled as the script scales them, and not shuffled (shuffling random
data changes nothing).
"""
import importlib
import inspect
import io
import os
from contextlib import contextmanager, redirect_stdout

import numpy as np
from nnfs.datasets import sine_data, spiral_data

from . import workloads as W

SEED = 0

#: What ``nnfs.init()`` replaces (``(owner, attribute)``).
NNFS_PATCHED = ((np, "dot"), (np, "zeros"), (np, "eye"), (np.random, "randn"))

#: Epochs per timed run: long enough to time, short enough for the full bench's
#: chapter part to stay near a minute (median of 5, both libraries).
EPOCHS = {"ch10": 1000, "ch14": 1000, "ch15": 200, "ch16": 1000, "ch17": 300,
          "ch18": 40, "ch19": 1}
#: The same for ``--quick``.
QUICK_EPOCHS = {"ch10": 200, "ch14": 200, "ch15": 50, "ch16": 200, "ch17": 100,
                "ch18": 10, "ch19": 1}

FASHION_TRAIN, FASHION_TEST, FASHION_PIXELS = 60000, 10000, (28, 28)

# ----------------------------------------------------------------- conditions


@contextmanager
def nnfs_conditions(random_seed=SEED):
    """Run the body as after a book script's ``nnfs.init()``, then undo it.

    Saves ``np.dot``, ``np.zeros``, ``np.eye``, ``np.random.randn`` and the
    global generator's state, calls ``nnfs.init(random_seed=random_seed)``,
    and on exit puts back the very same function objects and the state, so
    code after the block sees NumPy exactly as before.

    Parameters
    ----------
    random_seed : int or None
        Passed to ``nnfs.init`` (the book's scripts use its default, 0).
    """
    import nnfs

    saved = [(owner, name, getattr(owner, name)) for owner, name in NNFS_PATCHED]
    state = np.random.get_state()
    try:
        nnfs.init(random_seed=random_seed)
        yield
    finally:
        for owner, name, func in saved:
            setattr(owner, name, func)
        np.random.set_state(state)


@contextmanager
def one_core():
    """Run the body on one core: BLAS limited to one thread, the process pinned.

    The thread limit uses threadpoolctl when it is importable; the pinning uses
    ``os.sched_setaffinity`` where the platform has it (Linux). Both are put
    back on exit. Pinning applies to the calling thread and the threads it
    starts later, which is where every benchmark here runs.
    """
    limiter = None
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        try:  # the kernels' products may call SciPy's BLAS: load it so the limit reaches it
            import scipy.linalg.cython_blas  # noqa: F401
        except ImportError:
            pass
        limiter = threadpool_limits(limits=1, user_api="blas")
    affinity = None
    if hasattr(os, "sched_getaffinity") and hasattr(os, "sched_setaffinity"):
        affinity = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(affinity)})
    try:
        yield
    finally:
        if affinity is not None:
            os.sched_setaffinity(0, affinity)
        if limiter is not None:
            limiter.restore_original_limits()


# ---------------------------------------------------------------- helpers


def _seed(lib):
    """Seed the weights' generator and, for jitnet, the compiled one (dropout)."""
    np.random.seed(SEED)
    if lib.__name__ == W.LIBRARIES["jitnet"]:
        import jitnet  # only here, so that timing the reference alone loads no Numba
        jitnet.seed(SEED)


def _spiral(samples, classes):
    """The script's ``spiral_data`` call, from ``nnfs.init()``'s seed."""
    np.random.seed(SEED)
    return spiral_data(samples=samples, classes=classes)


def _train(model, X, y, **kwargs):
    """``model.train(X, y, **kwargs)`` without printing; returns its history."""
    if "verbose" in inspect.signature(model.train).parameters:
        return model.train(X, y, verbose=False, **kwargs)
    with redirect_stdout(io.StringIO()):  # a library whose train always prints
        return model.train(X, y, **kwargs)


def _last(history, name):
    return float(history[name][-1])


def _progress(sink, epoch, accuracy, loss, data_loss, regularization_loss, optimizer):
    """Chapters 14-17's progress line (printed every 100 epochs), into ``sink``."""
    print(f"epoch: {epoch}, acc: {accuracy:.3f}, loss: {loss:.3f} ("
          f"data_loss: {data_loss:.3f}, reg_loss: {regularization_loss:.3f}),"
          f" lr: {optimizer.current_learning_rate}", file=sink)


# ---------------------------------------------------- per-layer loops (10-17)


def ch10(lib, epochs=EPOCHS["ch10"]):
    """Chapter 10: spiral 300 points, 2-64-3, softmax + CCE, Adam(0.05, 5e-7).

    Returns
    -------
    run : callable ``run(epochs=epochs) -> (loss, accuracy)`` of the last epoch
    epochs : int
    """
    X, y = _spiral(100, 3)

    def run(epochs=epochs):
        _seed(lib)
        dense1 = lib.Layer_Dense(2, 64)
        activation1 = lib.Activation_ReLU()
        dense2 = lib.Layer_Dense(64, 3)
        loss_activation = lib.Activation_Softmax_Loss_CategoricalCrossentropy()
        optimizer = lib.Optimizer_Adam(learning_rate=0.05, decay=5e-7)
        labels, sink = y, io.StringIO()
        for epoch in range(epochs):
            dense1.forward(X)
            activation1.forward(dense1.output)
            dense2.forward(activation1.output)
            loss = loss_activation.forward(dense2.output, labels)
            predictions = np.argmax(loss_activation.output, axis=1)
            if len(labels.shape) == 2:
                labels = np.argmax(labels, axis=1)
            accuracy = np.mean(predictions == labels)
            if not epoch % 100:
                print(f"epoch: {epoch}, acc: {accuracy:.3f}, loss: {loss:.3f}, "
                      f"lr: {optimizer.current_learning_rate}", file=sink)
            loss_activation.backward(loss_activation.output, labels)
            dense2.backward(loss_activation.dinputs)
            activation1.backward(dense2.dinputs)
            dense1.backward(activation1.dinputs)
            optimizer.pre_update_params()
            optimizer.update_params(dense1)
            optimizer.update_params(dense2)
            optimizer.post_update_params()
        return float(loss), float(accuracy)

    run(2)
    return run, epochs


def _regularized_spiral(lib, epochs, samples, *, dropout, learning_rate, decay):
    """Chapters 14 and 15: the chapter-10 loop plus L2 on the first layer (and dropout).

    Returns
    -------
    run : callable ``run(epochs=epochs) -> (loss, accuracy)`` of the last epoch
    epochs : int
    """
    X, y = _spiral(samples, 3)

    def run(epochs=epochs):
        _seed(lib)
        dense1 = lib.Layer_Dense(2, 64, weight_regularizer_l2=5e-4,
                                 bias_regularizer_l2=5e-4)
        activation1 = lib.Activation_ReLU()
        dropout1 = lib.Layer_Dropout(0.1) if dropout else None
        dense2 = lib.Layer_Dense(64, 3)
        loss_activation = lib.Activation_Softmax_Loss_CategoricalCrossentropy()
        optimizer = lib.Optimizer_Adam(learning_rate=learning_rate, decay=decay)
        labels, sink = y, io.StringIO()
        for epoch in range(epochs):
            dense1.forward(X)
            activation1.forward(dense1.output)
            if dropout1 is None:
                dense2.forward(activation1.output)
            else:
                dropout1.forward(activation1.output)
                dense2.forward(dropout1.output)
            data_loss = loss_activation.forward(dense2.output, labels)
            regularization_loss = (loss_activation.loss.regularization_loss(dense1)
                                   + loss_activation.loss.regularization_loss(dense2))
            loss = data_loss + regularization_loss
            predictions = np.argmax(loss_activation.output, axis=1)
            if len(labels.shape) == 2:
                labels = np.argmax(labels, axis=1)
            accuracy = np.mean(predictions == labels)
            if not epoch % 100:
                _progress(sink, epoch, accuracy, loss, data_loss, regularization_loss,
                          optimizer)
            loss_activation.backward(loss_activation.output, labels)
            dense2.backward(loss_activation.dinputs)
            if dropout1 is None:
                activation1.backward(dense2.dinputs)
            else:
                dropout1.backward(dense2.dinputs)
                activation1.backward(dropout1.dinputs)
            dense1.backward(activation1.dinputs)
            optimizer.pre_update_params()
            optimizer.update_params(dense1)
            optimizer.update_params(dense2)
            optimizer.post_update_params()
        return float(loss), float(accuracy)

    run(2)
    return run, epochs


def ch14(lib, epochs=EPOCHS["ch14"]):
    """Chapter 14: spiral 300 points, 2-64-3, L2 5e-4 on the first layer, Adam(0.02, 5e-7).

    Returns
    -------
    run : callable ``run(epochs=epochs) -> (loss, accuracy)`` of the last epoch
    epochs : int
    """
    return _regularized_spiral(lib, epochs, 100, dropout=False, learning_rate=0.02,
                               decay=5e-7)


def ch15(lib, epochs=EPOCHS["ch15"]):
    """Chapter 15: spiral 3000 points, 2-64-3, L2 5e-4, Dropout(0.1), Adam(0.05, 5e-5).

    Returns
    -------
    run : callable ``run(epochs=epochs) -> (loss, accuracy)`` of the last epoch
    epochs : int
    """
    return _regularized_spiral(lib, epochs, 1000, dropout=True, learning_rate=0.05,
                               decay=5e-5)


def ch16(lib, epochs=EPOCHS["ch16"]):
    """Chapter 16: spiral 200 points, 2 classes, 2-64-1, L2, sigmoid + BCE, Adam(decay=5e-7).

    Returns
    -------
    run : callable ``run(epochs=epochs) -> (loss, accuracy)`` of the last epoch
    epochs : int
    """
    X, y = _spiral(100, 2)
    y = y.reshape(-1, 1)  # one binary output per sample, as the script reshapes

    def run(epochs=epochs):
        _seed(lib)
        dense1 = lib.Layer_Dense(2, 64, weight_regularizer_l2=5e-4,
                                 bias_regularizer_l2=5e-4)
        activation1 = lib.Activation_ReLU()
        dense2 = lib.Layer_Dense(64, 1)
        activation2 = lib.Activation_Sigmoid()
        loss_function = lib.Loss_BinaryCrossentropy()
        optimizer = lib.Optimizer_Adam(decay=5e-7)
        sink = io.StringIO()
        for epoch in range(epochs):
            dense1.forward(X)
            activation1.forward(dense1.output)
            dense2.forward(activation1.output)
            activation2.forward(dense2.output)
            data_loss = loss_function.calculate(activation2.output, y)
            regularization_loss = (loss_function.regularization_loss(dense1)
                                   + loss_function.regularization_loss(dense2))
            loss = data_loss + regularization_loss
            predictions = (activation2.output > 0.5) * 1
            accuracy = np.mean(predictions == y)
            if not epoch % 100:
                _progress(sink, epoch, accuracy, loss, data_loss, regularization_loss,
                          optimizer)
            loss_function.backward(activation2.output, y)
            activation2.backward(loss_function.dinputs)
            dense2.backward(activation2.dinputs)
            activation1.backward(dense2.dinputs)
            dense1.backward(activation1.dinputs)
            optimizer.pre_update_params()
            optimizer.update_params(dense1)
            optimizer.update_params(dense2)
            optimizer.post_update_params()
        return float(loss), float(accuracy)

    run(2)
    return run, epochs


def ch17(lib, epochs=EPOCHS["ch17"]):
    """Chapter 17: sine 1000 points, 1-64-64-1, linear output + MSE, Adam(0.005, 1e-3).

    The script's ``Layer_Dense`` starts from ``0.1 * np.random.randn`` (not
    0.01): ``weight_scale=0.1`` here.

    Returns
    -------
    run : callable ``run(epochs=epochs) -> (loss, accuracy)`` of the last epoch
    epochs : int
    """
    X, y = sine_data()  # float64, as in the script: nnfs.init() leaves np.arange alone

    def run(epochs=epochs):
        _seed(lib)
        dense1 = lib.Layer_Dense(1, 64, weight_scale=0.1)
        activation1 = lib.Activation_ReLU()
        dense2 = lib.Layer_Dense(64, 64, weight_scale=0.1)
        activation2 = lib.Activation_ReLU()
        dense3 = lib.Layer_Dense(64, 1, weight_scale=0.1)
        activation3 = lib.Activation_Linear()
        loss_function = lib.Loss_MeanSquaredError()
        optimizer = lib.Optimizer_Adam(learning_rate=0.005, decay=1e-3)
        accuracy_precision = np.std(y) / 250
        sink = io.StringIO()
        for epoch in range(epochs):
            dense1.forward(X)
            activation1.forward(dense1.output)
            dense2.forward(activation1.output)
            activation2.forward(dense2.output)
            dense3.forward(activation2.output)
            activation3.forward(dense3.output)
            data_loss = loss_function.calculate(activation3.output, y)
            regularization_loss = (loss_function.regularization_loss(dense1)
                                   + loss_function.regularization_loss(dense2)
                                   + loss_function.regularization_loss(dense3))
            loss = data_loss + regularization_loss
            predictions = activation3.output
            accuracy = np.mean(np.absolute(predictions - y) < accuracy_precision)
            if not epoch % 100:
                _progress(sink, epoch, accuracy, loss, data_loss, regularization_loss,
                          optimizer)
            loss_function.backward(activation3.output, y)
            activation3.backward(loss_function.dinputs)
            dense3.backward(activation3.dinputs)
            activation2.backward(dense3.dinputs)
            dense2.backward(activation2.dinputs)
            activation1.backward(dense2.dinputs)
            dense1.backward(activation1.dinputs)
            optimizer.pre_update_params()
            optimizer.update_params(dense1)
            optimizer.update_params(dense2)
            optimizer.update_params(dense3)
            optimizer.post_update_params()
        return float(loss), float(accuracy)

    run(2)
    return run, epochs


# ------------------------------------------------------------ Model (18, 19)


def ch18(lib, epochs=EPOCHS["ch18"]):
    """Chapter 18: ``Model``, spiral 3000 points, 2-512-3, L2, Dropout(0.1), Adam(0.05, 5e-5).

    ``model.train(X, y, validation_data=(X_test, y_test), epochs=..., print_every=100)``
    with the script's 300-point test spiral. Both libraries' ``train``
    evaluate the validation data after every epoch (chapter 19's ``Model``);
    chapter 18's own ``Model`` evaluated it once, after the last epoch.

    Returns
    -------
    run : callable ``run(epochs=epochs) -> (loss, accuracy)`` of the last epoch
    epochs : int
    """
    X, y = _spiral(1000, 3)
    X_test, y_test = spiral_data(samples=100, classes=3)  # drawn right after, as in the script

    def run(epochs=epochs):
        _seed(lib)
        model = lib.Model()
        model.add(lib.Layer_Dense(2, 512, weight_regularizer_l2=5e-4,
                                  bias_regularizer_l2=5e-4))
        model.add(lib.Activation_ReLU())
        model.add(lib.Layer_Dropout(0.1))
        model.add(lib.Layer_Dense(512, 3))
        model.add(lib.Activation_Softmax())
        model.set(loss=lib.Loss_CategoricalCrossentropy(),
                  optimizer=lib.Optimizer_Adam(learning_rate=0.05, decay=5e-5),
                  accuracy=lib.Accuracy_Categorical())
        model.finalize()
        history = _train(model, X, y, validation_data=(X_test, y_test),
                         epochs=epochs, print_every=100)
        return _last(history, "loss"), _last(history, "accuracy")

    run(2)
    return run, epochs


def fashion_bytes(samples, seed=SEED):
    """Random ``uint8`` images of Fashion-MNIST's shape and ``uint8`` labels 0-9."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (samples, *FASHION_PIXELS), dtype=np.uint8)
    labels = rng.integers(0, 10, samples).astype(np.uint8)  # the script's astype('uint8')
    return images, labels


def scale_images(images):
    """The script's ``(X.reshape(n, -1).astype(np.float32) - 127.5) / 127.5``.

    In place after the one float32 copy: the same float32 values without two
    more 188 MB temporaries.
    """
    X = images.reshape(images.shape[0], -1).astype(np.float32)
    X -= 127.5
    X /= 127.5
    return X


def ch19(lib, epochs=EPOCHS["ch19"], *, samples=FASHION_TRAIN, test_samples=FASHION_TEST):
    """Chapter 19: ``Model`` on Fashion-MNIST's shape, 784-128-128-10, batches of 128.

    ``model.train(X, y, validation_data=(X_test, y_test), epochs=...,
    batch_size=128, print_every=100)`` with ``Adam(decay=1e-3)``, on random
    images (``samples`` training, ``test_samples`` validation).

    Returns
    -------
    run : callable ``run(epochs=epochs) -> (loss, accuracy)`` of the last epoch
    epochs : int
    """
    images, y = fashion_bytes(samples)
    test_images, y_test = fashion_bytes(test_samples, seed=SEED + 1)
    X, X_test = scale_images(images), scale_images(test_images)
    del images, test_images

    def train(epochs, rows, test_rows):
        _seed(lib)
        model = lib.Model()
        model.add(lib.Layer_Dense(X.shape[1], 128))
        model.add(lib.Activation_ReLU())
        model.add(lib.Layer_Dense(128, 128))
        model.add(lib.Activation_ReLU())
        model.add(lib.Layer_Dense(128, 10))
        model.add(lib.Activation_Softmax())
        model.set(loss=lib.Loss_CategoricalCrossentropy(),
                  optimizer=lib.Optimizer_Adam(decay=1e-3),
                  accuracy=lib.Accuracy_Categorical())
        model.finalize()
        history = _train(model, X[:rows], y[:rows],
                         validation_data=(X_test[:test_rows], y_test[:test_rows]),
                         epochs=epochs, batch_size=128, print_every=100)
        return _last(history, "loss"), _last(history, "accuracy")

    def run(epochs=epochs):
        return train(epochs, samples, test_samples)

    train(1, 256, 256)  # two batches each: compiles without a whole epoch
    return run, epochs


# ---------------------------------------------------------------- registry

#: What a chapter row times when the script trains layer by layer.
PER_LAYER = "per-layer loop"
#: The reference's classes as chapters 10-17's scripts write them (their
#: ``Loss.calculate`` keeps no running sums, their sigmoid is the book's
#: formula): the book side of the per-layer rows.
SCRIPT_CLASSES = "jitnet.reference.scripts"

#: chapter -> (builder, short description, what is timed, target speed-up)
CHAPTERS = {
    "ch10": (ch10, "spiral 300, 2-64-3, Adam", PER_LAYER, "6x"),
    "ch14": (ch14, "spiral 300, 2-64-3, L2", PER_LAYER, "6x"),
    "ch15": (ch15, "spiral 3000, 2-64-3, L2, Dropout(0.1)", PER_LAYER, "6x"),
    "ch16": (ch16, "spiral 200, 2-64-1, L2, sigmoid + BCE", PER_LAYER, "6x"),
    "ch17": (ch17, "sine 1000, 1-64-64-1, MSE", PER_LAYER, "6x"),
    "ch18": (ch18, "spiral 3000, 2-512-3, L2, Dropout(0.1), validation",
             "Model.train", "12x"),
    "ch19": (ch19, "60000 x 784, 784-128-128-10, batch 128, validation 10000",
             "Model.train", "3x"),
}


def build(chapter, lib, epochs=None, **options):
    """Build ``chapter``'s workload for ``lib``; return ``(run, epochs)``.

    Parameters
    ----------
    chapter : str
        A key of :data:`CHAPTERS` ("ch10", "ch14", ..., "ch19").
    lib : module
        ``jitnet.workloads.library("jitnet")`` or ``library("reference")``;
        a per-layer chapter takes the reference's classes as the scripts
        write them (:data:`SCRIPT_CLASSES`).
    epochs : int or None
        Epochs per ``run()``; None takes :data:`EPOCHS`.
    **options
        Passed to the builder (``ch19``: ``samples``, ``test_samples``).
    """
    builder, _, how, _ = CHAPTERS[chapter]
    if how == PER_LAYER and lib.__name__ == W.LIBRARIES["reference"]:
        lib = importlib.import_module(SCRIPT_CLASSES)
    return builder(lib, EPOCHS[chapter] if epochs is None else epochs, **options)


def row_name(chapter):
    """The bench table's name for ``chapter``'s row."""
    _, what, how, _ = CHAPTERS[chapter]
    return f"{chapter}: {what}: {how}, per epoch (1 core, nnfs.init())"
