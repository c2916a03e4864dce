"""Optimizers from chapter 10 of "Neural Networks from Scratch in Python".

All optimizers share the book's three-call protocol per training step::

    optimizer.pre_update_params()
    for layer in trainable_layers:
        optimizer.update_params(layer)
    optimizer.post_update_params()

Learning-rate decay (when ``decay`` is non-zero) uses the step count ``t``
(``self.iterations``, starting at 0)::

    current_learning_rate = learning_rate * 1 / (1 + decay * t)

State arrays (``weight_momentums``, ``bias_momentums``, ``weight_cache``,
``bias_cache``) are created lazily on the layer itself, as the book does.
"""

import numpy as np


class _Optimizer:
    """Shared learning-rate schedule and step counter."""

    def __init__(self, learning_rate, decay):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0

    def pre_update_params(self):
        """Apply ``lr_t = lr / (1 + decay * t)`` (only if decay is set)."""
        if self.decay:
            self.current_learning_rate = self.learning_rate * \
                (1. / (1. + self.decay * self.iterations))

    def post_update_params(self):
        """Advance the step counter ``t``."""
        self.iterations += 1


class Optimizer_SGD(_Optimizer):
    """Stochastic gradient descent, optionally with momentum.

    Without momentum::

        W <- W - lr_t * dW

    With momentum ``mu`` (``v`` is ``layer.weight_momentums``)::

        v <- mu * v - lr_t * dW
        W <- W + v

    The same rules apply to the biases.
    """

    def __init__(self, learning_rate=1., decay=0., momentum=0.):
        super().__init__(learning_rate, decay)
        self.momentum = momentum

    def update_params(self, layer):
        """Update ``layer.weights`` and ``layer.biases`` in place."""
        if self.momentum:
            if not hasattr(layer, 'weight_momentums'):
                # Both arrays are always created together.
                layer.weight_momentums = np.zeros_like(layer.weights)
                layer.bias_momentums = np.zeros_like(layer.biases)
            # The previous update, decayed by mu, keeps the step moving in
            # a consistent direction through small local minima.
            weight_updates = self.momentum * layer.weight_momentums - \
                self.current_learning_rate * layer.dweights
            layer.weight_momentums = weight_updates
            bias_updates = self.momentum * layer.bias_momentums - \
                self.current_learning_rate * layer.dbiases
            layer.bias_momentums = bias_updates
        else:
            weight_updates = -self.current_learning_rate * layer.dweights
            bias_updates = -self.current_learning_rate * layer.dbiases
        layer.weights += weight_updates
        layer.biases += bias_updates


class Optimizer_Adagrad(_Optimizer):
    """Adaptive gradient: per-parameter rate from the summed squared gradient.

    With ``c`` the cache (``layer.weight_cache``) and ``eps`` = epsilon::

        c <- c + dW^2
        W <- W - lr_t * dW / (sqrt(c) + eps)
    """

    def __init__(self, learning_rate=1., decay=0., epsilon=1e-7):
        super().__init__(learning_rate, decay)
        self.epsilon = epsilon

    def update_params(self, layer):
        """Update ``layer.weights`` and ``layer.biases`` in place."""
        if not hasattr(layer, 'weight_cache'):
            layer.weight_cache = np.zeros_like(layer.weights)
            layer.bias_cache = np.zeros_like(layer.biases)
        layer.weight_cache += layer.dweights ** 2
        layer.bias_cache += layer.dbiases ** 2
        # Parameters that have received large gradients take smaller steps.
        layer.weights += -self.current_learning_rate * layer.dweights / \
            (np.sqrt(layer.weight_cache) + self.epsilon)
        layer.biases += -self.current_learning_rate * layer.dbiases / \
            (np.sqrt(layer.bias_cache) + self.epsilon)


