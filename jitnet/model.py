"""``Model``: the book's chapter 18-22 API, trained by one compiled program.

``finalize`` lays the network out as a tape and flat arenas (see
``jitnet/_program.py``); ``train`` then makes one call into compiled code
per printed line (or one for the whole run when quiet), which runs every
batch of those epochs: forward, loss, accuracy, backward, regularisation and
the optimizer update.
"""
import math
import sys
from contextlib import nullcontext

import numpy as np

from . import _compile, _files, _random
from ._interrupt import Interruptible
from .callbacks import EarlyStopping, epoch_logs
from ._program import LOSS_CODES, OP_CODES, Program, optimizer_settings
from ._validate import (as_class_labels, as_float_array, check_positive_int)
from .accuracy import CategoricalAccuracy, RegressionAccuracy
from .activations import Softmax
from .history import FIELDS, History
from .kernels import all_finite, program as P
from .layers import Dense, Input
from .losses import (BinaryCrossentropy, CategoricalCrossentropy,
                     SoftmaxCategoricalCrossentropy)
from .optimizers import SGD, Adagrad, Adam, RMSprop
from . import _serialize


def _progress_bar(epochs):
    """A tqdm bar over epochs when printing to a terminal and tqdm is installed."""
    if not (hasattr(sys.stdout, "isatty") and sys.stdout.isatty()):
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=epochs, unit="epoch", leave=False, dynamic_ncols=True)


#: Epochs per compiled call at most: their figures' array stays small
#: (65536 x 7 float64 is 3.7 MB) however many epochs a call asks for.
MAX_CHUNK = 1 << 16


def _check_callbacks(callbacks, validating, where):
    """``callbacks`` as a list, each usable, monitoring a figure that will exist."""
    if callbacks is None:
        return []
    if callable(callbacks) or hasattr(callbacks, "on_epoch_end"):
        callbacks = [callbacks]
    callbacks = list(callbacks)
    for callback in callbacks:
        if not (callable(callback) or callable(getattr(callback, "on_epoch_end", None))):
            raise TypeError(f"{where}: callbacks must be callables f(epoch, logs) or"
                            f" objects with on_epoch_end(epoch, logs), got {callback!r}")
        monitor = getattr(callback, "monitor", None)
        recorded = [f for f in FIELDS if validating or not f.startswith("val_")]
        if isinstance(monitor, str) and monitor not in recorded:
            need = " (it needs validation_data)" if monitor in FIELDS else ""
            raise ValueError(f"{where}: {type(callback).__name__} monitors {monitor!r},"
                             f" which this run does not record{need};"
                             f" recorded: {', '.join(recorded)}")
    return callbacks


#: Multiply-adds of one compiled inference call at most (``Model._pieces``).
INFERENCE_PIECE_MACS = 2 ** 27

#: Column of ``stats`` (kernels/program.py) holding each History field.
_STAT_COLUMN = dict(zip(FIELDS, (P.S_LOSS, P.S_DATA_LOSS, P.S_REG_LOSS, P.S_ACCURACY,
                                 P.S_LEARNING_RATE, P.S_VAL_LOSS, P.S_VAL_ACCURACY)))


def _watch(callbacks, program):
    """Early stopping for the compiled loop: ``(watch, snapshot, callback)``.

    A lone ``EarlyStopping`` (exactly that class: a subclass may change its
    rule) runs inside ``train_epochs``, so training keeps its chunks of many
    epochs per call; anything else leaves ``watch`` off (column -1) and the
    callbacks are called from Python after every epoch.
    """
    # dtype given positionally: nnfs.init()'s np.zeros makes float32 otherwise
    # (a second compilation of train_epochs, and float32 bookkeeping).
    watch = np.zeros(P.WATCH_SIZE, np.float64)
    watch[P.W_COLUMN] = -1.0
    snapshot = program.params[:0]
    if len(callbacks) != 1 or type(callbacks[0]) is not EarlyStopping:
        return watch, snapshot, None
    early = callbacks[0]
    watch[P.W_COLUMN] = _STAT_COLUMN[early.monitor]
    watch[P.W_SIGN] = 1.0 if early.mode == "min" else -1.0
    watch[P.W_MIN_DELTA], watch[P.W_PATIENCE] = early.min_delta, early.patience
    if early.restore_best:
        snapshot = np.empty(program.params.size + program.state1.size
                            + program.state2.size, program.dtype)
    return watch, snapshot, early


