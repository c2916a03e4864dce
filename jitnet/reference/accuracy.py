"""Accuracy metrics from chapters 17-20 of "Neural Networks from Scratch"."""

import numpy as np


class Accuracy:
    """Mean of ``compare(predictions, y)``, accumulated over an epoch.

    Subclasses implement ``init(y)`` and ``compare(predictions, y)``.
    """

    def __init__(self):
        # Initialised here so calculate() works without a prior new_pass().
        self.accumulated_sum = 0
        self.accumulated_count = 0

    def calculate(self, predictions, y):
        """Batch accuracy; also added to the epoch accumulators.

        Parameters
        ----------
        predictions : ndarray, shape (n,) or (n, m)
        y : ndarray, shape matching what ``compare`` expects

        Returns
        -------
        float
            Fraction of comparisons that are True.
        """
        comparisons = self.compare(predictions, y)
        accuracy = np.mean(comparisons)
        self.accumulated_sum += np.sum(comparisons)
        self.accumulated_count += len(comparisons)
        return accuracy

    def calculate_accumulated(self):
        """Accuracy over everything since the last ``new_pass``."""
        return self.accumulated_sum / self.accumulated_count

    def new_pass(self):
        """Reset the accumulators."""
        self.accumulated_sum = 0
        self.accumulated_count = 0


class Accuracy_Categorical(Accuracy):
    """Exact-match accuracy for classifiers.

    Parameters
    ----------
    binary : bool, default False
        True for sigmoid (binary) outputs, where ``y`` of shape (n, m) holds
        0/1 targets rather than one-hot rows and must not be argmax-ed.
    """

    def __init__(self, *, binary=False):
        super().__init__()
        self.binary = binary

    def init(self, y):
        """Nothing to prepare for categorical accuracy."""

    def compare(self, predictions, y):
        """Element-wise ``predictions == y`` (one-hot ``y`` is argmax-ed)."""
        if not self.binary and len(y.shape) == 2:
            y = np.argmax(y, axis=1)
        return predictions == y


class Accuracy_Regression(Accuracy):
    """A prediction counts as correct when within ``precision`` of the target.

    Attributes
    ----------
    precision : float or None
        ``np.std(y) / 250``, set by ``init``.
    """

    def __init__(self):
        super().__init__()
        self.precision = None

    def init(self, y, reinit=False):
        """Set ``precision = std(y) / 250`` unless already set (or reinit)."""
        if self.precision is None or reinit:
            self.precision = np.std(y) / 250

    def compare(self, predictions, y):
        """``|predictions - y| < precision``, element-wise."""
        return np.absolute(predictions - y) < self.precision
