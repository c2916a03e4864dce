"""Checks the wrappers run on data before other kernels touch it.

They return facts and never raise: deciding what is an error, and saying so,
is the wrappers' job. They are kernels because a NumPy expression would
allocate a temporary as large as the data (``np.isfinite(X)``) or convert it
(labels to ``intp``) on every call.
"""
import math

from ._jit import jit


@jit
def label_bounds(labels):
    """``(labels.min(), labels.max())`` of a non-empty 1-D integer array, in one pass.

    The wrappers call it before any kernel indexes with the labels: compiled
    code has no bounds checks, so an out-of-range label would read or write
    outside the arrays.
    """
    low = high = labels[0]
    for i in range(1, labels.shape[0]):
        v = labels[i]
        if v < low:
            low = v
        elif v > high:
            high = v
    return int(low), int(high)


@jit
def all_finite(values):
    """True when no element of the C-contiguous float array is NaN or inf.

    Written with ``math.isnan``/``math.isinf``: under the kernels' fast-math
    flags Numba's ``np.isfinite`` says True for NaN.
    """
    flat = values.ravel()
    for i in range(flat.size):
        v = flat[i]
        if math.isnan(v) or math.isinf(v):
            return False
    return True