def _call(callback, epoch, logs):
    method = getattr(callback, "on_epoch_end", None)
    return method(epoch, logs) if callable(method) else callback(epoch, logs)


def _printed_steps(steps, print_every):
    """How many of an epoch's ``steps`` the book prints: step 0, every
    ``print_every``-th and the last (0 when ``print_every`` is 0)."""
    if print_every <= 0:
        return 0
    return -(-steps // print_every) + ((steps - 1) % print_every != 0)


def _figures(row, prefix):
    """``prefix, acc: ..., loss: ... (data_loss: ..., reg_loss: ...), lr: ...``."""
    return (f"{prefix}acc: {row[P.STEP_ACCURACY]:.3f}, loss: {row[P.STEP_LOSS]:.3f} ("
            f"data_loss: {row[P.STEP_DATA_LOSS]:.3f}, reg_loss: {row[P.STEP_REG_LOSS]:.3f}), "
            f"lr: {float(row[P.STEP_LEARNING_RATE])}")


def _print_epoch_line(epoch, row, write):
    """Chapter 18's line: the epoch's one step, before its update."""
    write(_figures(row, f"epoch: {epoch}, "))


def _print_validation(loss, accuracy, write):
    write(f"validation, acc: {accuracy:.3f}, loss: {loss:.3f}")


def _print_steps_form(history, step_stats, validating, write):
    """Chapters 19-22: ``epoch:``, the step lines, ``training,``, ``validation,``."""
    write(f"epoch: {history.epochs[-1]}")
    for row in step_stats:
        write(_figures(row, f"step: {int(row[P.STEP_NUMBER])}, "))
    epoch = {P.STEP_ACCURACY: history.accuracy[-1], P.STEP_LOSS: history.loss[-1],
             P.STEP_DATA_LOSS: history.data_loss[-1],
             P.STEP_REG_LOSS: history.regularization_loss[-1],
             P.STEP_LEARNING_RATE: history.learning_rate[-1]}
    write(_figures(epoch, "training, "))
    if validating:
        _print_validation(history.val_loss[-1], history.val_accuracy[-1], write)


class Model:
    """A sequential network with the book's ``Model`` protocol.

    >>> model = Model()
    >>> model.add(Dense(2, 64)); model.add(ReLU()); model.add(Dense(64, 3))
    >>> model.add(Softmax())
    >>> model.set(loss=CategoricalCrossentropy(), optimizer=Adam(0.05, decay=5e-7),
    ...           accuracy=CategoricalAccuracy())
    >>> model.finalize()
    >>> history = model.train(X, y, epochs=10001, print_every=100)

    Supported layers: ``Dense``, ``Dropout``, ``ReLU``, ``Softmax``,
    ``Sigmoid``, ``Linear``; losses: the four; optimizers: the four. A
    ``Softmax`` last with ``CategoricalCrossentropy`` uses the fused gradient.
    """

    def __init__(self):
        self.layers = []
        self.loss = self.optimizer = self.accuracy = None
        self.softmax_classifier_output = None
        self._program = None
        #: The History of the last ``train`` call, filled as its epochs finish.
        self.history = None

    def __getstate__(self):
        # The arenas are rebuilt on unpickling: pickle copies each layer's
        # weights separately, which would cut them loose from the arena.
        state = self.__dict__.copy()
        state["_program"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "input_layer" in state:  # it had been finalized
            self.finalize()

    # ------------------------------------------------------------ building

    def add(self, layer):
        """Append a layer or activation."""
        if type(layer) not in OP_CODES:
            names = ", ".join(sorted(cls.__name__ for cls in OP_CODES))
            raise TypeError(f"Model.add: {type(layer).__name__} is not supported;"
                            f" use one of {names} (from jitnet or jitnet.nnfs)")
        self.layers.append(layer)
        self._program = None

    def set(self, *, loss=None, optimizer=None, accuracy=None):
        """Set the loss, optimizer and accuracy (``None`` leaves one unchanged)."""
        if loss is not None and type(loss) not in LOSS_CODES:
            raise TypeError(f"Model.set: loss must be one of"
                            f" {', '.join(c.__name__ for c in LOSS_CODES)},"
                            f" got {type(loss).__name__}")
        if optimizer is not None and not isinstance(optimizer, (SGD, Adagrad, RMSprop, Adam)):
            raise TypeError(f"Model.set: optimizer must be SGD, Adagrad, RMSprop"
                            f" or Adam, got {type(optimizer).__name__}")
        if accuracy is not None and not isinstance(
                accuracy, (CategoricalAccuracy, RegressionAccuracy)):
            raise TypeError(f"Model.set: accuracy must be CategoricalAccuracy or"
                            f" RegressionAccuracy, got {type(accuracy).__name__}")
        self.loss = loss if loss is not None else self.loss
        self.optimizer = optimizer if optimizer is not None else self.optimizer
        self.accuracy = accuracy if accuracy is not None else self.accuracy
        self._program = None

    def finalize(self):
        """Link the layers (book attributes) and compile the network's layout."""
        if not self.layers:
            raise ValueError("Model.finalize: add layers first")
        self.input_layer = Input()
        self.trainable_layers = [lay for lay in self.layers if isinstance(lay, Dense)]
        for i, layer in enumerate(self.layers):
            layer.prev = self.layers[i - 1] if i else self.input_layer
            layer.next = self.layers[i + 1] if i + 1 < len(self.layers) else self.loss
        self.output_layer_activation = self.layers[-1]
        if self.loss is not None:
            self.loss.remember_trainable_layers(self.trainable_layers)
        fused = (isinstance(self.layers[-1], Softmax)
                 and isinstance(self.loss, CategoricalCrossentropy))
        # As in the book, setting this to None afterwards turns fusing off.
        self.softmax_classifier_output = SoftmaxCategoricalCrossentropy() if fused else None
        self._program = Program(self.layers, self.optimizer)

    def _ready(self, where, need_loss=True, need_optimizer=False):
        if need_loss and self.loss is None:
            raise ValueError(f"{where}: no loss; call model.set(loss=...) first")
        if need_optimizer and self.optimizer is None:
            raise ValueError(f"{where}: no optimizer; call model.set(optimizer=...) first")
        if self._program is None:
            self.finalize()
        self._program.sync_parameters()
        return self._program

    # ---------------------------------------------------------------- data

    def _inputs(self, X, where, name="X"):
        prog = self._program
        X = as_float_array(X, where, name, dtype=prog.dtype)
        if X.shape[1] != prog.n_features:
            raise ValueError(f"{where}: {name} has shape {X.shape} ({X.shape[1]}"
                             f" features) but the model's first Dense layer"
                             f" expects {prog.n_features} features")
        if not all_finite(X):
            raise ValueError(f"{where}: {name} (shape {X.shape}) holds NaN or inf")
        return X

    def _targets(self, y, where, n, name="y"):
        """(sparse, y_int, y_float) in the interpreter's layout."""
        prog = self._program
        empty_int = np.empty(0, np.intp)
        if isinstance(self.loss, CategoricalCrossentropy):
            labels = as_class_labels(y, where, n, prog.n_outputs, prog.dtype)
            if labels.ndim == 1:  # one label dtype keeps one compiled program
                return (True, np.ascontiguousarray(labels, dtype=np.intp),
                        np.empty((0, prog.n_outputs), prog.dtype))
            return False, empty_int, labels  # one-hot, checked finite
        y = as_float_array(y, where, name, dtype=prog.dtype, ndim=None)
        if y.ndim == 1 and prog.n_outputs == 1:
            y = y.reshape(-1, 1)
        if y.shape != (n, prog.n_outputs):
            raise ValueError(f"{where}: {name} has shape {y.shape} but the model"
                             f" gives ({n}, {prog.n_outputs}) for {n} samples")
        if not all_finite(y):
            raise ValueError(f"{where}: {name} (shape {y.shape}) holds NaN or inf")
        return False, empty_int, y

    def _accuracy_settings(self, sparse, y_int, y_float, where):
        accuracy = self.accuracy
        if accuracy is None:  # a sensible default, as Keras' "accuracy"
            accuracy = self.accuracy = (
                RegressionAccuracy() if not isinstance(
                    self.loss, (CategoricalCrossentropy, BinaryCrossentropy))
                else CategoricalAccuracy(
                    binary=isinstance(self.loss, BinaryCrossentropy)))
        if isinstance(accuracy, RegressionAccuracy):
            if isinstance(self.loss, CategoricalCrossentropy):
                raise ValueError(f"{where}: RegressionAccuracy does not fit a"
                                 f" CategoricalCrossentropy loss")
            accuracy.init(y_float)
            return P.ACC_REGRESSION, float(accuracy.precision)
        if accuracy.binary:
            if isinstance(self.loss, CategoricalCrossentropy):
                raise ValueError(f"{where}: CategoricalAccuracy(binary=True) does"
                                 f" not fit a CategoricalCrossentropy loss")
            return P.ACC_BINARY, 0.0
        return P.ACC_CATEGORICAL, 0.0

    @staticmethod
    def _batch_size(batch_size, n, where):
        if batch_size is None:
            return n
        return min(check_positive_int(where, "batch_size", batch_size), n)

    # ------------------------------------------------------------ training

    def train(self, X, y, *, epochs=1, batch_size=None, print_every=1,
              validation_data=None, shuffle=False, verbose=True, callbacks=None):
        """Train; return a :class:`History` of this call's epochs.

        Parameters
        ----------
        X : (n, n_features) array_like
        y : (n,) class indices, (n, k) one-hot or (n, n_outputs) targets
        epochs : int > 0
        batch_size : int > 0 or None (the whole set in one batch)
            The last batch may be smaller; it is used.
        print_every : int > 0
            With ``batch_size`` (the book's chapters 19-22), every epoch
            prints ``epoch: N``, a ``step:`` line for step 0, every
            ``print_every``-th step and the last step, a ``training,``
            summary and, with ``validation_data``, a ``validation,`` line.
            Without it (chapter 18), an ``epoch:`` line every ``print_every``
            epochs and one ``validation,`` line after the last epoch.
        validation_data : (X_val, y_val) or None
            Evaluated after every epoch, in inference mode (no dropout).
        shuffle : bool
            Reshuffle the rows every epoch (compiled RNG; see ``jitnet.seed``;
            unseeded, it is seeded from NumPy's global state, ``jitnet._random``).
        verbose : bool
        callbacks : list or None
            Callables ``f(epoch, logs)`` or objects with ``on_epoch_end(epoch,
            logs)`` (see :mod:`jitnet.callbacks`: ``EarlyStopping``,
            ``Checkpoint``), called after every epoch; one returning True
            stops training after that epoch.

        Raises
        ------
        FloatingPointError
            When the loss stops being finite (the learning rate is too high).
        """
        where = "Model.train"
        # This call's, filled as epochs finish; set first, so that whatever
        # stops the call (a bad argument, Ctrl-C while compiling) leaves it.
        history = self.history = History()
        prog = self._ready(where, need_optimizer=True)
        compilation = _compile.begin(prog.dtype)  # on two cores if nothing is cached
        epochs = check_positive_int(where, "epochs", epochs)
        print_every = check_positive_int(where, "print_every", print_every)
        X = self._inputs(X, where)
        sparse, y_int, y_float = self._targets(y, where, X.shape[0])
        batch = self._batch_size(batch_size, X.shape[0], where)
        acc_code, precision = self._accuracy_settings(sparse, y_int, y_float, where)
        if validation_data is not None:
            try:
                X_val, y_val = validation_data
            except (TypeError, ValueError):
                raise TypeError(f"{where}: validation_data must be a pair"
                                f" (X_val, y_val)") from None
            X_val = self._inputs(X_val, where, "X_val")
            val_sparse, y_val_int, y_val_float = self._targets(
                y_val, where, X_val.shape[0], "y_val")
            if val_sparse != sparse:
                raise ValueError(f"{where}: y and y_val must both be class"
                                 f" indices or both one-hot")
        else:
            X_val = np.empty((0, prog.n_features), prog.dtype)
            y_val_int, y_val_float = y_int[:0], y_float[:0]
        prog.ensure_capacity(batch)  # validation runs in batches of the same size
        opt_code, hyper = optimizer_settings(self.optimizer)
        hyper = np.array(hyper, dtype=np.float64)
        opt_state = np.array([self.optimizer.iterations,
                              self.optimizer.current_learning_rate], np.float64)
        order = np.arange(X.shape[0], dtype=np.intp)
        if shuffle or (prog.keep < 1).any():  # the compiled generator will draw
            _random.ensure_seeded()
        fused = self.softmax_classifier_output is not None
        if compilation is not None:
            compilation.complete()
        bar = _progress_bar(epochs) if verbose else None
        # The book's two forms (see print_every): with batches, every epoch
        # prints its step lines, so one epoch per compiled call; without,
        # one step per epoch, whose figures print every print_every epochs.
        steps = -(-X.shape[0] // batch)
        book_steps = verbose and batch_size is not None
        print_steps = (print_every if book_steps else steps) if verbose else 0
        printed_per_epoch = _printed_steps(steps, print_steps)
        validating = validation_data is not None
        callbacks = _check_callbacks(callbacks, validating, where)
        for callback in callbacks:
            if hasattr(callback, "set_model"):
                callback.set_model(self)
        watch, snapshot, early = _watch(callbacks, prog)
        per_epoch = bool(callbacks) and early is None  # Python callbacks: one epoch a call
        write = bar.write if bar is not None else print
        # The bar closes on every way out (tqdm is a context manager).
        with Interruptible() as ctrl_c, bar if bar is not None else nullcontext():
            done = 0
            while done < epochs:
                chunk = epochs - done
                if book_steps or per_epoch:
                    chunk = 1
                elif verbose:  # stop at the next epoch that prints
                    chunk = min(chunk, print_every - done % print_every)
                if bar is not None:  # and often enough to move the bar
                    chunk = min(chunk, max(1, epochs // 100))
                chunk = min(chunk, MAX_CHUNK)  # bounds the figures' arrays below
                stats = np.full((chunk, P.STAT_COLUMNS), np.nan)
                step_stats = np.full((chunk * printed_per_epoch, P.STEP_COLUMNS),
                                     np.nan)
                finished = P.train_epochs(
                    prog.tape, prog.keep, prog.regs, prog.params, prog.grads,
                    prog.state1, prog.state2, prog.acts, prog.dacts, prog.masks,
                    prog.sample_losses, prog.x_buffer, prog.y_int_buffer,
                    prog.y_float_buffer, LOSS_CODES[type(self.loss)], fused,
                    sparse, acc_code, precision, opt_code, hyper, opt_state, X,
                    y_int, y_float, X_val, y_val_int, y_val_float, chunk, batch,
                    bool(shuffle), order, stats, print_steps, step_stats, ctrl_c.stop,
                    watch, snapshot)
                self.optimizer.iterations = int(opt_state[0])
                self.optimizer.current_learning_rate = float(opt_state[1])
                self._record(history, done, stats[:finished], validating)
                done += finished
                if book_steps and finished:
                    _print_steps_form(history, step_stats, validating, write)
                # A chunk ends at the next epoch that prints, so only its last row can.
                elif verbose and finished and done % print_every == 0:
                    _print_epoch_line(history.epochs[-1], step_stats[finished - 1], write)
                if bar is not None and finished:
                    bar.update(finished)
                    bar.set_postfix(loss=f"{history.loss[-1]:.3f}",
                                    acc=f"{history.accuracy[-1]:.3f}", refresh=False)
                if ctrl_c.stop[0]:
                    break  # Ctrl-C: raised below, the model consistent
                # The compiled loop ends a chunk after the first epoch whose
                # loss is not finite, which may be the chunk's last (or only) one.
                if finished and not math.isfinite(history.loss[-1]):
                    raise FloatingPointError(
                        f"{where}: the loss became {history.loss[-1]} at epoch"
                        f" {done}; training stopped. The learning rate"
                        f" ({self.optimizer.current_learning_rate:g}) is probably"
                        f" too high: try a lower one")
                if watch[P.W_STOPPED]:
                    break  # early stopping, in the compiled loop
                if per_epoch and finished == chunk:
                    logs = epoch_logs(history)
                    stops = [_call(callback, history.epochs[-1], logs)
                             for callback in callbacks]
                    if any(stop is True for stop in stops):
                        break
        if early is not None:  # its figures, as the Python rule leaves them, Ctrl-C or not
            early.from_watch(watch, snapshot, self._program)
        ctrl_c.check()  # after the model is consistent: Ctrl-C raises here
        for callback in callbacks:
            if hasattr(callback, "on_train_end"):
                callback.on_train_end()
        if verbose and not book_steps and validating:  # chapter 18: once, at the end
            _print_validation(history.val_loss[-1], history.val_accuracy[-1], write)
        return history



    def _snapshot(self):
        """Copies of the parameters and optimizer state (``EarlyStopping``)."""
        prog = self._program
        return (prog.params.copy(), prog.state1.copy(), prog.state2.copy(),
                self.optimizer.iterations, self.optimizer.current_learning_rate)

    def _restore(self, snapshot):
        """Put a :meth:`_snapshot` back, in place (layers' arrays are views)."""
        prog = self._program
        params, state1, state2, iterations, learning_rate = snapshot
        prog.params[...], prog.state1[...], prog.state2[...] = params, state1, state2
        self.optimizer.iterations = iterations
        self.optimizer.current_learning_rate = learning_rate

    @staticmethod
    def _record(history, done, rows, validating):
        """Append ``rows`` (epochs ``done + 1`` on) of ``stats`` to ``history``.

        Whole columns at once: a Python loop per epoch cost about 5 us of the
        spiral's 35 us epoch (float boxing, and garbage collections that scan
        Numba's many objects).
        """
        history.epochs.extend(range(done + 1, done + 1 + rows.shape[0]))
        for name, column in _STAT_COLUMN.items():
            if validating or not name.startswith("val_"):
                history[name].extend(rows[:, column].tolist())

    # ----------------------------------------------------------- inference

    def evaluate(self, X, y, *, batch_size=None, verbose=True):
        """Return ``(loss, accuracy)`` on (X, y); the loss excludes regularisation.

        Prints the book's ``validation, acc: ..., loss: ...`` line when ``verbose``.
        """
        where = "Model.evaluate"
        prog = self._ready(where)
        X = self._inputs(X, where)
        sparse, y_int, y_float = self._targets(y, where, X.shape[0])
        batch = self._batch_size(batch_size, X.shape[0], where)
        acc_code, precision = self._accuracy_settings(sparse, y_int, y_float, where)
        batch, piece = self._pieces(prog, X.shape[0], batch)
        prog.ensure_capacity(batch)
        totals = np.zeros(3, np.float64)  # loss sum, correct, compared (see _watch)
        for start in range(0, X.shape[0], piece):  # Ctrl-C lands between pieces
            stop = start + piece
            yi = y_int[start:stop] if sparse else y_int
            yf = y_float[start:stop] if not sparse else y_float
            totals += P.evaluate_batches(
                prog.tape, prog.keep, prog.params, prog.acts, prog.masks,
                prog.sample_losses, LOSS_CODES[type(self.loss)], sparse, acc_code,
                precision, X[start:stop], yi, yf, batch)
        loss, accuracy = totals[0] / X.shape[0], totals[1] / totals[2]
        if verbose:
            print(f"validation, acc: {accuracy:.3f}, loss: {loss:.3f}")
        return float(loss), float(accuracy)

    def predict(self, X, *, batch_size=None):
        """The output layer's values for ``X``, shape ``(n, n_outputs)``.

        ``model.output_layer_activation.predictions(outputs)`` turns them into
        classes (chapter 21).
        """
        where = "Model.predict"
        prog = self._ready(where, need_loss=False)
        X = self._inputs(X, where)
        batch = self._batch_size(batch_size, X.shape[0], where)
        batch, piece = self._pieces(prog, X.shape[0], batch)
        prog.ensure_capacity(batch)
        outputs = np.empty((X.shape[0], prog.n_outputs), prog.dtype)
        for start in range(0, X.shape[0], piece):  # Ctrl-C lands between pieces
            P.predict_batches(prog.tape, prog.keep, prog.params, prog.acts,
                              prog.masks, X[start:start + piece], batch,
                              outputs[start:start + piece])
        return outputs

    @staticmethod
    def _pieces(prog, n, batch):
        """``(batch, piece)``: inference on ``n`` rows in compiled calls of
        ``piece`` rows, a whole number of batches.

        A compiled call runs no Python, so Ctrl-C (Python's default handler)
        raises only once it returns; calls of at most
        :data:`INFERENCE_PIECE_MACS` multiply-adds (a few hundredths of a
        second here) keep that within 0.5 s on any input. Smaller inputs run
        in one call, as before; a larger one without ``batch_size`` runs in
        batches of ``piece`` rows (the arena then holds ``piece`` rows, not
        ``n``). Outputs are the same up to float rounding: a layer may take
        another loop order for another number of rows.
        """
        per_row = sum(layer.weights.size for layer in prog.dense) + int(prog._widths.sum())
        rows = max(1, INFERENCE_PIECE_MACS // per_row)
        if rows >= n:
            return batch, n
        if batch >= n:  # no batch_size: one batch per piece
            return rows, rows
        return batch, max(batch, rows // batch * batch)

    # ---------------------------------------------------------- parameters

    def get_parameters(self):
        """``[(weights, biases), ...]`` per trainable layer (copies)."""
        self._ready("Model.get_parameters", need_loss=False)
        return [(lay.weights.copy(), lay.biases.copy()) for lay in self.trainable_layers]

    def set_parameters(self, parameters):
        """Set every trainable layer from ``[(weights, biases), ...]``."""
        where = "Model.set_parameters"
        self._ready(where, need_loss=False)
        parameters = list(parameters)
        if len(parameters) != len(self.trainable_layers):
            raise ValueError(f"{where}: got {len(parameters)} (weights, biases)"
                             f" pairs for {len(self.trainable_layers)} Dense layers")
        for i, (pair, layer) in enumerate(zip(parameters, self.trainable_layers)):
            weights, biases = pair
            for name, value, target in (("weights", weights, layer.weights),
                                        ("biases", biases, layer.biases)):
                value = np.asarray(value)
                if value.size != target.size or value.ndim not in (1, 2) or (
                        value.ndim == 2 and value.shape[0] != target.shape[0]
                        and name == "weights"):
                    raise ValueError(f"{where}: layer {i} {name} have shape"
                                     f" {value.shape}, expected {target.shape}")
                checked = as_float_array(value, where, name, dtype=target.dtype,
                                         ndim=None)
                if not all_finite(checked):
                    raise ValueError(f"{where}: layer {i} {name} hold NaN or inf")
                target[...] = checked.reshape(target.shape)

    def save_parameters(self, path):
        """Write the parameters to ``path``, atomically, in a format that runs no code.

        A name ending in ``.safetensors`` gives a safetensors file, any other
        an ``.npz`` archive. Arrays ``w0``, ``b0``, ``w1``, ...: the i-th Dense
        layer's weights ``(n_inputs, n_neurons)`` and biases ``(1, n_neurons)``,
        in the model's dtype.
        """
        arrays = {}
        for i, (w, b) in enumerate(self.get_parameters()):
            arrays[f"w{i}"], arrays[f"b{i}"] = w, b
        _files.write_arrays(path, arrays)

    def load_parameters(self, path):
        """Read parameters written by ``save_parameters`` (or ``save``), either format.

        Every array's declared shape (``(n,)`` is accepted for ``(1, n)``
        biases) and dtype (float32 or float64, converted to the model's) is
        checked against this model before any data is read.
        """
        where = "Model.load_parameters"
        self._ready(where, need_loss=False)
        with _files.open_arrays(path, where) as archive:
            arrays = archive.read(_serialize.parameter_shapes(self))
        self.load_parameters_from(arrays, path)

    def load_parameters_from(self, arrays, path="arrays"):
        """Set parameters from a mapping with keys ``w0``, ``b0``, ``w1``, ..."""
        where = "Model.load_parameters"
        count = len(self._ready(where, need_loss=False).dense)
        try:
            pairs = [(arrays[f"w{i}"], arrays[f"b{i}"]) for i in range(count)]
        except KeyError as missing:
            raise ValueError(f"{where}: {str(path)!r} has no array {missing}"
                             f" for this model's {count} Dense layers") from None
        self.set_parameters(pairs)

    def save(self, path):
        """Write the whole model (layers, parameters, loss, optimizer state) to ``path``.

        A name ending in ``.safetensors`` gives a safetensors file (the
        description as JSON in the header's ``__metadata__["jitnet"]``), any
        other an ``.npz`` archive. Arrays as in ``save_parameters``, plus
        ``state1`` and ``state2``: the optimizer's state, flat arrays of all
        parameters in the order w0, b0, w1, ... (SGD: momentums, unused;
        Adagrad, RMSprop: cache, unused; Adam: momentums, cache).
        """
        self._ready("Model.save", need_loss=False)
        arrays, description = _serialize.describe(self)
        _files.write_arrays(path, arrays, description)

    @classmethod
    def load(cls, path):
        """Read a model written by ``save`` (either format); it predicts and trains at once.

        Runs no code from the file, and checks every array's declared dtype
        and shape against the described architecture before reading any data.
        """
        with _files.open_arrays(path, "Model.load") as archive:
            if archive.description is None:
                raise ValueError(f"Model.load: {str(path)!r} holds parameters only"
                                 f" (save_parameters); build the model and call"
                                 f" load_parameters instead")
            return _serialize.rebuild(cls, archive, path)

    def to_onnx(self, path, *, opset=None):
        """Write the inference network to ``path`` as an ONNX model (atomic).

        Dense layers become MatMul + Add; ReLU, Softmax and Sigmoid their ONNX
        operators; Linear and Dropout nothing. Input ``"X"`` of shape
        ``(batch, n_inputs)``, output ``"output"`` of shape ``(batch,
        n_outputs)``, both in the model's dtype, the batch size free:
        onnxruntime's ``run`` gives ``predict``'s values to float rounding.

        Parameters
        ----------
        path : str or path-like
        opset : int, optional
            The ONNX operator set, 13 or later (default 17).

        Raises
        ------
        ImportError
            Without the onnx package: ``pip install "jitnet[onnx]"``.
        """
        from . import onnx_export
        self._ready("Model.to_onnx", need_loss=False)
        onnx_export.write(self, path, opset=opset, where="Model.to_onnx")
