"""Export a model spec and its weights as an ONNX model that runs in onnxruntime, TensorRT, browsers...

The graph is walked in the order validation found; each node becomes ONNX ops through the converter
declared for its layer type (``onnx_layers.CONVERTERS``), which reads the node's catalog parameters.
The model takes ``input`` shaped (batch, *input shape) with a dynamic batch and gives ``output``.
With normalisation statistics, standardising the inputs (and restoring regression targets' units)
becomes part of the model, so it takes raw data, just as ``layerforge predict`` does.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import layerforge
from layerforge.graph import ModelSpec

from .common import (ExportError, atomic_write, normalization_dict, numpy_state_dict, lazy_module,
                     spec_json, standardizer_arrays, valid_shapes)
from .onnx_graph import LayerContext, OnnxGraph
from .onnx_layers import CONVERTERS

MIN_OPSET = 17  # LayerNormalization and single-axis Softmax as PyTorch computes it
INPUT_NAME, OUTPUT_NAME = "input", "output"


def _ir_version(opset: int) -> int:
    """The oldest IR version that carries ``opset``, so older runtimes load the file too."""
    return 8 if opset <= 18 else 9 if opset <= 20 else 10


def build_onnx_model(spec: ModelSpec, state_dict: Mapping[str, Any], opset: int = MIN_OPSET,
                     normalization: Any = None, name: str | None = None) -> Any:
    """The checked ``onnx.ModelProto`` for ``spec`` with these weights (see :func:`export_onnx`)."""
    onnx = lazy_module("onnx", "ONNX export")
    latest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= latest:
        raise ExportError(f"opset {opset} is not supported; choose {MIN_OPSET} to {latest}")
    report = valid_shapes(spec)
    state = numpy_state_dict(state_dict)
    norm = normalization_dict(normalization)
    graph = OnnxGraph(onnx, opset)
    input_node = spec.nodes[report.input_id]
    input_dtype = report.nodes[report.input_id].dtype
    values = {report.input_id: _standardize_inputs(graph, norm, input_dtype)}
    for node_id in report.order:
        node = spec.nodes[node_id]
        if node_id == report.input_id:
            continue
        converter = CONVERTERS.get(node.type)
        if converter is None:
            raise ExportError(f"{node.label}: the ONNX exporter has no mapping for layer type {node.type!r}; "
                              f"replace the layer or export PyTorch code instead")
        node_report = report.nodes[node_id]
        ctx = LayerContext(graph, node.name, node.type, node.params,
                           [values[edge.source] for edge in spec.inputs_of(node_id)],
                           node_report.input_shapes, node_report.output_shape, state)
        values[node_id] = converter(ctx)
    result = _restore_targets(graph, norm, values[report.output_id])
    graph.nodes.append(onnx.helper.make_node("Identity", [result], [OUTPUT_NAME], name="output/Identity"))
    output_dtype = report.nodes[report.output_id].dtype
    model = _assemble(onnx, graph, input_node.name, input_dtype, report.input_shape, output_dtype,
                      report.output_shape, name)
    model.metadata_props.extend(_metadata(onnx, spec, norm, name))
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as error:  # onnx raises ValidationError / InferenceError; both mean our bug, not the user's
        raise ExportError(f"the exported ONNX model failed onnx's checker ({error}); please report this "
                          f"with the model file") from None
    return model


def export_onnx(spec: ModelSpec, state_dict: Mapping[str, Any], path, opset: int = MIN_OPSET,
                normalization: Any = None, name: str | None = None) -> Path:
    """Write ``spec`` with ``state_dict`` to ``path`` (``.onnx``, atomically); returns the path.

    ``normalization`` (a ``layerforge.data.Normalization`` or its dict): the model then standardises
    its input itself, and gives regression outputs in the targets' own units. ``name``: the project's
    name, kept in the graph's doc string (as repr) and in the metadata (as JSON). Weights that are not
    finite are refused.
    """
    model = build_onnx_model(spec, state_dict, opset, normalization, name)
    onnx = lazy_module("onnx", "ONNX export")
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        path = path.with_name(path.name + ".onnx")
    return atomic_write(path, lambda temporary: onnx.save_model(model, str(temporary)))


def _standardize_inputs(graph: OnnxGraph, norm: dict | None, input_dtype: str) -> str:
    stats = standardizer_arrays(norm and norm.get("inputs"))
    if stats is None:
        return INPUT_NAME
    if input_dtype != "float32":
        raise ExportError("the model reads int64 token indices, which cannot be standardised; export "
                          "without normalisation")
    mean, std = stats
    centred = graph.op("Sub", [INPUT_NAME, graph.constant(mean, "input_mean")], "standardize")
    return graph.op("Div", [centred, graph.constant(std, "input_std")], "standardize")


def _restore_targets(graph: OnnxGraph, norm: dict | None, value: str) -> str:
    stats = standardizer_arrays(norm and norm.get("targets"))
    if stats is None:
        return value
    mean, std = stats
    scaled = graph.op("Mul", [value, graph.constant(std, "target_std")], "unstandardize")
    return graph.op("Add", [scaled, graph.constant(mean, "target_mean")], "unstandardize")


def _assemble(onnx: Any, graph: OnnxGraph, input_name: str, input_dtype: str, input_shape, output_dtype: str,
              output_shape, project_name: str | None) -> Any:
    helper = onnx.helper
    elem = {"float32": onnx.TensorProto.FLOAT, "int64": onnx.TensorProto.INT64}
    graph_proto = helper.make_graph(
        graph.nodes, "layerforge_model",
        [helper.make_tensor_value_info(INPUT_NAME, elem[input_dtype], ["batch", *input_shape])],
        [helper.make_tensor_value_info(OUTPUT_NAME, elem[output_dtype or "float32"], ["batch", *output_shape])],
        initializer=graph.initializers)
    # repr(): one line of printable text, escapes for the rest (protobuf needs valid UTF-8, no lone surrogates).
    graph_proto.doc_string = (f"Exported by Layerforge from the project {project_name!r}" if project_name is not None
                              else f"Exported by Layerforge from the model whose input layer is {input_name!r}")
    model = helper.make_model(graph_proto, opset_imports=[helper.make_opsetid("", graph.opset)],
                              producer_name="layerforge", producer_version=layerforge.__version__)
    model.ir_version = _ir_version(graph.opset)
    return model


def _metadata(onnx: Any, spec: ModelSpec, norm: dict | None, project_name: str | None) -> list[Any]:
    # Every value is JSON (ASCII, escapes for the rest): any text round-trips, even lone surrogates.
    entries = {"layerforge.spec": spec_json(spec)}
    if project_name is not None:
        entries["layerforge.project"] = json.dumps(str(project_name))
    if norm is not None:
        entries["layerforge.normalization"] = json.dumps(norm, separators=(",", ":"))
        applied = [part for part in ("inputs", "targets") if norm.get(part) is not None]
        entries["layerforge.normalization_applied"] = ",".join(applied)
    props = []
    for key, value in entries.items():
        prop = onnx.StringStringEntryProto()
        prop.key, prop.value = key, value
        props.append(prop)
    return props
