"""Lay a network out for the compiled interpreter (``kernels/program.py``).

:class:`Program` owns the arenas: all parameters in one flat array (each
``Dense`` layer's ``weights``/``biases`` become views into it), gradients and
optimizer state in arrays of the same layout, and activation buffers sized
for the largest batch. It also holds the integer tape that tells the
interpreter which op runs where.
"""
import numpy as np

from .activations import Linear, ReLU, Sigmoid, Softmax
from .kernels import program as P
from .layers import Dense, Dropout
from .losses import (BinaryCrossentropy, CategoricalCrossentropy,
                     MeanAbsoluteError, MeanSquaredError)
from .optimizers import SGD, Adagrad, Adam, RMSprop

OP_CODES = {Dense: P.OP_DENSE, ReLU: P.OP_RELU, Softmax: P.OP_SOFTMAX,
            Sigmoid: P.OP_SIGMOID, Linear: P.OP_LINEAR, Dropout: P.OP_DROPOUT}
LOSS_CODES = {CategoricalCrossentropy: P.LOSS_CCE, BinaryCrossentropy: P.LOSS_BCE,
              MeanSquaredError: P.LOSS_MSE, MeanAbsoluteError: P.LOSS_MAE}
#: Optimizer class -> names of its per-parameter state (book attribute suffixes).
STATE_NAMES = {SGD: ("momentums",), Adagrad: ("cache",), RMSprop: ("cache",),
               Adam: ("momentums", "cache")}


def optimizer_settings(optimizer):
    """(code, hyper) for the interpreter from an optimizer object."""
    lr, decay = optimizer.learning_rate, optimizer.decay
    if isinstance(optimizer, SGD):
        if optimizer.momentum:
            return P.OPT_SGD_MOMENTUM, [lr, decay, optimizer.momentum, 0., 0.]
        return P.OPT_SGD, [lr, decay, 0., 0., 0.]
    if isinstance(optimizer, Adagrad):
        return P.OPT_ADAGRAD, [lr, decay, optimizer.epsilon, 0., 0.]
    if isinstance(optimizer, RMSprop):
        return P.OPT_RMSPROP, [lr, decay, optimizer.epsilon, optimizer.rho, 0.]
    return P.OPT_ADAM, [lr, decay, optimizer.epsilon, optimizer.beta_1,
                        optimizer.beta_2]


