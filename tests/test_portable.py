"""The shipped x86-64-v3/v4 kernels (``kernels/_portable.py``): current, used, never stale."""
import json
import os
import pathlib
import pickle
import shutil
import subprocess
import sys

import pytest

from jitnet import _compile
from jitnet.kernels import _jit, _portable
from test_compile_layers import COLD_STEPS, EVERYTHING

ROOT = pathlib.Path(__file__).resolve().parent.parent
FOLDER = pathlib.Path(_portable.FOLDER)


def _run(code, cwd=None, **env_changes):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JITNET_", "NUMBA_"))}
    env.update(env_changes)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=900, env=env, cwd=cwd)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _index(path):
    """``(numba version, (stamp, overloads))`` of a Numba index file, as Numba reads it."""
    with open(path, "rb") as f:
        version = pickle.load(f)
        return version, pickle.loads(f.read())


def _manifest():
    return json.loads((FOLDER / _portable.MANIFEST).read_text())


def test_the_shipped_cache_is_current():
    """Rebuild with ``python -m jitnet compile --portable`` after changing a kernel."""
    manifest = _manifest()
    if manifest["facts"] != _portable.build_facts():
        pytest.skip(f"shipped for {manifest['facts']}, this is {_portable.build_facts()}")
    assert manifest["stamp"] == _jit.STAMP, "kernels changed: rebuild the portable cache"
    files = sorted(p.name for p in FOLDER.iterdir() if p.name != _portable.MANIFEST)
    assert files == manifest["files"]
    indexes = [FOLDER / name for name in files if name.endswith(".nbi")]
    assert len(indexes) > 40
    for path in indexes:
        version, (stamp, overloads) = _index(path)
        assert (version, stamp) == (manifest["facts"]["numba"], _jit.STAMP), path.name
        # Every signature at every level, and nothing else.
        signatures = {level: set() for level in _portable.LEVELS}
        for (sig, magic, _), data_name in overloads.items():
            assert magic[1:] in {(level, "") for level in _portable.LEVELS}, path.name
            signatures[magic[1]].add(sig)
            assert (FOLDER / data_name).is_file()
        assert all(sigs == signatures[_portable.PORTABLE_CPU]
                   for sigs in signatures.values()), path.name
    # Every entry names a file of its own signature's code.
    assert _portable.mismatched_entries(str(FOLDER), _jit.STAMP) == []


@pytest.mark.skipif(not _portable.usable(),
                    reason="the shipped kernels are off or do not fit this machine")
def test_a_fresh_machine_compiles_nothing(tmp_path, monkeypatch, capsys):
    """Book loop, Model and dropout on an empty Numba cache: all loaded, nothing written."""
    steps, everything = _run(EVERYTHING, NUMBA_CACHE_DIR=str(tmp_path))
    assert everything == {"compiled": 0, "cache_kind": "PortableCache"}
    assert steps["helpers"] == [] and steps["dense_backward_compiled_here"] == 0
    assert not [p for p in tmp_path.rglob("*.nbi")]
    # The loaded code computes what this process's kernels compute: the same
    # kernels, compiled for x86-64-v3 (here perhaps for this CPU), equal up to
    # the order of float32 sums.
    monkeypatch.setattr(_compile, "start_python", _compile.start_python)  # restored after
    exec(COLD_STEPS, {})
    here = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert here["loss"] == pytest.approx(steps["loss"], rel=1e-5)
    assert here["weights"] == pytest.approx(steps["weights"], rel=1e-5)


def test_off_when_asked_when_bounds_checked_or_when_caching_is_off():
    code = ("import json; from jitnet.kernels import dense_forward as f;"
            " print(json.dumps({'kind': type(f._cache).__name__}))")
    # Without the shipped files, loads still skip the context refresh.
    assert _run(code, JITNET_PORTABLE_CACHE="0") == [{"kind": "LoadingCache"}]
    assert _run(code, NUMBA_BOUNDSCHECK="1") == [{"kind": "LoadingCache"}]
    assert _run(code, JITNET_CACHE="0") == [{"kind": "NullCache"}]
    if _portable.usable():
        assert _run(code) == [{"kind": "PortableCache"}]


