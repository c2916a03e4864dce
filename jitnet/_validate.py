"""Input checks shared by every public entry point.

Kernels never validate (bounds checks are off in compiled code), so each
wrapper calls these first. Errors name the caller, the argument and the
shapes involved. The checks are O(1) except where memory safety needs a pass
over the data (label ranges).
"""
import numbers

import numpy as np

from .kernels import all_finite, label_bounds

#: dtype for data that arrives as integers or booleans (``nnfs.init()``'s choice).
DEFAULT_DTYPE = np.dtype(np.float32)
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_F32, _F64 = FLOAT_DTYPES


def float_dtype(dtype):
    """Return ``dtype`` as a NumPy float32/float64 dtype or raise TypeError."""
    dt = np.dtype(dtype)
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


#: ``MADE[0]`` is the array a per-layer wrapper made last (an output or a
#: gradient: C-contiguous, float32 or float64, non-empty), at first a
#: placeholder no caller can pass. Wrappers set it; :func:`is_float_batch`
#: reads it. Any array jitnet made qualifies, so threads sharing the slot are
#: safe.
MADE = [object()]


def is_float_batch(value, dtype=None):
    """True for what the kernels take as is: a non-empty, C-contiguous, 2-D
    ``np.ndarray`` of exactly ``dtype`` (float32 or float64 if omitted).

    The per-layer calls' fast path, cheaper than :func:`as_float_array` (a
    few attribute reads, no conversion); anything else goes through that
    function. Dtypes are compared with ``is``: NumPy's built-in float dtypes
    are singletons, and an equal copy just takes the slower path.

    In the book's loops each call takes the array the call before made
    (:data:`MADE`): of that one only what can change in place is checked,
    ``ndim`` (``a.shape = ...``), and the dtype asked for.
    """
    if value is MADE[0]:
        return value.ndim == 2 and (dtype is None or value.dtype is dtype)
    return (type(value) is np.ndarray and value.ndim == 2
            and (value.dtype is dtype if dtype is not None
                 else value.dtype is _F32 or value.dtype is _F64)
            and value.flags.c_contiguous and value.size != 0)


def as_float_array(value, where, name, *, dtype=None, ndim=2):
    """Return ``value`` as a C-contiguous float array of ``ndim`` dimensions.

    Parameters
    ----------
    value : array_like
    where : str
        The caller, e.g. ``"Dense.forward"``, for error messages.
    name : str
        The argument's name, for error messages.
    dtype : float32 or float64 dtype, optional
        Target dtype. If omitted, float32/float64 arrays keep their dtype and
        everything else (ints, bools, float16) becomes float32.
    ndim : int or None
        Required number of dimensions (``None``: any, at least 1).

    Returns
    -------
    ndarray, C-contiguous, float32 or float64, never empty.
    """
    # Fast path for the common case (per-layer calls in a training loop).
    if type(value) is np.ndarray and value.size and value.flags.c_contiguous and (
            value.dtype == dtype if dtype is not None else value.dtype in FLOAT_DTYPES) \
            and (value.ndim == ndim if ndim is not None else value.ndim > 0):
        return value
    arr = value if isinstance(value, np.ndarray) else np.asarray(value)
    kind = arr.dtype.kind
    if kind not in "biuf":
        raise TypeError(
            f"{where}: {name} must hold real numbers, got dtype {arr.dtype}"
            f" (shape {arr.shape})")
    if dtype is None:
        dtype = arr.dtype if arr.dtype in FLOAT_DTYPES else DEFAULT_DTYPE
    if ndim is not None and arr.ndim != ndim:
        what = "2-D (samples, features)" if ndim == 2 else f"{ndim}-D"
        raise ValueError(f"{where}: {name} must be {what}, got shape {arr.shape}")
    if arr.ndim == 0:
        raise ValueError(f"{where}: {name} must be an array, got a scalar")
    if arr.size == 0:
        raise ValueError(f"{where}: {name} is empty (shape {arr.shape})")
    if arr.dtype != dtype or not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr, dtype=dtype)
    return arr


def check_same_shape(where, name, arr, other_name, other):
    """Raise ValueError unless ``arr.shape == other.shape``."""
    if arr.shape != other.shape:
        raise ValueError(
            f"{where}: {name} has shape {arr.shape} but {other_name} has shape"
            f" {other.shape}; they must match")


#: Integer targets a loss kernel may take as they are (``integers=True``):
#: ``spiral_data``'s uint8 labels and NumPy's default integers. Others are
#: converted, which costs less than compiling a kernel for a rare dtype.
KERNEL_INTEGERS = (np.dtype(np.uint8), np.dtype(np.int64))


