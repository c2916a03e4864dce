"""Pure-NumPy reference implementation of "Neural Networks from Scratch".

A faithful rendering of chapters 9-22 of Kinsley & Kukiela's book, with the
book's class names and attribute protocol (``forward`` sets ``output``,
``backward`` sets ``dinputs`` / ``dweights`` / ``dbiases``).  It is the
correctness oracle and speed baseline for the rest of ``jitnet``, so it
keeps the book's math and numerics, with two documented fixes:

* ``Activation_Sigmoid`` is computed without overflow for large negative
  inputs (same values as ``1 / (1 + exp(-x))``).
* ``Loss_MeanAbsoluteError.backward`` uses ``sign(p - y)``; the book's
  listing has the sign reversed.
"""

from .accuracy import Accuracy, Accuracy_Categorical, Accuracy_Regression
from .activations import (Activation_Linear, Activation_ReLU,
                          Activation_Sigmoid, Activation_Softmax)
from .layers import Layer_Dense, Layer_Dropout, Layer_Input
from .losses import (Activation_Softmax_Loss_CategoricalCrossentropy, Loss,
                     Loss_BinaryCrossentropy, Loss_CategoricalCrossentropy,
                     Loss_MeanAbsoluteError, Loss_MeanSquaredError)
from .model import Model
from .optimizers import (Optimizer_Adagrad, Optimizer_Adam,
                         Optimizer_RMSprop, Optimizer_SGD)

__all__ = [
    'Layer_Dense', 'Layer_Dropout', 'Layer_Input',
    'Activation_ReLU', 'Activation_Softmax', 'Activation_Sigmoid',
    'Activation_Linear',
    'Loss', 'Loss_CategoricalCrossentropy', 'Loss_BinaryCrossentropy',
    'Loss_MeanSquaredError', 'Loss_MeanAbsoluteError',
    'Activation_Softmax_Loss_CategoricalCrossentropy',
    'Optimizer_SGD', 'Optimizer_Adagrad', 'Optimizer_RMSprop',
    'Optimizer_Adam',
    'Accuracy', 'Accuracy_Categorical', 'Accuracy_Regression',
    'Model',
]
