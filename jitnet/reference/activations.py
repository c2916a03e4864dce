"""Activation functions from "Neural Networks from Scratch in Python".

``forward(inputs, training=True)`` sets ``self.inputs`` and ``self.output``;
``backward(dvalues)`` sets ``self.dinputs``; ``predictions(outputs)`` turns
the output of the final layer into predicted labels or values (chapter 19).
Shapes use ``n`` samples and ``m`` features.
"""

import numpy as np


class Activation_ReLU:
    """Rectified linear unit ``max(0, x)``."""

    def forward(self, inputs, training=True):
        """``output = max(0, inputs)``, shape (n, m)."""
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues):
        """Pass the gradient through where ``inputs > 0``, zero elsewhere."""
        # Copy: dvalues belongs to the next layer and must not be modified.
        self.dinputs = dvalues.copy()
        # The book treats the kink at 0 as having derivative 0.
        self.dinputs[self.inputs <= 0] = 0

    def predictions(self, outputs):
        """Return ``outputs`` unchanged."""
        return outputs


class Activation_Softmax:
    """Softmax over the last axis, turning scores into probabilities."""

    def forward(self, inputs, training=True):
        """Row-wise softmax, shape (n, m).

        The row maximum is subtracted first so ``exp`` cannot overflow;
        softmax is invariant to that shift.
        """
        self.inputs = inputs
        exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
        self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)

    def backward(self, dvalues):
        """Backpropagate through the full per-sample Jacobian.

        For each sample with output column vector ``s`` (shape (m, 1)) the
        Jacobian is ``diag(s) - s s^T`` and ``dinputs[i] = J @ dvalues[i]``.
        This is the book's deliberately explicit loop; it is the oracle that
        faster fused implementations are checked against.
        """
        self.dinputs = np.empty_like(dvalues)
        for index, (single_output, single_dvalues) in \
                enumerate(zip(self.output, dvalues)):
            single_output = single_output.reshape(-1, 1)
            jacobian_matrix = np.diagflat(single_output) - \
                np.dot(single_output, single_output.T)
            self.dinputs[index] = np.dot(jacobian_matrix, single_dvalues)

    def predictions(self, outputs):
        """Class index with the highest probability, shape (n,)."""
        return np.argmax(outputs, axis=1)


class Activation_Sigmoid:
    """Logistic sigmoid ``1 / (1 + exp(-x))``.

    Documented fix: the book computes ``1 / (1 + np.exp(-inputs))``, which
    overflows (with a RuntimeWarning) for large negative inputs.  Here
    ``exp`` is only ever taken of ``-|x|`` (at most 1): for ``x >= 0`` the
    book's formula is used as is, for ``x < 0`` the equivalent
    ``exp(x) / (1 + exp(x))``.  Values agree with the book's formula to
    rounding, without warnings.
    """

    def forward(self, inputs, training=True):
        """Element-wise sigmoid, shape (n, m)."""
        self.inputs = inputs
        e = np.exp(-np.abs(inputs))
        self.output = np.where(inputs >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, dvalues):
        """``dinputs = dvalues * (1 - s) * s`` with ``s`` the forward output."""
        self.dinputs = dvalues * (1 - self.output) * self.output

    def predictions(self, outputs):
        """Threshold at 0.5: 1 for the positive class, else 0."""
        return (outputs > 0.5) * 1


class Activation_Linear:
    """Identity activation, used as the output of regression models."""

    def forward(self, inputs, training=True):
        """``output = inputs`` (kept for clarity of model definitions)."""
        self.inputs = inputs
        self.output = inputs

    def backward(self, dvalues):
        """Derivative is 1, so ``dinputs`` is a copy of ``dvalues``."""
        self.dinputs = dvalues.copy()

    def predictions(self, outputs):
        """Return ``outputs`` unchanged."""
        return outputs
