"""Numba's disk cache: off on request, shared safely, and optional.

Each test runs fresh interpreters on an empty cache, training the book's
per-layer loop (a dozen kernels, a few seconds to compile) rather than the
Model's interpreter (25 s), to keep the suite short.
"""
import os
import pathlib
import shutil
import stat
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

TRAIN = """
import json, numpy as np, jitnet
from jitnet import workloads as W
from jitnet.kernels import dense_forward
X, y = W.spiral()
np.random.seed(0)
d1, relu, d2 = jitnet.Dense(2, 16), jitnet.ReLU(), jitnet.Dense(16, 3)
head, opt = jitnet.SoftmaxCategoricalCrossentropy(), jitnet.Adam(0.05)
for _ in range(30):
    d1.forward(X); relu.forward(d1.output); d2.forward(relu.output)
    loss = head.forward(d2.output, y)
    head.backward(head.output, y); d2.backward(head.dinputs)
    relu.backward(d2.dinputs); d1.backward(relu.dinputs)
    opt.pre_update_params(); opt.update_params(d1); opt.update_params(d2)
    opt.post_update_params()
print(json.dumps({"loss": float(loss), "cache": jitnet.kernels.CACHE,
                  "cache_kind": type(dense_forward._cache).__name__}))
"""


def _env(**extra):
    """The environment for a child that uses Numba's own cache (shipped kernels off)."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("NUMBA_CACHE_DIR", "JITNET_CACHE")}
    env["JITNET_PORTABLE_CACHE"] = "0"
    env.update(extra)
    return env


def _result(done):
    import json
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _files(folder):
    return [p for p in pathlib.Path(folder).rglob("*") if p.is_file()]


def _read_only_install(root):
    """A copy of jitnet under ``root/site`` where no cache folder can be made.

    Returns the child's environment (its own empty HOME for the user-wide cache).
    """
    package = root / "site" / "jitnet"
    shutil.copytree(ROOT / "jitnet", package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "kernels", package / "kernels",
                    ignore=shutil.ignore_patterns("__pycache__"))
    # A file where the cache folder would go: the folder cannot be created,
    # as in a read-only site-packages (chmod alone does not stop root).
    (package / "kernels" / "__pycache__").write_text("not a folder")
    for path in [package, *package.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    home = root / "home"
    home.mkdir()
    return _env(PYTHONPATH=str(root / "site"), HOME=str(home),
                XDG_CACHE_HOME=str(home / ".cache"))


def _make_writable(folder):
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


@pytest.fixture(scope="module")
def cold_runs(tmp_path_factory):
    """The two tests below that compile in one process, started side by side.

    Each compiles the loop's kernels on one core for about 13 s; run one
    after the other they kept the second core idle. Maps a test's name to
    ``(folder, process)``; a test waits for its own process.
    """
    runs = {}

    def start(name, env, cwd):
        runs[name] = (cwd, subprocess.Popen(
            [sys.executable, "-c", TRAIN], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=env, cwd=cwd))

    read_only = tmp_path_factory.mktemp("read_only")
    try:
        off = tmp_path_factory.mktemp("cache_off")
        start("cache_0", _env(JITNET_CACHE="0", NUMBA_CACHE_DIR=str(off)), off)
        if sys.platform == "linux":
            start("read_only", _read_only_install(read_only), read_only)
        yield runs
    finally:
        for _, run in runs.values():
            if run.poll() is None:
                run.kill()
            run.communicate()
        _make_writable(read_only)


def _wait(run):
    out, err = run.communicate(timeout=600)
    return _result(subprocess.CompletedProcess(run.args, run.returncode, out, err))


def test_jitnet_cache_0_turns_caching_off(cold_runs):
    folder, run = cold_runs["cache_0"]
    result = _wait(run)
    assert result["cache"] is False and result["cache_kind"] == "NullCache"
    assert _files(folder) == []


def test_two_processes_sharing_an_empty_cache(tmp_path):
    env = _env(NUMBA_CACHE_DIR=str(tmp_path))
    runs = [subprocess.Popen([sys.executable, "-c", TRAIN], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    results = [_wait(run) for run in runs]
    assert results[0]["loss"] == results[1]["loss"] and 0 < results[0]["loss"] < 1.2
    assert any(p.suffix == ".nbi" for p in _files(tmp_path))
    # A third process reads what the two wrote.
    third = _result(subprocess.run([sys.executable, "-c", TRAIN], capture_output=True,
                                   text=True, timeout=600, env=env))
    assert third["loss"] == results[0]["loss"]


@pytest.mark.skipif(sys.platform != "linux", reason="uses Linux file modes")
def test_read_only_install_falls_back_to_the_user_cache(cold_runs):
    """No writable __pycache__ beside the kernels: Numba's user-wide cache is used."""
    folder, run = cold_runs["read_only"]
    result = _wait(run)
    assert result["cache"] is True and 0 < result["loss"] < 1.2
    assert any(p.suffix == ".nbi" for p in _files(folder / "home")), "no user-wide cache"


def test_the_copied_package_is_the_one_imported(tmp_path):
    """Guard for the test above: PYTHONPATH really shadows the installed jitnet."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "jitnet", site / "jitnet",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "kernels", site / "jitnet" / "kernels",
                    ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run([sys.executable, "-c", "import jitnet; print(jitnet.__file__)"],
                          capture_output=True, text=True, timeout=120,
                          env=_env(PYTHONPATH=str(site)), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(site))


PROBE = """
import json, numpy as np
from jitnet.kernels import relu_backward
x = np.ones((10, 4), np.float32)
# With short=True, dvalues have 2 rows for 10 inputs: the kernel reads past
# them, which only a bounds-checked build reports.
dvalues = np.ones((2, 4), np.float32) if {short} else x
try:
    relu_backward(x, dvalues, np.empty_like(x))
    raised = False
except IndexError:
    raised = True
stats = relu_backward.stats
print(json.dumps({{"raised": raised, "hits": sum(stats.cache_hits.values()),
                  "misses": sum(stats.cache_misses.values())}}))
"""


def test_settings_that_change_the_code_have_cache_entries_of_their_own(tmp_path):
    """Numba's cache key leaves out NUMBA_BOUNDSCHECK, NUMBA_DEBUGINFO, NUMBA_OPT
    and the like (numba#10821); the kernels' key adds them when they are not
    the defaults. So a bounds-checked run never loads the unchecked code a
    normal run cached (it would check nothing), and a normal run never loads
    the checked, slower code of a debugging run."""
    from jitnet.kernels import _portable

    def run(short, **settings):
        env = _env(NUMBA_CACHE_DIR=str(tmp_path))
        for variable, _, _ in _portable.CODE_SETTINGS:
            env.pop(variable, None)
        env.pop("NUMBA_ENABLE_PROFILING", None)
        env.update(settings)
        return _result(subprocess.run([sys.executable, "-c", PROBE.format(short=short)],
                                      capture_output=True, text=True, timeout=600,
                                      env=env))

    assert run(False) == {"raised": False, "hits": 0, "misses": 1}  # compiled, saved
    checked = run(True, NUMBA_BOUNDSCHECK="1")
    assert checked == {"raised": True, "hits": 0, "misses": 1}  # not the saved code
    assert run(True, NUMBA_BOUNDSCHECK="1") == {"raised": True, "hits": 1, "misses": 0}
    assert run(False) == {"raised": False, "hits": 1, "misses": 0}  # its own again
    assert run(False, NUMBA_OPT="2")["misses"] == 1
