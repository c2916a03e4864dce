"""Every kernel against its NumPy twin in ``jitnet.reference``.

Shapes and values are drawn by hypothesis; each test runs in float32 and
float64. ``tests/test_twins.py`` fails when a kernel is added to
``kernels/`` without a test that names it (``@pairs``).
"""
import os
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, strategies as st

import jitnet.kernels as K
import jitnet.reference as R
from conftest import DTYPES, assert_close, pairs


def rand(seed, shape, dtype, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def probabilities(seed, shape, dtype):
    logits = rand(seed, shape, np.float64, 3.0)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(dtype)


seeds = st.integers(0, 2**32 - 1)
samples = st.integers(1, 40)
widths = st.integers(1, 24)
dtypes = st.sampled_from(DTYPES)
factors = st.sampled_from([0.0, 1e-4, 5e-4, 0.1])


# ------------------------------------------------------------------ dense

def _ref_dense(w, b, l1w=0., l2w=0., l1b=0., l2b=0.):
    layer = R.Layer_Dense(*w.shape, weight_regularizer_l1=l1w,
                          weight_regularizer_l2=l2w, bias_regularizer_l1=l1b,
                          bias_regularizer_l2=l2b)
    layer.weights, layer.biases = w.copy(), b.copy()
    return layer


@pairs("dense_forward")
@given(seeds, samples, widths, widths, dtypes)
def test_dense_forward(seed, n, n_in, n_out, dtype):
    x, w = rand(seed, (n, n_in), dtype), rand(seed + 1, (n_in, n_out), dtype)
    b = rand(seed + 2, (1, n_out), dtype)
    out = np.empty((n, n_out), dtype)
    K.dense_forward(x, w, b, out, False)
    ref = _ref_dense(w, b)
    ref.forward(x)
    assert_close(out, ref.output, dtype)


def _check_dense_gradients(backward, seed, n, n_in, n_out, dtype, regs):
    """Run ``backward(x, w, b, dv, *regs, dw, db, dx)`` on random data, compare
    its three gradients with the reference's; return the reference layer and ``w``."""
    x, w = rand(seed, (n, n_in), dtype), rand(seed + 1, (n_in, n_out), dtype)
    b, dv = rand(seed + 2, (1, n_out), dtype), rand(seed + 3, (n, n_out), dtype)
    dw, db, dx = np.empty_like(w), np.empty_like(b), np.empty_like(x)
    backward(x, w, b, dv, *regs, dw, db, dx)
    ref = _ref_dense(w, b, *regs)
    ref.forward(x)
    ref.backward(dv)
    assert_close(dw, ref.dweights, dtype)
    assert_close(db, ref.dbiases, dtype)
    assert_close(dx, ref.dinputs, dtype)
    return ref, w


@pairs("dense_backward", "add_regularization_gradient")
@given(seeds, samples, widths, widths, dtypes, factors, factors, factors, factors)
def test_dense_backward(seed, n, n_in, n_out, dtype, l1w, l2w, l1b, l2b):
    regs = (l1w, l2w, l1b, l2b)
    ref, w = _check_dense_gradients(lambda *args: K.dense_backward(*args, True),
                                    seed, n, n_in, n_out, dtype, regs)
    # The regularisation term alone: gradients of zero dvalues.
    grads = np.zeros_like(w)
    K.add_regularization_gradient(w, l1w, l2w, grads)
    ref.backward(np.zeros((n, n_out), dtype))
    assert_close(grads, ref.dweights, dtype)


@pairs("few_inputs_dense_backward")
@given(seeds, samples, st.integers(1, 2), widths, dtypes, factors, factors, factors, factors)
def test_few_inputs_dense_backward(seed, n, n_in, extra, dtype, l1w, l2w, l1b, l2b):
    n_out = n_in + extra - 1  # at least as many outputs as inputs
    _check_dense_gradients(K.few_inputs_dense_backward, seed, n, n_in, n_out, dtype,
                           (l1w, l2w, l1b, l2b))


@pairs("relu_dense_backward")
@given(seeds, samples, widths, widths, dtypes, factors)
def test_relu_dense_backward(seed, n, n_in, n_out, dtype, l2):
    """The Model's fusion of a Dense's backward with the ReLU before it."""
    pre = rand(seed, (n, n_in), dtype)
    w, b = rand(seed + 1, (n_in, n_out), dtype), rand(seed + 2, (1, n_out), dtype)
    dv = rand(seed + 3, (n, n_out), dtype)
    relu = R.Activation_ReLU()
    relu.forward(pre)
    ref = _ref_dense(w, b, 0., l2, 0., l2)
    ref.forward(relu.output)
    ref.backward(dv)
    relu.backward(ref.dinputs)
    x = np.ascontiguousarray(relu.output)
    dw, db, dx = np.empty_like(w), np.empty_like(b), np.empty_like(x)
    K.relu_dense_backward(x, w, b, dv, 0., l2, 0., l2, dw, db, dx)
    assert_close(dw, ref.dweights, dtype)
    assert_close(db, ref.dbiases, dtype)
    assert_close(dx, relu.dinputs, dtype)


def _check_dense_and_relu_mask(n, n_in, n_out, dtype, scale=1.0):
    """Forward and backward of one shape against the twin, and the fused ReLU mask."""
    x, w = rand(0, (n, n_in), dtype), rand(1, (n_in, n_out), dtype)
    b, dv = rand(2, (1, n_out), dtype), rand(3, (n, n_out), dtype)
    out, dw, db, dx = (np.empty((n, n_out), dtype), np.empty_like(w),
                       np.empty_like(b), np.empty_like(x))
    K.dense_forward(x, w, b, out, False)
    K.dense_backward(x, w, b, dv, 1e-4, 5e-4, 0., 5e-4, dw, db, dx, True)
    ref = _ref_dense(w, b, 1e-4, 5e-4, 0., 5e-4)
    ref.forward(x)
    ref.backward(dv)
    assert_close(out, ref.output, dtype, scale)
    assert_close(dw, ref.dweights, dtype, scale)
    assert_close(db, ref.dbiases, dtype, scale)
    assert_close(dx, ref.dinputs, dtype, scale)
    relu_x = np.maximum(x, 0)
    K.relu_dense_backward(relu_x, w, b, dv, 0., 0., 0., 0., dw, db, dx)
    np.testing.assert_array_equal(dx[relu_x == 0], 0)
    assert_close(dx[relu_x > 0], (dv @ w.T)[relu_x > 0], dtype, scale)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_blas_path_matches_loops(dtype):
    """Both sides of BLAS_MIN_FLOPS give the reference's answer."""
    n, n_in, n_out = 128, 128, 128  # above the threshold
    assert n * n_in * n_out >= K.BLAS_MIN_FLOPS
    _check_dense_and_relu_mask(n, n_in, n_out, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_in, n_out", [(2, 1024), (1024, 3), (1, 2048), (900, 2)])
def test_dense_thin_large_products_use_loops(n_in, n_out, dtype):
    """Over BLAS_MIN_FLOPS but with a weight side under BLAS_MIN_WIDTH
    (chapter 18's 2 -> 512 and 512 -> 3 layers): the loops' answer, masks included."""
    n = 600
    assert n * n_in * n_out >= K.BLAS_MIN_FLOPS
    assert min(n_in, n_out) < K.dense.BLAS_MIN_WIDTH
    _check_dense_and_relu_mask(n, n_in, n_out, dtype, scale=4.0)  # sums of 600-1024 terms


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_out", [1, 2, 3, 4, 5, 7, 15])
@pytest.mark.parametrize("n", [1, 2, 7])
def test_dense_narrow_groups(n, n_out, dtype):
    """Narrow layers run GROUP outputs per pass; partial groups are padded.

    Every group count and remainder, odd and even batches (samples go in
    pairs), with and without the ReLU mask fused into the input gradient.
    """
    n_in = 20
    assert not K.dense._wide(n_in, n_out)
    x = np.maximum(rand(n_out, (n, n_in), dtype), 0)  # ReLU outputs: zeros too
    w, b = rand(n + 1, (n_in, n_out), dtype), rand(n + 2, (1, n_out), dtype)
    dv = rand(n + 3, (n, n_out), dtype)
    out, dw, db, dx = (np.empty((n, n_out), dtype), np.empty_like(w),
                       np.empty_like(b), np.empty_like(x))
    ref = _ref_dense(w, b, 0., 5e-4, 0., 5e-4)
    ref.forward(x)
    ref.backward(dv)
    K.dense_forward(x, w, b, out, False)
    assert_close(out, ref.output, dtype)
    K.dense_backward(x, w, b, dv, 0., 5e-4, 0., 5e-4, dw, db, dx, True)
    assert_close(dw, ref.dweights, dtype)
    assert_close(db, ref.dbiases, dtype)
    assert_close(dx, ref.dinputs, dtype)
    K.relu_dense_backward(x, w, b, dv, 0., 5e-4, 0., 5e-4, dw, db, dx)
    assert_close(dx, ref.dinputs * (x > 0), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, n_in, n_out", [
    (7, 20, 3), (7, 20, 5), (1, 20, 1),  # narrow: groups of three, leftovers
    (9, 2, 64), (9, 1, 64), (1, 2, 17),  # one or two inputs
    (9, 5, 40), (4, 3, 16),  # row updates, odd and even input counts
    (128, 128, 128),  # BLAS
    (600, 2, 1024), (600, 1024, 3),  # over the BLAS size, under its width
])
def test_dense_forward_with_relu_matches_two_passes(n, n_in, n_out, dtype):
    """dense_forward with relu=True (the Model's Dense + ReLU) gives the bits
    of dense_forward then relu_forward, on every path; NaN becomes 0 as
    relu_forward makes it."""
    x, w = rand(n, (n, n_in), dtype), rand(n + 1, (n_in, n_out), dtype)
    b = rand(n + 2, (1, n_out), dtype)
    x[0, 0] = np.nan  # a NaN output in every column (n_in >= 1)
    separate, pre = np.empty((n, n_out), dtype), np.empty((n, n_out), dtype)
    K.dense_forward(x, w, b, pre, False)
    K.relu_forward(pre, separate)
    fused = np.full((n, n_out), 7, dtype)
    K.dense_forward(x, w, b, fused, True)
    np.testing.assert_array_equal(fused, separate)
    assert np.all(fused[0] == 0) and np.all(np.isnan(pre[0]))
    unfused = np.full((n, n_out), 7, dtype)
    K.dense_forward(x, w, b, unfused, False)
    np.testing.assert_array_equal(unfused, pre)


def test_dense_backward_can_skip_dinputs():
    x, w, b, dv = rand(0, (5, 3), np.float64), rand(1, (3, 4), np.float64), \
        np.zeros((1, 4)), rand(2, (5, 4), np.float64)
    dx = np.full_like(x, 7.0)
    K.dense_backward(x, w, b, dv, 0., 0., 0., 0., np.empty_like(w),
                     np.empty_like(b), dx, False)
    assert np.all(dx == 7.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_in, n_out", [(1, 1), (1, 3), (1, 64), (2, 2), (2, 3), (2, 64)])
@pytest.mark.parametrize("n", [1, 3, 4, 9, 300])
def test_few_inputs_backward_in_one_pass(n, n_in, n_out, dtype):
    """few_inputs_dense_backward, the per-layer Dense's kernel for one or two
    inputs: the reference's three gradients, samples in fours and the one to
    three left over, and those of dense_backward (with and without dinputs).
    The Model's ReLU-masked input gradient for these shapes runs in
    dense_backward's body, _backward: checked here too."""
    assert K.dense._wide(n_in, n_out)
    pre = rand(n, (n, n_in), dtype)
    pre[0, 0] = np.nan  # masked out where the ReLU would zero it
    x = np.maximum(pre, 0)
    x[np.isnan(pre)] = np.nan
    w, b = rand(n + 1, (n_in, n_out), dtype), rand(n + 2, (1, n_out), dtype)
    dv = rand(n + 3, (n, n_out), dtype)
    finite = np.nan_to_num(x)
    ref = _ref_dense(w, b, 0., 5e-4, 0., 5e-4)
    ref.forward(finite)
    ref.backward(dv)
    dw, db, dx = np.empty_like(w), np.empty_like(b), np.empty_like(x)
    K.few_inputs_dense_backward(finite, w, b, dv, 0., 5e-4, 0., 5e-4, dw, db, dx)
    assert_close(dw, ref.dweights, dtype)
    assert_close(db, ref.dbiases, dtype)
    assert_close(dx, ref.dinputs, dtype)
    for need_dinputs in (True, False):
        other_w, other_b, other_x = np.empty_like(w), np.empty_like(b), np.full_like(x, 7)
        K.dense_backward(finite, w, b, dv, 0., 5e-4, 0., 5e-4, other_w, other_b,
                         other_x, need_dinputs)
        assert_close(other_w, dw, dtype)
        assert_close(other_b, db, dtype)
        if need_dinputs:
            assert_close(other_x, dx, dtype)
        else:
            assert np.all(other_x == 7)
    # The Model's ReLU (+ dropout) before the layer: mask and 1 / keep rate.
    scale = 1 / 0.9
    masked = np.full_like(x, 7)
    K.dense._backward(x, w, b, dv, 0., 0., 0., 0., dw, db, masked, True, True, scale)
    expected = np.where(x > 0, (dv.astype(np.float64) @ w.T) * scale, 0)
    assert_close(masked, expected, dtype)
    assert np.all(masked[0, 0] == 0)  # NaN input: zero gradient, as relu_backward


@pairs("regularization_loss")
@given(seeds, widths, widths, dtypes, factors, factors, factors, factors)
def test_regularization_loss(seed, n_in, n_out, dtype, l1w, l2w, l1b, l2b):
    w, b = rand(seed, (n_in, n_out), dtype), rand(seed + 1, (1, n_out), dtype)
    got = K.regularization_loss(w, l1w, l2w) + K.regularization_loss(b, l1b, l2b)
    ref = R.Loss_MeanSquaredError().regularization_loss(
        _ref_dense(w, b, l1w, l2w, l1b, l2b))
    assert_close(got, ref, dtype)


# ------------------------------------------------------------ activations

ACTIVATIONS = {
    "relu": (R.Activation_ReLU, K.relu_forward, K.relu_backward),
    "sigmoid": (R.Activation_Sigmoid, K.sigmoid_forward, K.sigmoid_backward),
    "softmax": (R.Activation_Softmax, K.softmax_forward, K.softmax_backward),
    "linear": (R.Activation_Linear, K.linear_forward, K.linear_backward),
}


def _activation_pair(name, x, dv):
    ref_cls, forward, backward = ACTIVATIONS[name]
    out, dx = np.empty_like(x), np.empty_like(x)
    forward(x, out)
    if name == "relu":
        backward(x, dv, dx)
    elif name == "linear":
        backward(dv, dx)
    else:
        backward(out, dv, dx)
    ref = ref_cls()
    ref.forward(x)
    ref.backward(dv)
    return out, dx, ref


@pairs("relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward",
       "softmax_forward", "softmax_backward", "linear_forward", "linear_backward")
@given(st.sampled_from(sorted(ACTIVATIONS)), seeds, samples, widths, dtypes,
       st.sampled_from([0.1, 1.0, 30.0]))
def test_activation(name, seed, n, k, dtype, scale):
    x, dv = rand(seed, (n, k), dtype, scale), rand(seed + 1, (n, k), dtype)
    out, dx, ref = _activation_pair(name, x, dv)
    assert_close(out, ref.output, dtype)
    assert_close(dx, ref.dinputs, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_edge_values(name, dtype):
    """Huge logits, zeros and a single sample: finite, equal to the twin."""
    x = np.array([[1e4, -1e4, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0],
                  [-1e4, -1e4, -1e4, 80.0], [-100.0, 100.0, 88.5, -88.5]], dtype)
    dv = rand(5, x.shape, dtype)
    for rows in (x, x[:1].copy()):
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            out, dx, ref = _activation_pair(name, rows, dv[:len(rows)].copy())
        assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))
        assert_close(out, ref.output, dtype)
        assert_close(dx, ref.dinputs, dtype)
    if name == "softmax":
        assert_close(out.sum(axis=1), np.ones(len(out)), dtype)


@pairs("exp_nonpositive_f32")
@given(seeds, st.integers(1, 200), st.sampled_from([1.0, 10.0, 100.0]))
def test_exp_nonpositive_f32(seed, m, scale):
    """The vectorised float32 exp against NumPy's, in float64."""
    x = -np.abs(rand(seed, m, np.float32, scale))
    out = x.copy()
    K.exp_nonpositive_f32(out)
    expected = np.exp(x.astype(np.float64))
    normal = expected >= np.finfo(np.float32).tiny
    np.testing.assert_allclose(out[normal], expected[normal], rtol=5e-7)
    assert np.all(out[~normal] <= np.finfo(np.float32).tiny)


def test_exp_nonpositive_f32_edge_values():
    x = np.array([0.0, -0.0, -1e-45, -1e-30, -0.34657, -0.34658, -87.33, -87.34,
                  -88.0, -1e4, -np.inf, np.nan], np.float32)
    out = x.copy()
    K.exp_nonpositive_f32(out)
    expected = np.exp(x.astype(np.float64))
    np.testing.assert_allclose(out[:7], expected[:7], rtol=5e-7)
    assert np.array_equal(out[7:11], np.zeros(4, np.float32))
    assert np.isnan(out[11])


@pairs("log_normal_f32")
@given(seeds, st.integers(1, 200), st.sampled_from([1e-7, 1e-3, 1.0, 1e6]))
def test_log_normal_f32(seed, m, scale):
    """The vectorised float32 log against NumPy's, in float64: within 1.5 ulp
    (or 2e-12 absolute, for results next to 0)."""
    rng = np.random.default_rng(seed)
    x = (rng.uniform(0, 1, m) * scale).astype(np.float32)
    x = np.maximum(x, np.finfo(np.float32).tiny)
    out = x.copy()
    K.log_normal_f32(out)
    expected = np.log(x.astype(np.float64))
    ulp = np.spacing(np.abs(expected).astype(np.float32)).astype(np.float64)
    assert np.all(np.abs(out - expected) <= np.maximum(1.5 * ulp, 2e-6 * 2.0 ** -20))


def test_log_normal_f32_edge_values():
    """Both sides of the sqrt(1/2) switch, powers of two, the clip bounds, NaN."""
    tiny, big = np.finfo(np.float32).tiny, np.finfo(np.float32).max
    x = np.array([1e-7, 1 - 1e-7, 1.0, 0.5, 2.0, 0.70710677, 0.7071068, tiny, big,
                  np.nextafter(np.float32(1), np.float32(0)), np.nan], np.float32)
    out = x.copy()
    K.log_normal_f32(out)
    expected = np.log(x[:-1].astype(np.float64))
    np.testing.assert_allclose(out[:-1], expected, rtol=3e-7, atol=1e-10)
    assert out[2] == 0.0 and np.isnan(out[-1])


# ----------------------------------------------------------------- losses

def _labels(seed, n, k):
    return np.random.default_rng(seed).integers(0, k, n)


@pairs("cce_forward_sparse", "cce_forward_onehot", "cce_backward_sparse",
       "cce_backward_onehot")
@given(seeds, samples, st.integers(2, 12), dtypes, st.booleans())
def test_categorical_crossentropy(seed, n, k, dtype, one_hot):
    p, labels = probabilities(seed, (n, k), dtype), _labels(seed, n, k)
    y = np.eye(k, dtype=dtype)[labels] if one_hot else labels
    losses, dx = np.empty(n, dtype), np.empty_like(p)
    if one_hot:
        total = K.cce_forward_onehot(p, y, losses)
        K.cce_backward_onehot(p, y, dx)
    else:
        total = K.cce_forward_sparse(p, y, losses)
        K.cce_backward_sparse(p, y, dx)
    ref = R.Loss_CategoricalCrossentropy()
    assert_close(losses, ref.forward(p, y), dtype)
    assert_close(total, losses.astype(np.float64).sum(), dtype)
    ref.backward(p, y)
    assert_close(dx, ref.dinputs, dtype)


@pairs("softmax_cce_backward_sparse", "softmax_cce_backward_onehot")
@given(seeds, samples, st.integers(2, 12), dtypes, st.booleans())
def test_softmax_cce_backward(seed, n, k, dtype, one_hot):
    p, labels = probabilities(seed, (n, k), dtype), _labels(seed, n, k)
    dx = np.empty_like(p)
    if one_hot:
        y = np.eye(k, dtype=dtype)[labels]
        K.softmax_cce_backward_onehot(p, y, dx)
    else:
        y = labels
        K.softmax_cce_backward_sparse(p, y, dx)
    ref = R.Activation_Softmax_Loss_CategoricalCrossentropy()
    ref.backward(p, y)
    assert_close(dx, ref.dinputs, dtype)


@pairs("softmax_cce_forward_sparse", "softmax_cce_backward_sparse_checked")
@given(seeds, samples, st.integers(2, 12), dtypes, st.sampled_from(["uint8", "int64"]))
def test_softmax_cce_in_one_call(seed, n, k, dtype, label_dtype):
    x, labels = rand(seed, (n, k), dtype, 3.0), _labels(seed, n, k).astype(label_dtype)
    out, losses = np.empty_like(x), np.empty(n, dtype)
    low, high, total = K.softmax_cce_forward_sparse(x, labels, out, losses)
    assert (low, high) == (labels.min(), labels.max())
    ref = R.Activation_Softmax_Loss_CategoricalCrossentropy()
    ref_loss = ref.forward(x, labels)
    assert_close(out, ref.output, dtype)
    assert_close(total / n, ref_loss, dtype)
    # Bit for bit what the three separate calls give.
    apart, apart_losses = np.empty_like(x), np.empty(n, dtype)
    K.softmax_forward(x, apart)
    assert total == K.cce_forward_sparse(apart, labels, apart_losses)
    np.testing.assert_array_equal(out, apart)
    np.testing.assert_array_equal(losses, apart_losses)
    dx = np.empty_like(x)
    assert K.softmax_cce_backward_sparse_checked(out, labels, dx) == (low, high)
    ref.backward(ref.output, labels)
    assert_close(dx, ref.dinputs, dtype)


@pytest.mark.parametrize("bad", [-1, 3, 200])
def test_softmax_cce_in_one_call_never_indexes_with_bad_labels(bad):
    x, labels = rand(0, (4, 3), "float32"), np.array([0, 1, bad, 2])
    out, losses, dx = (np.full((4, 3), 7.0, np.float32), np.full(4, 7.0, np.float32),
                       np.full((4, 3), 7.0, np.float32))
    assert K.softmax_cce_forward_sparse(x, labels, out, losses) == (min(bad, 0),
                                                                    max(bad, 2), 0.0)
    assert K.softmax_cce_backward_sparse_checked(x, labels, dx) == (min(bad, 0), max(bad, 2))
    assert (out == 7).all() and (losses == 7).all() and (dx == 7).all()  # nothing written


ELEMENTWISE_LOSSES = {
    "bce": (R.Loss_BinaryCrossentropy, K.bce_forward, K.bce_backward),
    "mse": (R.Loss_MeanSquaredError, K.mse_forward, K.mse_backward),
    "mae": (R.Loss_MeanAbsoluteError, K.mae_forward, K.mae_backward),
}


def _elementwise_targets(name, seed, shape, dtype):
    rng = np.random.default_rng(seed)
    if name == "bce":
        y_pred = rng.uniform(0, 1, shape).astype(dtype)
        return y_pred, rng.integers(0, 2, shape).astype(dtype)
    return rand(seed, shape, dtype), rand(seed + 1, shape, dtype)


@pairs("bce_forward", "bce_backward", "mse_forward", "mse_backward",
       "mae_forward", "mae_backward")
@given(st.sampled_from(sorted(ELEMENTWISE_LOSSES)), seeds, samples,
       st.integers(1, 6), dtypes)
def test_elementwise_loss(name, seed, n, m, dtype):
    ref_cls, forward, backward = ELEMENTWISE_LOSSES[name]
    y_pred, y_true = _elementwise_targets(name, seed, (n, m), dtype)
    losses, dx = np.empty(n, dtype), np.empty_like(y_pred)
    total = forward(y_pred, y_true, losses)
    backward(y_pred, y_true, dx)
    ref = ref_cls()
    assert_close(losses, ref.forward(y_pred, y_true), dtype)
    assert_close(total, losses.astype(np.float64).sum(), dtype)
    ref.backward(y_pred, y_true)
    assert_close(dx, ref.dinputs, dtype)


@given(seeds, samples, st.integers(1, 6), dtypes, st.sampled_from(["uint8", "int64"]))
def test_bce_takes_integer_targets_as_they_are(seed, n, m, dtype, label_dtype):
    """Integer labels (``BinaryCrossentropy`` passes them unconverted) give
    what the same labels converted to the predictions' dtype give.

    To rounding, not bit for bit: the two are compiled apart, and with the
    kernels' ``reassoc`` flag LLVM may sum a row in another order in each
    (seen in the bounds-checked build: float64, 3 outputs, last bit).
    """
    y_pred, y_float = _elementwise_targets("bce", seed, (n, m), dtype)
    y_int = y_float.astype(label_dtype)
    losses_int, losses_float = np.empty(n, dtype), np.empty(n, dtype)
    total_int = K.bce_forward(y_pred, y_int, losses_int)
    assert_close(total_int, K.bce_forward(y_pred, y_float, losses_float), dtype)
    assert_close(losses_int, losses_float, dtype)
    dx_int, dx_float = np.empty_like(y_pred), np.empty_like(y_pred)
    K.bce_backward(y_pred, y_int, dx_int)
    K.bce_backward(y_pred, y_float, dx_float)
    assert_close(dx_int, dx_float, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_and_bce_of_non_finite_values(dtype):
    """The float32 paths (vectorised exp and log) keep NaN, inf and zero right."""
    x = np.array([[np.nan, np.inf, -np.inf, 0.0, -0.0, 100.0, -100.0]], dtype)
    out = np.empty_like(x)
    K.sigmoid_forward(x, out)
    np.testing.assert_array_equal(out[0, :5], np.array([np.nan, 1, 0, 0.5, 0.5], dtype))
    assert_close(out[:, 5:], np.array([[1.0, np.exp(-100.0)]], dtype), dtype)
    p = np.array([[np.nan], [0.5]], dtype)
    losses = np.empty(2, dtype)
    total = K.bce_forward(p, np.array([[1.0], [1.0]], dtype), losses)
    assert np.isnan(total) and np.isnan(losses[0])
    assert_close(losses[1], np.log(2.0), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_loss_edge_values(dtype):
    """Probabilities of exactly 0 and 1 are clipped: losses stay finite."""
    p = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]], dtype)
    labels = np.array([0, 0, 1])
    losses = np.empty(3, dtype)
    K.cce_forward_sparse(p, labels, losses)
    assert np.all(np.isfinite(losses))
    assert_close(losses, R.Loss_CategoricalCrossentropy().forward(p, labels), dtype)
    binary = p[:, :1].copy()
    targets = np.array([[1.0], [0.0], [1.0]], dtype)
    K.bce_forward(binary, targets, losses)
    assert np.all(np.isfinite(losses))
    assert_close(losses, R.Loss_BinaryCrossentropy().forward(binary, targets), dtype)
    dx = np.empty_like(binary)
    K.bce_backward(binary, targets, dx)
    assert np.all(np.isfinite(dx))


