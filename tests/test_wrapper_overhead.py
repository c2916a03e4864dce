"""The per-layer calls' cheaper paths keep the book's semantics and the checks.

Functional tests only (no timings): the fast paths of the wrappers, the
joined weight + bias updates, the targets' finiteness check done from the
loss sum, and the label checks that must run on every call.
"""
import pickle

import numpy as np
import pytest

import jitnet as jn
from conftest import assert_close


def _trained_dense(n_in=3, n_out=4, n=5, seed=0):
    rng = np.random.default_rng(seed)
    np.random.seed(seed)  # the weights' draw
    layer = jn.Dense(n_in, n_out)
    layer.forward(rng.standard_normal((n, n_in)).astype(np.float32))
    layer.backward(rng.standard_normal((n, n_out)).astype(np.float32))
    return layer


def _same_memory_block(first, second):
    return (first.base is not None and first.base is second.base
            and second.__array_interface__["data"][0]
            == first.__array_interface__["data"][0] + first.nbytes)


# ---------------------------------------------------------------- Dense


def test_dense_parameters_and_gradients_lie_end_to_end():
    layer = _trained_dense(seed=1)
    assert _same_memory_block(layer.weights, layer.biases)
    assert _same_memory_block(layer.dweights, layer.dbiases)
    np.random.seed(1)
    assert np.array_equal(layer.weights,  # the book's draw, unchanged
                          (0.01 * np.random.randn(3, 4)).astype(np.float32))
    assert not layer.biases.any()


@pytest.mark.parametrize("n_in, n_out, kernel", [
    (1, 1, "few_inputs_dense_backward"), (1, 64, "few_inputs_dense_backward"),
    (2, 2, "few_inputs_dense_backward"), (2, 64, "few_inputs_dense_backward"),
    (2, 1, "dense_backward"), (3, 64, "dense_backward")])
def test_dense_backward_takes_the_one_pass_kernel_for_one_or_two_inputs(
        monkeypatch, n_in, n_out, kernel):
    """One- or two-input layers, as wide or wider, go to the one-pass kernel;
    every other shape to dense_backward; both give the book's gradients."""
    import jitnet.kernels as K
    import jitnet.reference as R

    called = []
    for name in ("few_inputs_dense_backward", "dense_backward"):
        monkeypatch.setattr(K, name, lambda *args, name=name, f=getattr(K, name): (
            called.append(name), f(*args)))
    rng = np.random.default_rng(n_in * 100 + n_out)
    x = rng.standard_normal((5, n_in)).astype(np.float32)
    dvalues = rng.standard_normal((5, n_out)).astype(np.float32)
    layer, ref = jn.Dense(n_in, n_out, weight_regularizer_l2=5e-4), R.Layer_Dense(
        n_in, n_out, weight_regularizer_l2=5e-4)
    ref.weights, ref.biases = layer.weights.astype(np.float64), layer.biases.astype(np.float64)
    for lay in (layer, ref):
        lay.forward(x)
        lay.backward(dvalues)
    assert called == [kernel]
    for name in ("dweights", "dbiases", "dinputs"):
        np.testing.assert_allclose(getattr(layer, name), getattr(ref, name),
                                   rtol=1e-5, atol=1e-6)


def test_set_parameters_copies_into_a_new_block():
    layer = jn.Dense(2, 3)
    w, b = np.arange(6.).reshape(2, 3), np.array([1., 2., 3.])
    layer.set_parameters(w, b)
    w[0, 0] = 99.
    assert layer.weights[0, 0] == 0 and layer.biases.shape == (1, 3)
    assert _same_memory_block(layer.weights, layer.biases)


def test_outputs_kept_by_the_user_are_never_overwritten():
    layer, relu = jn.Dense(2, 3), jn.ReLU()
    x = np.ones((4, 2), np.float32)
    layer.forward(x)
    relu.forward(layer.output)
    first, first_relu = layer.output, relu.output
    kept, kept_relu = first.copy(), first_relu.copy()
    layer.forward(2 * x)
    relu.forward(layer.output)
    relu.backward(np.ones((4, 3), np.float32))
    layer.backward(relu.dinputs)
    first_dinputs, kept_dinputs = layer.dinputs, layer.dinputs.copy()
    layer.backward(2 * relu.dinputs)
    assert layer.output is not first and relu.output is not first_relu
    assert np.array_equal(first, kept) and np.array_equal(first_relu, kept_relu)
    assert layer.dinputs is not first_dinputs
    assert np.array_equal(first_dinputs, kept_dinputs)


