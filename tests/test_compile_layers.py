"""The per-layer classes' first compilation on two processes, and ``python -m jitnet compile``."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import jitnet
from jitnet import _compile, _compile_layers
from test_compile import SPY_ON_HELPERS

# A chapter-10 step on an empty cache, with the helper spied on; reports the
# loss, the helper's exit status and whether this process compiled dense's
# backward itself (it should load the helper's).
COLD_STEPS = SPY_ON_HELPERS + """
import json
import numpy as np
from jitnet.kernels import dense as D
import jitnet.nnfs as lib
from jitnet import workloads as W
X, y = W.spiral()
np.random.seed(0)
dense1, relu, dense2 = lib.Layer_Dense(2, 16), lib.Activation_ReLU(), lib.Layer_Dense(16, 3)
head, adam = lib.Activation_Softmax_Loss_CategoricalCrossentropy(), lib.Optimizer_Adam()
for _ in range(3):
    dense1.forward(X); relu.forward(dense1.output); dense2.forward(relu.output)
    loss = head.forward(dense2.output, y)
    head.backward(head.output, y); dense2.backward(head.dinputs)
    relu.backward(dense2.dinputs); dense1.backward(relu.dinputs)
    adam.pre_update_params(); adam.update_params(dense1); adam.update_params(dense2)
    adam.post_update_params()
for helper in helpers:
    helper.wait()
compiled_here = sum(D.dense_backward.stats.cache_misses.values())
print(json.dumps({"loss": float(loss), "helpers": [h.returncode for h in helpers],
                  "dense_backward_compiled_here": compiled_here,
                  "weights": float(dense1.weights.sum())}))
"""

#: COLD_STEPS, then a Model's training, evaluation and predictions, jitnet.seed
#: and a dropout layer; prints the number of Numba compilations all of it took
#: and the cache class of one kernel.
EVERYTHING = """
from numba.core import event
events = event.RecordingListener()
event.register("numba:compile", events)
""" + COLD_STEPS + """
from jitnet.kernels import dense_forward
model = W.model(lib, (2, 8, 3), lib.Optimizer_Adam())
model.train(X, y, epochs=2, verbose=False)
model.evaluate(X, y, verbose=False)
model.predict(X)
import jitnet
jitnet.seed(1)
lib.Layer_Dropout(0.2).forward(X)
print(json.dumps({"compiled": len(events.buffer),
                  "cache_kind": type(dense_forward._cache).__name__}))
"""


def _run(code, **env_changes):
    """Run ``code`` in a fresh Python that compiles (the shipped kernels are off)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("JITNET_CACHE", "JITNET_COMPILE_PROCESSES")}
    env["JITNET_PORTABLE_CACHE"] = "0"
    env.update(env_changes)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=900, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_a_cold_book_loop_compiles_dense_backward_in_the_helper(tmp_path, monkeypatch,
                                                                capsys):
    report = json.loads(_run(COLD_STEPS, NUMBA_CACHE_DIR=str(tmp_path)).stdout.splitlines()[-1])
    if (os.cpu_count() or 1) < 2:
        assert report["helpers"] == []
    else:
        assert report["helpers"] == [0]
        assert report["dense_backward_compiled_here"] == 0  # loaded from the helper's cache
    # The same steps in this process, its kernels compiled here: the same numbers.
    monkeypatch.setattr(_compile, "start_python", _compile.start_python)  # restored after
    exec(COLD_STEPS, {})
    here = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (here["loss"], here["weights"]) == (report["loss"], report["weights"])


def test_no_helper_once_dense_backward_is_cached(monkeypatch):
    import jitnet as jn

    layer = jn.Dense(2, 3, dtype=np.float64)
    layer.forward(np.ones((2, 2)))
    layer.backward(np.ones((2, 3)))  # compiled (or loaded) here
    monkeypatch.setattr(_compile_layers, "_begun", set())
    monkeypatch.setattr(_compile, "start_python", lambda *a, **k: pytest_fail())
    _compile_layers.begin(np.float64)
    assert _compile_layers.pending == {}


def pytest_fail():
    raise AssertionError("no helper should start")


def test_the_helpers_own_calls_start_no_helper(monkeypatch):
    """The helper calls backward without forward; only a forward pass may begin a
    helper, or each helper would start another."""
    monkeypatch.setattr(_compile_layers, "_begun", set())
    monkeypatch.setattr(_compile_layers, "_dense_backward_cached", lambda dtype: False)
    monkeypatch.setattr(_compile, "_parallel_allowed", lambda: True)
    monkeypatch.setattr(_compile, "start_python", lambda *a, **k: pytest_fail())
    _compile_layers._exercise_backward(np.float64, _compile_layers._backward_kinds(jitnet))
    assert _compile_layers._begun == set() and _compile_layers.pending == {}


