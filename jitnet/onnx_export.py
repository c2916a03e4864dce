"""A Model's inference network as an ONNX graph, for onnxruntime and other runtimes.

Needs the ``onnx`` package (``pip install "jitnet[onnx]"``, which also brings
``onnxruntime``). The graph, layer by layer:

========  ======================================================
Dense     ``MatMul`` by the weights ``(n_inputs, n_neurons)``, ``Add`` of the biases
ReLU      ``Relu``
Softmax   ``Softmax`` over the last axis
Sigmoid   ``Sigmoid``
Linear    nothing (the identity)
Dropout   nothing (inference)
========  ======================================================

One input ``"X"`` of shape ``(batch, n_inputs)`` and one output of shape
``(batch, n_outputs)``, in the model's dtype (float32 or float64), the batch
size free. ``onnx.checker`` checks the graph before it is written.
"""
import numpy as np

from . import _files
from .activations import Linear, ReLU, Sigmoid, Softmax
from .layers import Dense, Dropout

DEFAULT_OPSET = 17  # onnxruntime has run it since 1.11 (2022)
MIN_OPSET = 13  # Softmax over one axis, as jitnet's, since opset 13
_OPS = {ReLU: "Relu", Softmax: "Softmax", Sigmoid: "Sigmoid"}
_PROTOBUF_LIMIT = 2**31 - 2**24  # a model file without external data stays below 2 GB


def require_onnx(where):
    """The ``onnx`` module, or an ImportError that says how to install it."""
    try:
        import onnx
    except ImportError:
        raise ImportError(f'{where} needs the onnx package: pip install "jitnet[onnx]"'
                          f' (or pip install onnx)') from None
    return onnx


def _opset(opset, onnx, where):
    if opset is None:
        return DEFAULT_OPSET
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"{where}: opset must be an int, got {type(opset).__name__}")
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(f"{where}: opset must be from {MIN_OPSET} to {newest} (this onnx"
                         f" package's newest), got {opset}")
    return int(opset)


def build(model, *, opset=None, where="Model.to_onnx", output_name="output",
          flatten=False):
    """The ``onnx.ModelProto`` of the finalized ``model``'s inference network.

    Parameters
    ----------
    model : Model
        Finalized.
    opset : int, optional
        ONNX operator set, from ``MIN_OPSET`` to the onnx package's newest;
        ``DEFAULT_OPSET`` if None.
    where : str
        The public function, for error messages.
    output_name : str
        Name of the graph's output.
    flatten : bool
        Reshape a ``(batch, 1)`` output to ``(batch,)``.
    """
    onnx = require_onnx(where)
    from onnx import TensorProto, helper, numpy_helper

    opset = _opset(opset, onnx, where)
    dtype = model._program.dtype
    nbytes = model._program.params.nbytes
    if nbytes > _PROTOBUF_LIMIT:
        raise ValueError(f"{where}: the parameters take {nbytes} bytes; an ONNX file"
                         f" holds less than 2 GB without external data")
    elem = {np.dtype(np.float32): TensorProto.FLOAT,
            np.dtype(np.float64): TensorProto.DOUBLE}[dtype]
    nodes, weights, current, dense = [], [], "X", 0
    for i, layer in enumerate(model.layers):
        if isinstance(layer, Dense):
            w, b, product = f"dense{dense}.weights", f"dense{dense}.biases", f"matmul{i}"
            weights += [numpy_helper.from_array(np.ascontiguousarray(layer.weights), w),
                        numpy_helper.from_array(layer.biases.reshape(-1).copy(), b)]
            nodes += [helper.make_node("MatMul", [current, w], [product]),
                      helper.make_node("Add", [product, b], [f"layer{i}"])]
            dense += 1
        elif type(layer) in _OPS:
            kwargs = {"axis": -1} if isinstance(layer, Softmax) else {}
            nodes.append(helper.make_node(_OPS[type(layer)], [current], [f"layer{i}"],
                                          **kwargs))
        elif isinstance(layer, (Linear, Dropout)):
            continue  # the identity at inference
        else:
            raise TypeError(f"{where}: layer {i} ({type(layer).__name__}) has no ONNX form")
        current = f"layer{i}"
    n_outputs = model._program.n_outputs
    shape = ["batch", n_outputs]
    if flatten and n_outputs == 1:
        weights.append(numpy_helper.from_array(np.array([-1], np.int64), "flat_shape"))
        nodes.append(helper.make_node("Reshape", [current, "flat_shape"], [output_name]))
        shape = ["batch"]
    else:
        nodes.append(helper.make_node("Identity", [current], [output_name]))
    inputs = [helper.make_tensor_value_info("X", elem, ["batch", model._program.n_features])]
    outputs = [helper.make_tensor_value_info(output_name, elem, shape)]
    graph = helper.make_graph(nodes, "jitnet", inputs, outputs, initializer=weights)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="jitnet")
    # The IR version that the opset needs, not the onnx package's newest, so
    # that runtimes older than the package still open the file.
    proto.ir_version = helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(proto)
    return proto


def write(model, path, **kwargs):
    """Build the graph (:func:`build`'s keywords) and write it to ``path`` atomically."""
    data = build(model, **kwargs).SerializeToString()
    _files.atomic_write(path, lambda f: f.write(data))