@pytest.mark.parametrize("dtype", DTYPES)
def test_division_by_zero_gives_what_numpy_gives(dtype):
    """The dividing kernels use NumPy's error model: the book's ``-y / p`` at
    p = 0 is -inf, not a ZeroDivisionError out of compiled code."""
    p, labels = np.array([[0.0, 1.0], [0.5, 0.5]], dtype), np.array([0, 1])
    dx = np.empty_like(p)
    K.cce_backward_sparse(p, labels, dx)
    ref = R.Loss_CategoricalCrossentropy()
    with np.errstate(divide="ignore"):
        ref.backward(p, labels)
    assert dx[0, 0] == -np.inf
    np.testing.assert_array_equal(np.isinf(dx), np.isinf(ref.dinputs))
    assert_close(dx[1], ref.dinputs[1], dtype)


# ---------------------------------------------------------------- dropout

@pairs("dropout_forward", "dropout_backward", "seed_rng")
@given(seeds, samples, widths, dtypes, st.sampled_from([0.1, 0.5, 0.9]))
def test_dropout(seed, n, k, dtype, rate):
    x, dv = rand(seed, (n, k), dtype), rand(seed + 1, (n, k), dtype)
    keep = 1 - rate
    mask, out, dx = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    K.seed_rng(seed)
    K.dropout_forward(x, keep, mask, out)
    K.dropout_backward(dv, mask, dx)
    # The twin draws its mask with np.random.binomial: hand it ours.
    draws = (mask != 0).astype(np.int64)
    ref = R.Layer_Dropout(rate)
    original = np.random.binomial
    np.random.binomial = lambda n_, p_, size=None: draws
    try:
        ref.forward(x)
    finally:
        np.random.binomial = original
    ref.backward(dv)
    assert set(np.unique(mask)) <= {0, dtype(1 / keep)}
    assert_close(out, ref.output, dtype)
    assert_close(dx, ref.dinputs, dtype)
    # Same seed, same mask.
    again = np.empty_like(x)
    K.seed_rng(seed)
    K.dropout_forward(x, keep, again, np.empty_like(x))
    np.testing.assert_array_equal(again, mask)


