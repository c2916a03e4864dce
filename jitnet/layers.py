"""Layers with the book's protocol: ``Dense``, ``Dropout``, ``Input``.

``forward(inputs, training=True)`` sets ``.inputs`` and ``.output``;
``backward(dvalues)`` sets ``.dinputs`` (and ``.dweights``, ``.dbiases`` on
``Dense``). The arithmetic runs in ``jitnet.kernels``.
"""
import math

import numpy as np

from . import _compile_layers, _random, kernels as K
from ._validate import (MADE, as_float_array, check_positive_int, check_real,
                        check_same_shape, float_dtype, is_float_batch)


def _reusable(buffer, like):
    """True if a kernel may write ``like``'s result into ``buffer``.

    The kernels write without bounds checks, so a buffer a user replaced
    (another shape, dtype or layout, or read-only) is never reused.
    """
    return (isinstance(buffer, np.ndarray) and buffer.shape == like.shape
            and buffer.dtype == like.dtype and buffer.flags.c_contiguous
            and buffer.flags.writeable)


def adjacent_zeros(shape, next_shape, dtype):
    """Two new zero arrays, the second right after the first in one block of memory.

    A Dense layer's weights and biases (their gradients, an optimizer's state
    for them) are made this way, so an optimizer can update both in one
    kernel call (see ``jitnet.optimizers._joined``).
    """
    n = math.prod(shape)
    block = np.zeros(n + math.prod(next_shape), dtype)
    return block[:n].reshape(shape), block[n:].reshape(next_shape)


def _few_inputs(weights_shape):
    """True for weights of one or two inputs and at least as many outputs: the
    shapes ``kernels.few_inputs_dense_backward`` takes (the first layer of the
    book's spiral and sine scripts)."""
    n_in, n_out = weights_shape
    return n_in <= 2 and n_out >= n_in


