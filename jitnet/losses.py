"""Losses with the book's protocol, and the fused softmax + cross-entropy.

``forward(y_pred, y_true)`` returns per-sample losses ``(n,)``;
``calculate(output, y, *, include_regularization=False)`` their mean (and the
regularisation loss); ``backward(dvalues, y_true)`` sets ``.dinputs``.
"""
import math

import numpy as np

from . import kernels as K
from ._validate import (MADE, as_class_labels, as_float_array, as_targets,
                        check_finite_targets, is_float_batch, is_label_batch,
                        label_range_error)
from .activations import Softmax


def _penalty(layer, name, l1, l2):
    """``l1 * sum(|p|) + l2 * sum(p ** 2)`` for ``p = layer.<name>``, or 0 unless
    a factor is > 0 (the book adds a term only then; only then is ``p`` read)."""
    if l1 > 0 or l2 > 0:
        return K.regularization_loss(np.ascontiguousarray(getattr(layer, name)),
                                     float(l1), float(l2))
    return 0.0


def _regularization_of(layer):
    """A layer's L1/L2 penalty, or 0 for layers without one."""
    return (_penalty(layer, "weights", getattr(layer, "weight_regularizer_l1", 0),
                     getattr(layer, "weight_regularizer_l2", 0))
            + _penalty(layer, "biases", getattr(layer, "bias_regularizer_l1", 0),
                       getattr(layer, "bias_regularizer_l2", 0)))


class Loss:
    """Base class: mean loss, accumulation over batches, regularisation."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Names for error messages, built once rather than on every call.
        cls._forward_name = f"{cls.__name__}.forward"
        cls._backward_name = f"{cls.__name__}.backward"

    def __init__(self):
        self.trainable_layers = []
        self.new_pass()

    def remember_trainable_layers(self, trainable_layers):
        """Keep the layers whose penalties ``regularization_loss()`` sums."""
        self.trainable_layers = list(trainable_layers)

    def regularization_loss(self, layer=None):
        """L1/L2 penalty of ``layer`` (chapter 14) or of all trainable layers (chapter 18).

        ``l1 * sum(|w|) + l2 * sum(w ** 2)`` for weights and for biases.
        """
        if layer is not None:
            return _regularization_of(layer)
        return sum((_regularization_of(lay) for lay in self.trainable_layers), 0.0)

    def calculate(self, output, y, *, include_regularization=False):
        """Mean sample loss of this batch; also added to the epoch's running sum.

        The mean is a NumPy scalar of the predictions' dtype, as the book's
        ``np.mean`` gives (``print(loss)`` shows float32's eight digits, not
        seventeen), summed in float64 before that rounding.
        """
        sample_losses = self.forward(output, y)
        data_loss = self._add_batch(self._last_sum, self._last_count, sample_losses.dtype)
        if not include_regularization:
            return data_loss
        return data_loss, self.regularization_loss()

    def _add_batch(self, total, count, dtype):
        """Add a batch's loss sum and sample count to the running sums; return its
        mean as a NumPy scalar of ``dtype``."""
        self.accumulated_sum += total
        self.accumulated_count += count
        self._accumulated_dtype = dtype
        return dtype.type(total / count)

    def calculate_accumulated(self, *, include_regularization=False):
        """Mean loss over every batch since ``new_pass()``, a NumPy scalar of the
        last batch's dtype as :meth:`calculate` returns."""
        data_loss = self.accumulated_sum / self.accumulated_count
        dtype = self.__dict__.get("_accumulated_dtype")  # absent before any batch
        if dtype is not None:
            data_loss = dtype.type(data_loss)
        if not include_regularization:
            return data_loss
        return data_loss, self.regularization_loss()

    def new_pass(self):
        """Reset the running sums (start of an epoch)."""
        self.accumulated_sum = 0.0
        self.accumulated_count = 0


class CategoricalCrossentropy(Loss):
    """``-log(p[true class])``, probabilities clipped to ``[1e-7, 1 - 1e-7]``.

    ``y_true``: sparse class indices ``(n,)`` or one-hot rows ``(n, k)``.
    """

    def forward(self, y_pred, y_true):
        p = y_pred if is_float_batch(y_pred) else as_float_array(
            y_pred, self._forward_name, "y_pred")
        n, k = p.shape
        y = as_class_labels(y_true, self._forward_name, n, k, p.dtype)
        kernel = K.cce_forward_sparse if y.ndim == 1 else K.cce_forward_onehot
        sample_losses = np.empty(n, p.dtype)
        self._last_sum = kernel(p, y, sample_losses)
        self._last_count = n
        return sample_losses

    def backward(self, dvalues, y_true):
        """``dinputs = -y_true / dvalues / n``."""
        d = dvalues if is_float_batch(dvalues) else as_float_array(
            dvalues, self._backward_name, "dvalues")
        y = as_class_labels(y_true, self._backward_name, *d.shape, d.dtype)
        self.dinputs = MADE[0] = out = np.empty(d.shape, d.dtype)
        kernel = K.cce_backward_sparse if y.ndim == 1 else K.cce_backward_onehot
        kernel(d, y, out)


