"""A compiled cache that travels: the kernels built once per x86-64 level, shipped with jitnet.

Numba keys its disk cache by the CPU it compiled for (name and feature
list), so a cache filled on one machine misses on every other, and a new
machine compiles for 10-25 s before its first epoch. ``python -m jitnet
compile --portable`` (run by a maintainer whenever a kernel changes) fills a
cache with Numba's documented ``NUMBA_CPU_NAME`` and ``NUMBA_CPU_FEATURES=""``
(in the build's processes only), once per level of :data:`LEVELS`:
``x86-64-v3``, the level of Intel's Haswell (2013) and AMD's Zen and later,
AVX2 and FMA included (not the Atom, Celeron and Pentium parts without AVX);
and ``x86-64-v4``, which adds AVX-512 (Intel's Skylake-SP and later server
parts, AMD's Zen 4 and later), whose code ran chapter 18's 3000 x 512 epochs
about 1.4x faster on a Zen 4 than the v3 code. Both go to
``kernels/portable_cache/`` (one index per kernel, an entry per level and
signature) with a manifest, and are installed with the package. Code the
shipped files lack (another signature) is compiled for this CPU as before; a
user's own Numba functions are never affected.

At load, each kernel's cache (:class:`PortableCache`) first looks in
Numba's own cache (this machine's compilations, keyed by this CPU); on a
miss, and only when :func:`usable` holds, it looks in the shipped files
under the key of the best level this CPU has (:func:`host_levels`), then the
next. What it finds there is code this CPU runs: the host has every feature
of that level (checked). It never runs stale code: the index
carries the hash of every kernel source and the Numba version
(``_jit.STAMP``), and the key the hash of the function's bytecode,
as for Numba's own cache; the manifest pins Python, Numba and llvmlite.
The same kernels compiled for another level or for this CPU can round
float32 sums differently in the last bits (LLVM vectorises them by its
per-CPU tuning; docs/performance.md has the figures).

Whether or not the shipped files serve, every kernel's cache loads without
Numba's context refresh (:func:`cache_class`): loaded code needs only
Numba's runtime, and the compiler loads the rest when something compiles.

The shipped files are off (Numba compiles as before) when
``JITNET_PORTABLE_CACHE=0``, when caching is off (``JITNET_CACHE=0``), when
Numba's settings change the code (``NUMBA_BOUNDSCHECK``, ``NUMBA_OPT``,
``NUMBA_CPU_NAME`` ...), and when the host, Python or Numba differ from the
build's. Numba's cache classes are
private API: if they move, this stays off.
"""
import json
import os
import sys

#: The level every shipped kernel needs at least (the build's first).
PORTABLE_CPU = "x86-64-v3"

_V3_FEATURES = (
    "cmov", "cx8", "fxsr", "mmx", "sse", "sse2",                          # v1
    "cx16", "sahf", "popcnt", "sse3", "sse4.1", "sse4.2", "ssse3",        # v2
    "avx", "avx2", "bmi", "bmi2", "f16c", "fma", "lzcnt", "movbe", "xsave",  # v3
)

#: The x86-64 micro-architecture levels the shipped code is compiled for,
#: each with its features by LLVM's names (the x86-64 psABI's levels).
LEVELS = {
    PORTABLE_CPU: _V3_FEATURES,
    "x86-64-v4": _V3_FEATURES + ("avx512f", "avx512bw", "avx512cd", "avx512dq",
                                 "avx512vl"),
}

#: Where the shipped cache lives (inside the installed package).
FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "portable_cache")
MANIFEST = "manifest.json"


def build_environment(level):
    """Environment that makes Numba compile for ``level`` (one of :data:`LEVELS`)."""
    return {"NUMBA_CPU_NAME": level, "NUMBA_CPU_FEATURES": "",
            "JITNET_PORTABLE_CACHE": "0"}


def build_facts():
    """What a shipped cache must have been built with to serve this process."""
    import llvmlite
    import numba
    return {"cpus": list(LEVELS), "numba": numba.__version__,
            "llvmlite": llvmlite.__version__, "python": sys.implementation.cache_tag}


def host_levels():
    """The levels of :data:`LEVELS` whose every feature this CPU has, best first."""
    import llvmlite.binding as ll
    try:
        features = ll.get_host_cpu_features()
    except RuntimeError:  # LLVM cannot tell on this host
        return ()
    return tuple(level for level, needed in reversed(LEVELS.items())
                 if all(features.get(name, False) for name in needed))