class Optimizer_RMSprop(_Optimizer):
    """Root mean square propagation: Adagrad with a decaying cache.

    With ``c`` the cache and ``rho`` the cache decay::

        c <- rho * c + (1 - rho) * dW^2
        W <- W - lr_t * dW / (sqrt(c) + eps)
    """

    def __init__(self, learning_rate=0.001, decay=0., epsilon=1e-7,
                 rho=0.9):
        super().__init__(learning_rate, decay)
        self.epsilon = epsilon
        self.rho = rho

    def update_params(self, layer):
        """Update ``layer.weights`` and ``layer.biases`` in place."""
        if not hasattr(layer, 'weight_cache'):
            layer.weight_cache = np.zeros_like(layer.weights)
            layer.bias_cache = np.zeros_like(layer.biases)
        layer.weight_cache = self.rho * layer.weight_cache + \
            (1 - self.rho) * layer.dweights ** 2
        layer.bias_cache = self.rho * layer.bias_cache + \
            (1 - self.rho) * layer.dbiases ** 2
        layer.weights += -self.current_learning_rate * layer.dweights / \
            (np.sqrt(layer.weight_cache) + self.epsilon)
        layer.biases += -self.current_learning_rate * layer.dbiases / \
            (np.sqrt(layer.bias_cache) + self.epsilon)


class Optimizer_Adam(_Optimizer):
    """Adaptive momentum: RMSprop cache plus momentum, both bias-corrected.

    With ``m`` the momentum, ``c`` the cache and ``t`` = iterations
    (0 at the first step, hence ``t + 1`` in the corrections)::

        m <- beta_1 * m + (1 - beta_1) * dW
        c <- beta_2 * c + (1 - beta_2) * dW^2
        m_hat = m / (1 - beta_1 ** (t + 1))
        c_hat = c / (1 - beta_2 ** (t + 1))
        W <- W - lr_t * m_hat / (sqrt(c_hat) + eps)
    """

    def __init__(self, learning_rate=0.001, decay=0., epsilon=1e-7,
                 beta_1=0.9, beta_2=0.999):
        super().__init__(learning_rate, decay)
        self.epsilon = epsilon
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def update_params(self, layer):
        """Update ``layer.weights`` and ``layer.biases`` in place."""
        if not hasattr(layer, 'weight_cache'):
            layer.weight_momentums = np.zeros_like(layer.weights)
            layer.weight_cache = np.zeros_like(layer.weights)
            layer.bias_momentums = np.zeros_like(layer.biases)
            layer.bias_cache = np.zeros_like(layer.biases)

        layer.weight_momentums = self.beta_1 * layer.weight_momentums + \
            (1 - self.beta_1) * layer.dweights
        layer.bias_momentums = self.beta_1 * layer.bias_momentums + \
            (1 - self.beta_1) * layer.dbiases
        # m and c start at zero, so early averages are biased towards zero;
        # dividing by (1 - beta^(t+1)) undoes that.
        weight_momentums_corrected = layer.weight_momentums / \
            (1 - self.beta_1 ** (self.iterations + 1))
        bias_momentums_corrected = layer.bias_momentums / \
            (1 - self.beta_1 ** (self.iterations + 1))

        layer.weight_cache = self.beta_2 * layer.weight_cache + \
            (1 - self.beta_2) * layer.dweights ** 2
        layer.bias_cache = self.beta_2 * layer.bias_cache + \
            (1 - self.beta_2) * layer.dbiases ** 2
        weight_cache_corrected = layer.weight_cache / \
            (1 - self.beta_2 ** (self.iterations + 1))
        bias_cache_corrected = layer.bias_cache / \
            (1 - self.beta_2 ** (self.iterations + 1))

        layer.weights += -self.current_learning_rate * \
            weight_momentums_corrected / \
            (np.sqrt(weight_cache_corrected) + self.epsilon)
        layer.biases += -self.current_learning_rate * \
            bias_momentums_corrected / \
            (np.sqrt(bias_cache_corrected) + self.epsilon)