class Dense:
    """Fully connected layer: ``output = inputs @ weights + biases``.

    Parameters
    ----------
    n_inputs, n_neurons : int
        Weights have shape ``(n_inputs, n_neurons)``, biases ``(1, n_neurons)``.
    weight_regularizer_l1, weight_regularizer_l2, bias_regularizer_l1, bias_regularizer_l2 : float
        Penalty factors (>= 0); their gradients are added in ``backward``.
    dtype : float32 (default) or float64
        dtype of the parameters; inputs are converted to it.
    weight_scale : float > 0, default 0.01
        Weights start at ``weight_scale * np.random.randn(n_inputs, n_neurons)``.
        The book uses 0.01 everywhere but in chapter 17's script, whose
        regression network starts from 0.1: write ``Layer_Dense(1, 64,
        weight_scale=0.1)`` there to start where that script does.

    Weights are drawn from NumPy's global generator, as in the book, so
    ``np.random.seed`` gives the same start as the book's code. The biases
    follow the weights in one block of memory (and ``dbiases`` follow
    ``dweights``), so an optimizer updates both in one kernel call; they are
    ordinary arrays otherwise.
    """

    def __init__(self, n_inputs, n_neurons, weight_regularizer_l1=0.,
                 weight_regularizer_l2=0., bias_regularizer_l1=0.,
                 bias_regularizer_l2=0., *, dtype=np.float32, weight_scale=0.01):
        n_inputs = check_positive_int("Dense", "n_inputs", n_inputs)
        n_neurons = check_positive_int("Dense", "n_neurons", n_neurons)
        dtype = float_dtype(dtype)
        weight_scale = check_real("Dense", "weight_scale", weight_scale, low=0,
                                  low_open=True)
        self.weights, self.biases = adjacent_zeros((n_inputs, n_neurons), (1, n_neurons),
                                                   dtype)
        # The book's expression, so the same seed gives the same weights.
        self.weights[...] = weight_scale * np.random.randn(n_inputs, n_neurons)
        self._checked = None  # (weights, biases, shapes) last verified by _parameters
        reg = {}
        for name, value in (("weight_regularizer_l1", weight_regularizer_l1),
                            ("weight_regularizer_l2", weight_regularizer_l2),
                            ("bias_regularizer_l1", bias_regularizer_l1),
                            ("bias_regularizer_l2", bias_regularizer_l2)):
            reg[name] = check_real("Dense", name, value, low=0)
        self.__dict__.update(reg)

    def __repr__(self):
        n_in, n_out = self.weights.shape
        return f"Dense({n_in}, {n_out}, dtype={self.weights.dtype})"

    def _parameters(self):
        """Weights and biases as C-contiguous arrays of one float dtype.

        Users (and the book's chapter 9) assign ``layer.weights`` directly, so
        this re-checks them cheaply on every call and repairs the layout.
        """
        w, b = self.weights, self.biases
        checked = self._checked
        if checked is not None and checked[0] is w and checked[1] is b \
                and checked[2] == w.shape and checked[3] == b.shape:
            return w, b  # the same arrays as last call, unreshaped: already checked
        if not (isinstance(w, np.ndarray) and w.flags.c_contiguous and w.ndim == 2
                and w.dtype.kind == "f" and w.dtype.itemsize in (4, 8)):
            w = self.weights = as_float_array(w, "Dense", "weights")
        if not (isinstance(b, np.ndarray) and b.dtype == w.dtype
                and b.flags.c_contiguous and b.shape == (1, w.shape[1])):
            b = as_float_array(b, "Dense", "biases", dtype=w.dtype, ndim=None)
            if b.size != w.shape[1]:
                raise ValueError(f"Dense: biases have shape {b.shape} but the"
                                 f" weights {w.shape} need (1, {w.shape[1]})")
            b = self.biases = b.reshape(1, -1)
        self._checked = (w, b, w.shape, b.shape)
        return w, b

    def forward(self, inputs, training=True):
        """``output = inputs @ weights + biases``; inputs ``(n, n_inputs)``."""
        w, b = self._parameters()
        if w.dtype not in _compile_layers._begun:  # a process's first forward pass
            _compile_layers.begin(w.dtype, few_inputs=_few_inputs(w.shape))
        x = inputs if is_float_batch(inputs, w.dtype) else as_float_array(
            inputs, "Dense.forward", "inputs", dtype=w.dtype)
        xs, ws = x.shape, w.shape
        if xs[1] != ws[0]:
            raise ValueError(
                f"Dense.forward: inputs have shape {xs} ({xs[1]} features) but"
                f" the layer's weights {ws} expect {ws[0]} features")
        self.inputs = x
        self.output = MADE[0] = out = np.empty((xs[0], ws[1]), w.dtype)
        K.dense_forward(x, w, b, out, False)

    def backward(self, dvalues):
        """Set ``dweights``, ``dbiases`` (regularisation included) and ``dinputs``."""
        if _compile_layers.pending:  # the first backward pass on an empty cache:
            _compile_layers.await_helpers()  # load the helper's compilation
        w, b = self._parameters()
        x = self.inputs
        d = dvalues if is_float_batch(dvalues, w.dtype) else as_float_array(
            dvalues, "Dense.backward", "dvalues", dtype=w.dtype)
        xs, ws = x.shape, w.shape
        if d.shape != (xs[0], ws[1]):
            raise ValueError(
                f"Dense.backward: dvalues have shape {d.shape} but the forward"
                f" output had shape ({xs[0]}, {ws[1]})")
        if xs[1] != ws[0]:  # weights replaced since forward
            raise ValueError(
                f"Dense.backward: the weights {ws} no longer fit the"
                f" inputs {xs} of the last forward; call forward again")
        # Gradient buffers are reused from step to step (as PyTorch's .grad);
        # copy them if you keep them across steps.
        dw, db = self._gradient_buffers(w, b)
        self.dinputs = MADE[0] = dx = np.empty(x.shape, x.dtype)
        l1w, l2w = self.weight_regularizer_l1, self.weight_regularizer_l2
        l1b, l2b = self.bias_regularizer_l1, self.bias_regularizer_l2
        if _few_inputs(ws):  # the book's first layers: one pass, a kernel of its own
            K.few_inputs_dense_backward(x, w, b, d, l1w, l2w, l1b, l2b, dw, db, dx)
        else:
            K.dense_backward(x, w, b, d, l1w, l2w, l1b, l2b, dw, db, dx, True)

    def _gradient_buffers(self, w, b):
        """``(dweights, dbiases)`` to write into: last step's, or new ones.

        The kernels write without bounds checks, so buffers a user replaced
        (with another shape, dtype or layout, or read-only) are never written
        into; new ones are made, side by side in one block. The check runs
        when any of the four arrays is a new object, not on every step.
        """
        attributes = self.__dict__
        dw, db = attributes.get("dweights"), attributes.get("dbiases")
        # (dweights, dbiases, weights, biases) as last verified; absent in a
        # layer pickled by an older jitnet.
        made = attributes.get("_made_gradients")
        if made is not None and made[0] is dw and made[1] is db and made[2] is w \
                and made[3] is b and dw.shape == w.shape:
            # The same arrays: only a shape set in place (``a.shape = ...``) can
            # differ, and for dweights that would move the kernel's writes
            # (dbiases, one row of fixed size, is written in bounds whatever
            # its 2-D shape).
            return dw, db
        if not (_reusable(dw, w) and _reusable(db, b)):
            dw, db = self.dweights, self.dbiases = adjacent_zeros(w.shape, b.shape, w.dtype)
        self._made_gradients = (dw, db, w, b)
        return dw, db

    def get_parameters(self):
        """Return ``(weights, biases)``."""
        return self.weights, self.biases

    def set_parameters(self, weights, biases):
        """Replace the parameters (copied in the layer's dtype; shapes kept)."""
        dtype = self.weights.dtype
        w = as_float_array(weights, "Dense.set_parameters", "weights", dtype=dtype)
        b = as_float_array(biases, "Dense.set_parameters", "biases", dtype=dtype,
                           ndim=None)
        if b.size != w.shape[1]:
            raise ValueError(f"Dense.set_parameters: biases have shape {b.shape}"
                             f" but weights {w.shape} need (1, {w.shape[1]})")
        self.weights, self.biases = adjacent_zeros(w.shape, (1, w.shape[1]), dtype)
        self.weights[...] = w
        self.biases[...] = b.reshape(1, -1)


