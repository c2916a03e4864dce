"""Bad input, legitimate odd input, fuzzing and determinism of the public API.

Every bad call must raise ``ValueError`` or ``TypeError`` before a kernel
runs (bounds checks are off in compiled code); every legitimate one must give
the same answer as the plain float32, C-ordered call.
"""
import io
import pathlib
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

import jitnet as jn


def spiral_model(dtype=np.float32, dropout=0.0):
    model = jn.Model()
    model.add(jn.Dense(2, 8, dtype=dtype))
    model.add(jn.ReLU())
    if dropout:
        model.add(jn.Dropout(dropout))
    model.add(jn.Dense(8, 3, dtype=dtype))
    model.add(jn.Softmax())
    model.set(loss=jn.CategoricalCrossentropy(), optimizer=jn.Adam(0.01),
              accuracy=jn.CategoricalAccuracy())
    model.finalize()
    return model


def regression_model():
    model = jn.Model()
    model.add(jn.Dense(2, 4))
    model.add(jn.Linear())
    model.set(loss=jn.MeanSquaredError(), optimizer=jn.SGD(0.01))
    model.finalize()
    return model


X = np.random.default_rng(0).standard_normal((20, 2)).astype(np.float32)
Y = np.arange(20) % 3
NAN_X = X.copy()
NAN_X[3, 1] = np.nan
INF_Y = np.ones((20, 4))
INF_Y[2, 2] = np.inf

# (description, call, words the message must contain)
BAD_CALLS = [
    ("train X too wide", lambda m: m.train(np.ones((20, 3)), Y), ["(20, 3)", "2 features"]),
    ("train X 1-D", lambda m: m.train(np.ones(20), Y), ["2-D"]),
    ("train X empty", lambda m: m.train(np.ones((0, 2)), Y[:0]), ["empty"]),
    ("train X NaN", lambda m: m.train(NAN_X, Y), ["NaN"]),
    ("train X complex", lambda m: m.train(X.astype(complex), Y), ["complex"]),
    ("train X object", lambda m: m.train(X.astype(object), Y), ["object"]),
    ("train X strings", lambda m: m.train(X.astype(str), Y), ["dtype"]),
    ("train y too short", lambda m: m.train(X, Y[:-1]), ["19 labels", "20 samples"]),
    ("train label too big", lambda m: m.train(X, Y + 1), ["[1, 3]", "3 classes"]),
    ("train label negative", lambda m: m.train(X, Y - 1), ["[-1, 1]"]),
    ("train one-hot too wide", lambda m: m.train(X, np.eye(4)[Y]), ["(20, 4)", "(20, 3)"]),
    ("train one-hot NaN", lambda m: m.train(X, np.where(np.eye(3)[Y] > 0, np.nan, 0)), ["NaN"]),
    ("train y non-integer", lambda m: m.train(X, Y + 0.5), ["non-integer"]),
    ("epochs 0", lambda m: m.train(X, Y, epochs=0), ["epochs"]),
    ("epochs float", lambda m: m.train(X, Y, epochs=1.5), ["epochs"]),
    ("epochs string", lambda m: m.train(X, Y, epochs="3"), ["epochs"]),
    ("epochs bool", lambda m: m.train(X, Y, epochs=True), ["epochs"]),
    ("batch_size 0", lambda m: m.train(X, Y, batch_size=0), ["batch_size"]),
    ("batch_size negative", lambda m: m.train(X, Y, batch_size=-4), ["batch_size"]),
    ("print_every 0", lambda m: m.train(X, Y, print_every=0), ["print_every"]),
    ("validation not a pair", lambda m: m.train(X, Y, validation_data=X), ["pair"]),
    ("validation wrong width", lambda m: m.train(X, Y, validation_data=(np.ones((5, 4)), Y[:5])),
     ["X_val", "(5, 4)"]),
    ("validation labels out of range", lambda m: m.train(X, Y, validation_data=(X, Y + 5)),
     ["3 classes"]),
    ("predict wrong width", lambda m: m.predict(np.ones((4, 5))), ["(4, 5)", "2 features"]),
    ("predict 3-D", lambda m: m.predict(np.ones((4, 2, 1))), ["2-D"]),
    ("evaluate label out of range", lambda m: m.evaluate(X, Y * 2), ["3 classes"]),
    ("set_parameters wrong count", lambda m: m.set_parameters([]), ["pairs"]),
    ("set_parameters wrong shape", lambda m: m.set_parameters(
        [(np.ones((3, 8)), np.ones(8)), (np.ones((8, 3)), np.ones(3))]), ["(3, 8)"]),
    ("set_parameters NaN", lambda m: m.set_parameters(
        [(np.full((2, 8), np.nan), np.ones(8)), (np.ones((8, 3)), np.ones(3))]), ["NaN"]),
    ("add a foreign layer", lambda m: m.add(object()), ["not supported"]),
    ("set a foreign loss", lambda m: m.set(loss="mse"), ["loss"]),
    ("set a foreign optimizer", lambda m: m.set(optimizer="adam"), ["optimizer"]),
    ("regression accuracy with CCE",
     lambda m: (m.set(accuracy=jn.RegressionAccuracy()), m.train(X, Y)), ["RegressionAccuracy"]),
    ("regression y wrong width", lambda m: regression_model().train(X, np.ones((20, 3))),
     ["(20, 3)", "(20, 4)"]),
    ("regression y inf", lambda m: regression_model().train(X, INF_Y), ["NaN or inf"]),
    ("loss y_true inf", lambda m: jn.MeanSquaredError().forward(np.ones((3, 1)),
                                                             [np.inf, 0, 0]), ["NaN or inf"]),
    ("dense forward wrong width", lambda m: jn.Dense(2, 3).forward(np.ones((1, 3))), ["(1, 3)"]),
    ("Dense zero neurons", lambda m: jn.Dense(2, 0), ["n_neurons"]),
    ("Dense negative L1", lambda m: jn.Dense(2, 2, weight_regularizer_l1=-0.1), ["l1"]),
    ("Dense NaN L2", lambda m: jn.Dense(2, 2, bias_regularizer_l2=float("nan")), ["finite"]),
    ("Dropout rate 1", lambda m: jn.Dropout(1), ["rate"]),
    ("Dropout rate string", lambda m: jn.Dropout("0.5"), ["rate"]),
    ("SGD negative lr", lambda m: jn.SGD(learning_rate=-0.1), ["learning_rate"]),
    ("SGD momentum 1", lambda m: jn.SGD(momentum=1.0), ["momentum"]),
    ("Adagrad negative decay", lambda m: jn.Adagrad(decay=-1), ["decay"]),
    ("RMSprop rho negative", lambda m: jn.RMSprop(rho=-0.1), ["rho"]),
    ("Adam beta_2 1", lambda m: jn.Adam(beta_2=1.0), ["beta_2"]),
    ("Adam epsilon 0", lambda m: jn.Adam(epsilon=0), ["epsilon"]),
    ("seed negative", lambda m: jn.seed(-1), ["n"]),
    ("load_parameters missing file", lambda m: m.load_parameters("/nonexistent/x"),
     ["no file"]),
]


