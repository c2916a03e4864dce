"""The seeds' training loops, through ``jitnet.nnfs`` and ``jitnet.reference``.

Each chapter's network is built twice from one NumPy seed, then trained in
lockstep with the book's per-layer loop, in two precisions:

* float64 (jitnet layers made with ``dtype=np.float64``): the loss and every
  parameter agree to 1e-6 at every one of the first steps;
* float32 after ``nnfs.init()``, exactly as a book script runs: the losses
  agree step by step to 1%. Parameters are not compared element-wise here: the first
  Adagrad/RMSprop/Adam step moves each weight by about ``lr * sign(g)``, so a
  gradient within float32 rounding of zero may legitimately flip sign.

Then both networks go on training on their own and must both learn. Dropout
masks come from different generators, so the reference replays jitnet's.
"""
import numpy as np
import pytest
from nnfs.datasets import sine_data, spiral_data

import jitnet.nnfs as J
import jitnet.reference as R

LOCKSTEP_STEPS = 30

SPIRAL = [("dense", (2, 64), {}), ("ReLU",), ("dense", (64, 3), {})]
CHAPTERS = {
    "ch10-sgd": (SPIRAL, "softmax_cce", ("Optimizer_SGD", dict(decay=1e-3, momentum=0.9))),
    "ch10-adagrad": (SPIRAL, "softmax_cce", ("Optimizer_Adagrad", dict(decay=1e-4))),
    "ch10-rmsprop": (SPIRAL, "softmax_cce",
                     ("Optimizer_RMSprop", dict(learning_rate=0.02, decay=1e-5, rho=0.999))),
    "ch10-adam": (SPIRAL, "softmax_cce",
                  ("Optimizer_Adam", dict(learning_rate=0.05, decay=5e-7))),
    "ch14-l1-l2": ([("dense", (2, 64), dict(weight_regularizer_l2=5e-4,
                                            bias_regularizer_l2=5e-4,
                                            weight_regularizer_l1=5e-5)),
                    ("ReLU",), ("dense", (64, 3), {})], "softmax_cce",
                   ("Optimizer_Adam", dict(learning_rate=0.02, decay=5e-7))),
    "ch15-dropout": ([("dense", (2, 64), dict(weight_regularizer_l2=5e-4,
                                              bias_regularizer_l2=5e-4)),
                      ("ReLU",), ("dropout", 0.1), ("dense", (64, 3), {})],
                     "softmax_cce", ("Optimizer_Adam", dict(learning_rate=0.05, decay=5e-5))),
    "ch16-binary": ([("dense", (2, 64), dict(weight_regularizer_l2=5e-4,
                                             bias_regularizer_l2=5e-4)),
                     ("ReLU",), ("dense", (64, 1), {}), ("Sigmoid",)], "bce",
                    ("Optimizer_Adam", dict(decay=5e-7))),
    # The chapter's script starts these weights at 0.1 * randn, not 0.01.
    "ch17-regression": ([("dense", (1, 64), dict(weight_scale=0.1)), ("ReLU",),
                         ("dense", (64, 64), dict(weight_scale=0.1)), ("ReLU",),
                         ("dense", (64, 1), dict(weight_scale=0.1)), ("Linear",)], "mse",
                        ("Optimizer_Adam", dict(learning_rate=0.005, decay=1e-3))),
}


class BookNet:
    """A chapter's network written the book's way, from one of the two modules."""

    def __init__(self, lib, spec, loss, optimizer, seed, dtype=None):
        np.random.seed(seed)
        self.layers = []
        extra = {} if dtype is None else {"dtype": dtype}
        for kind, *args in spec:
            if kind == "dense":
                self.layers.append(lib.Layer_Dense(*args[0], **args[1], **extra))
            elif kind == "dropout":
                self.layers.append(lib.Layer_Dropout(args[0]))
            else:
                self.layers.append(getattr(lib, f"Activation_{kind}")())
        self.dense = [lay for lay in self.layers if hasattr(lay, "weights")]
        if loss == "softmax_cce":
            self.fused = lib.Activation_Softmax_Loss_CategoricalCrossentropy()
            self.loss = self.fused.loss
        else:
            self.fused = None
            self.loss = {"bce": lib.Loss_BinaryCrossentropy,
                         "mse": lib.Loss_MeanSquaredError}[loss]()
        name, kwargs = optimizer
        self.optimizer = getattr(lib, name)(**kwargs)

    def step(self, X, y, masks=None):
        """One forward, backward and update; returns (loss, masks used)."""
        out, used = X, []
        for layer in self.layers:
            layer.forward(out)
            if hasattr(layer, "binary_mask"):
                if masks is not None:  # replay jitnet's draw in the reference
                    layer.binary_mask = masks[len(used)]
                    layer.output = layer.inputs * layer.binary_mask
                used.append(layer.binary_mask)
            out = layer.output
        if self.fused is not None:
            data_loss = self.fused.forward(out, y)
            self.fused.backward(self.fused.output, y)
            grad = self.fused.dinputs
        else:
            data_loss = self.loss.calculate(out, y)
            self.loss.backward(out, y)
            grad = self.loss.dinputs
        for layer in reversed(self.layers):
            layer.backward(grad)
            grad = layer.dinputs
        reg = sum(self.loss.regularization_loss(d) for d in self.dense)
        self.optimizer.pre_update_params()
        for d in self.dense:
            self.optimizer.update_params(d)
        self.optimizer.post_update_params()
        loss = float(data_loss) + float(reg)
        if not hasattr(self, "first_loss"):
            self.first_loss = loss
        return loss, used