def _masks(keep, shape=(400, 250), calls=1, seed=1):
    """``calls`` consecutive masks from one seed, as booleans (kept)."""
    x = np.ones(shape, np.float32)
    K.seed_rng(seed)
    kept = []
    for _ in range(calls):
        mask, out = np.empty_like(x), np.empty_like(x)
        K.dropout_forward(x, keep, mask, out)
        kept.append(mask != 0)
    return kept


@pytest.mark.parametrize("keep", [0.9, 0.7, 0.5, 0.1, 0.001])
def test_dropout_keeps_the_expected_share(keep):
    x = np.ones((400, 250), np.float32)
    mask, out = np.empty_like(x), np.empty_like(x)
    K.seed_rng(1)
    K.dropout_forward(x, keep, mask, out)
    # n Bernoulli(keep) draws: the share's standard deviation is sqrt(p q / n);
    # 5 of them would be exceeded by chance once in 1.7 million runs.
    sd = np.sqrt(keep * (1 - keep) / x.size)
    assert abs(np.mean(mask != 0) - keep) < 5 * sd
    assert abs(out.mean() - 1.0) < 5 * sd / keep


def test_dropout_keep_rate_is_exact_over_many_masks():
    """200 masks of 100k draws each (20M): the pooled share within 5 sd."""
    keep = 0.9
    kept = _masks(keep, calls=200, seed=7)
    share = np.mean([m.mean() for m in kept])
    sd = np.sqrt(keep * (1 - keep) / (len(kept) * kept[0].size))
    assert abs(share - keep) < 5 * sd
    # The per-mask shares scatter as independent binomials do.
    spread = np.std([m.mean() for m in kept])
    assert 0.7 < spread / np.sqrt(keep * (1 - keep) / kept[0].size) < 1.3


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_dropout_masks_are_independent(keep):
    """Neighbours, rows and consecutive calls: pair frequencies as for independent draws.

    For each pairing (element i with i+1, with i+250 (the next row), with i+1024,
    and with the same element of the next call's mask) the 2x2 table of
    kept/dropped pairs must pass a chi-square test of independence, and the
    correlation must be within 5 sd of 0.
    """
    first, second = _masks(keep, calls=2, seed=3)
    a = first.ravel()
    pairs_ = {"neighbour": (a[:-1], a[1:]), "next row": (a[:-250], a[250:]),
              "1024 apart": (a[:-1024], a[1024:]), "next call": (a, second.ravel())}
    for name, (u, v) in pairs_.items():
        n = u.size
        corr = np.corrcoef(u, v)[0, 1]
        assert abs(corr) < 5 / np.sqrt(n), (name, corr)
        observed = np.array([[np.sum(u & v), np.sum(u & ~v)],
                             [np.sum(~u & v), np.sum(~u & ~v)]], dtype=float)
        expected = np.outer(observed.sum(1), observed.sum(0)) / n
        chi2 = np.sum((observed - expected) ** 2 / expected)
        assert chi2 < 24.0, (name, chi2)  # 1 degree of freedom: p < 1e-6


