"""Accuracy metrics with the book's protocol: ``calculate``, ``init``, accumulation."""
import numpy as np

from ._validate import as_float_array


class Accuracy:
    """Base class: fraction of correct predictions, accumulated over batches."""

    def __init__(self):
        self.new_pass()

    def init(self, y, reinit=False):
        """Prepare from the training targets (only regression needs it)."""

    def calculate(self, predictions, y):
        """Fraction of ``predictions`` that match ``y`` in this batch."""
        comparisons = self.compare(predictions, y)
        self.accumulated_sum += int(np.sum(comparisons))
        self.accumulated_count += comparisons.size
        return float(np.mean(comparisons))

    def calculate_accumulated(self):
        """Fraction correct over every batch since ``new_pass()``."""
        return self.accumulated_sum / self.accumulated_count

    def new_pass(self):
        """Reset the running counts (start of an epoch)."""
        self.accumulated_sum = 0
        self.accumulated_count = 0

    @staticmethod
    def _aligned(predictions, y, where):
        """``predictions`` and ``y`` as arrays of one shape (``(n,)`` vs ``(n, 1)`` allowed)."""
        p, t = np.asarray(predictions), np.asarray(y)
        if p.shape != t.shape:
            if p.size == t.size and p.shape[:1] == t.shape[:1]:
                t = t.reshape(p.shape)
            else:
                raise ValueError(f"{where}: predictions have shape {p.shape}"
                                 f" but y has shape {t.shape}")
        return p, t


class CategoricalAccuracy(Accuracy):
    """Classification accuracy; ``binary=True`` for sigmoid outputs.

    One-hot targets are turned into class indices unless ``binary``.
    """

    def __init__(self, *, binary=False):
        self.binary = bool(binary)
        super().__init__()

    def compare(self, predictions, y):
        y = np.asarray(y)
        if not self.binary and y.ndim == 2:
            y = np.argmax(y, axis=1)
        p, t = self._aligned(predictions, y, "CategoricalAccuracy")
        return p == t


class RegressionAccuracy(Accuracy):
    """Share of predictions within ``precision = std(y) / 250`` of the target."""

    def __init__(self):
        self.precision = None
        super().__init__()

    def init(self, y, reinit=False):
        """Set ``precision`` from the training targets (once, unless ``reinit``)."""
        if self.precision is None or reinit:
            y = as_float_array(y, "RegressionAccuracy.init", "y", ndim=None)
            self.precision = float(np.std(y)) / 250

    def compare(self, predictions, y):
        if self.precision is None:
            self.init(y)
        p, t = self._aligned(predictions, y, "RegressionAccuracy")
        return np.absolute(p - t) < self.precision
