"""The one place that holds the Numba options every kernel is compiled with.

* ``cache=True`` so a kernel compiles once per machine, unless the environment
  sets ``JITNET_CACHE=0`` (read when jitnet is imported).
* ``nogil=True`` so kernels run in parallel from threads (scikit-learn sweeps).
* fastmath limited to flags that keep NaN and inf semantics: Numba's full
  fast-math set adds ``nnan``/``ninf``, and ``np.isnan`` then lies.
* Kernels that divide by data (:func:`jit_dividing`: the loss gradients,
  Adagrad, RMSprop, Adam) use NumPy's error model: a division by zero
  gives inf or NaN, as in the book, instead of raising ZeroDivisionError.
  Numba's default tests every divisor, which also kept LLVM from
  vectorising: Adam's update of the spiral's 387 parameters took 1.1 us,
  now 0.15 us.

It also guards against ``nnfs.init()``. That function replaces ``np.dot``,
``np.zeros``, ``np.eye`` and ``np.random.randn`` with Python closures, and
Numba registers its implementations against whatever object each name is
when its module (``numba.np.linalg``, ``numba.np.arrayobj``) is first
imported. So we import those modules while the genuine functions are in
place. The kernels themselves call none of the four: products go through
``blas.gemm``, zeros are written by loops.
"""
import hashlib
import os
from contextlib import contextmanager

import numpy as np

try:  # NumPy >= 2
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core import multiarray as _multiarray

_GENUINE = (
    (np, "dot", _multiarray.dot),
    (np, "zeros", _multiarray.zeros),
    (np, "eye", np.lib._twodim_base_impl.eye
     if hasattr(np.lib, "_twodim_base_impl") else np.eye),
    (np.random, "randn", np.random.mtrand._rand.randn),
)


@contextmanager
def _genuine_numpy():
    """Put NumPy's own functions back for the duration of the block."""
    saved = [(mod, name, getattr(mod, name)) for mod, name, _ in _GENUINE]
    try:
        for mod, name, func in _GENUINE:
            setattr(mod, name, func)
        yield
    finally:
        for mod, name, func in saved:
            setattr(mod, name, func)


with _genuine_numpy():
    import numba
    import numba.np.linalg  # noqa: F401  (registers np.dot for nopython mode)
    import numba.np.arrayobj  # noqa: F401

_FOLDER = os.path.dirname(os.path.abspath(__file__))


def _sources_stamp():
    """A hash of every kernel source file and the Numba version."""
    digest = hashlib.sha256(numba.__version__.encode())
    for name in sorted(os.listdir(_FOLDER)):
        if name.endswith(".py"):
            digest.update(name.encode())
            with open(os.path.join(_FOLDER, name), "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()


def _stamp_kernel_caches(stamp):
    """Make every kernel's disk cache depend on *all* kernel sources.

    Numba checks only the source file of the function it loads, so a cached
    ``train_epochs`` (kernels/program.py) would keep running old code after
    kernels/dense.py changed. We put locators in front of Numba's that are
    the same except for the stamp, and only answer for files in this folder.
    If Numba's private caching API moves, we keep its default behaviour.
    """
    def public_or_private(module, name):  # Numba 0.60 dropped the underscores
        found = getattr(module, name, None) or getattr(module, "_" + name)
        return found

    try:
        from numba.core import caching
        bases = [public_or_private(caching, name) for name in (
            "UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator")]
        impl = public_or_private(caching, "CacheImpl")
        impl._locator_classes  # noqa: B018  (fail here if it moved)
    except (ImportError, AttributeError):  # pragma: no cover
        return

    def stamped(base):
        class Locator(base):
            def get_source_stamp(self):
                return stamp

            @classmethod
            def from_function(cls, py_func, py_file):
                if os.path.dirname(os.path.abspath(py_file)) != _FOLDER:
                    return None
                return super().from_function(py_func, py_file)

        Locator.__name__ = Locator.__qualname__ = f"Jitnet{base.__name__}"
        return Locator

    mine = [stamped(base) for base in bases]
    impl._locator_classes = mine + [cls for cls in impl._locator_classes
                                    if not cls.__name__.startswith("Jitnet")]


#: The hash of every kernel source and the Numba version (see _sources_stamp).
STAMP = _sources_stamp()
_stamp_kernel_caches(STAMP)

from ._portable import attach  # noqa: E402  (after the locators: it uses them)

#: True unless the environment says ``JITNET_CACHE=0``.
CACHE = os.environ.get("JITNET_CACHE", "1").strip() != "0"

#: LLVM fast-math flags that leave NaN and inf handling intact.
FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

#: The options every jitnet kernel uses; :func:`_cached` adds the disk cache.
OPTIONS = {"nogil": True, "fastmath": set(FASTMATH)}


def _cached(dispatcher):
    """``dispatcher`` with jitnet's disk cache, unless :data:`CACHE` is off.

    Numba's ``cache=True`` would set up a cache of its own first, only for
    :func:`attach` to replace it.
    """
    return attach(dispatcher) if CACHE else dispatcher


def jit(func):
    """Compile ``func`` in nopython mode with jitnet's shared options."""
    return _cached(numba.njit(**OPTIONS)(func))


def jit_dividing(func):
    """As :func:`jit`, with NumPy's error model: ``x / 0`` is inf or NaN.

    For the kernels that divide by data: loss gradients (by predictions)
    and the adaptive optimizers (per element). Not the default: compiling
    every kernel this way made a cold start 1-3 s longer (interleaved runs;
    the cause was not pinned down).
    """
    return _cached(numba.njit(error_model="numpy", **OPTIONS)(func))


def jit_inline(func):
    """As :func:`jit`, but inlined into its callers by Numba itself.

    For helpers called with constant arguments: Numba compiles a separate
    copy of a function for each combination of literal arguments it is
    called with, while an inlined body is typed in its caller. Also for the
    program's dispatch and small helpers and dense's private loops: every
    compiled function's LLVM module re-optimises the code of all the callees
    linked into it, so a level less in the call tree is a shorter cold start.
    Not for big functions called from several places: the inliner copies and
    re-types the body at each call site, which costs more than it saves.
    """
    return _cached(numba.njit(inline="always", **OPTIONS)(func))


def jit_exact(func):
    """As :func:`jit`, without fast-math: the book's rounding, bit for bit.

    For scalar formulas whose printed value users compare with the book's,
    such as the decayed learning rate: with ``contract`` LLVM fuses
    ``1 + decay * t`` into one FMA, one rounding fewer than NumPy's, and the
    printed rate then differs in its last digits.
    """
    # Explicitly False: a callee whose option is unset inherits its caller's
    # fast-math (and the cache then holds that version under the same
    # signature; seen when train_epochs compiled it first).
    return _cached(numba.njit(**{**OPTIONS, "fastmath": False})(func))
