"""Loss kernels: sample losses (forward) and gradients (backward).

Forward kernels write each sample's loss into ``sample_losses`` (shape
``(n,)``, the predictions' dtype) and return their sum as a float64, so a
mean over many batches does not lose precision in float32. Backward kernels
normalise by the number of samples (and by the number of outputs for BCE, MSE
and MAE), as the book does, so the gradient does not grow with batch size.

Probabilities are clipped to ``[1e-7, 1 - 1e-7]`` in the predictions' own
dtype, as ``np.clip`` does in the book, so ``log`` never sees 0.
"""
import numpy as np

from ._jit import jit, jit_dividing, jit_inline
from .activations import softmax_forward
from .checks import label_bounds
from .vecmath import log_normal_f32


@jit_inline
def _clip(p, lo, hi):
    """``min(max(p, lo), hi)`` (NaN stays NaN). Inlined: compiled on its own,
    the signatures it got depended on which callers a build compiled rather
    than loaded, and the shipped cache's levels then differed."""
    return lo if p < lo else (hi if p > hi else p)


# ---------------------------------------------------------------- categorical

@jit
def cce_forward_sparse(y_pred, y_true, sample_losses):
    """``-log(clip(y_pred[i, y_true[i]]))`` per sample; returns their sum.

    Parameters
    ----------
    y_pred : (n, k) probabilities
    y_true : (n,) integer class indices in ``[0, k)``
    sample_losses : (n,) written
    """
    t = y_pred.dtype.type
    lo, hi = t(1e-7), t(1 - 1e-7)
    n = y_pred.shape[0]
    for i in range(n):
        sample_losses[i] = _clip(y_pred[i, y_true[i]], lo, hi)
    # One flat log: float32's runs vectorised (:mod:`.vecmath`; 300 samples:
    # 1.5 -> 0.6 us), and the clip keeps it in that log's domain.
    if y_pred.itemsize == 4:
        log_normal_f32(sample_losses)
    else:
        for i in range(n):
            sample_losses[i] = np.log(sample_losses[i])
    total = 0.0
    for i in range(n):
        sample_losses[i] = -sample_losses[i]
        total += sample_losses[i]
    return total


@jit
def cce_forward_onehot(y_pred, y_true, sample_losses):
    """``-log(sum_j clip(y_pred[i, j]) * y_true[i, j])`` per sample; returns the sum.

    ``y_true`` is ``(n, k)`` one-hot (or soft) targets of ``y_pred``'s dtype.
    """
    t = y_pred.dtype.type
    lo, hi = t(1e-7), t(1 - 1e-7)
    n, k = y_pred.shape
    total = 0.0
    for i in range(n):
        confidence = t(0)
        for j in range(k):
            confidence += _clip(y_pred[i, j], lo, hi) * y_true[i, j]
        loss = -np.log(confidence)
        sample_losses[i] = loss
        total += loss
    return total


@jit_dividing
def cce_backward_sparse(dvalues, y_true, dinputs):
    """``dinputs = -onehot(y_true) / dvalues / n``; zero off the true class."""
    n, k = dvalues.shape
    t = dvalues.dtype.type
    inv_n = t(1.0 / n)
    for i in range(n):
        for j in range(k):
            dinputs[i, j] = 0
        c = y_true[i]
        dinputs[i, c] = -inv_n / dvalues[i, c]


@jit_dividing
def cce_backward_onehot(dvalues, y_true, dinputs):
    """``dinputs = -y_true / dvalues / n`` for ``(n, k)`` targets."""
    n, k = dvalues.shape
    t = dvalues.dtype.type
    inv_n = t(1.0 / n)
    for i in range(n):
        for j in range(k):
            dinputs[i, j] = -y_true[i, j] / dvalues[i, j] * inv_n


@jit
def softmax_cce_backward_sparse(softmax_output, y_true, dinputs):
    """Fused softmax + CCE gradient: ``(softmax_output - onehot(y_true)) / n``.

    The chain rule through the softmax Jacobian and ``-y / p`` collapses to
    this difference, which is why the book fuses the two.
    """
    n = softmax_output.shape[0]
    t = softmax_output.dtype.type
    inv_n = t(1.0 / n)
    # One flat sweep (vectorised), then the true classes: (300, 3), 1.0 -> 0.3 us
    flat_s, flat_d = softmax_output.ravel(), dinputs.ravel()
    for i in range(flat_s.size):
        flat_d[i] = flat_s[i] * inv_n
    for i in range(n):
        c = y_true[i]
        dinputs[i, c] = (softmax_output[i, c] - t(1)) * inv_n


@jit
def softmax_cce_forward_sparse(inputs, y_true, output, sample_losses):
    """Softmax, then categorical cross-entropy against class indices, in one call.

    What the per-layer ``SoftmaxCategoricalCrossentropy.forward`` made three
    calls for: :func:`label_bounds`, :func:`softmax_forward` into
    ``output``, :func:`cce_forward_sparse` on that output into
    ``sample_losses``. Returns ``(low, high, total)``: the labels' range and
    the losses' sum. Labels outside ``[0, k)`` are never indexed with:
    nothing is written and ``total`` is 0 (the wrapper then raises).

    Parameters
    ----------
    inputs : (n, k) float array, n >= 1
    y_true : (n,) integer class indices
    output : (n, k) same dtype as ``inputs``, written
    sample_losses : (n,) same dtype, written
    """
    low, high = label_bounds(y_true)
    if low < 0 or high >= inputs.shape[1]:
        return low, high, 0.0
    softmax_forward(inputs, output)
    return low, high, cce_forward_sparse(output, y_true, sample_losses)


