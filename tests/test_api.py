"""The public surface: names, the book protocol, input handling and errors."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import jitnet as jn
import jitnet.nnfs as book
import jitnet.reference as R

BOOK_NAMES = {
    "Layer_Dense": jn.Dense, "Layer_Dropout": jn.Dropout, "Layer_Input": jn.Input,
    "Activation_ReLU": jn.ReLU, "Activation_Softmax": jn.Softmax,
    "Activation_Sigmoid": jn.Sigmoid, "Activation_Linear": jn.Linear,
    "Loss": jn.Loss, "Loss_CategoricalCrossentropy": jn.CategoricalCrossentropy,
    "Loss_BinaryCrossentropy": jn.BinaryCrossentropy,
    "Loss_MeanSquaredError": jn.MeanSquaredError,
    "Loss_MeanAbsoluteError": jn.MeanAbsoluteError,
    "Activation_Softmax_Loss_CategoricalCrossentropy": jn.SoftmaxCategoricalCrossentropy,
    "Optimizer_SGD": jn.SGD, "Optimizer_Adagrad": jn.Adagrad,
    "Optimizer_RMSprop": jn.RMSprop, "Optimizer_Adam": jn.Adam,
    "Accuracy": jn.Accuracy, "Accuracy_Categorical": jn.CategoricalAccuracy,
    "Accuracy_Regression": jn.RegressionAccuracy,
}


def test_book_names_are_the_same_objects():
    for name, obj in BOOK_NAMES.items():
        assert getattr(book, name) is obj, name
        assert hasattr(R, name), f"jitnet.reference lacks {name}"
    namespace = {}
    exec("from jitnet.nnfs import *", namespace)
    assert set(BOOK_NAMES) <= set(namespace)


def test_package_names_load_on_first_use():
    namespace = {}
    exec("from jitnet import *", namespace)
    assert set(jn.__all__) == set(namespace) - {"__builtins__"}
    assert set(jn.__all__) <= set(dir(jn))
    assert namespace["Dense"] is jn.Dense and jn.kernels.seed_rng is not None
    with pytest.raises(AttributeError, match="no_such_name"):
        jn.no_such_name  # noqa: B018


def test_the_reference_and_workloads_load_no_numba():
    """The book's code alone, as a user runs it; bench measures its memory so.

    A probe for ``jitnet.__main__`` must not import (and run) the command line.
    """
    script = ("import sys, jitnet.reference, jitnet.workloads\n"
              "print(hasattr(jitnet, '__main__'),"
              " [m for m in ('numba', 'llvmlite', 'scipy') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False []"


@pytest.mark.parametrize("setting, user_disabled, session", [
    ("1", False, ""), ("1", True, ""), ("0", False, ""),
    ("1", False, "import sys; sys.ps1 = '>>> '"),  # a REPL
    ("1", False, "import sys, types; sys.modules['IPython'] = types.ModuleType('IPython')"),
])
def test_importing_the_kernels_freezes_what_exists_and_restores_the_collector(
        setting, user_disabled, session):
    """The kernels' import leaves Numba's objects to ``gc.freeze`` (see
    kernels/__init__.py), collects again only if it was collecting, and
    leaves the collector alone with ``JITNET_GC_FREEZE=0`` or in an
    interactive session. A cycle made after the import is still collected."""
    script = (f"import gc, weakref\n{session}\n"
              f"if {user_disabled}: gc.disable()\n"
              "import jitnet.kernels\n"
              "frozen, enabled = gc.get_freeze_count(), gc.isenabled()\n"
              "class Node: pass\n"
              "a, b = Node(), Node(); a.other, b.other = b, a\n"
              "alive = weakref.ref(a); del a, b; gc.collect()\n"
              "print(frozen, enabled, alive() is None)")
    env = {**os.environ, "JITNET_GC_FREEZE": setting}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    frozen, enabled, collected = done.stdout.split()
    assert (int(frozen) > 10_000) == (setting == "1" and not session)
    assert enabled == str(not user_disabled)
    assert collected == "True"


def test_seed_repeats_weights_and_dropout_masks():
    def draw():
        jn.seed(123)
        layer, drop = jn.Dense(3, 4), jn.Dropout(0.5)
        drop.forward(np.ones((6, 4)))
        return layer.weights.copy(), drop.binary_mask.copy()

    (w1, m1), (w2, m2) = draw(), draw()
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_array_equal(m1, m2)



SEEDED_BY_NUMPY = """
import json, numpy as np, jitnet as jn
np.random.seed({seed})  # as nnfs.init() does; jitnet.seed is never called
drop = jn.Dropout(0.5)
drop.forward(np.ones((4, 8)))
first = drop.binary_mask.tolist()
drop.forward(np.ones((4, 8)))
X = np.random.default_rng(0).standard_normal((40, 2))
model = jn.Model()
for layer in (jn.Dense(2, 8), jn.ReLU(), jn.Dropout(0.3), jn.Dense(8, 1), jn.Linear()):
    model.add(layer)
