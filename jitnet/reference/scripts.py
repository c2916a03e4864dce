"""The book's classes as its chapter 10-17 scripts write them.

``jitnet.reference`` renders the book's final code (chapter 22). Two of its
classes do more than the earlier chapter scripts' own versions, and
``jitnet.chapters`` times those scripts' loops, so they run here as the
scripts write them:

* ``Loss.calculate(output, y)`` returns ``np.mean`` of the sample losses
  and nothing else: the running sums (``accumulated_sum``) arrive with
  chapter 19's batches.
* ``Activation_Sigmoid.forward`` is ``1 / (1 + np.exp(-inputs))``, the
  book's formula (NumPy warns of an overflow for inputs below about -88 in
  float32, as in the book), not the reference's guarded form.

Chapter 16's loop ran in 0.966, 0.956 and 0.889 of the time with these
than with the final classes (paired medians of 20 alternating blocks of 200
epochs, three processes), chapter 10's in 1.010 and 0.990: ratios measured
against the final classes flattered jitnet, chapter 16's by 4-12%. Every
other class is the reference's, which matches those scripts.
"""
import numpy as np

from . import *  # noqa: F401,F403  (the other classes, unchanged)
from . import __all__  # noqa: F401
from . import losses as _losses
from .activations import Activation_Sigmoid as _GuardedSigmoid


class _ScriptCalculate:
    """``calculate`` as chapters 10-17 write it: the mean, no running sums."""

    def calculate(self, output, y):
        """Mean sample loss of ``output`` (n, m) against ``y``."""
        sample_losses = self.forward(output, y)
        data_loss = np.mean(sample_losses)
        return data_loss


class Loss_CategoricalCrossentropy(_ScriptCalculate, _losses.Loss_CategoricalCrossentropy):
    """The reference's, with the scripts' ``calculate``."""


class Loss_BinaryCrossentropy(_ScriptCalculate, _losses.Loss_BinaryCrossentropy):
    """The reference's, with the scripts' ``calculate``."""


class Loss_MeanSquaredError(_ScriptCalculate, _losses.Loss_MeanSquaredError):
    """The reference's, with the scripts' ``calculate``."""


class Loss_MeanAbsoluteError(_ScriptCalculate, _losses.Loss_MeanAbsoluteError):
    """The reference's, with the scripts' ``calculate``."""


class Activation_Softmax_Loss_CategoricalCrossentropy(
        _losses.Activation_Softmax_Loss_CategoricalCrossentropy):
    """The reference's, whose loss has the scripts' ``calculate``."""

    def __init__(self):
        super().__init__()
        self.loss = Loss_CategoricalCrossentropy()


class Activation_Sigmoid(_GuardedSigmoid):
    """The reference's, with the book's forward formula."""

    def forward(self, inputs, training=True):
        """``output = 1 / (1 + exp(-inputs))``, shape of ``inputs``."""
        self.inputs = inputs
        self.output = 1 / (1 + np.exp(-inputs))
