"""scikit-learn estimators on jitnet's compiled ``Model``: ``MLPClassifier``, ``MLPRegressor``.

They follow scikit-learn's estimator contract, so ``GridSearchCV``, pipelines
and joblib's backends (threads, processes, Dask) work as for any estimator.
The kernels release the GIL, so the threading backend uses every core.
Needs scikit-learn (``pip install -e ".[examples]"``).
"""
import threading
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .accuracy import CategoricalAccuracy, RegressionAccuracy
from .activations import Linear, ReLU, Sigmoid, Softmax
from .layers import Dense, Dropout
from .losses import CategoricalCrossentropy, MeanSquaredError
from .model import Model
from .optimizers import SGD, Adagrad, Adam, RMSprop
from ._random import seed_compiled
from ._validate import check_positive_int, check_real

_GLOBAL_RNG_LOCK = threading.Lock()
_DTYPES = [np.float32, np.float64]  # anything else becomes float64 first
_ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "linear": Linear}
_OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam}


class _MLP(BaseEstimator):
    """Shared parameters, network building and training."""

    def __init__(self, hidden_layer_sizes=(64,), activation="relu", optimizer="adam",
                 learning_rate=0.001, decay=0.0, momentum=0.0, l1=0.0, l2=0.0,
                 dropout=0.0, epochs=200, batch_size=32, shuffle=True,
                 random_state=None, verbose=False, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, tol=1e-4):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.decay = decay
        self.momentum = momentum
        self.l1 = l1
        self.l2 = l2
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol

    def _optimizer(self):
        name = str(self.optimizer).lower()
        if name not in _OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {sorted(_OPTIMIZERS)},"
                             f" got {self.optimizer!r}")
        kwargs = {"learning_rate": self.learning_rate, "decay": self.decay}
        if name == "sgd":
            kwargs["momentum"] = self.momentum
        return _OPTIMIZERS[name](**kwargs)

    def _build(self, n_features, n_outputs, head, loss, accuracy):
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)},"
                             f" got {self.activation!r}")
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, (int, np.integer)) else tuple(sizes)
        seed = check_random_state(self.random_state).randint(2**31 - 1)
        # Dense draws its weights from NumPy's global generator (as the book
        # does): seed it, build, and put the caller's state back, under a lock
        # so fits running in threads cannot interleave their draws.
        with _GLOBAL_RNG_LOCK:
            saved = np.random.get_state()
            np.random.seed(seed)
            try:
                model, width = Model(), n_features
                for size in sizes:
                    model.add(Dense(width, size, weight_regularizer_l1=self.l1,
                                    weight_regularizer_l2=self.l2))
                    model.add(_ACTIVATIONS[self.activation]())
                    if self.dropout:
                        model.add(Dropout(self.dropout))
                    width = size
                model.add(Dense(width, n_outputs))
                model.add(head())
            finally:
                np.random.set_state(saved)
        seed_compiled(seed)  # dropout masks and shuffling, in this thread
        model.set(loss=loss(), optimizer=self._optimizer(), accuracy=accuracy)
        model.finalize()
        self.model_ = model
        self.loss_curve_ = []
        self.n_iter_ = 0
        # fit sets them (see _fit_epochs); partial_fit leaves them None
        self.best_loss_ = self.validation_scores_ = self.best_validation_score_ = None

    def _train(self, X, targets, epochs, callbacks=None):
        """``epochs`` epochs (fewer if a callback stops them) through ``Model.train``.

        Ctrl-C stops training as in scikit-learn's MLP: a warning, and the
        estimator stays fitted with the epochs finished so far.
        """
        batch = min(self.batch_size, len(X))
        try:
            history = self.model_.train(X, targets, epochs=epochs, batch_size=batch,
                                        shuffle=self.shuffle, verbose=bool(self.verbose),
                                        print_every=-(-len(X) // batch),  # first, last step
                                        callbacks=callbacks)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=3)
            history = self.model_.history  # this call's finished epochs
        self.loss_curve_ += history.loss
        self.n_iter_ = len(self.loss_curve_)
        return self

    def _stopping_rule(self):
        """The checked stopping settings as a callback, before anything is built."""
        who = type(self).__name__
        patience = check_positive_int(who, "n_iter_no_change", self.n_iter_no_change)
        tol = check_real(who, "tol", self.tol, low=0)
        fraction = check_real(who, "validation_fraction", self.validation_fraction, low=0)
        if not fraction < 1 or (self.early_stopping and fraction == 0):
            raise ValueError(f"{who}: validation_fraction must be in [0, 1), and above 0"
                             f" with early_stopping; got {self.validation_fraction!r}")
        return _ScikitStopping(self, patience, tol, fraction if self.early_stopping else None)

    def _check_partial_fit(self):
        if self.early_stopping:  # scikit-learn's words
            raise ValueError("partial_fit does not support early_stopping=True")

    def _fit_epochs(self, X, targets, rule):
        """``fit``'s training: up to ``epochs`` epochs, stopped as scikit-learn's MLP.

        Without ``early_stopping``: once the training loss has not fallen
        below its best minus ``tol`` for more than ``n_iter_no_change``
        epochs in a row. With it: ``validation_fraction`` of the rows
        (stratified for a classifier) are held out; their score (accuracy,
        or R^2 for a regressor) after every epoch goes to
        ``validation_scores_``, training stops once it has not exceeded its
        best plus ``tol`` for more than ``n_iter_no_change`` epochs, and the
        network ends with the parameters of its best-scoring epoch (its
        initial ones if no epoch scored better than -inf, as scikit-learn's).
        """
        if rule.fraction is not None:
            X, rule.X_val, targets, rule.y_val = train_test_split(
                X, targets, test_size=rule.fraction,
                random_state=check_random_state(self.random_state),
                stratify=targets if is_classifier(self) else None)
            if len(rule.X_val) < 2:
                raise ValueError("The validation set is too small. Increase"
                                 " 'validation_fraction' or the size of your dataset.")
            rule.best_parameters = self.model_.get_parameters()
        self._train(X, targets, self.epochs, callbacks=[rule])
        if rule.fraction is not None:
            self.model_.set_parameters(rule.best_parameters)
            self.validation_scores_, self.best_validation_score_ = rule.scores, rule.best
        else:
            self.best_loss_ = rule.best
        return self

    def _inputs(self, X, reset):
        return validate_data(self, X, reset=reset, dtype=_DTYPES)

    def to_onnx(self, path, *, opset=None):
        """Write the fitted network to ``path`` as an ONNX model (needs ``jitnet[onnx]``).

        Input ``"X"``: ``(batch, n_features_in_)`` in the network's dtype
        (float32). The estimators scale no inputs, so the graph is the network
        alone. Output of ``MLPClassifier``: ``"probabilities"``, ``(batch,
        n_classes)``, columns as ``classes_`` (``predict_proba``'s values; the
        label is ``classes_[argmax]``). Output of ``MLPRegressor``:
        ``"predictions"``, shaped as ``predict``'s. ``opset``: as in
        ``jitnet.Model.to_onnx``. Raises NotFittedError before ``fit``.
        """
        check_is_fitted(self, "model_")
        from .onnx_export import write
        classifier = is_classifier(self)
        write(self.model_, path, opset=opset, where=f"{type(self).__name__}.to_onnx",
              output_name="probabilities" if classifier else "predictions",
              flatten=getattr(self, "_y_1d", False))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


