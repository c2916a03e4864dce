"""Kernel benchmarks: each jitnet kernel (through its class) against the book's NumPy.

``time_*`` time one call; ``track_speedup_*`` time both in one process and
return the ratio, so ``asv publish`` plots jitnet's lead over the book.
"""
import numpy as np

from jitnet import workloads as W

from .common import DTYPES, best_of, dense_layer, probabilities, rand, speedup

LIBS = {name: W.library(name) for name in W.LIBRARIES}


class _ForwardBackward:
    """Times ``forward``/``backward`` of ``self.objs['jitnet']`` and ``['reference']``.

    Subclasses' ``setup`` fill ``objs`` and the argument tuples ``fwd`` and
    ``bwd``, and run both once so that compilation is not timed.
    """

    def time_forward_jitnet(self, *params):
        self.objs["jitnet"].forward(*self.fwd)

    def time_forward_reference(self, *params):
        self.objs["reference"].forward(*self.fwd)

    def time_backward_jitnet(self, *params):
        self.objs["jitnet"].backward(*self.bwd)

    def time_backward_reference(self, *params):
        self.objs["reference"].backward(*self.bwd)

    def track_speedup_backward(self, *params):
        return speedup(lambda: self.objs["reference"].backward(*self.bwd),
                       lambda: self.objs["jitnet"].backward(*self.bwd))
    track_speedup_backward.unit = "x"

    def _warm_up(self):
        for obj in self.objs.values():
            obj.forward(*self.fwd)
            obj.backward(*self.bwd)


class Dense(_ForwardBackward):
    """``Layer_Dense`` forward and backward on the book's layer shapes."""

    params = ([(300, 2, 64), (300, 64, 3), (128, 784, 128), (128, 128, 10)], DTYPES)
    param_names = ["n,n_in,n_out", "dtype"]

    def setup(self, shape, dtype):
        n, n_in, n_out = shape
        self.fwd = (rand((n, n_in), dtype),)
        self.bwd = (rand((n, n_out), dtype, seed=1),)
        self.objs = {name: dense_layer(lib, n_in, n_out, dtype, weight_regularizer_l2=5e-4)
                     for name, lib in LIBS.items()}
        self._warm_up()


class Activations(_ForwardBackward):
    """Forward and backward of each activation on a (300, 64) batch."""

    params = (["ReLU", "Sigmoid", "Softmax", "Linear"], DTYPES)
    param_names = ["activation", "dtype"]

    def setup(self, name, dtype):
        self.fwd, self.bwd = (rand((300, 64), dtype),), (rand((300, 64), dtype, seed=1),)
        self.objs = {lib_name: getattr(lib, f"Activation_{name}")()
                     for lib_name, lib in LIBS.items()}
        self._warm_up()


class Dropout(_ForwardBackward):
    """``Layer_Dropout(0.1)`` on chapter 15's and chapter 18's activations.

    ``track_ns_per_element`` is jitnet's forward (mask drawn and applied),
    best of 5, in nanoseconds per element: the target is at most 1.5.
    """

    params = ([(3000, 64), (3000, 512)], DTYPES)
    param_names = ["shape", "dtype"]

    def setup(self, shape, dtype):
        self.fwd, self.bwd = (rand(shape, dtype),), (rand(shape, dtype, seed=1),)
        self.objs = {name: lib.Layer_Dropout(0.1) for name, lib in LIBS.items()}
        self._warm_up()

    def track_ns_per_element(self, shape, dtype):
        return best_of(lambda: self.objs["jitnet"].forward(*self.fwd)) * 1e9 / self.fwd[0].size
    track_ns_per_element.unit = "ns"


class SoftmaxJacobian(_ForwardBackward):
    """The book's per-sample Jacobian backward on (300, 3), the issue's 100x target."""

    def setup(self):
        self.fwd, self.bwd = (rand((300, 3)),), (rand((300, 3), seed=1),)
        self.objs = {name: lib.Activation_Softmax() for name, lib in LIBS.items()}
        self._warm_up()


class Losses(_ForwardBackward):
    """Forward and backward of each loss on 300 samples."""

    params = (["CategoricalCrossentropy", "BinaryCrossentropy", "MeanSquaredError",
               "MeanAbsoluteError"], DTYPES)
    param_names = ["loss", "dtype"]

    def setup(self, name, dtype):
        rng = np.random.default_rng(0)
        if name == "CategoricalCrossentropy":
            p, y = probabilities((300, 3), dtype), rng.integers(0, 3, 300)
        elif name == "BinaryCrossentropy":
            p = rng.uniform(0.01, 0.99, (300, 1)).astype(dtype)
            y = rng.integers(0, 2, (300, 1)).astype(dtype)
        else:
            p, y = rand((300, 1), dtype), rand((300, 1), dtype, seed=1)
        self.fwd = self.bwd = (p, y)
        self.objs = {lib_name: getattr(lib, f"Loss_{name}")()
                     for lib_name, lib in LIBS.items()}
        self._warm_up()


class Optimizers:
    """One ``update_params`` of a 64x64 layer."""

    params = (["SGD", "Adagrad", "RMSprop", "Adam"], DTYPES)
    param_names = ["optimizer", "dtype"]

    def setup(self, name, dtype):
        self.pairs = {}
        for lib_name, lib in LIBS.items():
            layer = dense_layer(lib, 64, 64, dtype)
            layer.dweights = rand((64, 64), dtype) * 1e-3
            layer.dbiases = rand((1, 64), dtype) * 1e-3
            kwargs = {"momentum": 0.9} if name == "SGD" else {}
            opt = getattr(lib, f"Optimizer_{name}")(**kwargs)
            opt.update_params(layer)
            self.pairs[lib_name] = (opt, layer)

    def time_update_jitnet(self, name, dtype):
        opt, layer = self.pairs["jitnet"]
        opt.update_params(layer)

    def time_update_reference(self, name, dtype):
        opt, layer = self.pairs["reference"]
        opt.update_params(layer)
