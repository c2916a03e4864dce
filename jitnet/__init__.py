"""jitnet: the networks of "Neural Networks from Scratch in Python", compiled.

``import jitnet as jn`` gives the book's components under Pythonic names
(``jn.Dense``, ``jn.ReLU``, ``jn.Adam``, ...); ``jitnet.nnfs`` gives the same
objects under the book's names; ``jitnet.reference`` is the plain NumPy book.

The names below are imported on first use (PEP 562), so that
``import jitnet.reference`` loads NumPy only: importing Numba and SciPy costs
a process about 77 MiB and 0.4 s, which the book's code never needs
(and which would inflate the reference's side of ``python -m jitnet bench``).
"""
import importlib

__version__ = "0.1.0"

# Public name -> the module that defines it.
_HOMES = {
    "Dense": "layers", "Dropout": "layers", "Input": "layers",
    "ReLU": "activations", "Softmax": "activations", "Sigmoid": "activations",
    "Linear": "activations",
    "Loss": "losses", "CategoricalCrossentropy": "losses",
    "BinaryCrossentropy": "losses", "MeanSquaredError": "losses",
    "MeanAbsoluteError": "losses", "SoftmaxCategoricalCrossentropy": "losses",
    "SGD": "optimizers", "Adagrad": "optimizers", "RMSprop": "optimizers",
    "Adam": "optimizers",
    "Accuracy": "accuracy", "CategoricalAccuracy": "accuracy",
    "RegressionAccuracy": "accuracy",
    "Model": "model", "History": "history",
    "EarlyStopping": "callbacks", "Checkpoint": "callbacks",
}


def seed(n):
    """Seed NumPy's global generator and the one inside compiled code.

    NumPy's draws the initial weights (as in the book); the compiled one draws
    dropout masks and shuffles. One call makes a run repeatable.
    """
    import numpy as np

    from ._random import seed_compiled
    from ._validate import check_real
    n = int(check_real("seed", "n", n, low=0, high=2**32 - 1))
    np.random.seed(n)
    seed_compiled(n)


def __getattr__(name):
    if name in _HOMES:
        value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    elif name.startswith("__"):  # probes such as ``__wrapped__``; never ``__main__``
        raise AttributeError(f"module 'jitnet' has no attribute {name!r}")
    else:  # a submodule, as ``jitnet.kernels`` was when the package imported it
        try:
            value = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise  # the submodule exists; something it imports does not
            raise AttributeError(f"module 'jitnet' has no attribute {name!r}") from None
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


__all__ = [*_HOMES, "seed"]
