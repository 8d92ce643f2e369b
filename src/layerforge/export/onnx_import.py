"""Import an ONNX model as a Layerforge model: a spec of catalog layers, laid out, with its weights.

The inverse of ``onnx_export``. The graph's operators are read in order; each becomes a catalog
layer (or is part of one: MatMul and the Add of its bias, an activation spelled in arithmetic, the
Transposes around a recurrent operator), its parameters from the attributes and the weights' shapes,
its weights in the engine module's names and layouts. Everything is read before anything is
returned: an operator without a layer does not stop the reading, and all of them are listed in one
:class:`ModelImportError`. A Layerforge-exported file comes back as the model it was: its input
standardisation (``Sub``/``Div``) and target scaling (``Mul``/``Add``) become the project's
normalisation, and what ONNX cannot carry comes from the spec in its metadata (``onnx_import_hints``).

    imported = import_onnx("model.onnx")
    imported.spec, imported.state_dict, imported.normalization
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from layerforge.graph import GraphError, ModelSpec, compile_spec, infer_shapes
from layerforge.graph.layout import auto_layout

from .common import lazy_module
from .onnx_import_attention import convert_tagged, tagged_type
from .onnx_import_batch_stats import convert_batch_statistics, layer_of
from .onnx_import_elementwise import ELEMENTWISE, match_activation
from .onnx_import_file import check_model, read_onnx_file, tensor_array
from .onnx_import_fold import FOLDERS, fold
from .onnx_import_graph import ImportState, ModelImportError, Unsupported, Val
from .onnx_import_hints import Hints
from .onnx_import_layers import CONVERTERS
from .onnx_import_recurrent import concat_states, convert_recurrent, gather_state, squeeze, transpose, unsqueeze

ELEM_TYPES = {1: "float32", 7: "int64"}   # TensorProto.FLOAT, TensorProto.INT64
SHOWN_PROBLEMS = 40


@dataclass
class ImportedModel:
    """What an import gives: ``spec`` (laid out), ``state_dict`` (numpy arrays under the compiled
    model's keys), ``normalization`` (the dict ``Normalization.to_dict`` gives, or None), ``name``
    (the file's stem), ``notes`` for the person, and how many operators of each type were read."""

    spec: ModelSpec
    state_dict: dict[str, np.ndarray]
    normalization: dict | None
    name: str
    notes: list[str] = field(default_factory=list)
    operators: Counter = field(default_factory=Counter)
    restored_layout: bool = False

    def summary(self) -> str:
        """One line: the layers by type and the number of weights."""
        counts = Counter(node.type for node in self.spec.nodes.values() if node.type != "Input")
        layers = ", ".join(f"{count} {kind}" for kind, count in counts.most_common())
        values = sum(int(np.asarray(array).size) for key, array in self.state_dict.items()
                     if not key.endswith("num_batches_tracked"))
        return f"{sum(counts.values())} layers ({layers}), {values:,} weights"


def import_onnx(path) -> ImportedModel:
    """Read the ONNX file at ``path`` (see ``onnx_import_file`` for what is refused) and import it."""
    path = Path(path)
    model = read_onnx_file(path)
    return import_onnx_model(model, path.stem or "model", label=f"'{path.name}'")


def import_onnx_model(model: Any, name: str = "model", label: str = "the model") -> ImportedModel:
    """Import an ``onnx.ModelProto``; ModelImportError names every operator that has no layer."""
    onnx = lazy_module("onnx", "ONNX import")
    check_model(onnx, model, label)
    graph = model.graph
    opset = next((entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")), 1)
    consts = {tensor.name: tensor_array(onnx, tensor, label) for tensor in graph.initializer}
    hints, note = Hints.from_metadata(model)
    st = ImportState(onnx, model, list(graph.node), consts, opset, hints)
    if note:
        st.notes.append(note)
    roots = {str(node.name).split("/")[0] for node in graph.node}
    if len(roots) == 1 and all("/" in str(node.name) for node in graph.node):
        st.root = roots.pop()    # e.g. 'model/' before every name: no layer is called that
    for node in graph.node:
        for name_in in node.input:
            if name_in:
                st.consumers.setdefault(name_in, []).append(node)
    input_name, input_id = _add_input(st, label)
    if len(graph.output) != 1:
        raise ModelImportError(f"{label} has {len(graph.output)} outputs ({', '.join(o.name for o in graph.output)}); "
                               f"a Layerforge model has one")
    order = _live_nodes(st, graph.output[0].name)
    normalization = {"inputs": _standardization(st, input_name, input_id), "targets": None}
    output_name = graph.output[0].name
    targets, output_name = _target_scaling(st, output_name)
    normalization["targets"] = targets
    with np.errstate(all="ignore"):   # damaged weights are refused by name below, not warned about here
        problems = _convert_all(st, order)
    if problems:
        raise _unsupported_error(label, problems)
    final = _final_value(st, output_name, input_id, label)
    spec = _checked_spec(st, final, label)
    spec, restored = _place(st, spec)
    state = _state_dict(st, spec, label)
    normalization = _with_stored_normalization(model, normalization)
    operators = Counter(node.op_type for node in order)
    return ImportedModel(spec, state, normalization, name, st.notes, operators, restored)


# -- the input and the exporter's prelude and epilogue ------------------------------------------------------

def _add_input(st: ImportState, label: str) -> tuple[str, str]:
    graph = st.model.graph
    initializers = {tensor.name for tensor in graph.initializer}
    inputs = [value for value in graph.input if value.name not in initializers]
    if len(inputs) != 1:
        names = ", ".join(repr(value.name) for value in inputs) or "none"
        raise ModelImportError(f"{label} has {len(inputs)} inputs ({names}); a Layerforge model reads one")
    value = inputs[0]
    tensor = value.type.tensor_type
    if not value.type.HasField("tensor_type"):
        raise ModelImportError(f"{label}: the input {value.name!r} is not a tensor")
    dtype = ELEM_TYPES.get(tensor.elem_type)
    if dtype is None:
        kind = st.onnx.TensorProto.DataType.Name(tensor.elem_type) if tensor.elem_type else "unknown"
        raise ModelImportError(f"{label}: the input {value.name!r} holds {kind} values; Layerforge models read "
                               f"float32 (features, images) or int64 (token indices)")
    dims = list(tensor.shape.dim)
    sample = []
    for index, dim in enumerate(dims[1:], start=1):
        if not dim.HasField("dim_value") or dim.dim_value <= 0:
            what = dim.dim_param or "unknown"
            raise ModelImportError(f"{label}: the input {value.name!r} has a size {what!r} in dimension {index}; "
                                   f"only the batch (dimension 0) may vary, the others need fixed sizes")
        sample.append(int(dim.dim_value))
    if not sample:
        raise ModelImportError(f"{label}: the input {value.name!r} has no dimension besides the batch; Layerforge "
                               f"models read (batch, features...)")
    hinted = next((node for node in st.hints.by_name.values() if node.type == "Input"), None)
    name = hinted.name if hinted is not None else "input1"
    node = st.spec.add_node("Input", {"shape": tuple(sample), "dtype": dtype}, name=name)
    st.shapes[node.id], st.dtypes[node.id] = tuple(sample), dtype
    st.values[value.name] = Val(node.id)
    return value.name, node.id


def _standardization(st: ImportState, input_name: str, input_id: str) -> dict | None:
    """The exporter's (input - mean) / std right at the input: the project's input normalisation."""
    sub = st.single_consumer(input_name)
    if sub is None or sub.op_type != "Sub" or list(sub.input)[0] != input_name or not st.is_const(sub.input[1]):
        return None
    div = st.single_consumer(sub.output[0])
    if div is None or div.op_type != "Div" or list(div.input)[0] != sub.output[0] or not st.is_const(div.input[1]):
        return None
    mean, std = (np.asarray(st.consts[name], dtype=np.float32) for name in (sub.input[1], div.input[1]))
    shape = st.shapes[input_id]
    if (mean.shape != std.shape or len(mean.shape) != len(shape)
            or np.broadcast_shapes(mean.shape, shape) != shape or not np.all(std > 0)):
        return None
    st.consume(sub, div)
    st.values[div.output[0]] = Val(input_id)
    per_channel = len(shape) >= 2 and mean.shape[1:] == (1,) * (len(shape) - 1) and mean.shape[0] == shape[0]
    return {"mean": mean.tolist(), "std": std.tolist(), "per_channel": bool(per_channel)}


def _target_scaling(st: ImportState, output_name: str) -> tuple[dict | None, str]:
    """The exporter's output * std + mean, written only for standardised regression targets."""
    applied = next((p.value for p in st.model.metadata_props if p.key == "layerforge.normalization_applied"), "")
    if "targets" not in applied.split(","):
        return None, output_name
    producers = {out: node for node in st.nodes for out in node.output}
    chain, name = [], output_name
    while name in producers and producers[name].op_type == "Identity":
        chain.append(producers[name])
        name = producers[name].input[0]
    add = producers.get(name)
    mul = producers.get(add.input[0]) if add is not None and add.op_type == "Add" else None
    if mul is None or mul.op_type != "Mul" or not st.is_const(add.input[1]) or not st.is_const(mul.input[1]):
        return None, output_name
    mean = np.asarray(st.consts[add.input[1]], dtype=np.float32)
    std = np.asarray(st.consts[mul.input[1]], dtype=np.float32)
    st.consume(add, mul, *chain)
    return {"mean": mean.tolist(), "std": std.tolist(), "per_channel": False}, mul.input[0]


def _with_stored_normalization(model: Any, found: dict) -> dict | None:
    """The metadata's normalisation where it agrees with the graph's constants (it also keeps
    per_channel); the graph's otherwise."""
    if found["inputs"] is None and found["targets"] is None:
        return None
    text = next((p.value for p in model.metadata_props if p.key == "layerforge.normalization"), None)
    try:
        stored = json.loads(text) if text else None
    except ValueError:
        stored = None
    if isinstance(stored, dict):
        for part in ("inputs", "targets"):
            entry, ours = stored.get(part), found[part]
            if isinstance(entry, dict) and ours is not None and _same_stats(entry, ours):
                found[part] = {"mean": entry["mean"], "std": entry["std"],
                               "per_channel": bool(entry.get("per_channel", ours["per_channel"]))}
    return found


def _same_stats(entry: dict, ours: dict) -> bool:
    try:
        return all(np.allclose(np.asarray(entry[key], np.float32), np.asarray(ours[key], np.float32))
                   for key in ("mean", "std"))
    except (KeyError, TypeError, ValueError):
        return False


# -- the walk ----------------------------------------------------------------------------------------------

def _live_nodes(st: ImportState, output_name: str) -> list:
    """The nodes the output depends on, in the graph's (topological) order."""
    producers = {out: node for node in st.nodes for out in node.output if out}
    needed, stack, live = set(), [output_name], set()
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        node = producers.get(name)
        if node is not None and id(node) not in live:
            live.add(id(node))
            stack.extend(n for n in node.input if n)
    return [node for node in st.nodes if id(node) in live]


def _convert_all(st: ImportState, order: list) -> list[tuple[str, str, str]]:
    problems = []
    for node in order:   # Constant nodes first: patterns look ahead at constants defined after their start
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            try:
                fold(st, node)
            except Unsupported as error:
                problems.append((node.op_type, node.name, error.reason))
            st.consume(node)
    for node in order:
        if id(node) in st.consumed:
            continue
        label = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        inputs = [name for name in node.input if name]
        try:
            if node.domain not in ("", "ai.onnx"):
                raise Unsupported(f"operators of the domain {node.domain!r} have no Layerforge layer")
            if tagged_type(node) is not None:
                convert_tagged(st, node, order)
            elif st.hints.by_name and layer_of(st, node) is not None:
                convert_batch_statistics(st, node, order)
            elif all(st.is_const(name) for name in inputs) and node.op_type in FOLDERS:
                fold(st, node)
            elif any(name not in st.values and not st.is_const(name) for name in inputs):
                if not _known(node.op_type):   # behind a node that failed: still name the unknown ones
                    raise Unsupported("Layerforge has no layer that computes it")
            else:
                _convert(st, node, order)
        except Unsupported as error:
            problems.append((label, node.name, error.reason))
        except (IndexError, KeyError, ValueError, TypeError, AttributeError, ArithmeticError) as error:
            # A node missing inputs or attributes the operator needs (a damaged or hand-edited file).
            problems.append((label, node.name, f"its inputs or attributes are malformed ({type(error).__name__}: "
                                               f"{error})"))
    return problems


def _known(op_type: str) -> bool:
    return op_type in CONVERTERS or op_type in _SPECIAL or op_type in ELEMENTWISE


def _convert(st: ImportState, node, order: list) -> None:
    if node.op_type in ELEMENTWISE and match_activation(st, node, order):
        return
    special = _SPECIAL.get(node.op_type)
    if special is not None and special(st, node) is not False:
        return
    converter = CONVERTERS.get(node.op_type)
    if converter is None:
        if node.op_type in ELEMENTWISE:
            raise Unsupported("element-wise arithmetic on the data is imported only as part of an activation "
                              "(GELU, SiLU, Softplus, ELU, ...); this one is not")
        raise Unsupported("Layerforge has no layer that computes it")
    converter(st, node)


_SPECIAL = {"LSTM": convert_recurrent, "GRU": convert_recurrent, "RNN": convert_recurrent,
            "Transpose": transpose, "Squeeze": squeeze, "Unsqueeze": unsqueeze, "Concat": concat_states, "Gather": gather_state}


def _unsupported_error(label: str, problems: list) -> ModelImportError:
    lines = [f"  {op} {name!r}: {reason}" if name else f"  {op} (unnamed): {reason}"
             for op, name, reason in problems[:SHOWN_PROBLEMS]]
    if len(problems) > SHOWN_PROBLEMS:
        lines.append(f"  ... and {len(problems) - SHOWN_PROBLEMS} more")
    kinds = sorted({op for op, _, _ in problems})
    head = (f"{label} cannot be imported: {len(problems)} operator{'s' if len(problems) != 1 else ''} "
            f"({', '.join(kinds)}) cannot become Layerforge layers; nothing was imported:")
    return ModelImportError("\n".join([head, *lines]), problems)


def _final_value(st: ImportState, output_name: str, input_id: str, label: str) -> Val:
    if output_name in st.consts:
        raise ModelImportError(f"{label}: the output is a constant; it does not depend on the input")
    try:
        value = st.val(output_name)
    except Unsupported as error:
        raise ModelImportError(f"{label}: the output cannot be a layer's output: {error.reason}") from None
    if value.node == input_id:
        raise ModelImportError(f"{label} has no layers: its output is its input")
    return value


def _checked_spec(st: ImportState, final: Val, label: str) -> ModelSpec:
    spec = st.spec
    report = infer_shapes(spec)
    try:
        report.raise_if_invalid()
    except GraphError as error:
        raise ModelImportError(f"{label} does not make a valid Layerforge model: {error}") from None
    if report.output_id != final.node:
        raise ModelImportError(f"{label}: the imported layers do not end in the model's output")
    return spec


def _place(st: ImportState, spec: ModelSpec) -> tuple[ModelSpec, bool]:
    """The exporter's own ids and positions when the file carries them for every layer, else auto layout."""
    placement = st.hints.placement(spec)
    data = spec.to_dict()
    if placement is not None and len({hinted_id for hinted_id, _ in placement.values()}) == len(placement):
        ids = {node_id: hinted_id for node_id, (hinted_id, _) in placement.items()}
        for node in data["nodes"]:
            node["position"] = list(placement[node["id"]][1])
            node["id"] = ids[node["id"]]
        for edge in data["edges"]:
            edge["source"], edge["target"] = ids[edge["source"]], ids[edge["target"]]
        return ModelSpec.from_dict(data), True
    positions = auto_layout(spec)
    for node in data["nodes"]:
        node["position"] = list(positions[node["id"]])
    return ModelSpec.from_dict(data), False


def _state_dict(st: ImportState, spec: ModelSpec, label: str) -> dict[str, np.ndarray]:
    """The imported weights under every key of the compiled model, checked against its shapes."""
    try:
        template = compile_spec(spec).state_dict()
    except GraphError as error:
        raise ModelImportError(f"{label}: the imported model cannot be built: {error}") from None
    state = {}
    for key, value in template.items():
        expected = np.asarray(value.detach().numpy() if hasattr(value, "detach") else value)
        if key in st.state:
            array = st.state[key]
            if array.shape != expected.shape:
                raise ModelImportError(f"{label}: the weight {key!r} has shape {array.shape}, the layer needs "
                                       f"{expected.shape}")
            state[key] = array.astype(expected.dtype)
        elif key.endswith("num_batches_tracked"):
            state[key] = expected.copy()
        else:
            raise ModelImportError(f"{label}: no weights were found for {key!r}")
    extra = sorted(set(st.state) - set(state))
    if extra:
        raise ModelImportError(f"{label}: weights {', '.join(extra)} belong to no layer")
    for key, array in state.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ModelImportError(f"{label}: the weight {key!r} holds NaN or infinite values")
    return state