@pytest.mark.parametrize("inputs", [
    np.ones((4, 2), np.float64),               # another float dtype
    np.ones((4, 2), np.int64),                 # integers
    np.ones((2, 4), np.float32).T,             # not C-contiguous
    np.ones((4, 2), np.float16),
    [[1, 1]] * 4,                              # a list
])
def test_inputs_off_the_fast_path_are_converted(inputs):
    layer = jn.Dense(2, 3)
    layer.forward(inputs)
    expected = np.ones((4, 2)) @ layer.weights.astype(np.float64) + layer.biases
    assert layer.output.dtype == np.float32
    np.testing.assert_allclose(layer.output, expected, rtol=1e-6)


@pytest.mark.parametrize("inputs, error, words", [
    (np.ones((4, 5), np.float32), ValueError, ["(4, 5)", "(2, 3)"]),
    (np.ones(4, np.float32), ValueError, ["2-D", "(4,)"]),
    (np.ones((0, 2), np.float32), ValueError, ["empty", "(0, 2)"]),
    (np.array([["a", "b"]]), TypeError, ["real numbers"]),
])
def test_bad_dense_inputs_raise_clear_errors(inputs, error, words):
    with pytest.raises(error) as info:
        jn.Dense(2, 3).forward(inputs)
    assert all(word in str(info.value) for word in ["inputs", *words])


def test_dense_backward_refuses_weights_that_no_longer_fit_the_inputs():
    layer = _trained_dense(n_in=3, n_out=4)
    layer.set_parameters(np.ones((6, 4)), np.zeros(4))  # 6 inputs now, not 3
    with pytest.raises(ValueError, match=r"\(6, 4\).*\(5, 3\)"):
        layer.backward(np.ones((5, 4), np.float32))


def test_dense_backward_refuses_dvalues_of_another_shape_or_dtype_kind():
    layer = _trained_dense()
    with pytest.raises(ValueError, match=r"dvalues.*\(5, 3\).*\(5, 4\)"):
        layer.backward(np.ones((5, 3), np.float32))
    layer.backward(np.ones((5, 4), np.float64))  # converted to the layer's dtype
    assert layer.dweights.dtype == np.float32


def test_the_last_made_array_is_still_checked_where_it_can_change():
    from jitnet._validate import MADE
    first, second = jn.Dense(2, 3), jn.Dense(3, 2, dtype=np.float64)
    first.forward(np.ones((4, 2), np.float32))
    assert MADE[0] is first.output  # handed on unchecked by the next call ...
    second.forward(first.output)  # ... but its dtype is: converted to float64
    assert second.inputs.dtype == np.float64 and second.output.dtype == np.float64
    first.forward(np.ones((4, 2), np.float32))
    first.output.shape = (12,)  # ndim changed in place (NumPy discourages it)
    with pytest.raises(ValueError, match=r"inputs must be 2-D.*\(12,\)"):
        jn.Dense(12, 2).forward(first.output)
    relu, other = jn.ReLU(), jn.Sigmoid()
    relu.forward(np.ones((4, 3), np.float32))
    other.forward(np.ones((4, 3), np.float32))
    other.output.shape = (3, 4)  # the last made array as dvalues, reshaped
    with pytest.raises(ValueError, match=r"dvalues.*\(3, 4\).*\(4, 3\)"):
        relu.backward(other.output)


def test_gradient_buffers_are_checked_again_when_the_parameters_change():
    layer = _trained_dense(n_in=3, n_out=4)
    dweights = layer.dweights
    layer.set_parameters(np.ones((3, 2)), np.zeros(2))  # new arrays, new shape
    layer.forward(np.ones((5, 3), np.float32))
    layer.backward(np.ones((5, 2), np.float32))
    assert layer.dweights is not dweights and layer.dweights.shape == (3, 2)
    np.testing.assert_allclose(layer.dweights, 5.0)


def test_gradient_buffers_reshaped_in_place_are_replaced():
    layer = _trained_dense(n_in=3, n_out=4)
    reshaped = layer.dweights
    reshaped.shape = (1, 12)  # same object and size, another shape
    layer.backward(np.ones((5, 4), np.float32))
    assert layer.dweights is not reshaped and layer.dweights.shape == (3, 4)
    np.testing.assert_allclose(layer.dweights, layer.inputs.T @ np.ones((5, 4)), rtol=1e-6)


