"""Layers from "Neural Networks from Scratch in Python" (chapters 9-22).

Every layer follows the book's attribute protocol: ``forward`` stores
``self.inputs`` and ``self.output``; ``backward(dvalues)`` stores
``self.dinputs`` (and, for trainable layers, ``self.dweights`` and
``self.dbiases``).  Shapes use ``n`` for the number of samples in a batch.
"""

import numpy as np


class Layer_Dense:
    """Fully connected layer ``output = inputs @ weights + biases``.

    Parameters
    ----------
    n_inputs : int
        Number of input features.
    n_neurons : int
        Number of neurons (output features).
    weight_regularizer_l1, weight_regularizer_l2 : float, default 0
        L1 / L2 penalty factors (lambda) on the weights.
    bias_regularizer_l1, bias_regularizer_l2 : float, default 0
        L1 / L2 penalty factors (lambda) on the biases.
    weight_scale : float, default 0.01
        Not in the book's signature: the book's chapter 17 script writes 0.1
        in its own copy of this class, every other chapter 0.01.

    Attributes
    ----------
    weights : ndarray, shape (n_inputs, n_neurons)
        Initialised to ``weight_scale * randn`` as in the book.
    biases : ndarray, shape (1, n_neurons)
        Initialised to zeros.
    """

    def __init__(self, n_inputs, n_neurons,
                 weight_regularizer_l1=0, weight_regularizer_l2=0,
                 bias_regularizer_l1=0, bias_regularizer_l2=0, *, weight_scale=0.01):
        # Small random weights so the first outputs are close to zero but
        # not identical (identical weights would get identical gradients).
        self.weights = weight_scale * np.random.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))
        self.weight_regularizer_l1 = weight_regularizer_l1
        self.weight_regularizer_l2 = weight_regularizer_l2
        self.bias_regularizer_l1 = bias_regularizer_l1
        self.bias_regularizer_l2 = bias_regularizer_l2

    def forward(self, inputs, training=True):
        """Compute ``inputs @ weights + biases``.

        Parameters
        ----------
        inputs : ndarray, shape (n, n_inputs)
        training : bool
            Unused; accepted so every layer shares one signature.

        Sets ``self.inputs`` and ``self.output`` (shape (n, n_neurons)).
        """
        # The inputs are needed by backward to form dweights.
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases

    def backward(self, dvalues):
        """Backpropagate ``dvalues`` (shape (n, n_neurons)).

        Sets ``dweights`` (n_inputs, n_neurons), ``dbiases`` (1, n_neurons)
        and ``dinputs`` (n, n_inputs).  Regularization gradients are added
        only when their factor is positive, as in the book.
        """
        # d(x.W)/dW = x^T, summed over the batch by the dot product.
        self.dweights = np.dot(self.inputs.T, dvalues)
        # Each bias feeds every sample with gradient 1: sum over the batch.
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)

        # d(l1 * sum|w|)/dw = l1 * sign(w), with the book's choice of +1 at 0.
        if self.weight_regularizer_l1 > 0:
            dL1 = np.ones_like(self.weights)
            dL1[self.weights < 0] = -1
            self.dweights += self.weight_regularizer_l1 * dL1
        # d(l2 * sum w^2)/dw = 2 * l2 * w.
        if self.weight_regularizer_l2 > 0:
            self.dweights += 2 * self.weight_regularizer_l2 * self.weights
        if self.bias_regularizer_l1 > 0:
            dL1 = np.ones_like(self.biases)
            dL1[self.biases < 0] = -1
            self.dbiases += self.bias_regularizer_l1 * dL1
        if self.bias_regularizer_l2 > 0:
            self.dbiases += 2 * self.bias_regularizer_l2 * self.biases

        # d(x.W)/dx = W^T: gradient handed to the previous layer.
        self.dinputs = np.dot(dvalues, self.weights.T)

    def get_parameters(self):
        """Return ``(weights, biases)`` (the arrays themselves, not copies)."""
        return self.weights, self.biases

    def set_parameters(self, weights, biases):
        """Replace the layer's ``weights`` and ``biases``."""
        self.weights = weights
        self.biases = biases


class Layer_Dropout:
    """Inverted dropout: zero a fraction ``rate`` of the inputs in training.

    Parameters
    ----------
    rate : float
        Fraction of inputs to drop.  As in the book the layer stores the
        *keep* probability, ``self.rate = 1 - rate``.
    """

    def __init__(self, rate):
        # The book keeps the success (keep) probability for np.random.binomial.
        self.rate = 1 - rate

    def forward(self, inputs, training=True):
        """Apply a scaled Bernoulli mask.

        Parameters
        ----------
        inputs : ndarray, shape (n, m)
        training : bool
            When False the layer is the identity (output is a copy).

        Sets ``self.binary_mask`` (shape (n, m), values 0 or 1/keep) in
        training and ``self.output``.
        """
        self.inputs = inputs
        if not training:
            self.output = inputs.copy()
            return
        # Dividing by the keep probability keeps the expected sum of the
        # outputs unchanged, so no rescaling is needed at inference time.
        self.binary_mask = np.random.binomial(
            1, self.rate, size=inputs.shape) / self.rate
        self.output = inputs * self.binary_mask

    def backward(self, dvalues):
        """``dinputs = dvalues * binary_mask`` (mask is the local derivative)."""
        self.dinputs = dvalues * self.binary_mask


class Layer_Input:
    """Placeholder first layer used by ``Model``: output is the input."""

    def forward(self, inputs, training=True):
        """Set ``self.output = inputs`` (shape (n, n_features))."""
        self.output = inputs
