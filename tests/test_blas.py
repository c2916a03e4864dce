"""``kernels/blas.py``: the matrix product through NumPy's or SciPy's BLAS.

The twin is NumPy's own ``op(a) @ op(b)``. Each library is forced in turn
with ``blas.select`` (compiled code reads the choice at run time, so nothing
recompiles); the dense kernels' BLAS paths are checked under both.
"""
import os
import subprocess
import sys
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, strategies as st

from conftest import DTYPES, assert_close, pairs
from jitnet.kernels import blas
from test_kernels import _check_dense_and_relu_mask, rand

LIBRARIES = ["numpy", "scipy"]


@contextmanager
def using(library):
    """Run the block with ``gemm`` calling ``library``'s BLAS (skip if absent)."""
    try:
        blas.select(library)
    except ValueError as error:
        pytest.skip(str(error))
    try:
        yield
    finally:
        blas.select()


@pairs("gemm")
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.integers(1, 40),
       st.integers(1, 40), st.booleans(), st.booleans(), st.sampled_from(DTYPES),
       st.sampled_from(LIBRARIES))
def test_gemm(seed, m, k, n, trans_a, trans_b, dtype, library):
    a = rand(seed, (k, m) if trans_a else (m, k), dtype)
    b = rand(seed + 1, (n, k) if trans_b else (k, n), dtype)
    out = np.full((m, n), np.nan, dtype)
    with using(library):
        blas.gemm(a, trans_a, b, trans_b, out)
    expected = (a.T if trans_a else a) @ (b.T if trans_b else b)
    assert_close(out, expected, dtype)


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_edge_sizes(library, dtype):
    """An empty inner dimension gives zeros; an empty output is left alone;
    inf and NaN propagate as in NumPy's product (inf * 0 is NaN)."""
    with using(library):
        out = np.full((3, 2), np.nan, dtype)
        blas.gemm(np.empty((3, 0), dtype), False, np.empty((0, 2), dtype), False, out)
        np.testing.assert_array_equal(out, 0)
        blas.gemm(np.empty((0, 4), dtype), False, np.ones((4, 2), dtype), False,
                  np.empty((0, 2), dtype))
        a = np.array([[np.inf, 1.0], [2.0, np.nan]], dtype)
        identity = np.eye(2, dtype=dtype)
        out = np.empty((2, 2), dtype)
        blas.gemm(a, False, identity, False, out)
        with np.errstate(invalid="ignore"):  # inf * 0
            expected = a @ identity  # [[inf, nan], [2, nan]]
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_blas_paths_under_each_library(library, dtype):
    """The dense kernels' three products (forward, weight and input
    gradients) on a shape over BLAS_MIN_FLOPS, against the reference."""
    with using(library):
        _check_dense_and_relu_mask(200, 96, 80, dtype)


def test_numpy_blas_is_chosen_where_numpy_ships_one():
    """With NumPy's pip wheel (its OpenBLAS loaded in this process) jitnet
    calls it; elsewhere, or when the environment says no, SciPy's."""
    shipped = [path for path in blas._numpy_blas_files()
               if blas._loaded_in_this_process(path)]
    if shipped and os.environ.get("JITNET_NUMPY_BLAS", "1").strip() != "0":
        assert blas.CHOSEN == f"numpy {shipped[0]}"
    else:
        assert blas.CHOSEN == "scipy"


def test_numpy_blas_can_be_turned_off():
    """``JITNET_NUMPY_BLAS=0`` makes a new process use SciPy's BLAS."""
    code = "from jitnet.kernels import blas; print(blas.CHOSEN)"
    env = {**os.environ, "JITNET_NUMPY_BLAS": "0"}
    chosen = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                            capture_output=True, text=True).stdout.strip()
    assert chosen == "scipy"


def test_select_refuses_a_library_it_cannot_find(monkeypatch):
    monkeypatch.setattr(blas, "_numpy_gemm", lambda: None)
    with pytest.raises(ValueError, match="'numpy' is not available"):
        blas.select("numpy")
    assert blas.select() == "scipy"
    monkeypatch.undo()
    assert blas.select() == blas.CHOSEN
