"""Optimizer kernels: one fused, in-place sweep over flat parameter arrays.

Each takes 1-D C-contiguous arrays of one dtype (a layer's ``weights.ravel()``
or, in the Model's fast path, the whole parameter arena) and the scalar
hyperparameters, and updates parameters and state in a single loop. Scalars
are converted to the parameters' dtype first, so float32 models compute in
float32 as the book's NumPy code does.
"""
import numpy as np

from ._jit import jit, jit_dividing, jit_exact


@jit_exact
def decayed_learning_rate(learning_rate, decay, iterations):
    """The book's ``learning_rate * (1 / (1 + decay * iterations))``, rounded as NumPy does."""
    return learning_rate * (1. / (1. + decay * iterations))


@jit
def sgd_update(params, grads, learning_rate):
    """Vanilla SGD: ``p -= lr * g``."""
    lr = params.dtype.type(learning_rate)
    for i in range(params.size):
        params[i] -= lr * grads[i]


@jit
def sgd_momentum_update(params, grads, momentums, learning_rate, momentum):
    """SGD with momentum: ``u = momentum * u - lr * g``; ``p += u``."""
    t = params.dtype.type
    lr, mu = t(learning_rate), t(momentum)
    for i in range(params.size):
        update = mu * momentums[i] - lr * grads[i]
        momentums[i] = update
        params[i] += update


@jit_dividing
def adagrad_update(params, grads, cache, learning_rate, epsilon):
    """Adagrad: ``c += g^2``; ``p -= lr * g / (sqrt(c) + eps)``."""
    t = params.dtype.type
    lr, eps = t(learning_rate), t(epsilon)
    for i in range(params.size):
        g = grads[i]
        c = cache[i] + g * g
        cache[i] = c
        params[i] -= lr * g / (np.sqrt(c) + eps)


@jit_dividing
def rmsprop_update(params, grads, cache, learning_rate, epsilon, rho):
    """RMSprop: ``c = rho c + (1 - rho) g^2``; ``p -= lr * g / (sqrt(c) + eps)``."""
    t = params.dtype.type
    lr, eps, rho_, one_minus_rho = t(learning_rate), t(epsilon), t(rho), t(1.0 - rho)
    for i in range(params.size):
        g = grads[i]
        c = rho_ * cache[i] + one_minus_rho * g * g
        cache[i] = c
        params[i] -= lr * g / (np.sqrt(c) + eps)


@jit_dividing
def adam_update(params, grads, momentums, cache, learning_rate, epsilon,
                beta_1, beta_2, step):
    """Adam with bias correction; ``step`` is the book's ``iterations + 1``.

    ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
    ``p -= lr * (m / (1 - b1^step)) / (sqrt(v / (1 - b2^step)) + eps)``.
    """
    t = params.dtype.type
    lr, eps = t(learning_rate), t(epsilon)
    b1, b2 = t(beta_1), t(beta_2)
    one_minus_b1, one_minus_b2 = t(1.0 - beta_1), t(1.0 - beta_2)
    correction_1 = t(1.0 - beta_1 ** step)
    correction_2 = t(1.0 - beta_2 ** step)
    for i in range(params.size):
        g = grads[i]
        m = b1 * momentums[i] + one_minus_b1 * g
        v = b2 * cache[i] + one_minus_b2 * g * g
        momentums[i] = m
        cache[i] = v
        params[i] -= lr * (m / correction_1) / (np.sqrt(v / correction_2) + eps)