@jit
def softmax_cce_backward_sparse_checked(softmax_output, y_true, dinputs):
    """:func:`softmax_cce_backward_sparse` after :func:`label_bounds`, in one call.

    Returns the labels' range ``(low, high)``; with labels outside
    ``[0, k)`` nothing is written (the wrapper then raises). ``y_true`` must
    not be empty.
    """
    low, high = label_bounds(y_true)
    if low >= 0 and high < softmax_output.shape[1]:
        softmax_cce_backward_sparse(softmax_output, y_true, dinputs)
    return low, high


@jit
def softmax_cce_backward_onehot(softmax_output, y_true, dinputs):
    """Fused softmax + CCE gradient for ``(n, k)`` targets: ``(s - y) / n``.

    Equal to the book's (which takes ``argmax`` of one-hot rows) for one-hot
    targets, and the exact gradient for soft targets that sum to 1.
    """
    n, k = softmax_output.shape
    t = softmax_output.dtype.type
    inv_n = t(1.0 / n)
    for i in range(n):
        for j in range(k):
            dinputs[i, j] = (softmax_output[i, j] - y_true[i, j]) * inv_n


# ---------------------------------------------------------------- binary

@jit
def bce_forward(y_pred, y_true, sample_losses):
    """Mean over outputs of ``-(y log p + (1 - y) log(1 - p))``, p clipped.

    ``y_pred`` and ``y_true`` are ``(n, outputs)``; returns the sum over samples.
    ``y_true`` may also hold integers (chapter 16's uint8 labels), each taken
    as ``y_pred``'s dtype, so the wrapper need not convert them on every call.
    """
    t = y_pred.dtype.type
    lo, hi, one = t(1e-7), t(1 - 1e-7), t(1)
    n, m = y_pred.shape
    total = 0.0
    if y_pred.itemsize == 4:
        # Every log(p) and log(1 - p) in one flat pass that float32 runs
        # vectorised (:mod:`.vecmath`; 200 samples: 3.0 -> 1.5 us a call); the clip
        # keeps both in that log's domain.
        size = n * m
        flat = y_pred.ravel()
        logs = np.empty(2 * size, np.float32)
        for k in range(size):
            p = _clip(flat[k], lo, hi)
            logs[k] = p
            logs[size + k] = one - p
        log_normal_f32(logs)
        for i in range(n):
            acc = 0.0
            for j in range(m):
                k = i * m + j
                y = t(y_true[i, j])
                acc += -(y * logs[k] + (one - y) * logs[size + k])
            loss = acc / m
            sample_losses[i] = loss
            total += loss
        return total
    for i in range(n):
        acc = 0.0
        for j in range(m):
            p = _clip(y_pred[i, j], lo, hi)
            y = t(y_true[i, j])
            acc += -(y * np.log(p) + (one - y) * np.log(one - p))
        loss = acc / m
        sample_losses[i] = loss
        total += loss
    return total


@jit_dividing
def bce_backward(dvalues, y_true, dinputs):
    """``-(y / p - (1 - y) / (1 - p)) / outputs / n`` with ``p`` clipped.

    ``y_true`` as in :func:`bce_forward`. All three arrays are C-contiguous
    ``(n, outputs)``, so one flat loop: with one output (chapter 16) a loop
    over rows left the inner loop a single element long, and it ran scalar
    (200 samples: 0.89 against 0.48 us).
    """
    t = dvalues.dtype.type
    lo, hi, one = t(1e-7), t(1 - 1e-7), t(1)
    n, m = dvalues.shape
    scale = t(1.0 / (n * m))
    p_flat, y_flat, d_flat = dvalues.ravel(), y_true.ravel(), dinputs.ravel()
    for k in range(n * m):
        p = _clip(p_flat[k], lo, hi)
        y = t(y_flat[k])
        d_flat[k] = -(y / p - (one - y) / (one - p)) * scale


# ---------------------------------------------------------------- regression

@jit
def mse_forward(y_pred, y_true, sample_losses):
    """Mean over outputs of ``(y_true - y_pred) ** 2``; returns the sum."""
    n, m = y_pred.shape
    total = 0.0
    for i in range(n):
        acc = 0.0
        for j in range(m):
            d = float(y_true[i, j] - y_pred[i, j])
            acc += d * d
        loss = acc / m
        sample_losses[i] = loss
        total += loss
    return total


@jit
def mse_backward(dvalues, y_true, dinputs):
    """``-2 (y_true - y_pred) / outputs / n``."""
    n, m = dvalues.shape
    scale = dvalues.dtype.type(-2.0 / (n * m))
    for i in range(n):
        for j in range(m):
            dinputs[i, j] = (y_true[i, j] - dvalues[i, j]) * scale


@jit
def mae_forward(y_pred, y_true, sample_losses):
    """Mean over outputs of ``|y_true - y_pred|``; returns the sum."""
    n, m = y_pred.shape
    total = 0.0
    for i in range(n):
        acc = 0.0
        for j in range(m):
            acc += abs(float(y_true[i, j] - y_pred[i, j]))
        loss = acc / m
        sample_losses[i] = loss
        total += loss
    return total


@jit
def mae_backward(dvalues, y_true, dinputs):
    """``sign(y_pred - y_true) / outputs / n``.

    The book writes ``sign(y_true - y_pred)``, which is the wrong sign:
    ``d|y - p| / dp = -sign(y - p)``. A gradient check in the tests proves it.
    """
    n, m = dvalues.shape
    t = dvalues.dtype.type
    scale = t(1.0 / (n * m))
    zero = t(0)
    for i in range(n):
        for j in range(m):
            d = dvalues[i, j] - y_true[i, j]
            dinputs[i, j] = scale if d > zero else (-scale if d < zero else zero)
