"""The command line: ``python -m jitnet demo`` and ``python -m jitnet bench``."""
import pytest

from jitnet import bench, demo
from jitnet.__main__ import main


def test_demo_prints_the_book_lines_accuracy_time_and_speedup(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    result = demo.run(epochs=201, print_every=100, plot=tmp_path / "b.png")
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("epoch: 200, acc: ") for line in lines)
    assert (tmp_path / "b.png").stat().st_size > 10_000
    assert any(line.startswith("test spiral: acc: ") for line in lines)
    assert "faster" in lines[-2] and "decision boundary" in lines[-1]
    assert 0 < result["jitnet_seconds"] and 0 < result["reference_seconds"]
    assert 0 <= result["accuracy"] <= 1


def test_bench_measures_every_workload_and_prints_a_table():
    lines = []
    # The chapter rows have their own test (test_chapter_workloads.py).
    rows = bench.measure(quick=True, repeat=1, cold=False, out=lines.append, chapters=False)
    names = [row["workload"] for row in rows]
    assert any("Model.train" in name for name in names)
    assert any("jitnet.nnfs" in name for name in names)
    assert any("softmax" in name for name in names)
    assert any("784-128-128-10" in name for name in names)
    for row in rows:
        assert row["jitnet"] > 0 and (row["reference"] is None or row["reference"] > 0)
    table = bench.table(rows).splitlines()
    assert table[0].startswith("| workload |") and len(table) == len(rows) + 2
    assert "threads" in bench.machine()


@pytest.mark.parametrize("argv", [["demo", "--epochs", "0"], ["bench", "--repeat", "0"], [],
                                  ["bench", "--chapters", "--no-chapters"],
                                  ["compile", "--dtype", "float16"]])
def test_bad_command_lines_exit_with_usage(argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
