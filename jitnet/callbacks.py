"""Callbacks for ``Model.train``: ``EarlyStopping`` and ``Checkpoint``.

A callback is a callable ``f(epoch, logs)`` or an object with
``on_epoch_end(epoch, logs)``, called after every epoch (epochs count from 1,
as ``History.epochs``) with that epoch's figures under ``History``'s names
(``loss``, ``data_loss``, ``regularization_loss``, ``accuracy``,
``learning_rate``, and ``val_loss``, ``val_accuracy`` when validating).
Returning ``True`` stops training after that epoch. Objects may also have
``set_model(model)`` (called when training starts) and ``on_train_end()``.

A lone ``EarlyStopping`` runs inside the compiled training loop (its test
and its snapshot of the best epoch cost nanoseconds per epoch); any other
list of callbacks makes ``Model.train`` run one compiled call per epoch
(about 30-50 us of Python each on the spiral), not one per printed chunk.
"""
import math

from ._validate import check_positive_int, check_real
from .history import FIELDS

__all__ = ["EarlyStopping", "Checkpoint"]


def _direction(mode, monitor, who):
    """"min" or "max": ``mode``, or for "auto" "max" on accuracies, else "min"."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    return mode


def _better(mode):
    """``better(new, best, min_delta)`` for ``mode`` ("min" or "max")."""
    if mode == "min":
        return lambda new, best, delta: new < best - delta
    return lambda new, best, delta: new > best + delta


def _figure(logs, monitor, who):
    if monitor not in logs:
        raise ValueError(f"{who}: monitor={monitor!r} is not recorded (recorded:"
                         f" {', '.join(sorted(logs))}); val_* figures need"
                         f" validation_data")
    return logs[monitor]


class EarlyStopping:
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best``, the model ends with the parameters and optimizer
    state (moments, caches, step count, learning rate) of its best epoch.
    The first epoch counts as the best so far; a NaN never improves.

    After training, ``best`` holds the best value, ``best_epoch`` its epoch
    (from 1, as ``History.epochs``) and ``wait`` the epochs since it.
    Alone in ``callbacks``, it runs inside the compiled loop (same rule, same
    result as called from Python).
    """

    def __init__(self, monitor="val_loss", patience=10, min_delta=0.0, mode="auto",
                 restore_best=True):
        self.monitor = str(monitor)
        self.patience = check_positive_int("EarlyStopping", "patience", patience)
        self.min_delta = check_real("EarlyStopping", "min_delta", min_delta, low=0)
        self.mode = _direction(mode, self.monitor, "EarlyStopping")
        self._better = _better(self.mode)
        self.restore_best = bool(restore_best)
        self.model = None

    def set_model(self, model):
        self.model = model
        self.best, self.best_epoch, self.wait, self._snapshot = math.nan, 0, 0, None

    def on_epoch_end(self, epoch, logs):
        value = _figure(logs, self.monitor, "EarlyStopping")
        if self.best_epoch == 0 or self._better(value, self.best, self.min_delta):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best and self.model is not None:
                self._snapshot = self.model._snapshot()
            return False
        self.wait += 1
        return self.wait >= self.patience

    def on_train_end(self):
        if self._snapshot is not None:
            self.model._restore(self._snapshot)

    def from_watch(self, watch, snapshot, program):
        """Take the state the compiled loop left in ``watch`` and ``snapshot``.

        ``snapshot`` holds the best epoch's parameters, then the optimizer's
        two state arrays, end to end (``kernels.program.watch_epoch``).
        """
        from .kernels import program as P  # only when training: keeps import light

        self.best, self.wait = float(watch[P.W_BEST]), int(watch[P.W_WAIT])
        self.best_epoch = int(watch[P.W_BEST_EPOCH])
        if self.restore_best and self.best_epoch > 0:
            p, s1 = program.params.size, program.state1.size
            self._snapshot = (snapshot[:p], snapshot[p:p + s1], snapshot[p + s1:],
                              int(watch[P.W_ITERATIONS]), float(watch[P.W_LEARNING_RATE]))


class Checkpoint:
    """Save the model with ``Model.save`` (atomic) when ``monitor`` improves,
    or every ``every`` epochs when ``every`` is given."""

    def __init__(self, path, monitor="val_loss", mode="auto", every=None):
        self.path = path
        self._better = _better(_direction(mode, str(monitor), "Checkpoint"))
        self.every = None if every is None else check_positive_int("Checkpoint", "every",
                                                                   every)
        self.monitor = None if self.every is not None else str(monitor)  # unused then
        self.model = None

    def set_model(self, model):
        self.model, self.best = model, None

    def on_epoch_end(self, epoch, logs):
        if self.every is not None:
            due = epoch % self.every == 0
        else:
            value = _figure(logs, self.monitor, "Checkpoint")
            due = self.best is None or self._better(value, self.best, 0.0)
            if due:
                self.best = value
        if due:
            self.model.save(self.path)
        return False


def epoch_logs(history):
    """The last epoch's figures of ``history`` as a dict (the callbacks' ``logs``)."""
    return {name: history[name][-1] for name in FIELDS if history[name]}
