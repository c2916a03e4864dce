"""Dropout kernels and the seed of the compiled random number generator.

Numba keeps its own Mersenne Twister, separate from NumPy's global one;
:func:`seed_rng` seeds it (``jitnet.seed`` calls both).
"""
import numpy as np

from ._jit import jit


@jit
def seed_rng(seed):
    """Seed the random generator used inside compiled code (this thread's)."""
    np.random.seed(seed)


@jit
def dropout_forward(inputs, keep_rate, binary_mask, output):
    """Draw a scaled Bernoulli mask and apply it.

    ``binary_mask = Bernoulli(keep_rate) / keep_rate``;
    ``output = inputs * binary_mask``. Scaling by ``1 / keep_rate`` keeps the
    expected sum of outputs unchanged, so nothing changes at inference.

    Parameters
    ----------
    inputs : (n, k) float array
    keep_rate : float in (0, 1], the book's ``1 - rate``
    binary_mask, output : (n, k) same dtype, written
    """
    flat_in, flat_mask, flat_out = inputs.ravel(), binary_mask.ravel(), output.ravel()
    scale = binary_mask.dtype.type(1.0 / keep_rate)
    zero = binary_mask.dtype.type(0)
    for i in range(flat_in.size):
        m = scale if np.random.random() < keep_rate else zero
        flat_mask[i] = m
        flat_out[i] = flat_in[i] * m


@jit
def dropout_backward(dvalues, binary_mask, dinputs):
    """``dinputs = dvalues * binary_mask``."""
    flat_d, flat_mask, flat_out = dvalues.ravel(), binary_mask.ravel(), dinputs.ravel()
    for i in range(flat_d.size):
        flat_out[i] = flat_d[i] * flat_mask[i]
