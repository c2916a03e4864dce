"""The chapter-script workloads (``jitnet.chapters``) and their run conditions.

Every chapter's workload trains on both libraries, after ``nnfs.init()`` as in
the bench, and learns; the two context managers put NumPy, BLAS threads and
CPU affinity back exactly as they found them.
"""
import os

import numpy as np
import pytest

from jitnet import bench, chapters as C, workloads as W

LIBS = {name: W.library(name) for name in W.LIBRARIES}

#: Few epochs, small data: the whole file stays fast.
EPOCHS = {"ch10": 30, "ch14": 30, "ch15": 15, "ch16": 30, "ch17": 30, "ch18": 8,
          "ch19": 2}
OPTIONS = {"ch19": {"samples": 512, "test_samples": 256}}


@pytest.mark.parametrize("lib", list(LIBS))
@pytest.mark.parametrize("chapter", list(C.CHAPTERS))
def test_chapter_trains_under_book_conditions(chapter, lib):
    with C.nnfs_conditions():
        run, epochs = C.build(chapter, LIBS[lib], EPOCHS[chapter],
                              **OPTIONS.get(chapter, {}))
        assert epochs == EPOCHS[chapter]
        first_loss, _ = run(1)  # the loss before any update
        loss, accuracy = run()
        again = run()
    assert np.isfinite(first_loss) and np.isfinite(loss)
    assert 0 <= accuracy <= 1
    if chapter != "ch19":  # random labels: nothing to learn in two epochs
        assert loss < first_loss
    # Fresh seeded weights (and dropout masks) every run: the same numbers.
    assert again == (loss, accuracy)


@pytest.mark.parametrize("chapter", ["ch10", "ch14", "ch16", "ch17"])
def test_libraries_agree_without_dropout(chapter):
    """Same seed, same script: the two libraries' losses track each other."""
    with C.nnfs_conditions():
        losses = [C.build(chapter, lib, 10)[0]()[0] for lib in LIBS.values()]
    assert losses[0] == pytest.approx(losses[1], rel=0.02)


def test_default_epochs_come_from_the_table():
    with C.nnfs_conditions():
        _, epochs = C.build("ch16", LIBS["reference"])
    assert epochs == C.EPOCHS["ch16"]


def test_nnfs_conditions_restore_numpy_exactly():
    saved = [getattr(owner, name) for owner, name in C.NNFS_PATCHED]
    np.random.seed(123)
    state = np.random.get_state()
    with C.nnfs_conditions():
        assert np.dot is not saved[0]
        a = np.ones((2, 2))
        assert np.dot(a, a).dtype == np.float32  # float64 arithmetic, float32 result
        assert np.zeros(3).dtype == np.float32
        assert np.eye(2).dtype == np.float32
        assert np.random.randn(2).dtype == np.float32
    assert [getattr(owner, name) for owner, name in C.NNFS_PATCHED] == saved
    after = np.random.get_state()
    assert after[0] == state[0] and np.array_equal(after[1], state[1])
    assert after[2:] == state[2:]


def test_nnfs_conditions_restore_after_an_error():
    saved = [getattr(owner, name) for owner, name in C.NNFS_PATCHED]
    with pytest.raises(RuntimeError), C.nnfs_conditions():
        raise RuntimeError("boom")
    assert [getattr(owner, name) for owner, name in C.NNFS_PATCHED] == saved


def _blas_threads():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    return [pool["num_threads"] for pool in threadpoolctl.threadpool_info()
            if pool.get("user_api") == "blas"]


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no CPU affinity here")
def test_one_core_restores_affinity():
    before = os.sched_getaffinity(0)
    with C.one_core():
        inside = os.sched_getaffinity(0)
        assert len(inside) == 1 and inside <= before
    assert os.sched_getaffinity(0) == before
    with pytest.raises(RuntimeError), C.one_core():
        raise RuntimeError("boom")
    assert os.sched_getaffinity(0) == before


def test_one_core_limits_and_restores_blas_threads():
    pytest.importorskip("scipy.linalg.cython_blas")  # the kernels' BLAS without NumPy's
    before = _blas_threads()
    with C.one_core():
        inside = _blas_threads()
    assert inside and all(n == 1 for n in inside)
    assert _blas_threads() == before