#: Numba's settings that change the code it compiles but not its disk cache's
#: key (numba/numba#10821): ``(variable, attribute of numba.core.config,
#: Numba's default)``. The CPU's name and features (``NUMBA_CPU_NAME``,
#: ``NUMBA_ENABLE_AVX``...) are in that key.
CODE_SETTINGS = (("NUMBA_OPT", "OPT", 3), ("NUMBA_LOOP_VECTORIZE", "LOOP_VECTORIZE", 1),
                 ("NUMBA_SLP_VECTORIZE", "SLP_VECTORIZE", 0),
                 ("NUMBA_DEBUGINFO", "DEBUGINFO_DEFAULT", 0),
                 ("NUMBA_BOUNDSCHECK", "BOUNDSCHECK", 0),
                 ("NUMBA_EXTEND_VARIABLE_LIFETIMES", "EXTEND_VARIABLE_LIFETIMES", 0))


def code_settings():
    """The settings of :data:`CODE_SETTINGS` this process runs with that are not
    Numba's defaults, as ``(variable, value)`` pairs: empty in a normal run.

    Every kernel's cache key includes them (``LoadingCache._index_key``): with
    Numba's key alone, a process run with bounds checks on loads the unchecked
    code an earlier run cached (and checks nothing), and code cached by a
    debugging or profiling run (``NUMBA_DEBUGINFO``, ``NUMBA_ENABLE_PROFILING``,
    which also turn the bounds checks on) serves every later run: chapter 16's
    ReLU took 7-16 us a call so, against 0.9 us. A setting this Numba lacks
    counts as its default.
    """
    from numba.core import config
    changed = []
    for variable, attribute, default in CODE_SETTINGS:
        value = getattr(config, attribute, default)
        if getattr(value, "is_opt_max", False):  # NUMBA_OPT=max: int() says 3
            value = "max"
        elif attribute == "BOUNDSCHECK":  # None: as each function asks (ours: off)
            value = int(bool(value))
        else:
            value = int(value)
        if value != default:
            changed.append((variable, value))
    return tuple(changed)


def _numba_defaults():
    """True when no Numba setting changes the generated code."""
    from numba.core import config
    return (not code_settings() and config.CPU_NAME is None
            and config.CPU_FEATURES is None and config.ENABLE_AVX
            and not config.DISABLE_JIT)


def _manifest():
    try:
        with open(os.path.join(FOLDER, MANIFEST), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def shipped_levels():
    """The levels whose shipped code may serve this process, best first; empty
    when none may (see the module's text)."""
    if os.environ.get("JITNET_PORTABLE_CACHE", "1").strip() == "0":
        return ()
    from ._jit import STAMP  # defined before _jit imports this module
    manifest = _manifest()
    if not isinstance(manifest, dict) or manifest.get("facts") != build_facts() \
            or manifest.get("stamp") != STAMP or not _numba_defaults():
        return ()
    return host_levels()  # each level has every feature of the ones below it


def usable():
    """True when the shipped cache may serve this process (see the module's text)."""
    return bool(shipped_levels())


def compiled_for(loaded, sig):
    """True if ``loaded`` (a compiled overload from a cache, or None) takes the
    argument types ``sig`` (a tuple of Numba types, or a signature).

    Numba's cache index maps each signature to a data file, but two
    processes saving overloads of one function at once (``python -m jitnet
    compile`` runs one per dtype, each with a helper) can leave the index
    naming another signature's file: Numba would then run float32 code on
    float64 arrays, or fail to unbox them. Such an entry is treated as a
    miss (the overload compiles, and its save mends the entry).
    """
    return loaded is None or _same_arguments(loaded.signature, sig)


def _same_arguments(signature, sig):
    """True if ``signature`` (Numba's, of compiled code) takes the argument
    types ``sig`` (a tuple of Numba types, or a signature)."""
    return tuple(signature.args) == tuple(getattr(sig, "args", sig))


def mismatched_entries(folder, stamp):
    """The index entries in the cache ``folder`` whose data file holds code
    for another signature (see :func:`compiled_for`), as ``"file: signature"``.

    For the build of the shipped files, which must have none. Reads Numba's
    private cache format: raises if it moved.
    """
    from numba.core.caching import IndexDataCacheFile
    wrong = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".nbi"):
            continue
        index = IndexDataCacheFile(cache_path=folder, filename_base=name[:-len(".nbi")],
                                   source_stamp=stamp)
        for key, data_name in index._load_index().items():
            data = index._load_data(data_name)  # the build's own files
            signature = next(item for item in data if hasattr(item, "return_type"))
            if not _same_arguments(signature, key[0]):
                wrong.append(f"{data_name}: {key[0]}")
    return wrong