@pytest.mark.parametrize("description,call,words", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_input_battery(description, call, words):
    model = spiral_model()
    before = [p.copy() for pair in model.get_parameters() for p in pair]
    with pytest.raises((ValueError, TypeError, FileNotFoundError)) as info:
        call(model)
    message = str(info.value)
    for word in words:
        assert word in message, f"{description}: {message!r} lacks {word!r}"
    after = [p for pair in model.get_parameters() for p in pair]
    assert all(np.array_equal(a, b) for a, b in zip(before, after)), "state changed"


LEGIT = {
    "list": lambda x: x.tolist(),
    "float64 into float32 model": lambda x: x.astype(np.float64),
    "fortran": np.asfortranarray,
    "strided view": lambda x: np.repeat(x, 2, axis=0)[::2],
    "read-only": lambda x: _read_only(x),
    "ints": lambda x: np.round(x * 10).astype(np.int64),
}


def _read_only(x):
    x = x.copy()
    x.flags.writeable = False
    return x


@pytest.mark.parametrize("form", sorted(LEGIT))
def test_legitimate_inputs_train_and_predict_the_same(form):
    make = LEGIT[form]
    base = make(X) if form == "ints" else X  # ints change values: compare like with like
    reference = np.asarray(base, dtype=np.float32)
    results = []
    for data in (reference, make(X)):
        jn.seed(1)
        model = spiral_model()
        history = model.train(data, Y.tolist() if form == "list" else Y, epochs=3,
                              batch_size=7, verbose=False)
        results.append((history.loss, model.predict(data)))
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_softmax_and_crossentropy_stay_finite_at_huge_logits():
    for dtype in (np.float32, np.float64):
        z = np.array([[1e4, -1e4, 0], [-1e4, -1e4, -1e4], [0, 0, 1e4]], dtype)
        head = jn.SoftmaxCategoricalCrossentropy()
        loss = head.forward(z, np.array([1, 0, 2]))
        head.backward(head.output, np.array([1, 0, 2]))
        assert np.isfinite(loss) and np.all(np.isfinite(head.dinputs))


@pytest.mark.parametrize("labels", [np.array([0, 3, 1], np.uint8), np.array([0, -1, 2]),
                                    np.array([2, 1, 40_000], np.int32)])
def test_softmax_crossentropy_head_refuses_labels_out_of_range(labels):
    """The head checks labels inside its one kernel call; it must still refuse
    them, name them, and leave its running loss and last gradient as they were."""
    head, z = jn.SoftmaxCategoricalCrossentropy(), np.ones((3, 3), np.float32)
    head.forward(z, np.array([0, 1, 2]))
    head.backward(head.output, np.array([0, 1, 2]))
    before = (head.loss.accumulated_sum, head.loss.accumulated_count, head.dinputs.copy())
    low, high = labels.min(), labels.max()
    with pytest.raises(ValueError, match=rf"labels in \[{low}, {high}\].*3 classes"):
        head.forward(z, labels)
    np.testing.assert_allclose(head.output, 1 / 3)  # the softmax of z, as before
    with pytest.raises(ValueError, match=rf"labels in \[{low}, {high}\]"):
        head.backward(head.output, labels)
    assert (head.loss.accumulated_sum, head.loss.accumulated_count) == before[:2]
    np.testing.assert_array_equal(head.dinputs, before[2])


# ------------------------------------------------------------------ fuzzing

@settings(max_examples=60)
@given(st.integers(1, 12), st.integers(1, 6), st.integers(1, 6),
       st.sampled_from([np.float32, np.float64]), st.integers(0, 2**31),
       st.sampled_from(["relu", "sigmoid", "linear", "softmax"]))
def test_fuzz_layers_give_finite_correct_shapes(n, n_in, n_out, dtype, seed, act):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, n_in)) * 10).astype(dtype)
    dense = jn.Dense(n_in, n_out, dtype=dtype)
    activation = {"relu": jn.ReLU, "sigmoid": jn.Sigmoid, "linear": jn.Linear,
                  "softmax": jn.Softmax}[act]()
    dense.forward(x)
    activation.forward(dense.output)
    activation.backward(np.ones_like(activation.output))
    dense.backward(activation.dinputs)
    assert activation.output.shape == (n, n_out) and dense.dinputs.shape == (n, n_in)
    for value in (activation.output, dense.dweights, dense.dbiases, dense.dinputs):
        assert np.all(np.isfinite(value))