def test_dropout_masks_differ_between_calls_and_seeds():
    one, two = _masks(0.5, calls=2, seed=5)
    assert not np.array_equal(one, two)
    again = _masks(0.5, calls=2, seed=5)
    np.testing.assert_array_equal(again[0], one)
    np.testing.assert_array_equal(again[1], two)
    assert not np.array_equal(_masks(0.5, seed=6)[0], one)


@pairs("relu_dropout_forward")
@given(seeds, samples, widths, dtypes, st.sampled_from([0.1, 0.5, 0.9]))
def test_relu_dropout_forward(seed, n, k, dtype, rate):
    """The fused, in-place ReLU + dropout equals the two kernels, and the book's
    two layers."""
    x = rand(seed, (n, k), dtype)
    keep = 1 - rate
    relu, mask, expected = np.empty_like(x), np.empty_like(x), np.empty_like(x)
    K.relu_forward(x, relu)
    K.seed_rng(seed)
    K.dropout_forward(relu, keep, mask, expected)
    fused = x.copy()
    K.seed_rng(seed)
    K.relu_dropout_forward(fused, keep)  # in place
    np.testing.assert_array_equal(fused, expected)
    ref_relu, ref_drop = R.Activation_ReLU(), R.Layer_Dropout(rate)
    ref_relu.forward(x)
    original = np.random.binomial
    np.random.binomial = lambda n_, p_, size=None: (mask != 0).astype(np.int64)
    try:
        ref_drop.forward(ref_relu.output)
    finally:
        np.random.binomial = original
    assert_close(fused, ref_drop.output, dtype)