@pytest.mark.parametrize("factors", [(0., 0., 0., 0.), (0., 5e-4, 0., 5e-4),
                                     (1e-3, 0., 0., 2e-3), (1e-3, 1e-3, 1e-3, 1e-3)])
def test_a_dense_layers_penalty_is_the_books(factors):
    from jitnet.reference import layers as ref_layers, losses as ref_losses
    np.random.seed(3)
    layer = jn.Dense(3, 4, *factors)
    layer.biases[...] = np.random.randn(1, 4)
    book = ref_layers.Layer_Dense(3, 4, *factors)
    book.weights, book.biases = layer.weights, layer.biases
    expected = ref_losses.Loss().regularization_loss(book)
    assert jn.Loss().regularization_loss(layer) == pytest.approx(expected, rel=1e-6)
    layer.weights = layer.weights.astype(np.float64).tolist()  # replaced by a list
    assert jn.Loss().regularization_loss(layer) == pytest.approx(expected, rel=1e-6)


# ---------------------------------------------------------------- activations


@pytest.mark.parametrize("cls", [jn.ReLU, jn.Sigmoid, jn.Linear, jn.Softmax])
def test_activation_backward_checks_the_shape_on_every_call(cls):
    act = cls()
    act.forward(np.ones((4, 3), np.float32))
    act.backward(np.ones((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"dvalues.*\(4, 2\).*\(4, 3\)"):
        act.backward(np.ones((4, 2), np.float32))
    act.backward(np.ones((4, 3)))  # float64 dvalues: converted to float32
    assert act.dinputs.dtype == np.float32


@pytest.mark.parametrize("cls", [jn.ReLU, jn.Sigmoid, jn.Linear, jn.Softmax])
def test_a_refused_forward_input_leaves_the_activation_as_it_was(cls):
    act = cls()
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
    act.forward(x)
    output = act.output
    with pytest.raises(ValueError, match="empty"):
        act.forward(np.empty((0, 3), np.float32))
    assert act.inputs is x and act.output is output
    act.backward(np.ones((4, 3), np.float32))  # still the pass before
    expected = cls()
    expected.forward(x)
    expected.backward(np.ones((4, 3), np.float32))
    np.testing.assert_array_equal(act.dinputs, expected.dinputs)


@pytest.mark.parametrize("cls", [jn.ReLU, jn.Sigmoid, jn.Linear])
def test_elementwise_activations_still_take_other_shapes(cls):
    act = cls()
    act.forward(np.array([-1., 0.5, 2.], np.float32))  # 1-D: off the fast path
    assert act.output.shape == (3,)
    with pytest.raises(ValueError, match="scalar"):
        act.forward(np.float32(1.))


# ---------------------------------------------------------------- losses


@pytest.mark.parametrize("cls", [jn.BinaryCrossentropy, jn.MeanSquaredError,
                                 jn.MeanAbsoluteError])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_targets_are_refused_by_every_call(cls, bad):
    loss = cls()
    p = np.full((4, 2), 0.25, np.float32)
    y = np.zeros((4, 2), np.float32)
    loss.calculate(p, y)
    y[2, 1] = bad  # changed in place: the next calls must see it
    for call in (lambda: loss.calculate(p, y), lambda: loss.forward(p, y),
                 lambda: loss.backward(p, y)):
        with pytest.raises(ValueError, match=r"y_true \(shape \(4, 2\)\) holds NaN or inf"):
            call()
    assert loss.accumulated_count == 4  # the refused batch was not counted


def test_non_finite_predictions_alone_do_not_blame_the_targets():
    loss = jn.MeanSquaredError()
    p = np.array([[np.nan], [1.]], np.float32)
    assert np.isnan(loss.calculate(p, np.zeros((2, 1), np.float32)))
    big = np.array([[3e38]], np.float32)  # finite, but the square overflows
    assert loss.calculate(-big, big) == np.inf


@pytest.mark.parametrize("cls", [jn.BinaryCrossentropy, jn.MeanSquaredError])
@pytest.mark.parametrize("label_dtype", [np.uint8, np.int64, np.int32, np.bool_])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_integer_targets_give_the_same_loss_as_float_ones(cls, label_dtype, dtype):
    p = np.array([[0.2], [0.9], [0.6]], dtype)
    y = np.array([0, 1, 1], label_dtype).reshape(-1, 1)  # the book's chapter 16: uint8
    ints, floats = cls(), cls()
    # To rounding: BCE's integer labels run code compiled apart from the
    # float labels' (test_bce_takes_integer_targets_as_they_are).
    assert_close(ints.calculate(p, y), floats.calculate(p, y.astype(dtype)), dtype)
    ints.backward(p, y)
    floats.backward(p, y.astype(dtype))
    assert_close(ints.dinputs, floats.dinputs, dtype)
    assert ints.dinputs.dtype == dtype


def test_bce_hands_integer_labels_to_its_kernels_unconverted(monkeypatch):
    """uint8 and int64 labels reach the BCE kernels as they are (no float copy
    per call); other integer dtypes, and MSE's targets, are converted."""
    seen = []
    for cls in (jn.BinaryCrossentropy, jn.MeanSquaredError):
        for name in ("_forward_kernel", "_backward_kernel"):
            monkeypatch.setattr(cls, name, lambda p, y, out, kernel=getattr(cls, name): (
                seen.append(y) or kernel(p, y, out)))
    p = np.array([[0.2], [0.9], [0.6]], np.float32)
    for cls, label_dtype, kept in ((jn.BinaryCrossentropy, np.uint8, True),
                                   (jn.BinaryCrossentropy, np.int64, True),
                                   (jn.BinaryCrossentropy, np.int32, False),
                                   (jn.MeanSquaredError, np.uint8, False)):
        y = np.array([[0], [1], [1]], label_dtype)
        loss = cls()
        loss.calculate(p, y)
        loss.backward(p, y)
        assert len(seen) == 2
        for target in seen:
            assert (target is y) == kept
            assert kept or target.dtype == np.float32
        seen.clear()


def test_one_dimensional_targets_still_fit_single_output_predictions():
    loss = jn.MeanSquaredError()
    p = np.zeros((3, 1), np.float32)
    assert loss.calculate(p, np.array([1., 2., 3.])) == pytest.approx(14 / 3)
    with pytest.raises(ValueError, match=r"\(3,\).*\(3, 2\)"):
        loss.calculate(np.zeros((3, 2), np.float32), np.array([1., 2., 3.]))


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int64])
def test_labels_changed_in_place_are_checked_again(dtype):
    head = jn.SoftmaxCategoricalCrossentropy()
    x = np.zeros((4, 3), np.float32)
    y = np.array([0, 1, 2, 1], dtype)
    head.forward(x, y)
    head.backward(head.output, y)
    y[1] = 3  # out of range for 3 classes, same array object
    with pytest.raises(ValueError, match=r"labels in \[0, 3\].*3 classes"):
        head.forward(x, y)
    with pytest.raises(ValueError, match=r"labels in \[0, 3\].*3 classes"):
        head.backward(head.output, y)
    if np.dtype(dtype).kind == "i":
        y[1] = -1
        with pytest.raises(ValueError, match=r"labels in \[-1, 2\]"):
            head.backward(head.output, y)


