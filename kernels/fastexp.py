"""A vectorisable ``exp`` for float32, for softmax.

Numba compiles ``np.exp`` to a call into the C library, one element at a
time (it has no vector math library without Intel's SVML), so a softmax over
(300, 3) spent 5 us in 900 scalar calls. :func:`exp_nonpositive_f32` is
written in plain arithmetic that LLVM vectorises, 8 floats per instruction
with AVX2: Cody-Waite range reduction ``x = n ln2 + r``, ``|r| <= ln2 / 2``,
Cephes' degree-6 polynomial for ``exp(r)`` (about 1 ulp), and ``2**n`` built
from its IEEE-754 bits.
"""
import numpy as np
from numba.core import types
from numba.extending import intrinsic

from ._jit import jit

_LOG2E = np.float32(1.44269504088896341)
# ln 2 split in two: n * _LN2_HI is exact for the n that occur here.
_LN2_HI = np.float32(0.693359375)
_LN2_LO = np.float32(-2.12194440e-4)
# Below this, exp underflows float32's normal range; the answer is then 0.
_LOWEST = np.float32(-87.33654)
_P = tuple(np.float32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                                   4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1))


@intrinsic
def _float32_from_bits(typingctx, bits):
    """The float32 whose IEEE-754 bits are the low 32 bits of integer ``bits``.

    A truncation and a bitcast in LLVM, both free in vector code. (Numba
    widens int32 arithmetic to int64, so any integer type is accepted.)
    """
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        low = builder.trunc(args[0], context.get_value_type(types.int32)) \
            if bits.bitwidth > 32 else args[0]
        return builder.bitcast(low, context.get_value_type(types.float32))
    return types.float32(bits), codegen


@jit
def exp_nonpositive_f32(values):
    """``values[:] = exp(values)`` in place, for float32 ``values <= 0``.

    Parameters
    ----------
    values : (m,) float32 array, C-contiguous; every element <= 0, -inf or
        NaN (softmax's ``x - max(x)``). Relative error at most 3e-7 (measured
        over 1e5 values; the kernels' fast-math flags let LLVM regroup the
        two-step reduction); results below float32's smallest normal number
        (``x < -87.34``) are 0; NaN stays NaN.
    """
    zero, half, one = np.float32(0), np.float32(0.5), np.float32(1)
    for i in range(values.size):
        v = values[i]
        x = _LOWEST if v < _LOWEST else v  # NaN passes through
        n = np.floor(x * _LOG2E + half)
        r = x - n * _LN2_HI
        r = r - n * _LN2_LO
        p = _P[0]
        p = p * r + _P[1]
        p = p * r + _P[2]
        p = p * r + _P[3]
        p = p * r + _P[4]
        p = p * r + _P[5]
        p = p * (r * r) + r + one
        # 2**n for an integer n in [-126, 0]: exponent field n + 127.
        scale = _float32_from_bits((np.int32(n) + 127) << 23)
        values[i] = zero if v < _LOWEST else p * scale
