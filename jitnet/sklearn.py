"""scikit-learn estimators on jitnet's compiled ``Model``: ``MLPClassifier``, ``MLPRegressor``.

They follow scikit-learn's estimator contract, so ``GridSearchCV``, pipelines
and joblib's backends (threads, processes, Dask) work as for any estimator.
The kernels release the GIL, so the threading backend uses every core.
Needs scikit-learn (``pip install -e ".[examples]"``).
"""
import threading

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import kernels
from .accuracy import CategoricalAccuracy, RegressionAccuracy
from .activations import Linear, ReLU, Sigmoid, Softmax
from .layers import Dense, Dropout
from .losses import CategoricalCrossentropy, MeanSquaredError
from .model import Model
from .optimizers import SGD, Adagrad, Adam, RMSprop

_GLOBAL_RNG_LOCK = threading.Lock()
_DTYPES = [np.float32, np.float64]  # anything else becomes float64 first
_ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "linear": Linear}
_OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam}


class _MLP(BaseEstimator):
    """Shared parameters, network building and training."""

    def __init__(self, hidden_layer_sizes=(64,), activation="relu", optimizer="adam",
                 learning_rate=0.001, decay=0.0, momentum=0.0, l1=0.0, l2=0.0,
                 dropout=0.0, epochs=200, batch_size=32, shuffle=True,
                 random_state=None, verbose=False):
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
        kernels.seed_rng(seed)  # dropout masks and shuffling, in this thread
        model.set(loss=loss(), optimizer=self._optimizer(), accuracy=accuracy)
        model.finalize()
        self.model_ = model
        self.loss_curve_ = []

    def _train(self, X, targets, epochs):
        batch = min(self.batch_size, len(X))
        history = self.model_.train(X, targets, epochs=epochs, batch_size=batch,
                                    shuffle=self.shuffle, verbose=bool(self.verbose),
                                    print_every=-(-len(X) // batch))  # first, last step
        self.loss_curve_ += history.loss
        return self

    def _inputs(self, X, reset):
        return validate_data(self, X, reset=reset, dtype=_DTYPES)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


class MLPClassifier(ClassifierMixin, _MLP):
    """A multi-layer perceptron classifier: Dense/activation layers, softmax + cross-entropy.

    Parameters are those of :class:`_MLP`'s signature: ``hidden_layer_sizes``,
    ``activation`` ("relu", "sigmoid", "linear"), ``optimizer`` ("sgd",
    "adagrad", "rmsprop", "adam"), ``learning_rate``, ``decay`` (``lr / (1 +
    decay * step)``), ``momentum`` (SGD), ``l1``/``l2`` (weight penalties),
    ``dropout`` (after each hidden layer), ``epochs``, ``batch_size``,
    ``shuffle``, ``random_state`` (repeatable fits), ``verbose``.
    Labels may be of any type (strings too); ``classes_`` lists them.
    """

    def fit(self, X, y):
        """Train from scratch for ``epochs`` epochs."""
        X, y = validate_data(self, X, y, dtype=_DTYPES)
        check_classification_targets(y)
        self._start(X, y)
        if len(self.classes_) < 2:
            raise ValueError(f"MLPClassifier needs samples of at least 2 classes;"
                             f" y has 1 class: {self.classes_[0]!r}")
        return self._train(X, self._encoder.transform(y), self.epochs)

    def partial_fit(self, X, y, classes=None):
        """One more epoch; the first call needs ``classes`` (all labels that will appear)."""
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

    Same parameters as :class:`MLPClassifier`. ``y`` may be 1-D or
    (n_samples, n_outputs); ``predict`` returns the same shape.
    """

    def fit(self, X, y):
        """Train from scratch for ``epochs`` epochs."""
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=_DTYPES)
        self._start(X, y)
        return self._train(X, y.reshape(len(y), -1), self.epochs)

    def partial_fit(self, X, y):
        """One more epoch (the first call builds the network)."""
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

    def predict(self, X):
        """Predicted targets, shape (n_samples,) or (n_samples, n_outputs)."""
        check_is_fitted(self, "model_")
        out = self.model_.predict(self._inputs(X, reset=False)).astype(np.float64)
        return out.ravel() if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