def test_bench_chapter_row():
    rows = bench.chapter_rows(quick=True, repeat=1, out=lambda line: None,
                              chapters=["ch16"])
    (row,) = rows
    assert row["workload"].startswith("ch16: ") and "per epoch" in row["workload"]
    assert row["unit"] in ("us", "ms", "s") and row["target"] == "6x"
    assert row["reference"] > 0 and row["jitnet"] > 0
    # one round: the spread is the one ratio measured
    assert row["spread"] == pytest.approx((row["reference"] / row["jitnet"],) * 2)
    assert bench.measure(workloads=False, chapters=False) == []


def test_round_ratios_pair_the_rounds():
    slow, fast = [300., 340., 420.], [50., 85., 60.]
    assert bench.round_ratios(slow, fast) == (4., 7.)
    with pytest.raises(ValueError):  # rounds are pairs: both lists or neither
        bench.round_ratios(slow, fast[:2])


def test_table_shows_a_chapter_row_spread():
    row = {"workload": "ch10", "unit": "us", "reference": 300., "jitnet": 50.,
           "torch": None, "jax": None, "target": "6x", "spread": (4.46, 6.51)}
    lines = bench.table([row, {**row, "spread": None}]).splitlines()
    assert "| 6.0x (4.5-6.5) |" in lines[2]
    assert "| 6.0x |" in lines[3]


def test_chapter_processes_pass_the_builders_options():
    per_epoch = bench.time_chapter_processes("ch19", 1, repeat=1, samples=256,
                                             test_samples=128)
    assert set(per_epoch) == {"reference", "jitnet"}
    assert all(seconds > 0 for seconds in per_epoch.values())
    with pytest.raises(RuntimeError, match="bogus"):  # reaches the child's builder
        bench.time_chapter_processes("ch16", 1, repeat=1, bogus=1)


def test_per_layer_chapters_time_the_scripts_own_classes():
    """The book side of chapters 10-17 runs their scripts' forms of the classes
    (no running loss sums, the book's sigmoid formula)."""
    from jitnet.reference import scripts
    seen = []

    class Spy(scripts.Loss_BinaryCrossentropy):
        def calculate(self, output, y):
            seen.append(output.shape)
            return super().calculate(output, y)

    original = scripts.Loss_BinaryCrossentropy
    scripts.Loss_BinaryCrossentropy = Spy
    try:
        with C.nnfs_conditions():
            C.build("ch16", LIBS["reference"], 2)[0]()
    finally:
        scripts.Loss_BinaryCrossentropy = original
    assert seen and set(seen) == {(200, 1)}  # every calculate, on chapter 16's data
    assert scripts.Activation_Sigmoid is not LIBS["reference"].Activation_Sigmoid
    assert scripts.Layer_Dense is LIBS["reference"].Layer_Dense


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_script_classes_compute_what_the_reference_does(dtype):
    """Same values as the final classes, to rounding; no running sums."""
    from jitnet import reference as R
    from jitnet.reference import scripts as S
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((50, 3)) * 30).astype(dtype)
    x[0, 0] = -80  # large negative inputs: the formula's exp(80) still fits float32
    guarded, book = R.Activation_Sigmoid(), S.Activation_Sigmoid()
    guarded.forward(x)
    book.forward(x)
    np.testing.assert_allclose(book.output, guarded.output, rtol=1e-6, atol=0)
    assert book.output.dtype == guarded.output.dtype
    p = rng.uniform(0.01, 0.99, (50, 1)).astype(dtype)
    y = rng.integers(0, 2, (50, 1))
    final, script = R.Loss_BinaryCrossentropy(), S.Loss_BinaryCrossentropy()
    assert script.calculate(p, y) == pytest.approx(final.calculate(p, y), rel=1e-6)
    assert script.accumulated_count == 0 and final.accumulated_count == 50
    labels = rng.integers(0, 3, 50)
    combined = S.Activation_Softmax_Loss_CategoricalCrossentropy()
    reference = R.Activation_Softmax_Loss_CategoricalCrossentropy()
    logits = rng.standard_normal((50, 3)).astype(dtype)
    assert combined.forward(logits, labels) == pytest.approx(
        reference.forward(logits, labels), rel=1e-6)
    assert combined.loss.accumulated_count == 0
