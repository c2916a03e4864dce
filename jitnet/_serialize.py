"""A Model as JSON plus arrays, and back: no code runs when a file is read.

Only the classes listed here can be named by a file; their constructors
validate every number, so a damaged description raises ``ValueError``.
"""
from . import _files
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
    """``(arrays, description)`` for ``_files.write_npz``."""
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


def rebuild(model_cls, arrays, description, path):
    """The Model described by ``description`` with ``arrays`` loaded into it."""
    try:
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
        model.load_parameters_from(arrays)
        prog = model._program
        if opt is not None:
            for name in ("state1", "state2"):
                state = arrays[name]
                if state.shape != prog.params.shape:
                    raise ValueError(f"{name} has shape {state.shape}")
                getattr(prog, name)[...] = state
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ValueError(f"Model.load: {str(path)!r} is damaged or not a jitnet"
                         f" model ({type(err).__name__}: {err})") from None
    return model