class Dropout:
    """Inverted dropout: zero a fraction ``rate`` of values while training.

    Parameters
    ----------
    rate : float in [0, 1)
        The fraction to drop. As in the book, the attribute ``self.rate``
        holds the *keep* probability ``1 - rate``; ``self.drop_rate`` the
        argument.

    The mask comes from the compiled code's random generator (seed it with
    ``jitnet.seed``), so it differs from the book's ``np.random.binomial``
    draw for the same NumPy seed. Unseeded, that generator takes its seed
    from NumPy's global state at the first mask (without drawing from it), so
    a script that seeds NumPy, as ``nnfs.init()`` does, gets the same masks
    in every run (``jitnet._random``).
    """

    def __init__(self, rate):
        self.drop_rate = check_real("Dropout", "rate", rate, low=0, high=1,
                                    high_open=True)
        self.rate = 1.0 - self.drop_rate

    def __repr__(self):
        return f"Dropout({self.drop_rate})"

    def forward(self, inputs, training=True):
        """Training: ``output = inputs * binary_mask``; otherwise a copy."""
        x = as_float_array(inputs, "Dropout.forward", "inputs", ndim=None)
        self.inputs = x
        if not training:
            self.output = x.copy()
            return
        if not _random.seeded:  # this process's first mask: see jitnet._random
            _random.ensure_seeded()
        self.binary_mask = np.empty(x.shape, x.dtype)
        self.output = np.empty(x.shape, x.dtype)
        K.dropout_forward(x, self.rate, self.binary_mask, self.output)

    def backward(self, dvalues):
        """``dinputs = dvalues * binary_mask``."""
        d = as_float_array(dvalues, "Dropout.backward", "dvalues",
                           dtype=self.binary_mask.dtype, ndim=None)
        check_same_shape("Dropout.backward", "dvalues", d, "binary_mask",
                         self.binary_mask)
        self.dinputs = np.empty(d.shape, d.dtype)
        K.dropout_backward(d, self.binary_mask, self.dinputs)


class Input:
    """The Model's first "layer": passes the data on unchanged."""

    def forward(self, inputs, training=True):
        """``output = inputs``."""
        self.output = inputs
