"""ONNX RNN, LSTM and GRU back into the catalog's batch-first recurrent layers, stacked and bidirectional.

ONNX's recurrent ops run time-major and give every step's output (time, directions, batch, hidden)
and the final state (directions, batch, hidden). Exporters wrap them in Transpose / Squeeze /
Reshape / Concat / Gather to get PyTorch's batch-first tensors back. Here those wrappers are
followed as changes of layout (see ``Val``) until the result is an ordinary tensor again; only then
is the layer made, with ``output`` 'sequence' or 'last' as it was read. Ops fed one by the other
(from the same layer, as both exporters write ``num_layers`` > 1) become one layer with
``num_layers``. Gate blocks go back to PyTorch's order (the inverse of ``onnx_recurrent``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .onnx_import_graph import BATCH, ImportState, Unsupported, Val, Zeros, attr, int_attr
from .onnx_recurrent import GATE_ORDER

DEFAULT_ACTIVATIONS = {"RNN": ["Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"]}


@dataclass
class Pending:
    """Recurrent layers read but not yet placed: the spec node waits until its output is read."""

    kind: str
    base: str
    onnx_node: Any
    source: str                       # spec node id of the batch-first (time, features) input
    hidden: int
    directions: int
    nonlinearity: str
    layers: list = field(default_factory=list)   # per stacked layer: {state_dict suffix: array}
    has_bias: bool = False
    node: str | None = None
    output: str | None = None


def _ungroup(array: np.ndarray, kind: str) -> np.ndarray:
    """ONNX's gate blocks (first axis) in PyTorch's order."""
    order = GATE_ORDER[kind]
    blocks = np.split(array, len(order), axis=0)
    result = [None] * len(order)
    for onnx_index, torch_index in enumerate(order):
        result[torch_index] = blocks[onnx_index]
    return np.concatenate(result, axis=0)


def _zero_state(st: ImportState, node, index: int, what: str) -> None:
    if len(node.input) <= index or not node.input[index]:
        return
    value = st.consts.get(node.input[index])
    if isinstance(value, Zeros) or (isinstance(value, np.ndarray) and value.dtype.kind == "f" and not value.any()):
        return
    raise Unsupported(f"its {what} is not zero; Layerforge's recurrent layers start from zeros")


def convert_recurrent(st: ImportState, node) -> None:
    kind = node.op_type
    if int_attr(node, "layout", 0):
        raise Unsupported("layout=1 (batch-major) is not imported; export with the default time-major layout")
    if attr(st.onnx, node, "clip") is not None or int_attr(node, "input_forget", 0):
        raise Unsupported("clip / input_forget have no counterpart in Layerforge's layers")
    if len(node.input) > 4 and node.input[4]:
        raise Unsupported("sequence_lens (padded sequences) is not imported")
    _zero_state(st, node, 5, "initial hidden state")
    _zero_state(st, node, 6, "initial cell state")
    if len(node.input) > 7 and node.input[7]:
        raise Unsupported("peephole weights have no counterpart in PyTorch's LSTM")
    if kind == "GRU" and not int_attr(node, "linear_before_reset", 0):
        raise Unsupported("linear_before_reset=0 is not how PyTorch's GRU computes; it cannot be imported exactly")
    direction = str(attr(st.onnx, node, "direction", "forward"))
    if direction == "reverse":
        raise Unsupported("direction='reverse' alone has no layer (forward or bidirectional only)")
    directions = 2 if direction == "bidirectional" else 1
    activations = [a.decode() if isinstance(a, bytes) else str(a)
                   for a in (attr(st.onnx, node, "activations") or DEFAULT_ACTIVATIONS[kind] * directions)]
    nonlinearity = "tanh"
    if kind == "RNN" and activations[0] == "Relu":
        nonlinearity = "relu"
    expected = [a.capitalize() if kind == "RNN" else a for a in
                ([nonlinearity.capitalize()] if kind == "RNN" else DEFAULT_ACTIVATIONS[kind])] * directions
    if [a.capitalize() for a in activations] != [a.capitalize() for a in expected]:
        raise Unsupported(f"activations {activations} differ from PyTorch's; no layer computes them")
    w = st.weight(node.input[1], "input weights W")
    r = st.weight(node.input[2], "recurrent weights R")
    hidden = int(attr(st.onnx, node, "hidden_size", r.shape[-1]))
    gates = {"RNN": 1, "LSTM": 4, "GRU": 3}[kind] * hidden
    if w.ndim != 3 or w.shape[:2] != (directions, gates) or r.shape != (directions, gates, hidden):
        raise Unsupported(f"its weights W {w.shape} and R {r.shape} do not fit hidden_size {hidden}")
    bias = st.weight(node.input[3], "bias B") if len(node.input) > 3 and node.input[3] else None
    if bias is not None and bias.shape != (directions, 2 * gates):
        raise Unsupported(f"its bias B has shape {bias.shape}, not {(directions, 2 * gates)}")
    value = st.val(node.input[0], ("T",)) if not _pending_input(st, node) else st.values[node.input[0]]
    layer_weights = {}
    for d, suffix in enumerate(("", "_reverse")[:directions]):
        layer_weights[f"weight_ih_l{{}}{suffix}"] = _ungroup(w[d], kind)
        layer_weights[f"weight_hh_l{{}}{suffix}"] = _ungroup(r[d], kind)
        b = bias[d] if bias is not None else np.zeros(2 * gates, np.float32)
        layer_weights[f"bias_ih_l{{}}{suffix}"] = _ungroup(b[:gates], kind)
        layer_weights[f"bias_hh_l{{}}{suffix}"] = _ungroup(b[gates:], kind)
    base = st.base(node)
    pending = value.pending if value.node is None else None
    if (pending is None or pending.kind != kind or pending.base != base or pending.hidden != hidden
            or pending.directions != directions or pending.nonlinearity != nonlinearity or pending.node is not None):
        if pending is not None:
            value = materialize(st, value)
        features = st.shape(value)
        if len(features) != 2 or features[1] != w.shape[2]:
            raise Unsupported(f"its weights read {w.shape[2]} features, the input is {features} (time, features)")
        pending = Pending(kind, base, node, value.node, hidden, directions, nonlinearity)
    pending.layers.append(layer_weights)
    pending.has_bias = pending.has_bias or bias is not None
    layer = len(pending.layers) - 1
    st.values[node.output[0]] = Val(None, "Y", pending, layer)
    if len(node.output) > 1 and node.output[1]:
        st.values[node.output[1]] = Val(None, "H", pending, layer)
    if len(node.output) > 2 and node.output[2]:
        st.values[node.output[2]] = Val(None, "C", pending, layer)


def _pending_input(st: ImportState, node) -> bool:
    value = st.values.get(node.input[0])
    return value is not None and value.node is None and value.layout == "T"


def materialize(st: ImportState, value: Val) -> Val:
    """The layer of a pending recurrent value read as an ordinary tensor: 'sequence' when read as the
    per-step outputs (time-major "T"), 'last' when read as the final state ("")."""
    pending = value.pending
    output = "sequence" if value.layout == "T" else "last"
    if value.layer != len(pending.layers) - 1:
        raise Unsupported(f"it reads stacked layer {value.layer} of {len(pending.layers)}; only the top layer's "
                          f"result is a layer's output")
    if pending.node is None:
        params = {"hidden_size": pending.hidden, "num_layers": len(pending.layers), "bias": pending.has_bias,
                  "bidirectional": pending.directions == 2, "output": output}
        if pending.kind == "RNN":
            params["nonlinearity"] = pending.nonlinearity
        weights = {}
        for index, layer in enumerate(pending.layers):
            for key, array in layer.items():
                if key.startswith("bias") and not pending.has_bias:
                    continue
                weights[key.format(index)] = array
        pending.node = st.add_layer(pending.onnx_node, pending.kind, params, [Val(pending.source)], weights,
                                    output="", base=pending.base)
        pending.output = output
    elif pending.output != output:
        raise Unsupported(f"both the per-step outputs and the final state of {pending.kind} "
                          f"'{st.spec.nodes[pending.node].name}' are used; a layer gives one of them")
    return Val(pending.node, value.layout)


# -- the wrappers: layouts ------------------------------------------------------------------------------

def transpose(st: ImportState, node) -> None:
    value = st.values.get(node.input[0])
    if value is None:
        st.val(node.input[0])
    perm = list(attr(st.onnx, node, "perm", []) or [])
    moves = {("", (1, 0, 2)): "T", ("T", (1, 0, 2)): "", ("Y", (0, 2, 1, 3)): "YT", ("H", (1, 0, 2)): "HT"}
    layout = moves.get((value.layout, tuple(perm)))
    if value.layout == "" and layout == "T" and len(st.shape(value)) != 2:
        layout = None
    if layout is None:
        raise Unsupported(f"transposing with perm {tuple(perm)} has no layer (Layerforge keeps the batch first)")
    st.values[node.output[0]] = Val(value.node, layout, value.pending, value.layer, value.stack)
    if layout == "" and value.node is None:
        st.values[node.output[0]] = materialize(st, Val(None, "T", value.pending, value.layer))
        st.values[node.output[0]] = Val(st.values[node.output[0]].node, "")


def reshape_recurrent(st: ImportState, node, value: Val) -> None:
    """(time, batch, dirs, hidden) -> (time, batch, dirs*hidden), or (batch, dirs, hidden) -> (batch, dirs*hidden)."""
    target = [int(v) for v in np.asarray(st.const(node.input[1], "target shape")).reshape(-1)]
    width = value.pending.directions * value.pending.hidden
    if value.layout == "YT" and len(target) == 3 and target[2] == width and target[:2] in ([0, 0], [-1, 0], [0, -1]):
        st.values[node.output[0]] = Val(None, "T", value.pending, value.layer)
    elif value.layout == "HT" and len(target) == 2 and target[1] == width and target[0] in (0, -1, int(BATCH)):
        st.values[node.output[0]] = materialize(st, Val(None, "", value.pending, value.layer))
    else:
        raise Unsupported(f"reshaping a recurrent operator's output to {tuple(target)} has no layer")


def _axes(st: ImportState, node) -> list[int]:
    if len(node.input) > 1 and node.input[1]:
        return [int(a) for a in np.asarray(st.array(node.input[1], "axes")).reshape(-1)]
    return [int(a) for a in (attr(st.onnx, node, "axes", []) or [])]


def squeeze(st: ImportState, node) -> None:
    value = st.values.get(node.input[0])
    if value is None:
        st.val(node.input[0])
    axes = _axes(st, node)
    one_direction = value.pending is not None and value.pending.directions == 1
    if value.layout == "Y" and one_direction and axes == [1]:
        st.values[node.output[0]] = Val(None, "T", value.pending, value.layer)
    elif value.layout == "H" and one_direction and axes == [0]:   # a layer's output once read as a tensor
        st.values[node.output[0]] = Val(None, "Hs", value.pending, value.layer)
    else:
        raise Unsupported(f"squeezing axes {axes} has no layer")


def unsqueeze(st: ImportState, node) -> None:
    """A squeezed final state given its directions axis back (to be stacked with the other layers')."""
    value = st.values.get(node.input[0])
    if value is None:
        st.val(node.input[0])
    if value.layout != "Hs" or _axes(st, node) != [0]:
        raise Unsupported("adding a dimension has no layer (Layerforge keeps each sample's shape)")
    st.values[node.output[0]] = Val(None, "H", value.pending, value.layer)


def concat_states(st: ImportState, node) -> bool:
    """PyTorch's h_n: the final states of stacked layers concatenated on axis 0. False if not that."""
    values = [st.values.get(name) for name in node.input if name]
    if not values or any(v is None or v.layout != "H" for v in values) or int_attr(node, "axis", 0) != 0:
        return False
    pending = values[0].pending
    if any(v.pending is not pending for v in values) or [v.layer for v in values] != list(range(len(values))):
        raise Unsupported("it joins final states of different recurrent layers")
    st.values[node.output[0]] = Val(None, "HS", pending, len(values) - 1, tuple(values))
    return True


def gather_state(st: ImportState, node) -> bool:
    """h_n[-1]: the top layer's final state (one direction). False if the input is not a state."""
    value = st.values.get(node.input[0])
    if value is None or value.layout not in ("H", "HS"):
        return False
    index = np.asarray(st.array(node.input[1], "index")).reshape(-1)
    rows = value.pending.directions * (len(value.stack) if value.layout == "HS" else 1)
    if (int_attr(node, "axis", 0) != 0 or index.size != 1 or value.pending.directions != 1
            or int(index[0]) not in (-1, rows - 1) or np.asarray(st.consts[node.input[1]]).ndim != 0):
        raise Unsupported("only the last row of the final states (h_n[-1], one direction) is a layer's output")
    st.values[node.output[0]] = materialize(st, Val(None, "", value.pending, value.layer))
    return True
