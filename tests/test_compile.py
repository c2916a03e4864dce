"""The first compilation on two processes (``jitnet/_compile.py``)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import jitnet.nnfs as lib
from jitnet import _compile, workloads as W

# Child-process code that records every helper jitnet starts, in ``helpers``.
SPY_ON_HELPERS = """
from jitnet import _compile
helpers = []
start_python = _compile.start_python
def spy(code, **kwargs):
    helpers.append(start_python(code, **kwargs))
    return helpers[-1]
_compile.start_python = spy
"""

COLD_TRAIN = SPY_ON_HELPERS + """
import json
import jitnet.nnfs as lib
from jitnet import _compile, workloads as W
X, y = W.spiral()
model = W.model(lib, (2, 16, 3), lib.Optimizer_Adam(learning_rate=0.05))
loss = model.train(X, y, epochs=2, verbose=False).loss[-1]
program, here, helper = _compile.plan("float32")
def signatures(entries):
    out = {}
    for dispatcher, argtypes in entries:
        out.setdefault(dispatcher, set()).add(tuple(argtypes))
    return out
report = {"loss": loss, "helpers": [h.returncode for h in helpers],
          "program": [str(s) for s in program[0].signatures],
          "program_planned": str(tuple(program[1])), "unplanned": [], "compiled_here": []}
for dispatcher, planned in {**signatures(here), **signatures(helper)}.items():
    extra = set(map(tuple, dispatcher.signatures)) - planned
    report["unplanned"] += [f"{dispatcher.__name__}{s}" for s in extra]
for dispatcher in signatures(helper):
    if sum(dispatcher.stats.cache_misses.values()):
        report["compiled_here"].append(dispatcher.__name__)
print(json.dumps(report))
"""


def _spiral_loss():
    X, y = W.spiral()
    model = W.model(lib, (2, 16, 3), lib.Optimizer_Adam(learning_rate=0.05))
    return model.train(X, y, epochs=2, verbose=False).loss[-1]


def test_a_cold_first_train_compiles_on_two_processes_as_planned(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("JITNET_CACHE", "JITNET_COMPILE_PROCESSES")}
    env["NUMBA_CACHE_DIR"] = str(tmp_path)
    env["JITNET_PORTABLE_CACHE"] = "0"  # compile, rather than load the shipped kernels
    done = subprocess.run([sys.executable, "-c", COLD_TRAIN], capture_output=True,
                          text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if (os.cpu_count() or 1) < 2:
        assert report["helpers"] == []
        return
    assert report["helpers"] == [0]
    # The plan names exactly the types the program calls its kernels with:
    # nothing compiled beside it, and the helper's half was loaded, not compiled.
    assert report["program"] == [report["program_planned"]]
    assert report["unplanned"] == []
    assert report["compiled_here"] == []
    assert report["loss"] == _spiral_loss()  # the same numbers as a serial compile


def test_the_planned_program_is_the_one_model_train_calls():
    _spiral_loss()  # loads (or compiles) train_epochs for this process's calls
    program, _, _ = _compile.plan(np.float32)
    assert _compile._is_cached(*program) is True


def test_one_process_when_asked(monkeypatch):
    monkeypatch.setenv("JITNET_COMPILE_PROCESSES", "1")
    assert not _compile._parallel_allowed()
    assert _compile.begin(np.float64) is None


def test_complete_returns_after_the_helper_has_finished():
    """The demo starts the book's run then, on the core the helper freed."""
    helper = _compile.start_python("import time; time.sleep(1)")
    _compile.Compilation([], helper).complete()
    assert helper.returncode == 0
    _compile.Compilation([], None).complete()  # no helper: nothing to wait for


def test_a_failing_or_hanging_helper_costs_only_time(monkeypatch):
    failing = _compile.start_python("raise SystemExit(3)")
    _compile.Compilation([], failing).complete()
    assert failing.returncode == 3
    monkeypatch.setattr(_compile, "HELPER_TIMEOUT", 0.5)
    hanging = _compile.start_python("import time; time.sleep(600)")
    _compile.Compilation([], hanging).complete()
    assert hanging.returncode is not None and hanging.returncode < 0  # killed


def test_an_error_here_stops_the_helper():
    class Broken:
        def compile(self, argtypes):
            raise KeyboardInterrupt

    helper = _compile.start_python("import time; time.sleep(600)")
    with pytest.raises(KeyboardInterrupt):
        _compile.Compilation([(Broken(), ())], helper).complete()
    assert helper.returncode is not None and helper.returncode < 0


def test_a_helper_that_cannot_start_is_none(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no processes here")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    assert _compile.start_python("pass") is None