def test_usable_only_on_a_host_with_every_feature(monkeypatch):
    import llvmlite.binding as ll

    monkeypatch.delenv("JITNET_PORTABLE_CACHE", raising=False)
    host = dict(ll.get_host_cpu_features())
    monkeypatch.setattr(ll, "get_host_cpu_features", lambda: host)
    if not all(host.get(name) for name in _portable.LEVELS[_portable.PORTABLE_CPU]):
        assert not _portable.usable() and _portable.host_levels() == ()
        return
    assert _portable.usable() == (_manifest()["facts"] == _portable.build_facts()
                                  and _manifest()["stamp"] == _jit.STAMP)
    for missing in ("avx2", "fma", "movbe"):
        monkeypatch.setattr(ll, "get_host_cpu_features", lambda m=missing: {**host, m: False})
        assert not _portable.usable() and _portable.host_levels() == ()


def test_the_best_level_the_host_has_comes_first(monkeypatch):
    import llvmlite.binding as ll

    v3, v4 = _portable.LEVELS
    everything = {name: True for features in _portable.LEVELS.values() for name in features}
    monkeypatch.setattr(ll, "get_host_cpu_features", lambda: everything)
    assert _portable.host_levels() == (v4, v3)
    for missing in ("avx512f", "avx512bw", "avx512vl"):  # a Zen 3, or an Intel laptop
        monkeypatch.setattr(ll, "get_host_cpu_features",
                            lambda m=missing: {**everything, m: False})
        assert _portable.host_levels() == (v3,)


@pytest.mark.skipif(not _portable.usable(),
                    reason="the shipped kernels are off or do not fit this machine")
def test_each_level_loads_the_code_built_for_it(tmp_path):
    """The shipped index holds a kernel once per level; the cache class tries
    the levels it is given in order, and says which one served."""
    import numpy as np
    from numba.core.caching import IndexDataCacheFile
    from numba.core.registry import cpu_target

    from jitnet.kernels import all_finite
    all_finite(np.ones((1, 1), np.float32))
    sig = next(iter(all_finite.overloads))
    for levels, served in [*[((level,), [level]) for level in _portable.host_levels()],
                           ((_portable.PORTABLE_CPU, "x86-64-v9"), [_portable.PORTABLE_CPU]),
                           (("x86-64-v9",), [])]:
        cache = _portable.cache_class(levels)(all_finite.py_func)
        # This machine's own cache, empty: only the shipped files can serve.
        cache._cache_file = IndexDataCacheFile(
            cache_path=str(tmp_path), filename_base=cache._impl.filename_base,
            source_stamp=_jit.STAMP)
        loaded = cache._load_overload(sig, cpu_target.target_context)
        assert (loaded is not None) == bool(served)
        assert cache.loaded_levels == served


def test_other_versions_do_not_use_it(monkeypatch):
    monkeypatch.setattr(_portable, "build_facts", lambda: {**_manifest()["facts"],
                                                           "numba": "0.0.1"})
    assert not _portable.usable()


def _copied_package(tmp_path):
    """jitnet copied under ``tmp_path/site``; returns (site, its kernels folder)."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "jitnet", site / "jitnet",
                    ignore=shutil.ignore_patterns("__pycache__"))
    kernels = site / "jitnet" / "kernels"
    shutil.copytree(ROOT / "kernels", kernels, ignore=shutil.ignore_patterns("__pycache__"))
    return site, kernels


#: Calls one small kernel; reports whether it was loaded (hit) or compiled (miss).
ONE_KERNEL = """
import json, numpy as np
from jitnet.kernels import _portable, all_finite
ones, nan = np.ones((2, 3), np.float32), np.full((1, 1), np.nan, np.float32)
assert all_finite(ones) and not all_finite(nan)  # a signature the shipped files hold
print(json.dumps({"usable": _portable.usable(),
                  "hits": sum(all_finite.stats.cache_hits.values()),
                  "misses": sum(all_finite.stats.cache_misses.values())}))
