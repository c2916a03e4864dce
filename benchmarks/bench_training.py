"""Training benchmarks: the workloads of ``python -m jitnet bench``, under asv.

Compilation happens in ``setup`` (``jitnet.workloads`` warms every callable
up); ``timeraw_*`` measures a cold start in a fresh interpreter.
"""
from jitnet import workloads as W

from .common import best_of, speedup

FAST, BOOK = W.library("jitnet"), W.library("reference")

SPIRAL_EPOCHS = 200


class _JitnetVsReference:
    """Times ``self.fast`` (jitnet) and ``self.book`` (the reference), set up by subclasses."""

    timeout = 300

    def time_jitnet(self):
        self.fast()

    def time_reference(self):
        self.book()

    def track_speedup(self):
        return speedup(self.book, self.fast, repeat=3)
    track_speedup.unit = "x"


class _PeakMemory:
    def peakmem_jitnet(self):
        self.fast()

    def peakmem_reference(self):
        self.book()


class SpiralModel(_JitnetVsReference, _PeakMemory):
    """Chapter 10's 2-64-3 spiral through ``Model.train``, 200 epochs.

    ``track_speedup`` compares with the reference's ``Model``;
    ``track_speedup_over_book_loop`` with the book's per-layer loop.
    """

    def setup(self):
        self.fast = W.spiral_model_train(FAST, SPIRAL_EPOCHS)
        self.book = W.spiral_model_train(BOOK, SPIRAL_EPOCHS)
        self.book_loop = W.spiral_book_loop(BOOK, SPIRAL_EPOCHS)

    def track_speedup_over_book_loop(self):
        return speedup(self.book_loop, self.fast, repeat=3)
    track_speedup_over_book_loop.unit = "x"


class SpiralBookLoop(_JitnetVsReference):
    """The book's per-layer loop through ``jitnet.nnfs`` vs ``jitnet.reference``."""

    def setup(self):
        self.fast = W.spiral_book_loop(FAST, SPIRAL_EPOCHS)
        self.book = W.spiral_book_loop(BOOK, SPIRAL_EPOCHS)


class SpiralCallbacks:
    """``Model.train`` on the spiral with callbacks (``jitnet.workloads.CALLBACK_KINDS``).

    ``track_us_per_epoch_over_none``: what the callbacks add per epoch, timed
    side by side with the same training without them (the lone
    ``EarlyStopping`` runs inside the compiled loop; target at most 2 us).
    """

    params = list(W.CALLBACK_KINDS)
    param_names = ["callbacks"]
    timeout = 300
    epochs = 2000

    def setup(self, kind):
        self.run = W.spiral_model_callbacks(kind, self.epochs)
        self.none = W.spiral_model_callbacks("none", self.epochs)

    def time_train(self, kind):
        self.run()

    def track_us_per_epoch_over_none(self, kind):
        extra = best_of(self.run, repeat=5) - best_of(self.none, repeat=5)
        return extra / self.epochs * 1e6
    track_us_per_epoch_over_none.unit = "us"


class WideModel(_JitnetVsReference, _PeakMemory):
    """784-128-128-10 (Fashion-MNIST's shape), batches of 128, 50 steps."""

    timeout = 600
    samples = 128 * 50

    def setup(self):
        self.fast = W.wide_model_train(FAST, self.samples)
        self.book = W.wide_model_train(BOOK, self.samples)


def timeraw_import_and_first_epoch():
    """Interpreter start, ``import jitnet``, and the first epoch (cache as it is)."""
    return """
    import jitnet.nnfs as lib
    from jitnet import workloads as W
    W.spiral_model_train(lib, 1)()
    """


timeraw_import_and_first_epoch.timeout = 300


def timeraw_import_and_first_epoch_on_an_empty_cache():
    """A fresh machine: nothing in Numba's cache, so the kernels jitnet ships load
    (x86-64-v3, the shipped Python and Numba; elsewhere everything compiles)."""
    return """
    import atexit, os, shutil, tempfile
    cache = tempfile.mkdtemp()
    atexit.register(shutil.rmtree, cache, True)
    os.environ["NUMBA_CACHE_DIR"] = cache
    import jitnet.nnfs as lib
    from jitnet import workloads as W
    W.spiral_model_train(lib, 1)()
    """


timeraw_import_and_first_epoch_on_an_empty_cache.timeout = 600