# ------------------------------------------------------------- optimizers

OPTIMIZERS = {
    "sgd": (lambda R_: R_.Optimizer_SGD(learning_rate=0.5, decay=1e-2),
            lambda p, g, s, o: K.sgd_update(p, g, o.current_learning_rate)),
    "sgd_momentum": (
        lambda R_: R_.Optimizer_SGD(learning_rate=0.5, decay=1e-2, momentum=0.9),
        lambda p, g, s, o: K.sgd_momentum_update(p, g, s[0], o.current_learning_rate,
                                                 o.momentum)),
    "adagrad": (lambda R_: R_.Optimizer_Adagrad(learning_rate=0.5, decay=1e-3),
                lambda p, g, s, o: K.adagrad_update(p, g, s[0], o.current_learning_rate,
                                                    o.epsilon)),
    "rmsprop": (lambda R_: R_.Optimizer_RMSprop(learning_rate=0.02, decay=1e-4, rho=0.95),
                lambda p, g, s, o: K.rmsprop_update(p, g, s[0], o.current_learning_rate,
                                                    o.epsilon, o.rho)),
    "adam": (lambda R_: R_.Optimizer_Adam(learning_rate=0.05, decay=5e-3),
             lambda p, g, s, o: K.adam_update(p, g, s[0], s[1], o.current_learning_rate,
                                              o.epsilon, o.beta_1, o.beta_2,
                                              o.iterations + 1)),
}


