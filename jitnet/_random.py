"""The seed of the generator inside compiled code (dropout masks, shuffles).

``jitnet.seed`` and an estimator's ``random_state`` seed it. Otherwise it is
seeded once, when jitnet first needs it (a training ``Dropout.forward``, a
``Model.train`` with dropout or shuffling), from the state of NumPy's global
generator, which is read, not drawn from. So a script that seeds NumPy, as
the book's ``nnfs.init()`` does, repeats its dropout masks from run to run,
as the book's code does, and its own NumPy draws stay the book's. Without
that, Numba seeds the generator from the operating system's entropy at
start-up, and chapters 15 and 18 printed other figures in every run.

Numba keeps one generator per thread; as with ``jitnet.seed``, the seed
applies to the thread that sets it.
"""
import zlib

import numpy as np

from . import kernels

#: True once something seeded the compiled generator (see the module's text).
seeded = False


def seed_compiled(n):
    """Seed the compiled generator with the integer ``n`` (0 <= n < 2**32)."""
    global seeded
    kernels.seed_rng(n)
    seeded = True


def ensure_seeded():
    """Seed the compiled generator from NumPy's global state, unless seeded."""
    if not seeded:
        seed_compiled(numpy_state_digest())


def numpy_state_digest():
    """A 32-bit digest of the state of NumPy's global generator (``np.random``),
    read without drawing from it."""
    _, key, position, has_gauss, gauss = np.random.get_state(legacy=True)
    tail = np.array([position, has_gauss], np.int64).tobytes() + np.float64(gauss).tobytes()
    return zlib.crc32(tail, zlib.crc32(np.ascontiguousarray(key).tobytes()))