class _ScikitStopping:
    """scikit-learn's MLP stopping rule (``_update_no_improvement_count``) as a
    ``Model.train`` callback; ``fraction`` (not None) means the validation form
    (see ``_MLP._fit_epochs``)."""

    def __init__(self, estimator, patience, tol, fraction):
        self.estimator, self.patience, self.tol = estimator, patience, tol
        self.fraction, self.X_val, self.y_val, self.best_parameters = fraction, None, None, None
        # As scikit-learn: a NaN never becomes the best, nor counts as stalled.
        self.best, self.count, self.scores = (np.inf if fraction is None else -np.inf), 0, []

    def on_epoch_end(self, epoch, logs):
        if self.fraction is None:  # the training loss, lower is better
            value = logs["loss"]
            stalled = value > self.best - self.tol
            if value < self.best:
                self.best = value
        else:  # the validation score, higher is better
            value = self.estimator._validation_score(self.X_val, self.y_val)
            self.scores.append(value)
            stalled = value < self.best + self.tol
            if value > self.best:
                self.best = value
                self.best_parameters = self.estimator.model_.get_parameters()
        self.count = self.count + 1 if stalled else 0
        return self.count > self.patience


class MLPClassifier(ClassifierMixin, _MLP):
    """A multi-layer perceptron classifier: Dense/activation layers, softmax + cross-entropy.

    Parameters are those of :class:`_MLP`'s signature: ``hidden_layer_sizes``,
    ``activation`` ("relu", "sigmoid", "linear"), ``optimizer`` ("sgd",
    "adagrad", "rmsprop", "adam"), ``learning_rate``, ``decay`` (``lr / (1 +
    decay * step)``), ``momentum`` (SGD), ``l1``/``l2`` (weight penalties),
    ``dropout`` (after each hidden layer), ``epochs``, ``batch_size``,
    ``shuffle``, ``random_state`` (repeatable fits), ``verbose``, and
    scikit-learn's ``early_stopping``, ``validation_fraction``,
    ``n_iter_no_change`` and ``tol`` (see ``_MLP._fit_epochs``).
    Labels may be of any type (strings too); ``classes_`` lists them.

    Fitted attributes: ``classes_``, ``model_`` (the ``jitnet.Model``),
    ``n_iter_`` (epochs run), ``loss_curve_`` (training loss per epoch),
    ``best_loss_``, or with ``early_stopping`` ``validation_scores_`` and
    ``best_validation_score_`` (accuracy on the held-out rows).
    """

    def fit(self, X, y):
        """Train from scratch for up to ``epochs`` epochs."""
        X, y = validate_data(self, X, y, dtype=_DTYPES)
        check_classification_targets(y)
        rule = self._stopping_rule()
        self._start(X, y)
        if len(self.classes_) < 2:
            raise ValueError(f"MLPClassifier needs samples of at least 2 classes;"
                             f" y has 1 class: {self.classes_[0]!r}")
        return self._fit_epochs(X, self._encoder.transform(y), rule)

    def partial_fit(self, X, y, classes=None):
        """One more epoch; the first call needs ``classes`` (all labels that will appear)."""
        self._check_partial_fit()
        first = not hasattr(self, "model_")
        if first and classes is None:
            raise ValueError("partial_fit's first call needs classes=")
        X, y = validate_data(self, X, y, reset=first, dtype=_DTYPES)
        if first:
            self._start(X, np.asarray(classes))
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(f"partial_fit: y holds labels {unknown.tolist()} not in"
                             f" classes_ {self.classes_.tolist()}")
        return self._train(X, self._encoder.transform(y), 1)

    def _start(self, X, labels):
        """Learn the classes from ``labels`` and build a fresh network."""
        self._encoder = LabelEncoder().fit(labels)
        self.classes_ = self._encoder.classes_
        self._build(X.shape[1], len(self.classes_), Softmax, CategoricalCrossentropy,
                    CategoricalAccuracy())

    def _validation_score(self, X, labels):
        """Accuracy on held-out rows (``labels`` encoded as ``classes_`` indices)."""
        return float(np.mean(np.argmax(self.model_.predict(X), axis=1) == labels))

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns as ``classes_``."""
        check_is_fitted(self, "model_")
        return self.model_.predict(self._inputs(X, reset=False)).astype(np.float64)

    def predict(self, X):
        """The most probable class of each sample, from ``classes_``."""
        probabilities = self.predict_proba(X)  # raises NotFittedError first
        return self.classes_[np.argmax(probabilities, axis=1)]


class MLPRegressor(RegressorMixin, _MLP):
    """A multi-layer perceptron regressor: linear output, mean squared error.

    Same parameters and fitted attributes as :class:`MLPClassifier` (its
    validation score is R^2, as scikit-learn's). ``y`` may be 1-D or
    (n_samples, n_outputs); ``predict`` returns the same shape.
    """

    def fit(self, X, y):
        """Train from scratch for up to ``epochs`` epochs."""
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=_DTYPES)
        rule = self._stopping_rule()
        self._start(X, y)
        return self._fit_epochs(X, y.reshape(len(y), -1), rule)

    def partial_fit(self, X, y):
        """One more epoch (the first call builds the network)."""
        self._check_partial_fit()
        first = not hasattr(self, "model_")
        X, y = validate_data(self, X, y, reset=first, multi_output=True,
                             y_numeric=True, dtype=_DTYPES)
        if first:
            self._start(X, y)
        return self._train(X, y.reshape(len(y), -1), 1)

    def _start(self, X, y):
        """Build a fresh network with one output per target column."""
        self._y_1d = y.ndim == 1
        self._build(X.shape[1], y.reshape(len(y), -1).shape[1], Linear,
                    MeanSquaredError, RegressionAccuracy())

    def _validation_score(self, X, targets):
        """R^2 on held-out rows (outputs averaged uniformly, as ``score``); NaN
        for predictions that are not finite, as scikit-learn's MLP scores them."""
        predictions = self.model_.predict(X)
        if not np.isfinite(predictions).all():
            return np.nan
        return float(r2_score(targets, predictions))

    def predict(self, X):
        """Predicted targets, shape (n_samples,) or (n_samples, n_outputs)."""
        check_is_fitted(self, "model_")
        out = self.model_.predict(self._inputs(X, reset=False)).astype(np.float64)
        return out.ravel() if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