@pairs("decayed_learning_rate")
@given(st.floats(1e-6, 10), st.floats(0, 1), st.integers(0, 10**7))
def test_decayed_learning_rate_is_the_books_to_the_bit(learning_rate, decay, iterations):
    """Printed with full precision in the book's lines, so equal, not close."""
    optimizer = R.Optimizer_SGD(learning_rate=learning_rate, decay=decay)
    optimizer.iterations = iterations
    optimizer.pre_update_params()
    assert K.decayed_learning_rate(learning_rate, decay, float(iterations)) == \
        optimizer.current_learning_rate


@pairs("sgd_update", "sgd_momentum_update", "adagrad_update", "rmsprop_update",
       "adam_update")
@given(st.sampled_from(sorted(OPTIMIZERS)), seeds, widths, widths, dtypes)
def test_optimizer_update(name, seed, n_in, n_out, dtype):
    make, kernel_step = OPTIMIZERS[name]
    w, b = rand(seed, (n_in, n_out), dtype), rand(seed + 1, (1, n_out), dtype)
    layer = SimpleNamespace(weights=w.copy(), biases=b.copy())
    optimizer = make(R)
    params = [w.copy().ravel(), b.copy().ravel()]
    state = [[np.zeros_like(p), np.zeros_like(p)] for p in params]
    for step in range(4):
        grads = [rand(seed + 10 + step, w.shape, dtype),
                 rand(seed + 20 + step, b.shape, dtype)]
        layer.dweights, layer.dbiases = grads
        optimizer.pre_update_params()
        optimizer.update_params(layer)
        for p, g, s in zip(params, grads, state):
            kernel_step(p, g.ravel(), s, optimizer)
        optimizer.post_update_params()
    assert_close(params[0].reshape(w.shape), layer.weights, dtype, scale=5)
    assert_close(params[1].reshape(b.shape), layer.biases, dtype, scale=5)


