"""The Model's first compilation, on two cores when the disk cache is empty.

The first ``Model.train`` on a machine compiles ``train_epochs`` and the
thirty-odd layer, loss and optimizer kernels it calls, in one thread: Numba
compiles one function at a time. When nothing is cached yet, :func:`begin`
starts one helper process (:func:`main`) that compiles dense's backward, the
program's ``backward`` dispatch and the optimizers into the disk cache, while
this process compiles the small backward kernels, the forward side and
``evaluate_batches`` (:func:`plan`); ``train_epochs`` then loads all of it
from the cache, and only its own compilation is left. On this 2-core machine
import + compile + first epoch of the spiral took 17.3-18.3 s (19.2 s in a
``python -m jitnet bench`` run), against 29.2-29.9 s in one process
(``JITNET_COMPILE_PROCESSES=1``) in the same hour.

The plan names each kernel with the exact Numba types ``train_epochs`` calls
it with; ``tests/test_compile.py`` checks that against a real compilation. A
wrong entry costs only time: this process then compiles what it needs itself.
So does a helper that fails or cannot start.
"""
import os
import subprocess
import sys
import threading

import numpy as np
from numba import types as T
from numba.core.compiler_lock import global_compiler_lock
from numba.core.registry import CPUDispatcher

from .kernels import CACHE
from .kernels import activations as A
from .kernels import dense as D
from .kernels import dropout as R
from .kernels import losses as L
from .kernels import optimizers as O
from .kernels import program as P

HELPER_TIMEOUT = 600  # seconds; a helper that takes longer is stopped
_lock = threading.Lock()
_begun = set()  # dtypes whose first compilation this process has begun


def plan(dtype):
    """What ``train_epochs`` compiles for ``dtype``, in two halves.

    Returns
    -------
    program : (dispatcher, argument types) of ``train_epochs`` itself
    here, helper : lists of (dispatcher, argument types): what this process
        and the helper compile. ``here`` holds the small backward kernels,
        the forward kernels and ``evaluate_batches``, which needs them; the
        split makes the two take about as long (10-11 s each here).
    """
    f = T.float32 if np.dtype(dtype) == np.float32 else T.float64
    a1, a2 = f[::1], f[:, ::1]
    i1, f1, d, b, i = T.int64[::1], T.float64[::1], T.float64, T.boolean, T.int64
    program = (P.train_epochs, (
        T.int64[:, ::1], f1, T.float64[:, ::1], a1, a1, a1, a1, a1, a1, a1, a1, a1,
        T.intp[::1], a1, i, b, b, i, d, i, f1, f1, a2, i1, a2, a2, i1, a2, i, i, b,
        T.intp[::1], T.float64[:, ::1], i, T.float64[:, ::1], i1, f1, a1))
    # The helper compiles dense's backward, then backward, the op dispatch that
    # calls it. That finds the small backward kernels in the cache: this
    # process compiles them first.
    helper = [
        (D._backward, (a2, a2, a2, a2, d, d, d, d, a2, a2, a2, b, b, d)),
        (P.backward, (T.int64[:, ::1], f1, T.float64[:, ::1], a1, a1, a1, a1, a1, a2, i,
                      b, b, i1, a2)),
        (O.sgd_update, (a1, a1, d)), (O.sgd_momentum_update, (a1, a1, a1, d, d)),
        (O.adagrad_update, (a1, a1, a1, d, d)), (O.rmsprop_update, (a1, a1, a1, d, d, d)),
        (O.adam_update, (a1, a1, a1, a1, d, d, d, d, d)),
    ]
    here = [
        (A.relu_backward, (a2, a2, a2)), (A.sigmoid_backward, (a2, a2, a2)),
        (A.softmax_backward, (a2, a2, a2)), (A.linear_backward, (a2, a2)),
        (R.dropout_backward, (a2, a2, a2)),
        (L.softmax_cce_backward_sparse, (a2, i1, a2)),
        (L.softmax_cce_backward_onehot, (a2, a2, a2)),
        (L.cce_backward_sparse, (a2, i1, a2)), (L.cce_backward_onehot, (a2, a2, a2)),
        (L.bce_backward, (a2, a2, a2)), (L.mse_backward, (a2, a2, a2)),
        (L.mae_backward, (a2, a2, a2)),
        (A.copy_values, (a1, a1)), (A.copy_values, (a2, a2)), (A.linear_forward, (a2, a2)),
        (A.relu_forward, (a2, a2)), (A.sigmoid_forward, (a2, a2)),
        (A.softmax_forward, (a2, a2)), (D.dense_forward, (a2, a2, a2, a2, b)),
        (R.dropout_forward, (a2, d, a2, a2)), (R.relu_dropout_forward, (a2, d)),
        (L.cce_forward_sparse, (a2, i1, a1)),
        (L.cce_forward_onehot, (a2, a2, a1)), (L.bce_forward, (a2, a2, a1)),
        (L.mse_forward, (a2, a2, a1)), (L.mae_forward, (a2, a2, a1)),
        (D.regularization_loss, (a2, d, d)),
        (P.forward, (T.int64[:, ::1], f1, a1, a1, a1, a2, b)),
        (P.evaluate_batches, (T.int64[:, ::1], f1, a1, a1, a1, a1, i, b, i, d, a2, i1, a2, i)),
    ]
    return program, here, helper


