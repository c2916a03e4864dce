"""Loss functions from "Neural Networks from Scratch in Python".

``forward(y_pred, y_true)`` returns per-sample losses, shape (n,);
``backward(dvalues, y_true)`` sets ``self.dinputs`` with the shape of
``dvalues`` (n, m), already divided by the number of samples so that the
gradient magnitude does not depend on the batch size.
"""

import numpy as np

from .activations import Activation_Softmax


class Loss:
    """Common loss logic: mean reduction, regularization and accumulation.

    Attributes
    ----------
    trainable_layers : list
        Layers whose penalties ``regularization_loss()`` sums (chapter 18).
    accumulated_sum, accumulated_count : float, int
        Running sum of sample losses and number of samples (chapter 20).
    """

    def __init__(self):
        self.trainable_layers = []
        # Initialised here so calculate() works without a prior new_pass().
        self.accumulated_sum = 0
        self.accumulated_count = 0

    def remember_trainable_layers(self, trainable_layers):
        """Store the layers whose regularization penalties are summed."""
        self.trainable_layers = trainable_layers

    def regularization_loss(self, layer=None):
        """Sum of L1/L2 penalties.

        Parameters
        ----------
        layer : Layer_Dense, optional
            With a layer: that layer's penalty (chapter 14 form).  Without:
            the sum over ``self.trainable_layers`` (chapter 18 form).

        Returns
        -------
        float
            ``l1_w * sum|W| + l2_w * sum W^2 + l1_b * sum|b| + l2_b * sum b^2``
            where each term is computed only if its factor is positive.
        """
        if layer is None:
            return sum(self._layer_penalty(trainable)
                       for trainable in self.trainable_layers)
        return self._layer_penalty(layer)

    @staticmethod
    def _layer_penalty(layer):
        regularization_loss = 0
        if layer.weight_regularizer_l1 > 0:
            regularization_loss += layer.weight_regularizer_l1 * \
                np.sum(np.abs(layer.weights))
        if layer.weight_regularizer_l2 > 0:
            regularization_loss += layer.weight_regularizer_l2 * \
                np.sum(layer.weights * layer.weights)
        if layer.bias_regularizer_l1 > 0:
            regularization_loss += layer.bias_regularizer_l1 * \
                np.sum(np.abs(layer.biases))
        if layer.bias_regularizer_l2 > 0:
            regularization_loss += layer.bias_regularizer_l2 * \
                np.sum(layer.biases * layer.biases)
        return regularization_loss

    def calculate(self, output, y, *, include_regularization=False):
        """Mean data loss of a batch, also added to the epoch accumulators.

        Parameters
        ----------
        output : ndarray, shape (n, m)
            Model output (predictions).
        y : ndarray, shape (n,) or (n, m)
            Targets.
        include_regularization : bool
            If True also return ``self.regularization_loss()``.

        Returns
        -------
        data_loss or (data_loss, regularization_loss)
        """
        sample_losses = self.forward(output, y)
        data_loss = np.mean(sample_losses)
        self.accumulated_sum += np.sum(sample_losses)
        self.accumulated_count += len(sample_losses)
        if not include_regularization:
            return data_loss
        return data_loss, self.regularization_loss()

    def calculate_accumulated(self, *, include_regularization=False):
        """Mean data loss over everything since the last ``new_pass``."""
        data_loss = self.accumulated_sum / self.accumulated_count
        if not include_regularization:
            return data_loss
        return data_loss, self.regularization_loss()

    def new_pass(self):
        """Reset the accumulators (start of an epoch or evaluation)."""
        self.accumulated_sum = 0
        self.accumulated_count = 0


class Loss_CategoricalCrossentropy(Loss):
    """Categorical cross-entropy ``-log(p[correct class])``.

    Labels may be sparse (shape (n,), class indices) or one-hot (n, m).
    """

    def forward(self, y_pred, y_true):
        """Per-sample negative log-likelihood, shape (n,)."""
        samples = len(y_pred)
        # Clip both ends: log(0) is -inf, and clipping only the low end
        # would bias the mean towards 1.
        y_pred_clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
        if len(y_true.shape) == 1:
            correct_confidences = y_pred_clipped[range(samples), y_true]
        elif len(y_true.shape) == 2:
            correct_confidences = np.sum(y_pred_clipped * y_true, axis=1)
        return -np.log(correct_confidences)

    def backward(self, dvalues, y_true):
        """``dinputs = -y_true / dvalues / n`` (one-hot ``y_true``)."""
        samples = len(dvalues)
        labels = len(dvalues[0])
        if len(y_true.shape) == 1:
            y_true = np.eye(labels)[y_true]
        self.dinputs = -y_true / dvalues
        self.dinputs = self.dinputs / samples