"""


def test_stale_shipped_code_is_never_loaded(tmp_path, monkeypatch):
    """A kernel source changed, even with a manifest that claims otherwise: it compiles."""
    monkeypatch.delenv("JITNET_PORTABLE_CACHE", raising=False)  # as in the child
    site, kernels = _copied_package(tmp_path)
    with open(kernels / "checks.py", "a") as f:
        f.write("\n# changed after the portable cache was built\n")
    # Make the manifest lie: it names the new sources' stamp.
    stamp = _run("import json; from jitnet.kernels import _jit;"
                 " print(json.dumps({'stamp': _jit.STAMP}))", cwd=tmp_path,
                 PYTHONPATH=str(site), JITNET_PORTABLE_CACHE="0")[0]["stamp"]
    manifest = json.loads((kernels / "portable_cache" / _portable.MANIFEST).read_text())
    (kernels / "portable_cache" / _portable.MANIFEST).write_text(
        json.dumps({**manifest, "stamp": stamp}))
    (result,) = _run(ONE_KERNEL, cwd=tmp_path, PYTHONPATH=str(site),
                     NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    assert result == {"usable": _portable.usable(), "hits": 0, "misses": 1}
    if _portable.usable():  # the same files, sources unchanged: loaded
        (intact,) = _run(ONE_KERNEL, cwd=tmp_path, NUMBA_CACHE_DIR=str(tmp_path / "c2"))
        assert intact == {"usable": True, "hits": 1, "misses": 0}


def test_a_damaged_shipped_file_is_compiled_instead(tmp_path, monkeypatch):
    monkeypatch.delenv("JITNET_PORTABLE_CACHE", raising=False)
    site, kernels = _copied_package(tmp_path)
    damaged = sorted((kernels / "portable_cache").glob("checks.all_finite-*.nbc"))
    assert damaged
    for path in damaged:
        path.write_bytes(path.read_bytes()[:100])
    (result,) = _run(ONE_KERNEL, cwd=tmp_path, PYTHONPATH=str(site),
                     NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    assert result == {"usable": _portable.usable(), "hits": 0, "misses": 1}


@pytest.mark.skipif(not _portable.usable(),
                    reason="the shipped kernels are off or do not fit this machine")
def test_an_index_entry_naming_another_signatures_code_is_a_miss(tmp_path, monkeypatch):
    """Two processes saving one kernel's overloads at once can leave Numba's
    index pointing float32 at float64 code: that entry compiles instead of
    running the wrong code (or failing to unbox), in the shipped files as in
    a user's cache. Here the shipped index's ``all_finite`` entries for float32
    and float64 are swapped, at every level."""
    monkeypatch.delenv("JITNET_PORTABLE_CACHE", raising=False)
    site, kernels = _copied_package(tmp_path)
    (path,) = (kernels / "portable_cache").glob("checks.all_finite-*.nbi")
    version, (stamp, overloads) = _index(path)
    assert len(overloads) == 2 * len(_portable.LEVELS)  # float32 and float64 at each
    swapped = {}
    for level in _portable.LEVELS:
        (k1, d1), (k2, d2) = [(k, d) for k, d in overloads.items() if k[1][1] == level]
        swapped.update({k1: d2, k2: d1})
    with open(path, "wb") as f:
        pickle.dump(version, f, protocol=-1)
        f.write(pickle.dumps((stamp, swapped), protocol=-1))
    assert len(_portable.mismatched_entries(str(path.parent), _jit.STAMP)) == len(overloads)
    cache = tmp_path / "cache"
    (result,) = _run(ONE_KERNEL, cwd=tmp_path, PYTHONPATH=str(site),
                     NUMBA_CACHE_DIR=str(cache))
    assert result == {"usable": True, "hits": 0, "misses": 1}
    # Compiled into this machine's cache, whose entry is right and loads next time.
    assert _portable.mismatched_entries(str(next(cache.iterdir())), _jit.STAMP) == []
    (again,) = _run(ONE_KERNEL, cwd=tmp_path, PYTHONPATH=str(site),
                    NUMBA_CACHE_DIR=str(cache))
    assert again == {"usable": True, "hits": 1, "misses": 0}


#: Loads kernels (this process's cache, or the shipped files), then compiles
#: a new signature and a function of the user's: the registries are loaded
#: by the compilation only, and both compile and run. Counts the kernels
#: whose cache is set up (at import and after use).
LOAD_THEN_COMPILE = """
import json, sys, numpy as np, numba
from numba.core.registry import cpu_target
import jitnet as jn
from numba.core.dispatcher import Dispatcher
import jitnet.kernels
context = cpu_target.target_context
before = len(context._registries)
def caches():
    modules = [m for name, m in sys.modules.items() if name.startswith("jitnet.kernels.")]
    return {id(d): d._cache for m in modules for d in vars(m).values()
            if isinstance(d, Dispatcher)}
kernels, pending_at_import = len(caches()), sum("_pending" in c.__dict__ for c in caches().values())
np.random.seed(0)
layer, relu = jn.Dense(2, 3), jn.ReLU()
layer.forward(np.ones((4, 2), np.float32))
relu.forward(layer.output)
relu.backward(np.ones((4, 3), np.float32))
layer.backward(relu.dinputs)
wide, x = jn.Dense(64, 64), np.random.rand(300, 64).astype(np.float32)
wide.forward(x)  # big enough for BLAS (kernels/blas.py)
loaded = {"registries_after_loading": len(context._registries) - before,
          "arraymath_imported": "numba.np.arraymath" in sys.modules,
          "kernels": kernels, "pending_at_import": pending_at_import,
          "set_up": sum("_pending" not in c.__dict__ for c in caches().values()),
          "blas_error": float(np.abs(wide.output - (x @ wide.weights + wide.biases)).max())}