@settings(max_examples=60)
@given(st.integers(0, 25), st.integers(0, 5), st.sampled_from(["sparse", "onehot", "bad"]),
       st.one_of(st.none(), st.integers(-2, 30)), st.integers(-1, 3), st.integers(0, 2**31))
@example(12, 2, "sparse", 5, 2, 0)  # a call that must train: the success branch runs
def test_fuzz_model_train_either_works_or_refuses(n, width, labels, batch, epochs, seed):
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((n, width))
    y = {"sparse": rng.integers(0, 3, n), "onehot": np.eye(3)[rng.integers(0, 3, n)],
         "bad": rng.integers(-3, 6, n)}[labels]
    model = spiral_model()
    try:
        history = model.train(data, y, epochs=epochs, batch_size=batch, verbose=False)
    except (ValueError, TypeError):
        return
    assert len(history) == epochs
    assert np.all(np.isfinite(history.loss))
    assert model.predict(data).shape == (n, 3)


@pytest.fixture(scope="module")
def saved_model_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "m.model"
    model = spiral_model(dropout=0.1)
    model.train(X, Y, epochs=2, verbose=False)
    model.save(path)
    return path.read_bytes()


@settings(max_examples=80)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8),
       st.one_of(st.none(), st.integers(0, 10**6)))
def test_fuzz_model_load_with_mutated_files(saved_model_bytes, tmp_path_factory, edits, cut):
    data = bytearray(saved_model_bytes)
    for position, value in edits:
        data[position % len(data)] = value
    if cut is not None:
        data = data[:cut % len(data)]
    path = tmp_path_factory.mktemp("mutant") / "m.model"
    path.write_bytes(bytes(data))
    try:
        model = jn.Model.load(path)
    except ValueError:
        return
    out = model.predict(X)  # a mutant that loads must still be a working model
    assert out.shape == (len(X), 3) and np.all(np.isfinite(out))


def test_fuzz_found_zip_members_are_checked(saved_model_bytes, tmp_path):
    """A well-formed archive whose arrays were swapped for other shapes."""
    src = io.BytesIO(saved_model_bytes)
    path = tmp_path / "swapped.model"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            payload = zin.read(item.filename)
            if item.filename == "state1.npy":
                buffer = io.BytesIO()
                np.save(buffer, np.zeros(5, np.float32))
                payload = buffer.getvalue()
            zout.writestr(item, payload)
    with pytest.raises(ValueError, match="state1"):
        jn.Model.load(path)


# ------------------------------------------------------------- determinism

def _trained_parameters(seed):
    jn.seed(seed)
    model = spiral_model(dropout=0.3)
    model.train(X, Y, epochs=5, batch_size=6, shuffle=True, verbose=False)
    return np.concatenate([p.ravel() for pair in model.get_parameters() for p in pair])


def test_same_seed_same_bits_in_one_process():
    a, b = _trained_parameters(7), _trained_parameters(7)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != _trained_parameters(8).tobytes()


def test_same_seed_same_bits_across_processes():
    script = textwrap.dedent("""
        import hashlib, sys
        sys.path.insert(0, {tests!r})
        from test_robustness import _trained_parameters
        print(hashlib.sha256(_trained_parameters(7).tobytes()).hexdigest())
    """).format(tests=str(pathlib.Path(__file__).parent))
    digests = set()
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        digests.add(done.stdout.strip().splitlines()[-1])
    import hashlib
    digests.add(hashlib.sha256(_trained_parameters(7).tobytes()).hexdigest())
    assert len(digests) == 1
