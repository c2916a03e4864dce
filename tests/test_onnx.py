"""ONNX export: onnxruntime reproduces ``predict`` for Models and the estimators."""
import sys

import numpy as np
import pytest

from test_model import build, task_data


# Float rounding: onnxruntime's MatMul sums in another order than the kernels.
TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}


@pytest.fixture(scope="module")
def session():
    """``session(path)``: an onnxruntime session; skips without onnx or onnxruntime."""
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    return lambda path: ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("task", ["categorical", "binary", "mse"])
def test_onnxruntime_reproduces_predict(session, tmp_path, task, dtype):
    import onnx
    X, y = task_data(task)
    # Dropout in the classifier: left out of the graph, as predict leaves it out.
    model = build(0, task, "adam", dtype=dtype, dropout=0.2 if task == "categorical" else 0)
    model.train(X, y, epochs=3, verbose=False)
    path = tmp_path / "m.onnx"
    model.to_onnx(path)
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    assert [node.op_type for node in proto.graph.node if node.op_type != "Identity"] == [
        "MatMul", "Add", "Relu", "MatMul", "Add"] + {
        "categorical": ["Softmax"], "binary": ["Sigmoid"], "mse": []}[task]
    run = session(path)
    (inp,), (out,) = run.get_inputs(), run.get_outputs()
    assert (inp.name, inp.shape[1], out.name) == ("X", X.shape[1], "output")
    assert isinstance(inp.shape[0], str)  # a free batch dimension
    for rows in (X[:1], X[:7], X):
        got = run.run(None, {"X": rows.astype(dtype)})[0]
        assert got.dtype == dtype  # assert_allclose checks the shapes
        np.testing.assert_allclose(got, model.predict(rows), **TOLERANCE[dtype])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no temp files


def test_opset_choice_and_refusals(session, tmp_path):
    import onnx
    X, y = task_data("binary")
    model = build(0, "binary", "sgd")
    model.to_onnx(tmp_path / "m13.onnx", opset=13)
    assert onnx.load(tmp_path / "m13.onnx").opset_import[0].version == 13
    np.testing.assert_allclose(session(tmp_path / "m13.onnx").run(None, {"X": X})[0],
                               model.predict(X), **TOLERANCE[np.float64])
    for opset, error in ((12, ValueError), (10**6, ValueError), ("17", TypeError)):
        with pytest.raises(error, match="Model.to_onnx: opset"):
            model.to_onnx(tmp_path / "bad.onnx", opset=opset)
    assert not (tmp_path / "bad.onnx").exists()


def test_a_clear_message_without_onnx(tmp_path, monkeypatch):
    model = build(0, "binary", "sgd")
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now fails
    with pytest.raises(ImportError, match=r'pip install "jitnet\[onnx\]"'):
        model.to_onnx(tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_estimators_export_what_they_predict(session, tmp_path):
    pytest.importorskip("sklearn")
    from sklearn.exceptions import NotFittedError
    from jitnet.sklearn import MLPClassifier, MLPRegressor
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4))
    labels = np.array(["ant", "bee", "cat"])[rng.integers(0, 3, 40)]
    targets = X @ rng.standard_normal((4, 2))
    cases = [(MLPClassifier, labels, "probabilities", "predict_proba", (3,)),
             (MLPRegressor, targets[:, 0], "predictions", "predict", ()),
             (MLPRegressor, targets, "predictions", "predict", (2,))]
    for cls, y, name, method, tail in cases:
        with pytest.raises(NotFittedError):
            cls().to_onnx(tmp_path / "unfitted.onnx")
        estimator = cls(hidden_layer_sizes=(8,), epochs=2, random_state=0).fit(X, y)
        estimator.to_onnx(tmp_path / "e.onnx")
        run = session(tmp_path / "e.onnx")
        assert run.get_outputs()[0].name == name
        for rows in (X[:1], X[:7]):
            got = run.run(None, {"X": rows.astype(np.float32)})[0]
            assert got.shape == (len(rows),) + tail
            np.testing.assert_allclose(got, getattr(estimator, method)(rows), rtol=1e-5,
                                       atol=1e-6)
    assert not (tmp_path / "unfitted.onnx").exists()