from jitnet.kernels import relu_forward
x = np.array([[-1, 2]], np.int16)  # a signature no cache holds: compiled here
out = np.empty_like(x)
relu_forward(x, out)
@numba.njit
def users_own(a):
    return np.sum(np.sqrt(a))
print(json.dumps({**loaded, "compiled": out.tolist(), "users_own": users_own(np.full(4, 4.0)),
                  "registries_after_compiling": len(context._registries) - before,
                  "dweights": layer.dweights.tolist()}))
"""


def test_loading_skips_the_context_refresh_and_compiling_still_works(tmp_path):
    """Loaded kernels need no registries; a later compilation loads them itself."""
    cache = str(tmp_path / "cache")
    first = _run(LOAD_THEN_COMPILE, NUMBA_CACHE_DIR=cache)[0]  # compiles or ships
    (again,) = _run(LOAD_THEN_COMPILE, NUMBA_CACHE_DIR=cache)  # loads
    for result in (first, again):
        assert result["compiled"] == [[0, 2]] and result["users_own"] == 8.0
        assert result["registries_after_compiling"] > 0
        assert result["blas_error"] < 1e-5
    assert again["dweights"] == first["dweights"]
    assert again["registries_after_loading"] == 0 and not again["arraymath_imported"]
    # Each kernel's cache is set up when first used, not for all at import.
    assert again["pending_at_import"] == again["kernels"] > 50
    assert 0 < again["set_up"] < again["kernels"] / 4


def test_a_cache_set_up_that_fails_fails_the_same_way_at_every_use():
    """Numba's set-up raises when no cache folder is writable; jitnet's lazy
    set-up must repeat that error, not turn into an AttributeError."""
    if _portable._CLASS is None:  # pragma: no cover
        pytest.skip("Numba's cache API moved; jitnet uses Numba's own cache")

    class NoFolder(_portable._CLASS):
        def _set_up(self, py_func):
            raise RuntimeError("cannot cache function: no locator available")

    cache = NoFolder(lambda x: x)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="no locator available"):
            cache._impl  # noqa: B018


@pytest.mark.parametrize("setting, value, expected", [
    ("OPT", "max", ("NUMBA_OPT", "max")), ("OPT", 0, ("NUMBA_OPT", 0)),
    ("LOOP_VECTORIZE", 0, ("NUMBA_LOOP_VECTORIZE", 0)),
    ("SLP_VECTORIZE", 1, ("NUMBA_SLP_VECTORIZE", 1)),
    ("DEBUGINFO_DEFAULT", 1, ("NUMBA_DEBUGINFO", 1)),
    ("BOUNDSCHECK", 1, ("NUMBA_BOUNDSCHECK", 1)),
    ("EXTEND_VARIABLE_LIFETIMES", 1, ("NUMBA_EXTEND_VARIABLE_LIFETIMES", 1))])
def test_code_settings_name_what_differs_from_numbas_defaults(monkeypatch, setting,
                                                              value, expected):
    """Each setting that changes the code, and nothing else, is named; the
    shipped code (built with the defaults) is then off."""
    from numba.core import config
    for name, default in (("OPT", config._OptLevel(3)), ("LOOP_VECTORIZE", 1),
                          ("SLP_VECTORIZE", 0), ("DEBUGINFO_DEFAULT", 0),
                          ("BOUNDSCHECK", None), ("EXTEND_VARIABLE_LIFETIMES", 0)):
        monkeypatch.setattr(config, name, default)
    assert _portable.code_settings() == ()
    monkeypatch.setattr(config, "BOUNDSCHECK", 0)  # forced off: the default code
    assert _portable.code_settings() == ()
    monkeypatch.setattr(config, setting,
                        config._OptLevel(value) if setting == "OPT" else value)
    assert _portable.code_settings() == (expected,)
    assert not _portable._numba_defaults()


def test_a_setting_numba_lacks_counts_as_its_default(monkeypatch):
    from numba.core import config
    monkeypatch.delattr(config, "EXTEND_VARIABLE_LIFETIMES")
    monkeypatch.setattr(config, "SLP_VECTORIZE", 0)
    assert all(variable != "NUMBA_EXTEND_VARIABLE_LIFETIMES"
               for variable, _ in _portable.code_settings())