model.set(loss=jn.MeanSquaredError(), optimizer=jn.Adam(), accuracy=jn.RegressionAccuracy())
model.finalize()
model.train(X, X[:, :1], epochs=3, batch_size=16, shuffle=True, verbose=False)
print(json.dumps({{"masks": [first, drop.binary_mask.tolist()],
                  "weights": model.get_parameters()[0][0].tolist(),
                  "numpy_next": np.random.random()}}))
"""


def _seeded_by_numpy(seed):
    env = {k: v for k, v in os.environ.items() if k != "JITNET_CACHE"}
    done = subprocess.run([sys.executable, "-c", SEEDED_BY_NUMPY.format(seed=seed)],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    import json
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_numpy_seed_alone_repeats_the_masks_from_run_to_run():
    """A book script seeds NumPy (nnfs.init()) and never calls jitnet.seed: its
    dropout masks and shuffles repeat from one process to the next, as the
    book's do, and no draw is taken from NumPy's generator for them."""
    first, again, other = _seeded_by_numpy(7), _seeded_by_numpy(7), _seeded_by_numpy(8)
    assert first == again
    assert first["masks"][0] != first["masks"][1]  # each call its own mask
    assert other["masks"] != first["masks"]  # the seed came from NumPy's state
    np.random.seed(7)
    for shape in ((2, 8), (8, 1)):  # the model's weight draws, as in the child
        np.random.randn(*shape)
    assert first["numpy_next"] == np.random.random()


def test_jitnet_seed_is_not_overridden_by_the_numpy_state(monkeypatch):
    """Once jitnet.seed (or an estimator's random_state) seeded the compiled
    generator, a later first mask does not reseed it from NumPy's state."""
    from jitnet import _random
    monkeypatch.setattr(_random, "seeded", False)
    jn.seed(5)
    np.random.seed(99)  # another NumPy state before the first mask
    drop = jn.Dropout(0.5)
    drop.forward(np.ones((6, 4)))
    jn.kernels.seed_rng(5)
    mask = np.empty((6, 4)), np.empty((6, 4))
    jn.kernels.dropout_forward(np.ones((6, 4)), 0.5, *mask)
    np.testing.assert_array_equal(drop.binary_mask, mask[0])

def test_weights_come_from_numpys_global_generator_as_in_the_book():
    np.random.seed(5)
    ours = jn.Dense(3, 4, dtype=np.float64)
    np.random.seed(5)
    theirs = R.Layer_Dense(3, 4)
    np.testing.assert_array_equal(ours.weights, theirs.weights)
    assert ours.weights.dtype == np.float64
    assert jn.Dense(3, 4).weights.dtype == np.float32  # the default, as nnfs.init()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_scale_starts_where_chapter_17s_script_does(dtype, nnfs_init):
    """Chapter 17's own Layer_Dense draws ``0.1 * np.random.randn``, the others 0.01."""
    for scale in (0.1, 0.01):
        np.random.seed(3)
        book = scale * np.random.randn(1, 64)  # the script's line, under nnfs.init()
        np.random.seed(3)
        ours = jn.Dense(1, 64, dtype=dtype, weight_scale=scale)
        np.testing.assert_array_equal(ours.weights, book.astype(dtype))
        np.random.seed(3)
        np.testing.assert_array_equal(R.Layer_Dense(1, 64, weight_scale=scale).weights, book)
    np.random.seed(3)
    default = jn.Dense(1, 64, dtype=dtype).weights
    np.random.seed(3)
    np.testing.assert_array_equal(default, jn.Dense(1, 64, dtype=dtype, weight_scale=0.01).weights)


def _forward(x, dtype=np.float64):
    np.random.seed(0)
    layer = jn.Dense(3, 2, dtype=dtype)
    layer.forward(x)
    return layer.output


@pytest.mark.parametrize("make", [
    lambda x: x.tolist(),                       # a list
    lambda x: np.asfortranarray(x),             # Fortran order
    lambda x: np.repeat(x, 2, axis=1)[:, ::2],  # a strided view
    lambda x: x.astype(np.float32),             # another float dtype
], ids=["list", "fortran", "strided", "float32"])
def test_legitimate_inputs_give_the_same_answer(make):
    x = np.arange(12, dtype=np.float64).reshape(4, 3) / 7
    np.testing.assert_allclose(_forward(make(x)), _forward(x), rtol=1e-6)


def test_integer_inputs_become_floats():
    x = np.arange(12).reshape(4, 3)
    np.testing.assert_allclose(_forward(x), _forward(x.astype(float)))
    relu = jn.ReLU()
    relu.forward(np.array([[-2, 3]]))
    assert relu.output.dtype == np.float32 and relu.output.tolist() == [[0, 3]]


def test_read_only_inputs_work():
    x = np.ones((2, 3))
    x.flags.writeable = False
    assert _forward(x).shape == (2, 2)


def test_float64_layers_keep_float64():
    np.random.seed(0)
    dense = jn.Dense(2, 3, dtype=np.float64)
    dense.forward(np.ones((4, 2), np.float32))
    assert dense.output.dtype == np.float64


def test_weights_assigned_directly_are_used():
    """Chapter 9 edits and replaces ``layer.weights`` by hand."""
    layer = jn.Dense(2, 2)
    layer.weights = np.asfortranarray(np.array([[1., 2.], [3., 4.]]))
    layer.weights += 1
    layer.forward(np.array([[1., 1.]]))
    np.testing.assert_allclose(layer.output, [[2 + 4, 3 + 5]])


@pytest.mark.parametrize("call,error,words", [
    (lambda: jn.Dense(2, 3).forward(np.ones((4, 5))), ValueError, ["(4, 5)", "(2, 3)"]),
    (lambda: jn.Dense(2, 3).forward(np.ones(2)), ValueError, ["2-D", "(2,)"]),
    (lambda: jn.Dense(2, 3).forward(np.ones((0, 2))), ValueError, ["empty"]),
    (lambda: jn.Dense(2, 3).forward(np.ones((4, 2), complex)), TypeError, ["complex"]),
    (lambda: jn.Dense(2, 3).forward(np.array([["a", "b"]])), TypeError, ["dtype"]),
    (lambda: jn.Dense(2, 3).forward(np.array([[1, None]], object)), TypeError, ["object"]),
    (lambda: jn.Dense(0, 3), ValueError, ["n_inputs"]),
    (lambda: jn.Dense(2.5, 3), TypeError, ["n_inputs"]),
    (lambda: jn.Dense(2, 3, weight_regularizer_l2=-1), ValueError, ["weight_regularizer_l2"]),
    (lambda: jn.Dense(2, 3, dtype=np.int32), TypeError, ["float32"]),
    (lambda: jn.Dense(2, 3, weight_scale=0), ValueError, ["weight_scale", "(0, inf)"]),
    (lambda: jn.Dense(2, 3, weight_scale=float("nan")), ValueError, ["weight_scale"]),
    (lambda: jn.Dense(2, 3, weight_scale="0.1"), TypeError, ["weight_scale"]),
    (lambda: jn.Dropout(1.0), ValueError, ["rate"]),
    (lambda: jn.Dropout(-0.1), ValueError, ["rate"]),
    (lambda: jn.Adam(learning_rate=-1), ValueError, ["learning_rate"]),
    (lambda: jn.SGD(momentum=1.5), ValueError, ["momentum"]),
    (lambda: jn.RMSprop(rho=1.0), ValueError, ["rho"]),
    (lambda: jn.Adam(beta_1="x"), TypeError, ["beta_1"]),
    (lambda: jn.Softmax().forward(np.ones(3)), ValueError, ["2-D"]),
], ids=lambda v: getattr(v, "__name__", None) if isinstance(v, type) else None)
def test_bad_construction_and_inputs_raise_clear_errors(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value)


P = np.full((4, 3), 1 / 3)


@pytest.mark.parametrize("y,words", [
    (np.array([0, 1, 2, 3]), ["[0, 3]", "3 classes"]),
    (np.array([0, -1, 2, 1]), ["[-1, 2]"]),
    (np.array([0, 1, 2]), ["3 labels", "4 samples"]),
    (np.eye(4)[:, :4], ["(4, 4)", "(4, 3)"]),
    (np.zeros((4, 1)), ["(4, 1)", "y.ravel()"]),
    (np.array([0.5, 1, 2, 0]), ["non-integer"]),
    (np.zeros((4, 3, 1)), ["1-D", "2-D"]),
    (np.array(["a", "b", "c", "d"]), ["class indices"]),
])
@pytest.mark.parametrize("method", ["forward", "backward"])
def test_bad_class_labels_raise_before_any_kernel(y, words, method):
    loss = jn.CategoricalCrossentropy()
    with pytest.raises((ValueError, TypeError)) as info:
        loss.forward(P, y) if method == "forward" else loss.backward(P, y)
    for word in words:
        assert word in str(info.value)
    fused = jn.SoftmaxCategoricalCrossentropy()
    with pytest.raises((ValueError, TypeError)):
        fused.forward(P, y) if method == "forward" else fused.backward(P, y)


def test_float_labels_with_integer_values_are_accepted():
    loss = jn.CategoricalCrossentropy()
    np.testing.assert_allclose(loss.forward(P, np.array([0., 1., 2., 0.])),
                               loss.forward(P, np.array([0, 1, 2, 0])))


@pytest.mark.parametrize("cls", [jn.BinaryCrossentropy, jn.MeanSquaredError,
                                 jn.MeanAbsoluteError])
def test_elementwise_targets(cls):
    p = np.full((5, 1), 0.25)
    loss = cls()
    # (n,) targets for (n, 1) outputs are reshaped, not broadcast to (n, n).
    np.testing.assert_allclose(loss.forward(p, np.ones(5)), loss.forward(p, np.ones((5, 1))))
    with pytest.raises(ValueError, match=r"\(5, 2\).*\(5, 1\)"):
        loss.forward(p, np.ones((5, 2)))
    with pytest.raises(ValueError, match="y_true"):
        loss.backward(p, np.ones(4))


def test_backward_with_the_wrong_shape_raises():
    dense = jn.Dense(2, 3)
    dense.forward(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"\(4, 2\).*\(4, 3\)"):
        dense.backward(np.ones((4, 2)))
    relu = jn.ReLU()
    relu.forward(np.ones((4, 2)))
    with pytest.raises(ValueError, match="dvalues"):
        relu.backward(np.ones((2, 4)))


def test_optimizer_refuses_a_layer_without_gradients():
    with pytest.raises(TypeError, match="dweights"):
        jn.Adam().update_params(jn.Dense(2, 2))


def test_accuracy_metrics():
    acc = jn.CategoricalAccuracy()
    assert acc.calculate(np.array([0, 1, 2]), np.eye(3)[[0, 1, 1]]) == pytest.approx(2 / 3)
    binary = jn.CategoricalAccuracy(binary=True)
    assert binary.calculate(np.array([[1], [0]]), np.array([1, 1])) == 0.5
    reg = jn.RegressionAccuracy()
    y = np.linspace(0, 1, 100).reshape(-1, 1)
    reg.init(y)
    assert reg.precision == pytest.approx(np.std(y) / 250)
    assert reg.calculate(y + reg.precision / 2, y) == 1.0
    assert acc.calculate_accumulated() == pytest.approx(2 / 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_return_a_scalar_of_the_predictions_dtype_as_the_book(dtype):
    """``print(loss)`` looks as in the book (float32's eight digits, not seventeen):
    the mean is a NumPy scalar of the predictions' dtype, the float64 mean rounded."""
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), 50).astype(dtype)
    labels = rng.integers(0, 3, 50)
    logits = rng.standard_normal((50, 3)).astype(dtype)
    targets = rng.random((50, 3)).astype(dtype)
    cases = [("Loss_CategoricalCrossentropy", probs, labels),
             ("Loss_BinaryCrossentropy", probs, (targets > 0.5).astype(dtype)),
             ("Loss_MeanSquaredError", probs, targets),
             ("Loss_MeanAbsoluteError", probs, targets),
             ("Activation_Softmax_Loss_CategoricalCrossentropy", logits, labels)]
    for name, predictions, y in cases:
        ours = getattr(book, name)()
        theirs = getattr(R, name)()
        method = "forward" if name.startswith("Activation") else "calculate"
        loss = getattr(ours, method)(predictions, y)
        expected = getattr(theirs, method)(predictions, y)
        assert type(loss) is type(expected) is dtype, name
        assert loss == pytest.approx(expected, rel=1e-5), name
        sample_losses = ours.loss.forward(ours.output, y) if method == "forward" \
            else ours.forward(predictions, y)
        mean = np.mean(sample_losses.astype(np.float64))  # summed in float64, then rounded
        assert loss == pytest.approx(mean, rel=1e-7 if dtype == np.float32 else 1e-13), name
        accumulated = (ours.loss if method == "forward" else ours).calculate_accumulated()
        expected = (theirs.loss if method == "forward" else theirs).calculate_accumulated()
        assert type(accumulated) is type(expected) is dtype, name
        assert accumulated == pytest.approx(expected, rel=1e-5), name