def compile_all(entries):
    """Compile (or load from the disk cache) every (dispatcher, types) pair."""
    for dispatcher, argtypes in entries:
        dispatcher.compile(argtypes)


def _is_cached(dispatcher, argtypes):
    """Load ``argtypes``'s overload from the disk cache; False if there is none.

    Numba has no public "is it cached?" call, so this does what
    ``Dispatcher.compile`` does on a cache hit. None when that API has moved:
    the caller then compiles as usual.
    """
    if argtypes in dispatcher.overloads:
        return True
    try:
        with global_compiler_lock:
            cres = dispatcher._cache.load_overload(argtypes, dispatcher.targetctx)
            if cres is None:
                return False
            dispatcher.targetctx.insert_user_function(cres.entry_point, cres.fndesc,
                                                      [cres.library])
            dispatcher.add_overload(cres)
            dispatcher._cache_hits[argtypes] += 1
            return True
    except Exception:  # noqa: BLE001  (private API; never fatal)
        return None


def _parallel_allowed():
    return (CACHE and isinstance(P.train_epochs, CPUDispatcher) and bool(sys.executable)
            and (os.cpu_count() or 1) >= 2
            and os.environ.get("JITNET_COMPILE_PROCESSES", "2").strip() != "1")


def start_python(code, stdout=subprocess.DEVNULL, environment=None):
    """A fresh Python running ``code`` with this jitnet; None if it cannot start.

    The child inherits the environment (``NUMBA_CACHE_DIR``, bounds checks),
    updated with ``environment``, and finds this jitnet's folder on its path,
    appended if it is missing, so that standard modules are not shadowed.
    """
    parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    prelude = f"import sys\nif {parent!r} not in sys.path: sys.path.append({parent!r})\n"
    try:
        return subprocess.Popen([sys.executable, "-c", prelude + code],
                                stdin=subprocess.DEVNULL, stdout=stdout,
                                stderr=subprocess.DEVNULL,
                                env={**os.environ, **(environment or {})})
    except OSError:
        return None


def begin(dtype):
    """Start the first compilation of the program for ``dtype``, if it is needed.

    Returns None when the program is cached, already loaded, or this process
    has begun it before; otherwise a :class:`Compilation` whose ``complete``
    must be called before ``train_epochs``. The helper starts here, so it
    works while the caller validates its data.
    """
    dtype = np.dtype(dtype)
    with _lock:
        if dtype in _begun or not _parallel_allowed():
            return None
        _begun.add(dtype)
        program, here, _ = plan(dtype)
        if _is_cached(*program) is not False:
            return None
        helper = start_python(f"from jitnet._compile import main; main({dtype.name!r})")
        return Compilation(here, helper)


class Compilation:
    """This process's half of the plan, and the helper compiling the other."""

    def __init__(self, here, helper):
        self.here, self.helper = here, helper

    def complete(self):
        """Compile this half, then wait for the helper (stopping it if it hangs)."""
        try:
            compile_all(self.here)
        except BaseException:
            if self.helper is not None:
                self.helper.kill()
                self.helper.wait()
            raise
        if self.helper is not None:
            wait_or_stop(self.helper)


def wait_or_stop(helper):
    """Wait for a helper process to end; stop it after :data:`HELPER_TIMEOUT`."""
    try:
        helper.wait(timeout=HELPER_TIMEOUT)
    except subprocess.TimeoutExpired:
        helper.kill()
        helper.wait()


def main(dtype):
    """The helper's work: compile the backward half of the plan for ``dtype``."""
    compile_all(plan(dtype)[2])