def test_head_forward_matches_softmax_then_loss():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 2, 1, 0])
    head, softmax, loss = (jn.SoftmaxCategoricalCrossentropy(), jn.Softmax(),
                           jn.CategoricalCrossentropy())
    softmax.forward(x)
    assert head.forward(x, y) == loss.calculate(softmax.output, y)
    assert np.array_equal(head.output, softmax.output)
    assert head.activation.inputs is x and head.loss.accumulated_count == 6


def test_regularization_loss_of_one_layer_and_of_layers_without_factors():
    loss = jn.CategoricalCrossentropy()
    layer = jn.Dense(2, 2, weight_regularizer_l2=0.5, bias_regularizer_l1=2.)
    layer.set_parameters(np.ones((2, 2)), -np.ones(2))
    assert loss.regularization_loss(layer) == pytest.approx(0.5 * 4 + 2. * 2)
    assert loss.regularization_loss(jn.ReLU()) == 0.0  # no factors, no weights
    loss.remember_trainable_layers([layer, layer])
    assert loss.regularization_loss() == pytest.approx(2 * 6.)


# ---------------------------------------------------------------- optimizers


def _separate(layer):
    """The same layer with weights and biases (and gradients) in separate blocks."""
    for name in ("weights", "biases", "dweights", "dbiases"):
        setattr(layer, name, getattr(layer, name).copy())
    return layer


