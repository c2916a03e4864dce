"""Ctrl-C (SIGINT) during ``Model.train`` stops it between steps, cleanly."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

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
    child = subprocess.Popen([sys.executable, "-c", CHILD, form.split()[1]],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "training"
        time.sleep(1.0)  # well inside the run
        sent = time.time()
        child.send_signal(signal.SIGINT)
        report = json.loads(child.stdout.readline())
        assert child.wait(timeout=120) == 0
    finally:
        if child.poll() is None:
            child.kill()
    assert report["outcome"] == "interrupted"
    assert report["stopped"] - sent < 0.5
    assert report["handler_restored"] and report["wakeup_fd"] == -1
    assert report["goes_on"]
    if form == "one long epoch":  # stopped between steps of the first epoch
        assert report["epochs"] == 0 and 0 < report["steps"] < 2000000
    else:  # one step per epoch: every step taken is a finished epoch
        assert report["epochs"] == report["steps"] - 1 > 0  # (+1: the warm-up)


def test_no_handler_is_left_and_other_threads_are_not_touched():
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


def test_a_programs_own_sigint_handler_is_kept():
    from jitnet._interrupt import Interruptible

    def mine(signum, frame):
        pass

    old = signal.signal(signal.SIGINT, mine)
    try:
        with Interruptible():
            assert signal.getsignal(signal.SIGINT) is mine
    finally:
        signal.signal(signal.SIGINT, old)
    assert np.array_equal(Interruptible().stop, [0])