def fill_caches(dtypes, out=print, environment=None):
    """``python -m jitnet compile``: fill the disk cache for ``dtypes``, one process each.

    ``environment`` is added to the children's (``fill_portable_cache``
    uses it). Returns the exit status: 0 when every process succeeded, 1
    otherwise, 2 when caching is off (``JITNET_CACHE=0``: there is nothing
    to fill).
    """
    if not CACHE:
        out("jitnet compile: caching is off (JITNET_CACHE=0), nothing to fill")
        return 2
    import time

    from .kernels import _portable
    start = time.perf_counter()
    # The shipped kernels serve the children: they load, not compile.
    shipped = environment is None and _portable.usable()
    # One process per dtype; each takes a helper when there is a core for it.
    helper = 2 * len(dtypes) <= (os.cpu_count() or 1)
    children = {dtype: start_python(f"from jitnet._compile_layers import fill_cache;"
                                    f" fill_cache({dtype!r}, helper={helper})",
                                    stdout=None, environment=environment)
                for dtype in dtypes}
    status = 0
    for dtype, child in children.items():
        code = child.wait() if child is not None else "could not start"
        if code != 0:
            status = 1
        out(f"  {dtype}: {'done' if code == 0 else f'failed ({code})'}"
            f" after {time.perf_counter() - start:.1f} s")
    if status == 0 and not shipped:
        # Those processes saved overloads of the same kernels at once, and
        # Numba's index can then lose an entry or name another signature's
        # file (see kernels/_portable.compiled_for). One process going over
        # everything again loads what is right and compiles what is not.
        calls = "; ".join(f"fill_cache({dtype!r})" for dtype in dtypes)
        mend = start_python(f"from jitnet._compile_layers import fill_cache; {calls}",
                            stdout=None, environment=environment)
        code = mend.wait() if mend is not None else "could not start"
        status = 0 if code == 0 else 1
        out(f"  checked in one process: {'done' if code == 0 else f'failed ({code})'}"
            f" after {time.perf_counter() - start:.1f} s")
    folder = (environment or os.environ).get("NUMBA_CACHE_DIR") or "next to the kernels"
    out(f"jitnet compile: {'cache filled' if status == 0 else 'failed'} ({folder})")
    if shipped:
        out(f"  (the {'/'.join(_portable.host_levels())} kernels shipped with jitnet"
            " serve this machine: what they hold was loaded, not compiled;"
            " JITNET_PORTABLE_CACHE=0 compiles it all)")
    return status


def fill_portable_cache(out=print):
    """``python -m jitnet compile --portable``: rebuild ``kernels/portable_cache``.

    Compiles every kernel for both dtypes for each level of
    :data:`kernels._portable.LEVELS` into one empty folder, a level after the
    other (their entries share each kernel's index, which processes saving at
    once can garble), then replaces the shipped cache with it and its
    manifest (see :mod:`jitnet.kernels._portable`). For maintainers, after a
    change to any kernel; the tests check that the shipped cache is current.
    """
    import json
    import shutil
    import tempfile

    from .kernels import _jit, _portable
    with tempfile.TemporaryDirectory() as folder:
        for level in _portable.LEVELS:
            out(f"jitnet compile --portable: {level}")
            environment = {**_portable.build_environment(level), "NUMBA_CACHE_DIR": folder}
            status = fill_caches(["float32", "float64"], out, environment=environment)
            if status != 0:
                return status
        built = [os.path.join(folder, name) for name in os.listdir(folder)]
        if len(built) != 1:  # Numba puts one folder per source folder
            out(f"jitnet compile --portable: expected one cache folder, found {built}")
            return 1
        built = built[0]
        wrong = _portable.mismatched_entries(built, _jit.STAMP)
        if wrong:
            out(f"jitnet compile --portable: index entries for the wrong code: {wrong}")
            return 1
        names = sorted(os.listdir(built))
        staging = _portable.FOLDER + ".new"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(built, staging)
        manifest = {"facts": _portable.build_facts(), "stamp": _jit.STAMP,
                    "files": names}
        with open(os.path.join(staging, _portable.MANIFEST), "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1)
            f.write("\n")
        shutil.rmtree(_portable.FOLDER, ignore_errors=True)
        os.replace(staging, _portable.FOLDER)
    size = sum(os.path.getsize(os.path.join(_portable.FOLDER, n)) for n in names)
    out(f"jitnet compile --portable: {len(names)} files, {size / 2**20:.1f} MiB"
        f" in {_portable.FOLDER}")
    return 0
