"""RNN, LSTM and GRU as ONNX's recurrent ops, stacked and bidirectional, from PyTorch-layout weights.

The catalog's recurrent layers are batch-first and built like ``torch.nn.LSTM``. ONNX's ops run
time-major and stack their gates in another order, so the weights are regrouped here:

- LSTM: PyTorch stacks [input, forget, cell, output]; ONNX wants [input, output, forget, cell].
- GRU: PyTorch stacks [reset, update, new]; ONNX wants [update, reset, hidden], and PyTorch applies
  the reset gate after the hidden matrix product, which is ONNX's ``linear_before_reset=1``.

Dropout between stacked layers only acts in training, so it has no ONNX counterpart.
"""
from __future__ import annotations

import numpy as np

from layerforge.engine.onnx.converters_recurrent import GATE_ORDER  # the engine's exporter uses the same table

from .onnx_graph import LayerContext

ONNX_OP = {"RNN": "RNN", "LSTM": "LSTM", "GRU": "GRU"}
OUTPUTS = {"RNN": 2, "LSTM": 3, "GRU": 2}


def _regroup(array: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
    """Reorder the gate blocks stacked along the first axis."""
    blocks = np.split(array, len(order), axis=0)
    return np.concatenate([blocks[index] for index in order], axis=0)


def _layer_weights(ctx: LayerContext, layer: int, inputs: int):
    """(W, R, B) of one stacked layer, each with a leading directions axis, in ONNX's layout."""
    kind, hidden = ctx.type, int(ctx.params["hidden_size"])
    order = GATE_ORDER[kind]
    gates = len(order) * hidden
    suffixes = ("", "_reverse") if ctx.params["bidirectional"] else ("",)
    w, r, b = [], [], []
    for suffix in suffixes:
        w.append(_regroup(ctx.weight(f"weight_ih_l{layer}{suffix}", (gates, inputs)), order))
        r.append(_regroup(ctx.weight(f"weight_hh_l{layer}{suffix}", (gates, hidden)), order))
        if ctx.params["bias"]:
            b.append(np.concatenate([_regroup(ctx.weight(f"bias_ih_l{layer}{suffix}", (gates,)), order),
                                     _regroup(ctx.weight(f"bias_hh_l{layer}{suffix}", (gates,)), order)]))
        else:
            b.append(np.zeros(2 * gates, np.float32))
    return np.stack(w), np.stack(r), np.stack(b)


def _recurrent(ctx: LayerContext) -> str:
    kind = ctx.type
    steps, features = ctx.in_shape
    hidden = int(ctx.params["hidden_size"])
    directions = 2 if ctx.params["bidirectional"] else 1
    attributes = {"hidden_size": hidden, "direction": "bidirectional" if directions == 2 else "forward"}
    if kind == "RNN":
        attributes["activations"] = [ctx.params["nonlinearity"].capitalize()] * directions
    if kind == "GRU":
        attributes["linear_before_reset"] = 1
    sequence = ctx.op("Transpose", [ctx.x], perm=[1, 0, 2])  # (time, batch, features)
    inputs = features
    for layer in range(int(ctx.params["num_layers"])):
        w, r, b = _layer_weights(ctx, layer, inputs)
        outputs = ctx.op(ONNX_OP[kind], [sequence, ctx.constant(w, f"W_l{layer}"), ctx.constant(r, f"R_l{layer}"),
                                         ctx.constant(b, f"B_l{layer}")], outputs=OUTPUTS[kind], **attributes)
        all_steps, final_hidden = outputs[0], outputs[1]  # (time, dirs, batch, hidden), (dirs, batch, hidden)
        # The next layer reads both directions side by side: (time, batch, dirs * hidden).
        joined = ctx.op("Transpose", [all_steps], perm=[0, 2, 1, 3])
        sequence = ctx.graph.reshape(joined, [0, 0, directions * hidden], ctx.name)
        inputs = directions * hidden
    if ctx.params["output"] == "sequence":
        return ctx.op("Transpose", [sequence], perm=[1, 0, 2])  # back to (batch, time, features)
    # 'last': the final hidden state of the top layer, forward then backward, as torch.cat does.
    per_sample = ctx.op("Transpose", [final_hidden], perm=[1, 0, 2])
    return ctx.graph.reshape(per_sample, [0, directions * hidden], ctx.name)


RECURRENT_CONVERTERS = {"RNN": _recurrent, "LSTM": _recurrent, "GRU": _recurrent}
