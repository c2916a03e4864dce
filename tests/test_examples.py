"""Every example runs to completion (as CI runs them: MPLBACKEND=Agg) and shows its point."""
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

from test_datasets import write_idx

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def run_example(name, *args, cwd=None):
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *args],
                          capture_output=True, text=True, timeout=600, cwd=cwd,
                          env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_every_example_is_tested():
    tested = {"book_chapter10.py", "ch10_optimizers.py", "ch14_15_regularization.py",
              "ch16_binary.py", "ch17_regression.py", "sklearn_digits.py",
              "sklearn_breast_cancer.py", "sklearn_diabetes.py", "fashion_mnist.py",
              "sweep_dask.py", "early_stopping_digits.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested
    for path in EXAMPLES.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 80, path.name


def test_book_chapter10_script_with_one_import_swapped():
    out = run_example("book_chapter10.py")
    last = out.strip().splitlines()[-1]
    epoch, acc, loss = re.match(
        r"epoch: (\d+), acc: ([\d.]+), loss: ([\d.]+), lr: ", last).groups()
    assert int(epoch) == 10000
    # The book's code ends at loss 0.074, accuracy 0.967 (printed log).
    assert float(loss) < 0.09 and float(acc) > 0.94, last


def test_ch10_optimizers_table_and_plot():
    out = run_example("ch10_optimizers.py")
    for name in ("SGD", "Adagrad", "RMSprop", "Adam"):
        assert re.search(rf"^{name}.*\d\.\d{{3}}$", out, re.M), out
    assert (EXAMPLES / "ch10_optimizers.png").stat().st_size > 10_000


def test_ch14_15_regularization_narrows_the_gap():
    rows = {}
    for line in run_example("ch14_15_regularization.py").splitlines()[1:5]:
        *name, train, val, gap, _ = line.split()
        rows[" ".join(name)] = float(gap)
    assert rows["L2 5e-4"] < rows["plain"]


def test_ch16_binary():
    out = run_example("ch16_binary.py")
    acc = float(re.search(r"validation, acc: ([\d.]+)", out).group(1))
    assert acc > 0.7


def test_ch17_regression_fits_the_sine():
    out = run_example("ch17_regression.py")
    assert float(re.search(r"mean absolute error: ([\d.]+)", out).group(1)) < 0.05
    assert (EXAMPLES / "ch17_regression.png").stat().st_size > 10_000


@pytest.mark.parametrize("name,pattern,minimum", [
    ("sklearn_digits.py", r"digits test accuracy: ([\d.]+)", 0.95),
    ("sklearn_breast_cancer.py", r"breast cancer test accuracy: ([\d.]+)", 0.9),
    ("sklearn_diabetes.py", r"diabetes test R\^2: ([-\d.]+)", 0.2),
])
def test_sklearn_examples(name, pattern, minimum):
    pytest.importorskip("sklearn")
    assert float(re.search(pattern, run_example(name)).group(1)) >= minimum


def test_early_stopping_example_stops_early_and_keeps_the_best_epoch():
    pytest.importorskip("sklearn")
    out = run_example("early_stopping_digits.py")
    ran, best = map(int, re.search(r"stopped after (\d+) of 500 epochs; best epoch (\d+)",
                                   out).groups())
    assert ran == best + 10 < 500  # patience 10
    assert float(re.search(r"digits test accuracy: ([\d.]+)", out).group(1)) >= 0.94
    assert (EXAMPLES / "early_stopping_digits.png").stat().st_size > 10_000


def test_fashion_mnist_example(tmp_path):
    assert "Download the four" in run_example("fashion_mnist.py", str(tmp_path / "none"))
    rng = np.random.default_rng(0)
    for name, shape in (("train-images-idx3-ubyte", (256, 28, 28)),
                        ("train-labels-idx1-ubyte", (256,)),
                        ("t10k-images-idx3-ubyte", (64, 28, 28)),
                        ("t10k-labels-idx1-ubyte", (64,))):
        write_idx(tmp_path / (name + ".gz"), rng.integers(0, 256 if len(shape) > 1 else 10, shape))
    out = run_example("fashion_mnist.py", str(tmp_path), "--epochs", "2", cwd=tmp_path)
    assert "256 training and 64 test images" in out and "validation, acc: " in out
    assert (tmp_path / "fashion_mnist.model").exists()


def test_sweep_dask_on_a_local_cluster():
    pytest.importorskip("distributed")
    out = run_example("sweep_dask.py", "--epochs", "5")
    assert "Dask: 2 workers" in out and "12 settings x 3 folds" in out
    assert float(re.search(r"best cross-validated accuracy ([\d.]+)", out).group(1)) > 0.8
