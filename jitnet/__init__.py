"""jitnet: the networks of "Neural Networks from Scratch in Python", compiled.

``import jitnet as jn`` gives the book's components under Pythonic names
(``jn.Dense``, ``jn.ReLU``, ``jn.Adam``, ...); ``jitnet.nnfs`` gives the same
objects under the book's names; ``jitnet.reference`` is the plain NumPy book.
"""
import numpy as np

from . import kernels
from .accuracy import Accuracy, CategoricalAccuracy, RegressionAccuracy
from .activations import Linear, ReLU, Sigmoid, Softmax
from .history import History
from .layers import Dense, Dropout, Input
from .losses import (BinaryCrossentropy, CategoricalCrossentropy, Loss,
                     MeanAbsoluteError, MeanSquaredError,
                     SoftmaxCategoricalCrossentropy)
from .model import Model
from .optimizers import SGD, Adagrad, Adam, RMSprop
from ._validate import check_real

__version__ = "0.1.0"


def seed(n):
    """Seed NumPy's global generator and the one inside compiled code.

    NumPy's draws the initial weights (as in the book); the compiled one draws
    dropout masks and shuffles. One call makes a run repeatable.
    """
    n = int(check_real("seed", "n", n, low=0, high=2**32 - 1))
    np.random.seed(n)
    kernels.seed_rng(n)


__all__ = [
    "Dense", "Dropout", "Input", "ReLU", "Softmax", "Sigmoid", "Linear",
    "Loss", "CategoricalCrossentropy", "BinaryCrossentropy", "MeanSquaredError",
    "MeanAbsoluteError", "SoftmaxCategoricalCrossentropy",
    "SGD", "Adagrad", "RMSprop", "Adam",
    "Accuracy", "CategoricalAccuracy", "RegressionAccuracy", "Model", "History",
    "seed",
]
