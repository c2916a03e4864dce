"""Shared test settings and fixtures.

Hypothesis runs without deadlines: the first call of a kernel for a new dtype
compiles it (or loads it from Numba's cache), which says nothing about speed.
"""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "jitnet", deadline=None, max_examples=25, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", parent=settings.get_profile("jitnet"),
                          max_examples=300)
settings.load_profile(os.environ.get("JITNET_HYPOTHESIS_PROFILE", "jitnet"))

DTYPES = (np.float32, np.float64)

#: (rtol, atol) when comparing a kernel with its NumPy twin in each dtype.
TOLERANCE = {np.float32: (2e-4, 1e-6), np.float64: (1e-10, 1e-12)}


def assert_close(actual, expected, dtype, scale=1.0):
    """``assert_allclose`` with the dtype's tolerance (``scale`` loosens it).

    The absolute tolerance grows with the largest expected magnitude, since
    a different summation order moves every element by about
    ``eps * max|x|``, not ``eps * |x_i|`` (cancellation).
    """
    rtol, atol = TOLERANCE[np.dtype(dtype).type]
    expected = np.asarray(expected, dtype=np.float64)
    magnitude = float(np.max(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected,
                               rtol=rtol * scale,
                               atol=(atol + rtol * magnitude) * scale)


def interrupt_child(code, *args, ready, delay=1.0):
    """Run ``python -c code *args``; once it prints the line ``ready``, wait
    ``delay`` seconds and send it SIGINT (Ctrl-C).

    Returns ``(report, sent)``: the JSON object the child prints next (it
    must then exit 0) and the ``time.time()`` the signal was sent.
    """
    # A shell starts background jobs with SIGINT ignored, and Python then
    # installs no handler of its own: give the child a terminal's Ctrl-C.
    code = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n" + code
    child = subprocess.Popen([sys.executable, "-c", code, *args],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == ready
        time.sleep(delay)
        sent = time.time()
        child.send_signal(signal.SIGINT)
        report = json.loads(child.stdout.readline())
        assert child.wait(timeout=120) == 0
    finally:
        if child.poll() is None:
            child.kill()
    return report, sent


#: Names of kernels that some test compares with their NumPy twin.
PAIRED = set()


def pairs(*kernel_names):
    """Mark a test as the one that compares these kernels with their twins."""
    PAIRED.update(kernel_names)
    return lambda test: test


_NNFS_PATCHED = ((np, "dot"), (np, "zeros"), (np, "eye"), (np.random, "randn"))


@pytest.fixture
def nnfs_init():
    """Run ``nnfs.init()`` as book scripts do, and undo its NumPy patches after."""
    import nnfs

    saved = [(mod, name, getattr(mod, name)) for mod, name in _NNFS_PATCHED]
    nnfs.init()
    try:
        yield
    finally:
        for mod, name, func in saved:
            setattr(mod, name, func)
