"""Central-difference checks of every backward pass, in float64.

For a layer with output ``f(x)`` and a random upstream gradient ``G``,
``backward(G)`` must give the gradient of ``sum(f(x) * G)``; for a loss, the
gradient of the mean sample loss. Points are kept away from kinks (ReLU at 0,
MAE at ``y == p``), where the derivative does not exist.
"""
import numpy as np
import pytest

import jitnet as jn


def numerical_gradient(f, x, h=1e-6):
    """d f / d x by central differences; ``f`` reads ``x`` (changed in place)."""
    grad = np.empty_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        up = f()
        flat[i] = old - h
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * h)
    return grad


def check(analytic, numeric):
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


rng = np.random.default_rng(42)


def away_from_zero(shape, margin=0.05):
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < margin, np.sign(x + 1e-12) * margin * 2, x)


@pytest.mark.parametrize("regularizers", [(0, 0, 0, 0), (1e-2, 5e-2, 2e-2, 3e-2)])
def test_dense(regularizers):
    layer = jn.Dense(4, 3, *regularizers, dtype=np.float64)
    layer.weights[...] = away_from_zero((4, 3))  # L1 has a kink at w == 0
    layer.biases[...] = away_from_zero((1, 3))
    x, G = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    penalty = jn.MeanSquaredError()

    def objective():
        layer.forward(x)
        return np.sum(layer.output * G) + penalty.regularization_loss(layer)

    objective()
    layer.backward(G)
    check(layer.dweights, numerical_gradient(objective, layer.weights))
    check(layer.dbiases, numerical_gradient(objective, layer.biases))
    check(layer.dinputs, numerical_gradient(objective, x))


@pytest.mark.parametrize("cls", [jn.ReLU, jn.Sigmoid, jn.Softmax, jn.Linear])
def test_activation(cls):
    x, G = away_from_zero((6, 4)) * 2, rng.standard_normal((6, 4))
    act = cls()

    def objective():
        act.forward(x)
        return np.sum(act.output * G)

    objective()
    act.backward(G)
    check(act.dinputs, numerical_gradient(objective, x))


def test_dropout():
    x, G = rng.standard_normal((6, 5)), rng.standard_normal((6, 5))
    layer = jn.Dropout(0.4)
    jn.seed(3)
    layer.forward(x)
    mask = layer.binary_mask.copy()

    def objective():  # the mask is fixed once drawn
        return np.sum(x * mask * G)

    layer.backward(G)
    check(layer.dinputs, numerical_gradient(objective, x))
    assert np.any(mask == 0) and np.any(mask != 0)


def _probabilities(n, k):
    z = rng.standard_normal((n, k))
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("one_hot", [False, True])
def test_categorical_crossentropy(one_hot):
    p = _probabilities(7, 4)
    labels = rng.integers(0, 4, 7)
    y = np.eye(4)[labels] if one_hot else labels
    loss = jn.CategoricalCrossentropy()
    loss.backward(p, y)
    check(loss.dinputs, numerical_gradient(lambda: loss.calculate(p, y), p))


@pytest.mark.parametrize("cls,make_targets", [
    (jn.BinaryCrossentropy, lambda s: rng.integers(0, 2, s).astype(float)),
    (jn.MeanSquaredError, lambda s: rng.standard_normal(s)),
    (jn.MeanAbsoluteError, lambda s: rng.standard_normal(s)),
])
def test_elementwise_loss(cls, make_targets):
    y = make_targets((6, 3))
    if cls is jn.BinaryCrossentropy:
        p = rng.uniform(0.05, 0.95, (6, 3))
    else:  # keep |p - y| > h so MAE is differentiable at every point
        p = y + away_from_zero((6, 3), margin=0.1)
    loss = cls()
    loss.backward(p, y)
    check(loss.dinputs, numerical_gradient(lambda: loss.calculate(p, y), p))


def test_mae_gradient_sign_differs_from_the_book():
    """The book's sign(y - p) points uphill; ours matches the numbers."""
    y, p = np.zeros((1, 1)), np.full((1, 1), 0.5)
    loss = jn.MeanAbsoluteError()
    loss.backward(p, y)
    assert loss.dinputs[0, 0] > 0  # raising p above y raises |y - p|
    assert np.sign(loss.dinputs[0, 0]) != np.sign(y - p)[0, 0]


@pytest.mark.parametrize("one_hot", [False, True])
def test_softmax_crossentropy_fused(one_hot):
    z = rng.standard_normal((5, 3))
    labels = rng.integers(0, 3, 5)
    y = np.eye(3)[labels] if one_hot else labels
    fused = jn.SoftmaxCategoricalCrossentropy()
    fused.forward(z, y)
    fused.backward(fused.output, y)
    check(fused.dinputs, numerical_gradient(lambda: fused.forward(z, y), z))