def test_a_first_layer_of_two_inputs_has_its_kernel_compiled_while_waiting(monkeypatch):
    """begin() told of a one- or two-input first layer: await_helpers compiles
    its backward kernel here, before it waits for the helper, and leaves
    NumPy's global generator where the script had it (a Dense draws weights)."""
    helper = object()
    monkeypatch.setattr(_compile_layers, "_begun", set())
    monkeypatch.setattr(_compile_layers, "pending", {})
    monkeypatch.setattr(_compile_layers, "_few_wanted", set())
    monkeypatch.setattr(_compile_layers, "_dense_backward_cached", lambda dtype: False)
    monkeypatch.setattr(_compile, "_parallel_allowed", lambda: True)
    monkeypatch.setattr(_compile, "start_python", lambda *a, **k: helper)
    _compile_layers.begin(np.float64, few_inputs=True)
    assert _compile_layers.pending == {np.dtype(np.float64): helper}
    assert _compile_layers._few_wanted == {np.dtype(np.float64)}
    order, exercise = [], _compile_layers._exercise_backward
    monkeypatch.setattr(_compile_layers, "_exercise_backward", lambda dtype, kinds: (
        order.append((dtype, kinds)), exercise(dtype, kinds)))
    monkeypatch.setattr(_compile_layers, "_wait_ready", lambda h: order.append(h))
    np.random.seed(5)
    expected = np.random.random(3)
    np.random.seed(5)
    _compile_layers.await_helpers()
    assert order == [(np.dtype(np.float64), ["dense_few"]), helper]
    assert np.array_equal(np.random.random(3), expected)
    assert _compile_layers.pending == {} and _compile_layers._few_wanted == set()


def test_waiting_ends_at_ready_at_exit_or_at_the_timeout(monkeypatch):
    ready = _compile.start_python(
        "import time; print('ready', flush=True); time.sleep(600)", stdout=subprocess.PIPE)
    _compile_layers._wait_ready(ready)  # returns at the line, the helper goes on
    assert ready.poll() is None
    ready.kill()
    ready.wait()
    failing = _compile.start_python("raise SystemExit(3)", stdout=subprocess.PIPE)
    _compile_layers._wait_ready(failing)
    assert failing.wait() == 3
    monkeypatch.setattr(_compile, "HELPER_TIMEOUT", 0.5)
    hanging = _compile.start_python("import time; time.sleep(600)", stdout=subprocess.PIPE)
    _compile_layers._wait_ready(hanging)
    assert hanging.wait() < 0  # killed


def test_compile_command_fills_the_cache(tmp_path):
    """After ``python -m jitnet compile``, a book loop and Model.train compile nothing."""
    cache = str(tmp_path)
    done = _run("from jitnet.__main__ import main; raise SystemExit(main(['compile',"
                " '--dtype', 'float32']))", NUMBA_CACHE_DIR=cache)
    assert "float32: done" in done.stdout and "cache filled" in done.stdout
    out = _run(EVERYTHING, NUMBA_CACHE_DIR=cache,
               JITNET_COMPILE_PROCESSES="1").stdout.splitlines()
    assert json.loads(out[-2])["dense_backward_compiled_here"] == 0
    assert json.loads(out[-1])["compiled"] == 0


@pytest.mark.parametrize("helper", ["fails", "cannot start", "not asked for"])
def test_fill_cache_does_everything_itself_without_a_working_helper(monkeypatch, helper):
    """What ``fill_cache`` compiles in its own process, with every compilation
    recorded instead of run: a helper that dies (or is missing) leaves the
    whole plan and every class to this process."""
    done = []
    monkeypatch.setattr(_compile, "compile_all", lambda entries: done.append(list(entries)))
    for name in ("_exercise_forward", "_exercise_model_extras", "_exercise_backward"):
        monkeypatch.setattr(_compile_layers, name, lambda *a, name=name: done.append(name))
    monkeypatch.setattr(_compile, "_parallel_allowed", lambda: True)
    monkeypatch.setattr(_compile_layers, "_begun", set())
    started = []

    def start_python(code, **kwargs):
        started.append(code)
        if helper == "cannot start":
            return None
        return subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"],
                                stdout=subprocess.PIPE)

    monkeypatch.setattr(_compile, "start_python", start_python)
    _compile_layers.fill_cache("float32", helper=helper != "not asked for")
    program, here, backward_half = _compile.plan(np.float32)
    compiled = [entry for step in done if isinstance(step, list) for entry in step]
    assert {*compiled} == {*here, *backward_half, program}
    assert done[-1] == "_exercise_backward"
    assert "_exercise_forward" in done and "_exercise_model_extras" in done
    assert len(started) == (helper != "not asked for")


def test_compile_command_with_caching_off(capsys, monkeypatch):
    monkeypatch.setattr(_compile, "CACHE", False)
    assert _compile.fill_caches(["float32"]) == 2
    assert "caching is off" in capsys.readouterr().out
