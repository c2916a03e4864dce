"""Kernel benchmarks: each jitnet kernel (through its class) against the book's NumPy.

``time_*`` time one call; ``track_speedup_*`` time both in one process and
return the ratio, so ``asv publish`` plots jitnet's lead over the book.
"""
import numpy as np

from jitnet import workloads as W

from .common import DTYPES, probabilities, rand, speedup

LIBS = W.LIBRARIES


class Dense:
    """``Layer_Dense`` forward and backward on the book's layer shapes."""

    params = ([(300, 2, 64), (300, 64, 3), (128, 784, 128), (128, 128, 10)], DTYPES)
    param_names = ["n,n_in,n_out", "dtype"]

    def setup(self, shape, dtype):
        n, n_in, n_out = shape
        self.x, self.dv = rand((n, n_in), dtype), rand((n, n_out), dtype, seed=1)
        self.layers = {}
        for name, lib in LIBS.items():
            np.random.seed(0)
            layer = lib.Layer_Dense(n_in, n_out, weight_regularizer_l2=5e-4)
            layer.weights = layer.weights.astype(dtype)
            layer.biases = layer.biases.astype(dtype)
            layer.forward(self.x)
            layer.backward(self.dv)  # compiles jitnet's kernels here, not in timing
            self.layers[name] = layer

    def time_forward_jitnet(self, shape, dtype):
        self.layers["jitnet"].forward(self.x)

    def time_forward_reference(self, shape, dtype):
        self.layers["reference"].forward(self.x)

    def time_backward_jitnet(self, shape, dtype):
        self.layers["jitnet"].backward(self.dv)

    def time_backward_reference(self, shape, dtype):
        self.layers["reference"].backward(self.dv)

    def track_speedup_backward(self, shape, dtype):
        return speedup(lambda: self.layers["reference"].backward(self.dv),
                       lambda: self.layers["jitnet"].backward(self.dv))
    track_speedup_backward.unit = "x"


class Activations:
    """Forward and backward of each activation on a (300, 64) batch."""

    params = (["ReLU", "Sigmoid", "Softmax", "Linear"], DTYPES)
    param_names = ["activation", "dtype"]

    def setup(self, name, dtype):
        self.x, self.dv = rand((300, 64), dtype), rand((300, 64), dtype, seed=1)
        self.acts = {lib_name: getattr(lib, f"Activation_{name}")()
                     for lib_name, lib in LIBS.items()}
        for act in self.acts.values():
            act.forward(self.x)
            act.backward(self.dv)

    def time_forward_jitnet(self, name, dtype):
        self.acts["jitnet"].forward(self.x)

    def time_forward_reference(self, name, dtype):
        self.acts["reference"].forward(self.x)

    def time_backward_jitnet(self, name, dtype):
        self.acts["jitnet"].backward(self.dv)

    def time_backward_reference(self, name, dtype):
        self.acts["reference"].backward(self.dv)

    def track_speedup_backward(self, name, dtype):
        return speedup(lambda: self.acts["reference"].backward(self.dv),
                       lambda: self.acts["jitnet"].backward(self.dv))
    track_speedup_backward.unit = "x"


class SoftmaxJacobian:
    """The book's per-sample Jacobian backward on (300, 3), the issue's 100x target."""

    def setup(self):
        self.x, self.dv = rand((300, 3)), rand((300, 3), seed=1)
        self.acts = {name: lib.Activation_Softmax() for name, lib in LIBS.items()}
        for act in self.acts.values():
            act.forward(self.x)
            act.backward(self.dv)

    def time_jitnet(self):
        self.acts["jitnet"].backward(self.dv)

    def time_reference(self):
        self.acts["reference"].backward(self.dv)

    def track_speedup(self):
        return speedup(lambda: self.acts["reference"].backward(self.dv),
                       lambda: self.acts["jitnet"].backward(self.dv))
    track_speedup.unit = "x"


class Losses:
    """Forward and backward of each loss on 300 samples."""

    params = (["CategoricalCrossentropy", "BinaryCrossentropy", "MeanSquaredError",
               "MeanAbsoluteError"], DTYPES)
    param_names = ["loss", "dtype"]

    def setup(self, name, dtype):
        rng = np.random.default_rng(0)
        if name == "CategoricalCrossentropy":
            self.p, self.y = probabilities((300, 3), dtype), rng.integers(0, 3, 300)
        elif name == "BinaryCrossentropy":
            self.p = rng.uniform(0.01, 0.99, (300, 1)).astype(dtype)
            self.y = rng.integers(0, 2, (300, 1)).astype(dtype)
        else:
            self.p, self.y = rand((300, 1), dtype), rand((300, 1), dtype, seed=1)
        self.losses = {lib_name: getattr(lib, f"Loss_{name}")()
                       for lib_name, lib in LIBS.items()}
        for loss in self.losses.values():
            loss.forward(self.p, self.y)
            loss.backward(self.p, self.y)

    def time_forward_jitnet(self, name, dtype):
        self.losses["jitnet"].forward(self.p, self.y)

    def time_forward_reference(self, name, dtype):
        self.losses["reference"].forward(self.p, self.y)

    def time_backward_jitnet(self, name, dtype):
        self.losses["jitnet"].backward(self.p, self.y)

    def time_backward_reference(self, name, dtype):
        self.losses["reference"].backward(self.p, self.y)


class Optimizers:
    """One ``update_params`` of a 64x64 layer."""

    params = (["SGD", "Adagrad", "RMSprop", "Adam"], DTYPES)
    param_names = ["optimizer", "dtype"]

    def setup(self, name, dtype):
        self.pairs = {}
        for lib_name, lib in LIBS.items():
            np.random.seed(0)
            layer = lib.Layer_Dense(64, 64)
            layer.weights = layer.weights.astype(dtype)
            layer.biases = layer.biases.astype(dtype)
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
