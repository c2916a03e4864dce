"""The book's class names, for ``from jitnet.nnfs import *``.

Swap the class definitions of a book script for this one import and it runs
on jitnet's kernels. Each name is the very same object as its Pythonic twin
in ``jitnet`` (``jitnet.nnfs.Layer_Dense is jitnet.Dense``).
"""
from .accuracy import (Accuracy, CategoricalAccuracy as Accuracy_Categorical,
                       RegressionAccuracy as Accuracy_Regression)
from .activations import (Linear as Activation_Linear, ReLU as Activation_ReLU,
                          Sigmoid as Activation_Sigmoid,
                          Softmax as Activation_Softmax)
from .layers import Dense as Layer_Dense, Dropout as Layer_Dropout, Input as Layer_Input
from .losses import (BinaryCrossentropy as Loss_BinaryCrossentropy,
                     CategoricalCrossentropy as Loss_CategoricalCrossentropy, Loss,
                     MeanAbsoluteError as Loss_MeanAbsoluteError,
                     MeanSquaredError as Loss_MeanSquaredError,
                     SoftmaxCategoricalCrossentropy as
                     Activation_Softmax_Loss_CategoricalCrossentropy)
from .model import Model
from .optimizers import (Adagrad as Optimizer_Adagrad, Adam as Optimizer_Adam,
                         RMSprop as Optimizer_RMSprop, SGD as Optimizer_SGD)

__all__ = [
    "Layer_Dense", "Layer_Dropout", "Layer_Input",
    "Activation_ReLU", "Activation_Softmax", "Activation_Sigmoid", "Activation_Linear",
    "Loss", "Loss_CategoricalCrossentropy", "Loss_BinaryCrossentropy",
    "Loss_MeanSquaredError", "Loss_MeanAbsoluteError",
    "Activation_Softmax_Loss_CategoricalCrossentropy",
    "Optimizer_SGD", "Optimizer_Adagrad", "Optimizer_RMSprop", "Optimizer_Adam",
    "Accuracy", "Accuracy_Categorical", "Accuracy_Regression", "Model",
]