def cache_class(shipped):
    """A subclass of Numba's function cache: loads without refreshing the
    compiler's context, and falls back on the shipped files compiled for the
    levels ``shipped`` (tried in that order; none: no fallback).

    Numba's ``load_overload`` first calls ``target_context.refresh()``,
    which imports and installs every typing and lowering registry: 0.5 s
    the first time in a process, plus about 0.25 s of garbage collection at
    exit, for code that is then loaded, not compiled. Loading needs only the
    runtime; the registries load when something compiles (Numba's compiler
    refreshes the context itself). A load that fails for want of them falls
    back on Numba's own path.

    None when Numba's private cache API is not as expected.
    """
    try:
        from numba.core.caching import FunctionCache, IndexDataCacheFile
        FunctionCache._index_key  # noqa: B018  (fail here if it moved)
        FunctionCache._load_overload  # noqa: B018
        FunctionCache._guard_against_spurious_io_errors  # noqa: B018
        from numba.core.runtime import rtsys
        rtsys.initialize  # noqa: B018
    except (ImportError, AttributeError):  # pragma: no cover
        return None

    class LoadingCache(FunctionCache):
        """Numba's cache, loading without the context refresh, set up at first use.

        Numba's set-up finds the cache folder and proves it writable by
        creating a file in it: 0.1-0.2 ms a kernel, for the 75 kernels
        decorated at import where a script calls a few of them.
        """

        def __init__(self, py_func):  # Numba's own __init__ runs in _set_up
            self._pending = py_func

        def __getattr__(self, name):
            # Only called for an attribute not set yet: finish the set-up once.
            py_func = self.__dict__.pop("_pending", None)
            if py_func is None:
                raise AttributeError(name)
            try:
                self._set_up(py_func)
            except BaseException:  # e.g. no writable cache folder: the same error next time
                self._pending = py_func
                raise
            return getattr(self, name)

        def _set_up(self, py_func):
            FunctionCache.__init__(self, py_func)

        def _index_key(self, sig, codegen):
            # Numba's key, and the settings that change the code (code_settings)
            # when they are not the defaults: a normal run's key is Numba's.
            key = super()._index_key(sig, codegen)
            settings = code_settings()
            return key + (settings,) if settings else key

        def load_overload(self, sig, target_context):
            rtsys.initialize(target_context)  # Numba's runtime; at once after the first call
            try:
                with self._guard_against_spurious_io_errors():
                    loaded = self._load_overload(sig, target_context)
            except Exception:  # noqa: BLE001  (a registry was needed after all)
                loaded = super().load_overload(sig, target_context)
            return loaded if compiled_for(loaded, sig) else None

    if not shipped:
        return LoadingCache

    class PortableCache(LoadingCache):
        """As :class:`LoadingCache`, then the shipped files on a miss, best level first."""

        #: The levels tried, in order.
        levels = tuple(shipped)

        def _set_up(self, py_func):
            super()._set_up(py_func)
            self._shipped = IndexDataCacheFile(
                cache_path=FOLDER, filename_base=self._impl.filename_base,
                source_stamp=self._impl.locator.get_source_stamp())
            self.loaded_levels = []  # the level of each overload loaded from the shipped files

        def _load_overload(self, sig, target_context):
            data = super()._load_overload(sig, target_context)
            if data is not None or not self._enabled or code_settings():
                return data  # (the shipped code was built with Numba's defaults)
            codegen = target_context.codegen()
            triple = codegen.magic_tuple()[0]
            sig_, _, hashes = self._index_key(sig, codegen)
            for level in self.levels:
                try:
                    data = self._shipped.load((sig_, (triple, level, ""), hashes))
                    if data is not None:
                        loaded = self._impl.rebuild(target_context, data)
                        self.loaded_levels.append(level)
                        return loaded
                except Exception:  # noqa: BLE001  (a damaged file: compile instead)
                    return None
            return None

    return PortableCache


_CLASS = cache_class(shipped=shipped_levels())


def attach(dispatcher):
    """Give ``dispatcher`` (a Numba dispatcher compiled without ``cache``) a
    disk cache: jitnet's class (loads without the context refresh, and the
    shipped fallback when :func:`usable`), or Numba's own if its API moved."""
    if _CLASS is None:  # pragma: no cover
        dispatcher.enable_caching()
    else:
        dispatcher._cache = _CLASS(dispatcher.py_func)
    return dispatcher
