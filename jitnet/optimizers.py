"""Optimizers with the book's protocol: ``SGD``, ``Adagrad``, ``RMSprop``, ``Adam``.

Call ``pre_update_params()``, then ``update_params(layer)`` for each trainable
layer, then ``post_update_params()``. Learning-rate decay is
``lr_t = lr / (1 + decay * t)`` with ``t = iterations``. State arrays live on
the layer under the book's names (``weight_momentums``, ``weight_cache``,
``bias_momentums``, ``bias_cache``); one kernel updates parameters and state
in a single pass.
"""
import operator
import weakref
from operator import is_ as _is

import numpy as np

from . import kernels as K
from ._validate import check_real
from .layers import adjacent_zeros


def _flat(layer, name, like=None, create=False):
    """``layer.<name>`` as a C-contiguous array (repaired and stored back if needed).

    ``like`` is the parameter array whose shape and dtype gradients and state
    must share; ``create`` makes missing optimizer state, as the book does
    lazily with ``np.zeros_like``.
    """
    arr = getattr(layer, name, None)
    if arr is None and create:
        arr = np.zeros_like(like)
        setattr(layer, name, arr)
    if not (isinstance(arr, np.ndarray) and arr.dtype.kind == "f"):
        raise TypeError(f"update_params: layer.{name} must be a float array"
                        f" (call backward first), got {type(arr).__name__}")
    if like is not None and arr.shape != like.shape:
        raise ValueError(f"update_params: layer.{name} has shape {arr.shape}"
                         f" but the parameters have shape {like.shape}")
    target = like.dtype if like is not None else (
        arr.dtype if arr.dtype.itemsize in (4, 8) else np.dtype(np.float32))
    if arr.dtype != target or not arr.flags.c_contiguous or not arr.flags.writeable:
        arr = np.array(arr, dtype=target, order="C")  # a writable copy
        setattr(layer, name, arr)
    return arr


def _joined(first, second):
    """A 1-D view of ``first`` then ``second`` if they lie end to end in one
    block of memory (as ``Dense`` and ``Model`` lay them out), else None."""
    base = first.base
    if not (isinstance(base, np.ndarray) and second.base is base
            and base.flags.c_contiguous and base.dtype == first.dtype == second.dtype):
        return None
    flat = base.reshape(-1)  # a view: base is contiguous
    address = first.__array_interface__["data"][0]
    offset, rest = divmod(address - flat.__array_interface__["data"][0], flat.itemsize)
    if rest or second.__array_interface__["data"][0] != address + first.nbytes:
        return None
    return flat[offset:offset + first.size + second.size]


class _Optimizer:
    """Decay bookkeeping shared by all four optimizers."""

    #: Names of the per-parameter state arrays the update kernel takes.
    _state = ()

    def __init__(self, learning_rate, decay):
        name = type(self).__name__
        self.learning_rate = check_real(name, "learning_rate", learning_rate, low=0)
        self.decay = check_real(name, "decay", decay, low=0)
        self.current_learning_rate = self.learning_rate
        self.iterations = 0
        self._flat_views = {}  # id(layer) -> (weak ref to it, arrays checked, flat runs)
        self._getter = None

    def __getstate__(self):
        # The view cache is derived state (and weak references do not pickle).
        state = self.__dict__.copy()
        state["_flat_views"], state["_getter"] = None, None
        state.pop("_attribute_names", None)  # written by older versions
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._flat_views = {}
        self._getter = None

    def pre_update_params(self):
        """``current_learning_rate = learning_rate / (1 + decay * iterations)``."""
        if self.decay:
            self.current_learning_rate = self.learning_rate * (
                1. / (1. + self.decay * self.iterations))

    def post_update_params(self):
        """Count the step."""
        self.iterations += 1

    def update_params(self, layer):
        """Update ``layer.weights`` and ``layer.biases`` in place."""
        entry = self._flat_views.get(id(layer))
        try:
            arrays = (self._getter or self._make_getter())(layer)
        except AttributeError:  # state not created yet, or no gradients
            entry = None
        # In a training loop the arrays are the same objects every step
        # (Dense reuses its gradient buffers), so the checks run once.
        if (entry is None or entry[0]() is not layer
                or not all(map(_is, arrays, entry[1]))):
            entry = self._prepare(layer)
        for run in entry[2]:
            self._update(*run)

    def _prepare(self, layer):
        """Check and repair the layer's arrays; cache flat views of them.

        One kernel call updates weights and biases together when each pair
        (parameters, gradients, every state) lies end to end in memory, as
        ``Dense`` and ``Model`` make them; otherwise one call each.
        """
        pairs = [(_flat(layer, "weights"), _flat(layer, "biases"))]
        pairs.append((_flat(layer, "dweights", like=pairs[0][0]),
                      _flat(layer, "dbiases", like=pairs[0][1])))
        w, b = pairs[0]
        for s in self._state:
            names = f"weight_{s}", f"bias_{s}"
            if all(getattr(layer, name, None) is None for name in names):
                for name, zeros in zip(names, adjacent_zeros(w.shape, b.shape, w.dtype)):
                    setattr(layer, name, zeros)  # first step, as the book's lazy zeros
            pairs.append((_flat(layer, f"weight_{s}", like=w, create=True),
                          _flat(layer, f"bias_{s}", like=b, create=True)))
        joined = [_joined(first, second) for first, second in pairs]
        if all(j is not None for j in joined):
            runs = [joined]
        else:
            runs = [[first.reshape(-1) for first, _ in pairs],
                    [second.reshape(-1) for _, second in pairs]]
        views, key = self._flat_views, id(layer)
        try:  # the entry goes when the layer does
            ref = weakref.ref(layer, lambda _, key=key: views.pop(key, None))
        except TypeError:  # a layer-like object without weak references
            return None, (), runs  # used once, not cached
        entry = views[key] = (ref, self._getter(layer), runs)
        return entry

    def _make_getter(self):
        """A function returning every layer attribute ``update_params`` reads."""
        names = ["weights", "dweights", "biases", "dbiases"]
        for prefix in ("weight", "bias"):
            names += [f"{prefix}_{s}" for s in self._state]
        self._getter = operator.attrgetter(*names)
        return self._getter

    def _update(self, params, grads, *state):
        raise NotImplementedError


