"""The built graph as an ONNX ModelProto, checked and written to a path or a binary file object.

The ``onnx`` package is imported here, inside functions, so that importing the engine never needs it.
"""
from __future__ import annotations

import os
import tempfile

from .builder import GraphBuilder
from .dtypes import onnx_type
from .errors import ExportError

_PROTOBUF_LIMIT = 2**31 - 2**26  # 2 GiB, less room for the graph itself


def import_onnx():
    try:
        import onnx
    except ImportError as exc:
        raise ImportError("ONNX export needs the 'onnx' package: pip install onnx") from exc
    return onnx


def _value_info(helper, name, dtype, dims):
    return helper.make_tensor_value_info(name, onnx_type(dtype), dims)


def build_model(builder: GraphBuilder, inputs, outputs, opset: int, graph_name: str,
                initializers_as_inputs: bool = False):
    onnx = import_onnx()
    from onnx import helper, numpy_helper
    weight_bytes = sum(array.nbytes for array in builder.initializers.values())
    if weight_bytes > _PROTOBUF_LIMIT:
        raise ExportError(f"ONNX export: the weights take {weight_bytes / 2**30:.2f} GiB, more than the 2 GiB "
                          "one ONNX file (a protobuf) can hold; external weight files are not written yet")
    nodes = [helper.make_node(op_type, ins, outs, name=name, **attrs)
             for op_type, ins, outs, attrs, name in builder.nodes]
    initializers = [numpy_helper.from_array(array, name) for name, array in builder.initializers.items()]
    graph_inputs = [_value_info(helper, *spec) for spec in inputs]
    if initializers_as_inputs:
        graph_inputs += [_value_info(helper, name, array.dtype, list(array.shape))
                         for name, array in builder.initializers.items()]
    graph = helper.make_graph(nodes, graph_name or "model", graph_inputs,
                              [_value_info(helper, *spec) for spec in outputs], initializers)
    opset_id = helper.make_opsetid("", opset)
    model = helper.make_model(graph, opset_imports=[opset_id], producer_name="layerforge",
                              producer_version=_version())
    model.ir_version = helper.find_min_ir_version_for([opset_id])  # readable by the runtimes of that opset
    onnx.checker.check_model(model)
    return model


def write(builder: GraphBuilder, inputs, outputs, opset: int, f, graph_name: str = "model",
          initializers_as_inputs: bool = False) -> None:
    model = build_model(builder, inputs, outputs, opset, graph_name, initializers_as_inputs)
    data = model.SerializeToString()
    if hasattr(f, "write"):
        f.write(data)
        return
    path = os.fspath(f)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".onnx-", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("layerforge")
    except Exception:  # running from a source tree without metadata
        return "0"