def test_kernels_compile_after_nnfs_init(tmp_path):
    """nnfs.init() replaces np.dot; compiled kernels must not pick that up,
    whichever is imported first (the two orders compile side by side)."""
    lines = ["import nnfs", "nnfs.init()", "import jitnet as jn; jn.kernels"]
    body = textwrap.dedent("""
        import numpy as np
        layer = jn.Dense(256, 256)           # large enough for the BLAS path
        layer.forward(np.ones((64, 256)))
        layer.backward(np.ones((64, 256)))
        assert layer.output.dtype == np.float32
        print("ok")
    """)
    orders = {"nnfs.init() first": lines, "jitnet first": [lines[2], lines[0], lines[1]]}
    env = {"JITNET_CACHE": "0", "PATH": "/usr/bin:/bin"}
    runs = {}
    for i, (order, script) in enumerate(orders.items()):
        out, err = tmp_path / f"out{i}", tmp_path / f"err{i}"  # files: no pipe fills up
        with open(out, "w") as stdout, open(err, "w") as stderr:
            runs[order] = (subprocess.Popen(
                [sys.executable, "-c", "\n".join(script) + body], stdout=stdout,
                stderr=stderr, env=env, cwd=tmp_path), out, err)
    for order, (run, out, err) in runs.items():
        assert run.wait(timeout=300) == 0, (order, err.read_text()[-2000:])
        assert out.read_text().strip() == "ok", order