class SGD(_Optimizer):
    """Stochastic gradient descent, with optional momentum.

    Without momentum: ``p <- p - lr_t * g``.
    With momentum ``mu``: ``u <- mu * u - lr_t * g``; ``p <- p + u``.
    """

    def __init__(self, learning_rate=1., decay=0., momentum=0.):
        super().__init__(learning_rate, decay)
        self.momentum = check_real("SGD", "momentum", momentum, low=0, high=1,
                                   high_open=True)
        self._state = ("momentums",) if self.momentum else ()

    def _update(self, params, grads, *state):
        if self.momentum:
            K.sgd_momentum_update(params, grads, state[0],
                                  self.current_learning_rate, self.momentum)
        else:
            K.sgd_update(params, grads, self.current_learning_rate)


class Adagrad(_Optimizer):
    """Adagrad: per-parameter rates from the sum of squared gradients.

    ``c <- c + g^2``; ``p <- p - lr_t * g / (sqrt(c) + eps)``.
    """

    _state = ("cache",)

    def __init__(self, learning_rate=1., decay=0., epsilon=1e-7):
        super().__init__(learning_rate, decay)
        self.epsilon = check_real("Adagrad", "epsilon", epsilon, low=0, low_open=True)

    def _update(self, params, grads, cache):
        K.adagrad_update(params, grads, cache, self.current_learning_rate,
                         self.epsilon)


class RMSprop(_Optimizer):
    """RMSprop: Adagrad with a moving average of squared gradients.

    ``c <- rho * c + (1 - rho) * g^2``; ``p <- p - lr_t * g / (sqrt(c) + eps)``.
    """

    _state = ("cache",)

    def __init__(self, learning_rate=0.001, decay=0., epsilon=1e-7, rho=0.9):
        super().__init__(learning_rate, decay)
        self.epsilon = check_real("RMSprop", "epsilon", epsilon, low=0, low_open=True)
        self.rho = check_real("RMSprop", "rho", rho, low=0, high=1, high_open=True)

    def _update(self, params, grads, cache):
        K.rmsprop_update(params, grads, cache, self.current_learning_rate,
                         self.epsilon, self.rho)


class Adam(_Optimizer):
    """Adam: momentum and RMSprop caches, both bias-corrected.

    With ``t = iterations + 1``:
    ``m <- b1 m + (1 - b1) g``; ``v <- b2 v + (1 - b2) g^2``;
    ``p <- p - lr_t * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)``.
    """

    _state = ("momentums", "cache")

    def __init__(self, learning_rate=0.001, decay=0., epsilon=1e-7,
                 beta_1=0.9, beta_2=0.999):
        super().__init__(learning_rate, decay)
        self.epsilon = check_real("Adam", "epsilon", epsilon, low=0, low_open=True)
        self.beta_1 = check_real("Adam", "beta_1", beta_1, low=0, high=1, high_open=True)
        self.beta_2 = check_real("Adam", "beta_2", beta_2, low=0, high=1, high_open=True)

    def _update(self, params, grads, momentums, cache):
        K.adam_update(params, grads, momentums, cache, self.current_learning_rate,
                      self.epsilon, self.beta_1, self.beta_2, self.iterations + 1)