class _ElementwiseLoss(Loss):
    """Losses whose targets have the predictions' shape (BCE, MSE, MAE)."""

    _forward_kernel = _backward_kernel = None
    #: True when both kernels take integer targets unconverted (as_targets).
    _integer_targets = False

    def forward(self, y_pred, y_true):
        where = self._forward_name
        p = y_pred if is_float_batch(y_pred) else as_float_array(y_pred, where, "y_pred")
        # NaN or inf in the targets make their sample losses, and so the sum,
        # NaN or inf (no operation in these losses turns them finite), so the
        # pass over the targets runs only when the sum says it may fail.
        y = as_targets(y_true, where, p, check_finite=False,
                       integers=self._integer_targets)
        sample_losses = np.empty(p.shape[0], p.dtype)
        total = type(self)._forward_kernel(p, y, sample_losses)
        if not math.isfinite(total) and y.dtype.kind == "f":  # (integers are finite)
            check_finite_targets(y, where)
        self._last_sum, self._last_count = total, p.shape[0]
        return sample_losses

    def backward(self, dvalues, y_true):
        where = self._backward_name
        d = dvalues if is_float_batch(dvalues) else as_float_array(dvalues, where, "dvalues")
        y = as_targets(y_true, where, d, integers=self._integer_targets)
        self.dinputs = MADE[0] = out = np.empty(d.shape, d.dtype)
        type(self)._backward_kernel(d, y, out)


class BinaryCrossentropy(_ElementwiseLoss):
    """Mean over outputs of ``-(y log p + (1 - y) log(1 - p))``, p clipped.

    Labels of uint8 or int64 (``spiral_data``'s, chapter 16's) go to the
    kernels as they are, with no float copy made on every call.
    """

    _forward_kernel = K.bce_forward
    _backward_kernel = K.bce_backward
    _integer_targets = True


class MeanSquaredError(_ElementwiseLoss):
    """Mean over outputs of ``(y - p) ** 2``; gradient ``-2 (y - p) / outputs / n``."""

    _forward_kernel = K.mse_forward
    _backward_kernel = K.mse_backward


class MeanAbsoluteError(_ElementwiseLoss):
    """Mean over outputs of ``|y - p|``; gradient ``sign(p - y) / outputs / n``.

    The book's gradient, ``sign(y - p) / outputs``, has the wrong sign.
    """

    _forward_kernel = K.mae_forward
    _backward_kernel = K.mae_backward


class SoftmaxCategoricalCrossentropy:
    """Softmax output with cross-entropy loss and their fused gradient.

    ``forward(inputs, y_true)`` sets ``.output`` (the softmax) and returns the
    mean loss; ``backward(dvalues, y_true)`` takes the softmax output and sets
    ``dinputs = (softmax - onehot(y)) / n``, the gradient with respect to the
    logits, far cheaper than chaining the two backward passes.

    With the book's labels (a 1-D integer array) each pass is one kernel
    call that also checks the labels' range, where softmax, the label check
    and the loss were three (per-layer chapters 10-15 call both every epoch).
    """

    def __init__(self):
        self.activation = Softmax()
        self.loss = CategoricalCrossentropy()

    def forward(self, inputs, y_true):
        act = self.activation
        x, out = act._forward_input(inputs)  # sets act.inputs, act.output
        n, k = x.shape
        self.output = out
        if not is_label_batch(y_true, n):  # one-hot rows, lists, errors
            K.softmax_forward(x, out)
            return self.loss.calculate(out, y_true)
        # The book's labels: softmax, label check and loss in one kernel call.
        losses = np.empty(n, x.dtype)
        low, high, total = K.softmax_cce_forward_sparse(x, y_true, out, losses)
        if low < 0 or high >= k:
            K.softmax_forward(x, out)  # the kernel wrote nothing; the output as before
            raise label_range_error(self.loss._forward_name, low, high, k)
        return self.loss._add_batch(total, n, x.dtype)

    def backward(self, dvalues, y_true):
        where = "SoftmaxCategoricalCrossentropy.backward"
        d = dvalues if is_float_batch(dvalues) else as_float_array(dvalues, where, "dvalues")
        out = np.empty(d.shape, d.dtype)
        n, k = d.shape
        if is_label_batch(y_true, n):  # the book's labels: check and gradient in one call
            low, high = K.softmax_cce_backward_sparse_checked(d, y_true, out)
            if low < 0 or high >= k:
                raise label_range_error(where, low, high, k)
        else:
            y = as_class_labels(y_true, where, n, k, d.dtype)
            kernel = (K.softmax_cce_backward_sparse if y.ndim == 1
                      else K.softmax_cce_backward_onehot)
            kernel(d, y, out)
        self.dinputs = MADE[0] = out