def test_kernel_caches_depend_on_every_kernel_source():
    """Numba alone would reuse a cached interpreter after a callee changed."""
    from jitnet.kernels import _jit, program
    locator = program.train_epochs._cache._impl._locator
    assert type(locator).__name__.startswith("Jitnet")
    assert locator.get_source_stamp() == _jit._sources_stamp()


def test_parameters_reshaped_in_place_are_rechecked():
    layer = jn.Dense(4, 3)
    layer.forward(np.ones((2, 4)))
    layer.weights.shape = (3, 4)  # same object, new shape: biases no longer fit
    with pytest.raises(ValueError, match="biases"):
        layer.forward(np.ones((2, 3)))


def test_gradient_buffers_replaced_by_the_user_are_not_written_into():
    layer = jn.Dense(2, 3)
    layer.forward(np.ones((4, 2)))
    layer.backward(np.ones((4, 3)))
    first = layer.dweights
    layer.backward(np.ones((4, 3)))
    assert layer.dweights is first  # reused from step to step
    layer.dbiases = np.zeros((5, 5))  # the wrong shape: never written into
    frozen = np.zeros((2, 3), np.float32)
    frozen.flags.writeable = False
    layer.dweights = frozen
    layer.backward(np.ones((4, 3)))
    assert layer.dbiases.shape == (1, 3) and layer.dweights is not frozen
    np.testing.assert_allclose(layer.dbiases, [[4, 4, 4]])