def chapter_data(name):
    if name.startswith("ch17"):
        return sine_data()
    if name.startswith("ch16"):
        X, y = spiral_data(samples=100, classes=2)
        return X, y.reshape(-1, 1)
    return spiral_data(samples=100, classes=3)


def _lockstep(chapter, dtype):
    """Build both nets, train LOCKSTEP_STEPS steps side by side, yield per step."""
    spec, loss, optimizer = CHAPTERS[chapter]
    X, y = chapter_data(chapter)
    fast = BookNet(J, spec, loss, optimizer, seed=7, dtype=dtype)
    book = BookNet(R, spec, loss, optimizer, seed=7)
    for d_fast, d_book in zip(fast.dense, book.dense):
        np.testing.assert_allclose(d_fast.weights, d_book.weights, rtol=1e-7)
    for step in range(LOCKSTEP_STEPS):
        loss_fast, masks = fast.step(X, y)
        loss_book, _ = book.step(X, y, masks=masks)
        yield step, fast, book, loss_fast, loss_book
    # Both go on learning, each on its own (dropout masks now differ).
    for net in (fast, book):
        first = net.first_loss
        for _ in range(1000):
            last, _ = net.step(X, y)
        assert last < 0.9 * first, f"{chapter}: loss {first:.4f} -> {last:.4f}"


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_chapter_float64_lockstep(chapter):
    for step, fast, book, loss_fast, loss_book in _lockstep(chapter, np.float64):
        assert fast.dense[0].weights.dtype == book.dense[0].weights.dtype == np.float64
        np.testing.assert_allclose(loss_fast, loss_book, rtol=1e-6,
                                   err_msg=f"{chapter}: loss at step {step}")
        for i, (d_fast, d_book) in enumerate(zip(fast.dense, book.dense)):
            for attr in ("weights", "biases"):
                a, b = getattr(d_fast, attr), getattr(d_book, attr)
                np.testing.assert_allclose(
                    a, b, rtol=1e-6, atol=1e-9 * float(np.max(np.abs(b))),
                    err_msg=f"{chapter}: layer {i} {attr} at step {step}")


@pytest.mark.parametrize("chapter", sorted(CHAPTERS))
def test_chapter_float32_as_book_scripts_run(chapter, nnfs_init):
    for step, fast, book, loss_fast, loss_book in _lockstep(chapter, None):
        assert fast.dense[0].weights.dtype == book.dense[0].weights.dtype == np.float32
        # float32 rounding compounds through 30 steps of sign-like updates.
        np.testing.assert_allclose(loss_fast, loss_book, rtol=1e-2,
                                   err_msg=f"{chapter}: loss at step {step}")


@pytest.mark.parametrize("lib", [J, R], ids=["jitnet", "reference"])
def test_softmax_then_crossentropy_equals_fused(lib):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((8, 4)).astype(np.float32)
    y = rng.integers(0, 4, 8)
    fused = lib.Activation_Softmax_Loss_CategoricalCrossentropy()
    fused_loss = fused.forward(z, y)
    fused.backward(fused.output, y)
    softmax, cce = lib.Activation_Softmax(), lib.Loss_CategoricalCrossentropy()
    softmax.forward(z)
    separate_loss = cce.calculate(softmax.output, y)
    cce.backward(softmax.output, y)
    softmax.backward(cce.dinputs)
    np.testing.assert_allclose(separate_loss, fused_loss, rtol=1e-6)
    np.testing.assert_allclose(softmax.dinputs, fused.dinputs, rtol=1e-4, atol=1e-7)