# ------------------------------------------------------------ finite check

@pairs("is_finite")
@pytest.mark.parametrize("value", [0.0, -1.5, 1e308, np.nan, np.inf, -np.inf,
                                   np.float32(np.nan), np.float32(3.0)])
def test_is_finite_survives_fastmath(value):
    """A plain ``np.isfinite`` under these flags says True for NaN."""
    from jitnet.kernels.program import is_finite
    assert is_finite(value) == bool(np.isfinite(value))
    assert is_finite(value + 1.0) == bool(np.isfinite(value + 1.0))


@pairs("label_bounds")
@given(seeds, st.integers(1, 50), st.sampled_from(["uint8", "int32", "int64"]))
def test_label_bounds(seed, n, dtype):
    labels = np.random.default_rng(seed).integers(0, 200, n).astype(dtype)
    assert K.label_bounds(labels) == (labels.min(), labels.max())


@pairs("all_finite")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bad", [None, np.nan, np.inf, -np.inf])
def test_all_finite(dtype, bad):
    values = rand(0, (7, 5), dtype)
    if bad is not None:
        values[3, 2] = bad
    assert K.all_finite(values) == bool(np.all(np.isfinite(values)))


@pytest.mark.skipif(os.environ.get("NUMBA_BOUNDSCHECK") != "1",
                    reason="only in the bounds-checked CI run (NUMBA_BOUNDSCHECK=1)")
def test_bounds_checks_are_on_in_this_run():
    """Proof that the CI step really checks bounds: a bad label now raises."""
    p = np.full((2, 3), 1 / 3, np.float32)
    with pytest.raises(IndexError):
        K.cce_forward_sparse(p, np.array([0, 7]), np.empty(2, np.float32))


@pairs("copy_values")
@given(seeds, samples, widths, dtypes)
def test_copy_values(seed, n, k, dtype):
    source, target = rand(seed, (n, k), dtype), np.empty((n, k), dtype)
    K.copy_values(source, target)
    np.testing.assert_array_equal(target, source)