def as_targets(y_true, where, y_pred, *, check_finite=True, integers=False):
    """Targets for BCE, MSE and MAE: the predictions' shape and dtype.

    A 1-D ``y_true`` is accepted for single-output predictions ``(n, 1)`` and
    reshaped; any other shape mismatch raises (NumPy would broadcast
    ``(n,)`` against ``(n, 1)`` into ``(n, n)`` and silently give a wrong loss).
    NaN or inf raise, unless ``check_finite=False``: for a caller that runs
    :func:`check_finite_targets` itself when its result shows the need
    (integer targets are finite, so they are never scanned).
    With ``integers``, a C-contiguous array of the predictions' shape and a
    dtype in :data:`KERNEL_INTEGERS` is returned as it is, for a kernel that
    converts each element itself (``kernels.bce_forward``).
    """
    y = y_true
    if type(y) is np.ndarray and y.shape == y_pred.shape and y.flags.c_contiguous:
        kind = y.dtype.kind
        if kind in "biu":  # chapter 16's uint8 labels: converted integers are finite
            if integers and y.dtype in KERNEL_INTEGERS:
                return y
            return y.astype(y_pred.dtype)
        if kind == "f":
            if y.dtype is not y_pred.dtype:  # chapter 17's float64 sine
                y = y.astype(y_pred.dtype)
            if check_finite:
                check_finite_targets(y, where)
            return y
    y = as_float_array(y_true, where, "y_true", dtype=y_pred.dtype, ndim=None)
    if y.ndim == 1 and y_pred.shape == (y.shape[0], 1):
        y = y.reshape(-1, 1)
    check_same_shape(where, "y_true", y, "y_pred", y_pred)
    source = getattr(y_true, "dtype", None)
    if check_finite and not (source is not None and source.kind in "biu"):
        check_finite_targets(y, where)  # (converted integers are finite)
    return y


def check_finite_targets(y, where):
    """Raise ValueError if the float array ``y`` holds NaN or inf."""
    if not all_finite(y):
        raise ValueError(f"{where}: y_true (shape {y.shape}) holds NaN or inf")


def is_label_batch(y_true, n_samples):
    """True for the book's class labels as the kernels take them: a C-contiguous
    1-D integer ``np.ndarray`` of ``n_samples >= 1`` labels (range unchecked)."""
    return (type(y_true) is np.ndarray and y_true.ndim == 1 and y_true.dtype.kind in "iu"
            and y_true.flags.c_contiguous and y_true.shape[0] == n_samples and n_samples > 0)


def label_range_error(where, low, high, n_classes):
    """The ValueError for class labels in ``[low, high]`` outside ``[0, n_classes)``."""
    return ValueError(f"{where}: y_true holds labels in [{low}, {high}] but the"
                      f" predictions have {n_classes} classes (valid labels:"
                      f" 0..{n_classes - 1})")


def as_class_labels(y_true, where, n_samples, n_classes, dtype):
    """Class targets: sparse ``(n,)`` indices, or ``(n, k)`` one-hot rows.

    Returns
    -------
    ndarray
        ``intp`` indices, all in ``[0, n_classes)``, or a C-contiguous
        ``(n, k)`` float array of ``dtype``.
    """
    if is_label_batch(y_true, n_samples):
        # The book's case, one pass over the labels (memory safety: kernels
        # index with them unchecked); anything else, errors included, below.
        low, high = label_bounds(y_true)
        if low >= 0 and high < n_classes:
            return y_true
    y = y_true if isinstance(y_true, np.ndarray) else np.asarray(y_true)
    if y.dtype.kind not in "biuf":
        raise TypeError(f"{where}: y_true must hold class indices or one-hot"
                        f" rows, got dtype {y.dtype} (shape {y.shape})")
    if y.ndim == 1:
        if y.shape[0] != n_samples:
            raise ValueError(f"{where}: y_true has {y.shape[0]} labels (shape"
                             f" {y.shape}) for {n_samples} samples")
        if y.dtype.kind == "f":
            if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
                raise ValueError(f"{where}: y_true holds non-integer class"
                                 f" labels (shape {y.shape})")
        # Integer labels keep their dtype (kernels specialise on it), which
        # saves a conversion on every call of the book's per-layer loop.
        labels = y if y.dtype.kind in "iu" and y.flags.c_contiguous else \
            np.ascontiguousarray(y, dtype=np.intp)
        if labels.size:
            low, high = label_bounds(labels)
            if low < 0 or high >= n_classes:
                raise label_range_error(where, low, high, n_classes)
        return labels
    if y.ndim == 2:
        if y.shape != (n_samples, n_classes):
            hint = (" (for class indices pass a 1-D array, e.g. y.ravel())"
                    if y.shape[1] == 1 else "")
            raise ValueError(f"{where}: one-hot y_true has shape {y.shape} but"
                             f" the predictions have shape"
                             f" ({n_samples}, {n_classes}){hint}")
        y = np.ascontiguousarray(y, dtype=dtype)
        if not all_finite(y):
            raise ValueError(f"{where}: one-hot y_true (shape {y.shape}) holds NaN or inf")
        return y
    raise ValueError(f"{where}: y_true must be 1-D class indices or 2-D one-hot"
                     f" rows, got shape {y.shape}")


def check_positive_int(where, name, value):
    """Return ``value`` as an int if it is an integer > 0, else raise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: {name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return int(value)


def check_real(where, name, value, *, low=None, high=None,
               low_open=False, high_open=False):
    """Return ``value`` as a float within the given bounds, else raise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {value!r}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{where}: {name} must be finite, got {value!r}")
    too_low = low is not None and (v <= low if low_open else v < low)
    too_high = high is not None and (v >= high if high_open else v > high)
    if too_low or too_high:
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        interval = (f"{'(' if low_open or low is None else '['}{lo}, "
                    f"{hi}{')' if high_open or high is None else ']'}")
        raise ValueError(f"{where}: {name} must be in {interval}, got {value!r}")
    return v