class Program:
    """A network's tape and arenas. Built by ``Model.finalize``."""

    def __init__(self, layers, optimizer):
        dense = [layer for layer in layers if isinstance(layer, Dense)]
        if not dense:
            raise ValueError("Model.finalize: the model needs at least one Dense layer")
        self.dtype = dense[0].weights.dtype
        for i, layer in enumerate(dense):
            if layer.weights.dtype != self.dtype:
                raise ValueError(
                    f"Model.finalize: Dense layers mix dtypes ({self.dtype} and"
                    f" {layer.weights.dtype} in trainable layer {i}); make them"
                    f" all with one dtype")
        self.dense = dense
        self.n_features = dense[0].weights.shape[0]
        rows, widths, width, offset = [], [], self.n_features, 0
        for i, layer in enumerate(layers):
            op = OP_CODES[type(layer)]
            w_in, w_off, b_off, d_index = width, 0, 0, -1
            if op == P.OP_DENSE:
                n_in, width = layer.weights.shape
                if n_in != w_in:
                    raise ValueError(
                        f"Model.finalize: layer {i} ({layer!r}) takes {n_in}"
                        f" inputs but the layer before it gives {w_in}")
                w_off, b_off = offset, offset + n_in * width
                offset = b_off + width
                d_index = dense.index(layer)
            rows.append([op, w_in, width, w_off, b_off, d_index, 0, 0, 0])
            widths.append(width)
        self.n_outputs = width
        self.tape = np.array(rows, dtype=np.int64).reshape(-1, P.TAPE_COLUMNS)
        self._widths = np.array(widths, dtype=np.int64)
        self._is_dropout = self.tape[:, P.T_OP] == P.OP_DROPOUT
        ops = self.tape[:, P.T_OP]
        for i in range(1, len(ops) - 1):  # see T_FUSED in kernels/program.py
            self.tape[i, P.T_FUSED] = (ops[i] == P.OP_DROPOUT and ops[i - 1] == P.OP_RELU
                                       and ops[i + 1] == P.OP_DENSE)
        self.keep = np.array([layer.rate if isinstance(layer, Dropout) else 1.0
                              for layer in layers])
        self.regs = np.array([[d.weight_regularizer_l1, d.weight_regularizer_l2,
                               d.bias_regularizer_l1, d.bias_regularizer_l2]
                              for d in dense], dtype=np.float64).reshape(-1, 4)
        self._layout(offset, optimizer)
        self.capacity = 0

    def _layout(self, size, optimizer):
        """Move parameters, gradients and optimizer state into the arenas."""
        self.params = np.empty(size, self.dtype)
        self.grads = np.zeros(size, self.dtype)
        self.state1 = np.zeros(size, self.dtype)
        self.state2 = np.zeros(size, self.dtype)
        names = STATE_NAMES.get(type(optimizer), ())
        self._views = []
        rows = self.tape[self.tape[:, P.T_OP] == P.OP_DENSE]
        for layer, row in zip(self.dense, rows):
            n_in, n_out = row[P.T_IN], row[P.T_OUT]
            views = {}
            for prefix, offset, shape in (("weight", row[P.T_W], (n_in, n_out)),
                                          ("bias", row[P.T_B], (1, n_out))):
                n = shape[0] * shape[1]
                param = "weights" if prefix == "weight" else "biases"
                arenas = [(param, self.params), ("d" + param, self.grads)]
                arenas += [(f"{prefix}_{s}", a)
                           for s, a in zip(names, (self.state1, self.state2))]
                for attr, arena in arenas:
                    view = arena[offset:offset + n].reshape(shape)
                    old = getattr(layer, attr, None)
                    if isinstance(old, np.ndarray) and old.size == n:
                        view[...] = old.reshape(shape)  # keep values (re-finalize)
                    setattr(layer, attr, view)
                views[param] = getattr(layer, param)
            self._views.append(views)

    def sync_parameters(self):
        """Copy back parameters a user rebound (``layer.weights = ...``) since finalize."""
        for layer, views in zip(self.dense, self._views):
            for attr in ("weights", "biases"):
                current, view = getattr(layer, attr), views[attr]
                if current is not view:
                    value = np.asarray(current)
                    if value.size != view.size:
                        raise ValueError(
                            f"Model: {layer!r}.{attr} was replaced by an array"
                            f" of shape {value.shape}; it must keep shape"
                            f" {view.shape} (call finalize() after changing layers)")
                    view[...] = value.reshape(view.shape)
                    setattr(layer, attr, view)

    def ensure_capacity(self, rows):
        """Size the activation buffers for batches of up to ``rows`` rows."""
        if rows <= self.capacity:
            return
        self.capacity = rows
        starts = np.concatenate(([0], np.cumsum(self._widths)[:-1])) * rows
        # A fused ReLU + dropout overwrites the Dense output before it, which
        # nothing else reads (kernels/program.py, T_FUSED): one block less.
        fused = np.flatnonzero(self.tape[:, P.T_FUSED])
        fused = fused[(fused >= 2) & (self.tape[fused - 2, P.T_OP] == P.OP_DENSE)]
        starts[fused] = starts[fused - 2]
        self.tape[:, P.T_ACT] = starts
        mask_widths = np.where(self._is_dropout, self._widths, 0)
        self.tape[:, P.T_MASK] = np.concatenate(([0], np.cumsum(mask_widths)[:-1])) * rows
        total = int(self._widths.sum()) * rows
        self.acts = np.empty(total, self.dtype)
        self.dacts = np.empty(total, self.dtype)
        self.masks = np.empty(max(int(mask_widths.sum()) * rows, 1), self.dtype)
        self.sample_losses = np.empty(rows, self.dtype)
        self.x_buffer = np.empty(rows * self.n_features, self.dtype)
        self.y_int_buffer = np.empty(rows, np.intp)
        self.y_float_buffer = np.empty(rows * self.n_outputs, self.dtype)
