"""Activation kernels: ReLU, softmax, sigmoid, linear; forward beside backward.

Every function takes C-contiguous 2-D float arrays of one dtype, ``(n, k)``,
and writes its result into the last argument.
"""
import numpy as np

from ._jit import jit, jit_inline
from .vecmath import exp_nonpositive_f32


@jit
def relu_forward(inputs, output):
    """``output = max(0, inputs)``."""
    flat_in, flat_out = inputs.ravel(), output.ravel()
    zero = inputs.dtype.type(0)
    for i in range(flat_in.size):
        v = flat_in[i]
        flat_out[i] = v if v > zero else zero


@jit
def relu_backward(inputs, dvalues, dinputs):
    """``dinputs = dvalues where inputs > 0, else 0`` (the book's mask)."""
    flat_in, flat_d, flat_out = inputs.ravel(), dvalues.ravel(), dinputs.ravel()
    zero = inputs.dtype.type(0)
    for i in range(flat_in.size):
        flat_out[i] = flat_d[i] if flat_in[i] > zero else zero


@jit_inline
def _subtract_row_max(flat_in, flat_out, k):
    """``out = x - max(x)`` for each row of ``k`` values laid end to end."""
    for i in range(flat_in.size // k if k > 0 else 0):
        row = i * k
        row_max = flat_in[row]
        for j in range(1, k):
            v = flat_in[row + j]
            row_max = v if v > row_max else row_max
        for j in range(k):
            flat_out[row + j] = flat_in[row + j] - row_max


@jit_inline
def _divide_by_row_sum(flat_out, k):
    """Divide each row of ``k`` values (laid end to end) by its sum."""
    one = flat_out.dtype.type(1)
    for i in range(flat_out.size // k if k > 0 else 0):
        row = i * k
        total = flat_out.dtype.type(0)
        for j in range(k):
            total += flat_out[row + j]
        scale = one / total
        for j in range(k):
            flat_out[row + j] *= scale


@jit
def softmax_forward(inputs, output):
    """Row-wise ``exp(x - max(x)) / sum(exp(x - max(x)))``.

    Subtracting the row maximum keeps ``exp`` finite for any finite logits.
    The three steps run as separate sweeps so that the ``exp`` in the middle
    is one flat loop, which float32 runs vectorised (:mod:`.vecmath`). For
    three classes (the book's spiral and vertical data) the row width is
    passed as a constant, so LLVM unrolls the per-row loops and vectorises
    across rows ((300, 3) float32: 2.4 -> 0.9 us); the copy costs about
    0.5 s of a cold start, so other widths share the general loops.
    """
    k = inputs.shape[1]
    flat_in, flat_out = inputs.ravel(), output.ravel()
    if k == 3:
        _subtract_row_max(flat_in, flat_out, 3)
    else:
        _subtract_row_max(flat_in, flat_out, k)
    if output.itemsize == 4:
        exp_nonpositive_f32(flat_out)
    else:
        for i in range(flat_out.size):
            flat_out[i] = np.exp(flat_out[i])
    if k == 3:
        _divide_by_row_sum(flat_out, 3)
    else:
        _divide_by_row_sum(flat_out, k)


@jit
def softmax_backward(output, dvalues, dinputs):
    """Per-sample Jacobian product of softmax, without forming the Jacobian.

    The Jacobian of softmax for one sample is ``diag(s) - s s^T``, so
    ``J @ g = s * g - s * (s . g) = s * (g - s . g)``: O(k) per sample
    instead of the book's O(k^2) matrix.

    Parameters
    ----------
    output : (n, k) softmax outputs ``s``
    dvalues : (n, k) incoming gradient ``g``
    dinputs : (n, k), written
    """
    n, k = output.shape
    for i in range(n):
        s_dot_g = output.dtype.type(0)
        for j in range(k):
            s_dot_g += output[i, j] * dvalues[i, j]
        for j in range(k):
            dinputs[i, j] = output[i, j] * (dvalues[i, j] - s_dot_g)


@jit
def sigmoid_forward(inputs, output):
    """``1 / (1 + exp(-x))`` written so that ``exp`` never overflows.

    For ``x < 0`` it uses the equal form ``exp(x) / (1 + exp(x))``; the book's
    form overflows (with a warning) for ``x < -88`` in float32.
    """
    flat_in, flat_out = inputs.ravel(), output.ravel()
    one = inputs.dtype.type(1)
    if output.itemsize == 4:
        # Both forms from e = exp(-|x|) <= 1: one flat exp that float32 runs
        # vectorised (:mod:`.vecmath`; 200 values: 2.1 -> 1.3 us a call), then a
        # select. NaN stays NaN (it takes the second form).
        for i in range(flat_in.size):
            x = flat_in[i]
            flat_out[i] = -x if x >= 0 else x
        exp_nonpositive_f32(flat_out)
        for i in range(flat_in.size):
            e = flat_out[i]
            flat_out[i] = (one if flat_in[i] >= 0 else e) / (one + e)
        return
    for i in range(flat_in.size):
        x = flat_in[i]
        if x >= 0:
            flat_out[i] = one / (one + np.exp(-x))
        else:
            e = np.exp(x)
            flat_out[i] = e / (one + e)


@jit
def sigmoid_backward(output, dvalues, dinputs):
    """``dinputs = dvalues * (1 - s) * s`` with ``s`` the forward output."""
    flat_s, flat_d, flat_out = output.ravel(), dvalues.ravel(), dinputs.ravel()
    one = output.dtype.type(1)
    for i in range(flat_s.size):
        s = flat_s[i]
        flat_out[i] = flat_d[i] * (one - s) * s


@jit
def copy_values(source, target):
    """``target[...] = source`` for C-contiguous arrays of one size.

    An explicit loop: Numba's general slice assignment (``target[:] = ...``)
    compiles its broadcasting machinery, which added about 10 s to the first
    compilation of the Model's program.
    """
    flat_source, flat_target = source.ravel(), target.ravel()
    for i in range(flat_source.size):
        flat_target[i] = flat_source[i]


@jit
def linear_forward(inputs, output):
    """``output = inputs`` (the identity activation of regression outputs)."""
    copy_values(inputs, output)


@jit
def linear_backward(dvalues, dinputs):
    """``dinputs = dvalues``: the identity's derivative is 1."""
    copy_values(dvalues, dinputs)