class Loss_BinaryCrossentropy(Loss):
    """Binary cross-entropy for independent sigmoid outputs, y in {0, 1}."""

    def forward(self, y_pred, y_true):
        """``mean_j -(y log p + (1 - y) log(1 - p))``, shape (n,)."""
        y_pred_clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
        sample_losses = -(y_true * np.log(y_pred_clipped) +
                          (1 - y_true) * np.log(1 - y_pred_clipped))
        return np.mean(sample_losses, axis=-1)

    def backward(self, dvalues, y_true):
        """``dinputs = -(y / p - (1 - y) / (1 - p)) / outputs / n``."""
        samples = len(dvalues)
        outputs = len(dvalues[0])
        # Clipped the same way as in forward to avoid division by 0.
        clipped_dvalues = np.clip(dvalues, 1e-7, 1 - 1e-7)
        self.dinputs = -(y_true / clipped_dvalues -
                         (1 - y_true) / (1 - clipped_dvalues)) / outputs
        self.dinputs = self.dinputs / samples


class Loss_MeanSquaredError(Loss):
    """Mean squared error (L2 loss) ``mean_j (y - p)^2``."""

    def forward(self, y_pred, y_true):
        """Per-sample mean over outputs of the squared error, shape (n,)."""
        return np.mean((y_true - y_pred) ** 2, axis=-1)

    def backward(self, dvalues, y_true):
        """``dinputs = -2 (y - p) / outputs / n``."""
        samples = len(dvalues)
        outputs = len(dvalues[0])
        self.dinputs = -2 * (y_true - dvalues) / outputs
        self.dinputs = self.dinputs / samples


class Loss_MeanAbsoluteError(Loss):
    """Mean absolute error (L1 loss) ``mean_j |y - p|``."""

    def forward(self, y_pred, y_true):
        """Per-sample mean over outputs of the absolute error, shape (n,)."""
        return np.mean(np.abs(y_true - y_pred), axis=-1)

    def backward(self, dvalues, y_true):
        """``dinputs = sign(p - y) / outputs / n``.

        Documented fix: the book writes ``np.sign(y_true - dvalues)``, which
        is the wrong sign.  With ``u = y - p``, ``d|u|/dp = sign(u) * du/dp
        = -sign(y - p) = sign(p - y)``; the book's text derives this minus
        sign but the listing drops it, so gradient descent would move the
        predictions *away* from the targets.
        """
        samples = len(dvalues)
        outputs = len(dvalues[0])
        self.dinputs = np.sign(dvalues - y_true) / outputs
        self.dinputs = self.dinputs / samples


class Activation_Softmax_Loss_CategoricalCrossentropy:
    """Softmax followed by categorical cross-entropy, with a fused backward.

    Not a ``Loss`` subclass (as in the book).  The combined gradient with
    respect to the softmax inputs is simply ``(softmax - one_hot) / n``,
    much cheaper than the Jacobian route.

    Attributes
    ----------
    activation : Activation_Softmax
    loss : Loss_CategoricalCrossentropy
    """

    def __init__(self):
        self.activation = Activation_Softmax()
        self.loss = Loss_CategoricalCrossentropy()

    def forward(self, inputs, y_true):
        """Softmax of ``inputs`` (n, m) into ``self.output``; return mean loss."""
        self.activation.forward(inputs)
        self.output = self.activation.output
        return self.loss.calculate(self.output, y_true)

    def backward(self, dvalues, y_true):
        """``dinputs = (dvalues - one_hot(y_true)) / n``.

        Parameters
        ----------
        dvalues : ndarray, shape (n, m)
            Softmax outputs (probabilities).
        y_true : ndarray, shape (n,) or (n, m)
            Sparse or one-hot labels.
        """
        samples = len(dvalues)
        if len(y_true.shape) == 2:
            y_true = np.argmax(y_true, axis=1)
        # Copy so the caller's softmax output is not modified in place.
        self.dinputs = dvalues.copy()
        self.dinputs[range(samples), y_true] -= 1
        self.dinputs = self.dinputs / samples