def test_optimizer_accepts_read_only_parameters_and_forgets_dropped_layers():
    import gc
    optimizer = jn.SGD(learning_rate=0.5)
    layer = jn.Dense(2, 2)
    layer.forward(np.ones((1, 2)))
    layer.backward(np.ones((1, 2)))
    layer.weights = np.ones((2, 2), np.float32)
    layer.weights.flags.writeable = False
    optimizer.update_params(layer)
    np.testing.assert_allclose(layer.weights, 0.5)  # a writable copy took the step
    del layer
    gc.collect()
    assert len(optimizer._flat_views) == 0


def test_optimizers_pickle_and_keep_working():
    import pickle
    layer = jn.Dense(2, 2)
    layer.forward(np.ones((1, 2)))
    layer.backward(np.ones((1, 2)))
    optimizer = jn.Adam(0.1)
    optimizer.update_params(layer)
    clone = pickle.loads(pickle.dumps(optimizer))
    clone.update_params(layer)
    assert clone.learning_rate == 0.1 and len(clone._flat_views) == 1


def test_nnfs_init_leaves_the_models_bookkeeping_in_float64():
    """nnfs.init()'s np.zeros makes float32 unless given a dtype: early stopping's
    state then compiled a second train_epochs, and evaluate summed in float32."""
    from jitnet import chapters, model as model_module, workloads as W
    from jitnet.kernels import program as P

    X, y = W.spiral()
    model = W.model(book, (2, 8, 3), book.Optimizer_Adam(learning_rate=0.05))
    model.train(X, y, epochs=2, verbose=False)
    plain = model.evaluate(X, y)
    compiled = set(P.train_epochs.signatures)
    with chapters.nnfs_conditions():
        assert model.evaluate(X, y) == plain
        watch, _, _ = model_module._watch([], model._program)
        assert watch.dtype == np.float64
        model.train(X, y, epochs=2, verbose=False)
    assert set(P.train_epochs.signatures) == compiled  # nothing new compiled
