"""A Model as JSON plus arrays, and back: no code runs when a file is read.

Only the classes listed here can be named by a file; their constructors
validate every number, so a damaged description raises ``ValueError``.
"""
from contextlib import contextmanager

from . import _files
from ._validate import float_dtype
from .accuracy import CategoricalAccuracy, RegressionAccuracy
from .activations import Linear, ReLU, Sigmoid, Softmax
from .layers import Dense, Dropout
from .losses import (BinaryCrossentropy, CategoricalCrossentropy,
                     MeanAbsoluteError, MeanSquaredError)
from .optimizers import SGD, Adagrad, Adam, RMSprop

_REGULARIZERS = ("weight_regularizer_l1", "weight_regularizer_l2",
                 "bias_regularizer_l1", "bias_regularizer_l2")
_PLAIN = {cls.__name__: cls for cls in (ReLU, Softmax, Sigmoid, Linear,
                                        CategoricalCrossentropy, BinaryCrossentropy,
                                        MeanSquaredError, MeanAbsoluteError)}
_OPTIMIZERS = {"SGD": (SGD, ("momentum",)), "Adagrad": (Adagrad, ("epsilon",)),
               "RMSprop": (RMSprop, ("epsilon", "rho")),
               "Adam": (Adam, ("epsilon", "beta_1", "beta_2"))}


def _layer(layer):
    if isinstance(layer, Dense):
        n_in, n_out = layer.weights.shape
        return {"type": "Dense", "n_inputs": int(n_in), "n_neurons": int(n_out),
                "dtype": layer.weights.dtype.name,
                **{name: float(getattr(layer, name)) for name in _REGULARIZERS}}
    if isinstance(layer, Dropout):
        return {"type": "Dropout", "rate": layer.drop_rate}
    return {"type": type(layer).__name__}


def describe(model):
    """``(arrays, description)`` for ``_files.write_arrays``.

    Arrays: ``w{i}``, ``b{i}`` (weights ``(n_inputs, n_neurons)`` and biases
    ``(1, n_neurons)`` of the i-th Dense layer) and, with an optimizer,
    ``state1``, ``state2`` (its flat state arenas, see ``_program``).
    """
    prog = model._program
    arrays = {}
    for i, layer in enumerate(model.trainable_layers):
        arrays[f"w{i}"], arrays[f"b{i}"] = layer.weights, layer.biases
    description = {"format": _files.FORMAT, "version": _files.VERSION,
                   "layers": [_layer(layer) for layer in model.layers],
                   "loss": None, "optimizer": None, "accuracy": None}
    if model.loss is not None:
        description["loss"] = {"type": type(model.loss).__name__}
    opt = model.optimizer
    if opt is not None:
        name = type(opt).__name__
        description["optimizer"] = {
            "type": name, "learning_rate": opt.learning_rate, "decay": opt.decay,
            "iterations": int(opt.iterations),
            "current_learning_rate": float(opt.current_learning_rate),
            **{key: getattr(opt, key) for key in _OPTIMIZERS[name][1]}}
        arrays["state1"], arrays["state2"] = prog.state1, prog.state2
    acc = model.accuracy
    if isinstance(acc, RegressionAccuracy):
        description["accuracy"] = {"type": "RegressionAccuracy",
                                   "precision": acc.precision}
    elif acc is not None:
        description["accuracy"] = {"type": "CategoricalAccuracy", "binary": acc.binary}
    return arrays, description


def _build_layer(spec):
    kind = spec["type"]
    if kind == "Dense":
        return Dense(spec["n_inputs"], spec["n_neurons"],
                     *(spec[name] for name in _REGULARIZERS), dtype=spec["dtype"])
    if kind == "Dropout":
        return Dropout(spec["rate"])
    if kind in ("ReLU", "Softmax", "Sigmoid", "Linear"):
        return _PLAIN[kind]()
    raise ValueError(f"unknown layer type {kind!r}")


def _build_optimizer(spec):
    cls, extra = _OPTIMIZERS[spec["type"]]
    opt = cls(spec["learning_rate"], spec["decay"], *(spec[key] for key in extra))
    iterations = spec["iterations"]
    if not isinstance(iterations, int) or iterations < 0:
        raise ValueError(f"bad optimizer iterations {iterations!r}")
    opt.iterations = iterations
    opt.current_learning_rate = float(spec["current_learning_rate"])
    return opt


def parameter_shapes(model):
    """``{"w0": shape, "b0": shape, ...}`` of a finalized model's Dense layers."""
    shapes = {}
    for i, layer in enumerate(model.trainable_layers):
        shapes[f"w{i}"], shapes[f"b{i}"] = layer.weights.shape, layer.biases.shape
    return shapes


def _described_parameters(description):
    """``({"w0": shape, "b0": shape, ...}, dtype)`` of the Dense layers a description lists.

    Read from the description alone, so that the arrays can be checked and
    read before anything of the model's size is built.
    """
    shapes, dtype = {}, None
    for spec in description["layers"]:
        if spec["type"] != "Dense":
            continue
        n_in, n_out = spec["n_inputs"], spec["n_neurons"]
        for name, n in (("n_inputs", n_in), ("n_neurons", n_out)):
            if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
                raise ValueError(f"Dense: {name} must be a positive int, got {n!r}")
        i = len(shapes) // 2
        shapes[f"w{i}"], shapes[f"b{i}"] = (n_in, n_out), (1, n_out)
        dtype = float_dtype(spec["dtype"])
    return shapes, dtype


@contextmanager
def _damaged(path):
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ValueError(f"Model.load: {str(path)!r} is damaged or not a jitnet"
                         f" model ({type(err).__name__}: {err})") from None


def rebuild(model_cls, archive, path):
    """The Model that the open ``_files.ArrayFile`` ``archive`` describes, its arrays loaded.

    The weights and biases are checked against the description and read
    before the model is built: a file whose sizes are declared but whose data
    is not there (a truncated or hostile archive) fails while reading, having
    cost the data it holds, not the model it declares.
    """
    description = archive.description
    with _damaged(path):
        shapes, dtype = _described_parameters(description)
    parameters = archive.read(shapes, dtype)
    with _damaged(path):
        model = model_cls()
        for spec in description["layers"]:
            model.add(_build_layer(spec))
        loss = description["loss"]
        opt = description["optimizer"]
        acc = description["accuracy"]
        accuracy = None
        if acc is not None and acc["type"] == "RegressionAccuracy":
            accuracy = RegressionAccuracy()
            precision = acc["precision"]
            accuracy.precision = None if precision is None else float(precision)
        elif acc is not None:
            accuracy = CategoricalAccuracy(binary=bool(acc["binary"]))
        model.set(loss=None if loss is None else _PLAIN[loss["type"]](),
                  optimizer=None if opt is None else _build_optimizer(opt),
                  accuracy=accuracy)
        model.finalize()
    prog = model._program
    with _damaged(path):
        model.load_parameters_from(parameters, path)
    if opt is not None:
        state = archive.read({"state1": prog.params.shape, "state2": prog.params.shape},
                             prog.dtype)
        prog.state1[...], prog.state2[...] = state["state1"], state["state2"]
    return model
