"""Ctrl-C (SIGINT) during ``Model.train`` stops it between steps, cleanly."""
import os
import signal

import numpy as np
import pytest

from conftest import interrupt_child

pytestmark = pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to a child")

# Trains until interrupted; reports how it stopped and that the model goes on.
CHILD = """
import json, signal, sys, time
import numpy as np
import jitnet as jn
import jitnet.nnfs as lib
from jitnet import workloads as W
long_epoch = sys.argv[1] == "long"
if long_epoch:  # epochs of 2 million one-row steps (2.5 us each here: 5 s)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000000, 2)).astype(np.float32)
    y = rng.integers(0, 3, 2000000)
    batch, epochs = 1, 3
else:  # many short epochs of one full batch
    X, y = W.spiral()
    batch, epochs = None, 400000  # about 10 s
model = W.model(lib, (2, 16, 3), jn.Adam(learning_rate=0.01))
model.train(X[:64], y[:64], epochs=1, batch_size=batch, verbose=False)  # compiled
print("training", flush=True)
try:
    model.train(X, y, epochs=epochs, batch_size=batch, verbose=False)
    outcome = "finished"
except KeyboardInterrupt:
    outcome = "interrupted"
stopped = time.time()
steps = model.optimizer.iterations
report = {"outcome": outcome, "stopped": stopped, "epochs": len(model.history),
          "steps": steps, "handler_restored":
          signal.getsignal(signal.SIGINT) is signal.default_int_handler,
          "wakeup_fd": signal.set_wakeup_fd(-1)}
loss, acc = model.evaluate(X[:300], y[:300], verbose=False)
model.train(X[:300], y[:300], epochs=2, verbose=False)
report["goes_on"] = bool(np.isfinite(loss)) and model.optimizer.iterations == steps + 2
print(json.dumps(report), flush=True)
"""


@pytest.mark.parametrize("form", ["many short epochs", "one long epoch"])
def test_ctrl_c_stops_training_within_half_a_second(form):
    report, sent = interrupt_child(CHILD, form.split()[1], ready="training")  # 1 s in
    assert report["outcome"] == "interrupted"
    assert report["stopped"] - sent < 0.5
    assert report["handler_restored"] and report["wakeup_fd"] == -1
    assert report["goes_on"]
    if form == "one long epoch":  # stopped between steps of the first epoch
        assert report["epochs"] == 0 and 0 < report["steps"] < 2000000
    else:  # one step per epoch: every step taken is a finished epoch
        assert report["epochs"] == report["steps"] - 1 > 0  # (+1: the warm-up)


@pytest.fixture
def terminal_ctrl_c():
    """Python's own SIGINT handler, as in a terminal (a shell's background job
    starts with SIGINT ignored)."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def test_no_handler_is_left_and_other_threads_are_not_touched(terminal_ctrl_c):
    import threading

    from jitnet._interrupt import Interruptible

    with Interruptible() as block:
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        seen = []
        worker = threading.Thread(target=lambda: seen.append(Interruptible().__enter__()._restore))
        worker.start()
        worker.join()
        assert seen == [None]  # only the main thread handles signals
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert not block.interrupted and block.stop[0] == 0
    block.check()  # nothing to raise


def _own_handler(signum, frame):
    pass


@pytest.mark.parametrize("mine", [_own_handler, signal.SIG_IGN], ids=["handler", "ignored"])
def test_a_programs_own_sigint_handler_is_kept(mine):
    from jitnet._interrupt import Interruptible

    old = signal.signal(signal.SIGINT, mine)
    try:
        with Interruptible():
            assert signal.getsignal(signal.SIGINT) is mine
    finally:
        signal.signal(signal.SIGINT, old)
    assert np.array_equal(Interruptible().stop, [0])


# Inference on a large input (about 5 s in one piece) until interrupted.
INFERENCE_CHILD = """
import json, sys, time
import numpy as np
import jitnet as jn
import jitnet.nnfs as lib
from jitnet import workloads as W
rng = np.random.default_rng(0)
X = rng.standard_normal((2000000, 2)).astype(np.float32)
y = rng.integers(0, 3, 2000000)
model = W.model(lib, (2, 256, 256, 3), jn.Adam())
model.evaluate(X[:64], y[:64], verbose=False)  # compiled
model.predict(X[:64])
run = {"predict": lambda: model.predict(X),
       "evaluate": lambda: model.evaluate(X, y, verbose=False)}[sys.argv[1]]
print("running", flush=True)
started = time.time()
try:
    run()
    outcome = "finished"
except KeyboardInterrupt:
    outcome = "interrupted"
stopped = time.time()
goes_on = bool(np.isfinite(model.predict(X[:10])).all())
print(json.dumps({"outcome": outcome, "stopped": stopped, "took": stopped - started,
                  "goes_on": goes_on}), flush=True)
"""


@pytest.mark.parametrize("call", ["predict", "evaluate"])
def test_ctrl_c_stops_inference_on_a_large_input_within_half_a_second(call):
    report, sent = interrupt_child(INFERENCE_CHILD, call, ready="running")
    assert report["outcome"] == "interrupted", report  # it did not run to the end
    assert report["stopped"] - sent < 0.5
    assert report["goes_on"]


def test_large_inference_in_pieces_matches_one_piece(monkeypatch):
    """Inputs above INFERENCE_PIECE_MACS run in several compiled calls: same
    outputs (to rounding), the loss and accuracy summed over the pieces."""
    import jitnet.model as M
    import jitnet.nnfs as lib
    import jitnet as jn
    from jitnet import workloads as W

    X, y = W.spiral()
    model = W.model(lib, (2, 16, 3), jn.Adam())
    whole = model.predict(X), model.evaluate(X, y, verbose=False)
    batched = model.evaluate(X, y, batch_size=32, verbose=False)
    per_row = 2 * 16 + 16 * 3 + 16 + 16 + 3 + 3
    monkeypatch.setattr(M, "INFERENCE_PIECE_MACS", per_row * 70)  # pieces of 70 rows
    assert M.Model._pieces(model._program, 300, 300) == (70, 70)
    assert M.Model._pieces(model._program, 300, 32) == (32, 64)
    np.testing.assert_allclose(model.predict(X), whole[0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.evaluate(X, y, verbose=False), whole[1], rtol=1e-6)
    # whole batches per piece: the same batches, so the same figures
    assert model.evaluate(X, y, batch_size=32, verbose=False) == pytest.approx(batched,
                                                                               rel=1e-12)


def test_no_unclosed_socket_is_left_at_exit():
    """The Ctrl-C watcher's sockets are closed at exit: no ResourceWarning
    under ``-W default`` after a script that trained a Model."""
    import subprocess
    import sys
    code = ("import numpy as np, jitnet as jn\n"
            "m = jn.Model()\n"
            "for layer in (jn.Dense(2, 4), jn.ReLU(), jn.Dense(4, 1), jn.Linear()):\n"
            "    m.add(layer)\n"
            "m.set(loss=jn.MeanSquaredError(), optimizer=jn.Adam(),"
            " accuracy=jn.RegressionAccuracy())\n"
            "m.finalize()\n"
            "X = np.ones((8, 2), np.float32)\n"
            "m.train(X, X[:, :1], epochs=2, verbose=False)\n"
            "print('trained')\n")
    done = subprocess.run([sys.executable, "-W", "default", "-c", code],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "trained"
    assert "ResourceWarning" not in done.stderr, done.stderr[-2000:]