@pytest.mark.parametrize("make", [
    lambda: jn.SGD(0.1), lambda: jn.SGD(0.1, decay=0.01, momentum=0.9),
    lambda: jn.Adagrad(0.1), lambda: jn.RMSprop(0.01), lambda: jn.Adam(0.05, decay=5e-7)])
def test_joined_update_equals_one_update_per_array(make):
    joined, separate = _trained_dense(), _separate(_trained_dense())
    opt_joined, opt_separate = make(), make()
    for _ in range(3):
        for opt, layer in ((opt_joined, joined), (opt_separate, separate)):
            opt.pre_update_params()
            opt.update_params(layer)
            opt.post_update_params()
    assert len(opt_joined._flat_views[id(joined)][2]) == 1  # one run: joined
    assert len(opt_separate._flat_views[id(separate)][2]) == 2
    np.testing.assert_allclose(joined.weights, separate.weights, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(joined.biases, separate.biases, rtol=1e-6, atol=1e-9)
    for name in ("momentums", "cache"):
        if hasattr(joined, f"weight_{name}"):
            assert _same_memory_block(getattr(joined, f"weight_{name}"),
                                      getattr(joined, f"bias_{name}"))


def test_update_follows_arrays_the_user_replaced():
    layer = _trained_dense()
    opt = jn.SGD(1.0)
    opt.update_params(layer)
    new_w = np.zeros_like(layer.weights)
    layer.weights = new_w  # rebound: the next step must land in it
    layer.dweights[...] = 1.
    opt.update_params(layer)
    assert layer.weights is new_w
    np.testing.assert_array_equal(new_w, -1.)
    layer.dbiases = np.full((1, 4), 2., np.float32)
    before = layer.biases.copy()
    opt.update_params(layer)
    np.testing.assert_allclose(layer.biases, before - 2.)


def test_update_uses_state_the_user_set_and_refuses_wrong_shapes():
    layer = _trained_dense()
    opt = jn.SGD(0.5, momentum=0.5)
    layer.weight_momentums = np.ones_like(layer.weights)  # bias state made by us
    layer.dweights[...] = 0.
    before = layer.weights.copy()
    opt.update_params(layer)
    np.testing.assert_allclose(layer.weights, before + 0.5)
    assert layer.bias_momentums.shape == (1, 4)
    layer.weight_momentums = np.ones((2, 2))
    with pytest.raises(ValueError, match="weight_momentums"):
        opt.update_params(layer)


def test_update_of_layer_like_objects_without_weak_references():
    class Slotted:
        __slots__ = ("weights", "biases", "dweights", "dbiases",
                     "weight_cache", "bias_cache")

    layer = Slotted()
    layer.weights, layer.biases = np.ones((2, 2)), np.zeros((1, 2))
    layer.dweights, layer.dbiases = np.ones((2, 2)), np.ones((1, 2))
    opt = jn.Adagrad(0.5)
    opt.update_params(layer)
    opt.update_params(layer)
    assert layer.weights.dtype == np.float64 and (layer.weights < 1).all()
    assert len(opt._flat_views) == 0


def test_optimizer_cache_goes_with_the_layer_and_survives_pickling():
    import gc
    opt = jn.Adam(0.01)
    layers = [_trained_dense(seed=i) for i in range(3)]
    for layer in layers:
        opt.update_params(layer)
    assert len(opt._flat_views) == 3
    clone = pickle.loads(pickle.dumps(opt))
    del layers[0]
    gc.collect()
    assert len(opt._flat_views) == 2
    clone.update_params(layers[0])
    assert len(clone._flat_views) == 1


def test_model_arena_layers_take_one_joined_update():
    model = jn.Model()
    model.add(jn.Dense(2, 4))
    model.add(jn.ReLU())
    model.add(jn.Dense(4, 3))
    model.add(jn.Softmax())
    model.set(loss=jn.CategoricalCrossentropy(), optimizer=jn.SGD(0.1),
              accuracy=jn.CategoricalAccuracy())
    model.finalize()
    layer = model.trainable_layers[0]
    layer.forward(np.ones((5, 2), np.float32))
    layer.backward(np.ones((5, 4), np.float32))
    opt = jn.SGD(0.1)
    before_w, before_b = layer.weights.copy(), layer.biases.copy()
    opt.update_params(layer)
    np.testing.assert_allclose(layer.weights, before_w - 0.1 * layer.dweights, rtol=1e-6)
    np.testing.assert_allclose(layer.biases, before_b - 0.1 * layer.dbiases, rtol=1e-6)
