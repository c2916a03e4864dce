"""Activations with the book's protocol: ``ReLU``, ``Softmax``, ``Sigmoid``, ``Linear``.

Each has ``forward(inputs, training=True)`` (sets ``.inputs``, ``.output``),
``backward(dvalues)`` (sets ``.dinputs``) and ``predictions(outputs)``.
Inputs keep a float32/float64 dtype; anything else becomes float32.
"""
import numpy as np

from . import kernels as K
from ._validate import MADE, as_float_array, check_same_shape, is_float_batch


class _Activation:
    """Shared plumbing: validate, allocate, call the kernel."""

    #: Softmax needs rows; element-wise activations take any shape.
    _ndim = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Names for error messages, built once rather than on every call.
        cls._forward_name = f"{cls.__name__}.forward"
        cls._backward_name = f"{cls.__name__}.backward"

    def _forward_input(self, inputs):
        """Set ``.inputs`` (checked) and a new ``.output``; return both."""
        x = inputs if is_float_batch(inputs) else as_float_array(
            inputs, self._forward_name, "inputs", ndim=self._ndim)
        # .inputs before the new output: the array it held can then be freed
        # first, and malloc reuses its memory (the other order doubled chapter
        # 15's epoch with fresh pages: 143 page faults an epoch against 9).
        self.inputs = x
        self.output = MADE[0] = out = np.empty(x.shape, x.dtype)
        return x, out

    def _backward_input(self, dvalues):
        """Check ``dvalues`` against the forward output; set a new ``.dinputs``."""
        ref = self.output
        d = dvalues
        if not (is_float_batch(d, ref.dtype) and d.shape == ref.shape):
            where = self._backward_name  # (outputs of other than two dimensions too)
            d = as_float_array(d, where, "dvalues", dtype=ref.dtype, ndim=None)
            check_same_shape(where, "dvalues", d, "the forward output", ref)
        self.dinputs = MADE[0] = out = np.empty(d.shape, d.dtype)
        return d, out


class ReLU(_Activation):
    """Rectified linear unit, ``max(0, x)``."""

    def forward(self, inputs, training=True):
        K.relu_forward(*self._forward_input(inputs))

    def backward(self, dvalues):
        """Pass ``dvalues`` where the input was positive, else 0."""
        K.relu_backward(self.inputs, *self._backward_input(dvalues))

    def predictions(self, outputs):
        return outputs


class Softmax(_Activation):
    """Row-wise softmax; ``backward`` is the per-sample Jacobian product."""

    _ndim = 2

    def forward(self, inputs, training=True):
        K.softmax_forward(*self._forward_input(inputs))

    def backward(self, dvalues):
        """``dinputs[i] = J_i @ dvalues[i]`` with ``J_i = diag(s_i) - s_i s_i^T``."""
        K.softmax_backward(self.output, *self._backward_input(dvalues))

    def predictions(self, outputs):
        """The class with the highest probability, ``(n,)``."""
        return np.argmax(outputs, axis=1)


class Sigmoid(_Activation):
    """Logistic function ``1 / (1 + exp(-x))``, computed without overflow."""

    def forward(self, inputs, training=True):
        K.sigmoid_forward(*self._forward_input(inputs))

    def backward(self, dvalues):
        """``dinputs = dvalues * (1 - s) * s``."""
        K.sigmoid_backward(self.output, *self._backward_input(dvalues))

    def predictions(self, outputs):
        """1 where the probability exceeds 0.5, else 0 (ints, as the book)."""
        return (outputs > 0.5) * 1


class Linear(_Activation):
    """Identity, the output activation of regression models."""

    def forward(self, inputs, training=True):
        K.linear_forward(*self._forward_input(inputs))

    def backward(self, dvalues):
        K.linear_backward(*self._backward_input(dvalues))

    def predictions(self, outputs):
        return outputs
