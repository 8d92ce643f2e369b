"""Converters: the engine's fused recurrent layers as ONNX's LSTM, GRU and RNN operators.

The engine runs one node per layer and direction over a time-major (T, B, I) sequence, with the
weights in PyTorch's layout; ``nn.LSTM`` stacks layers and directions and handles ``batch_first``
with ordinary recorded operations (cat, stack, transpose). Each node becomes one ONNX operator in
direction "forward" or "reverse". The weights stay initializers under their state_dict keys; the
gate blocks are put in ONNX's order inside the graph (a Gather of rows, which runtimes fold):

- LSTM: PyTorch stacks [input, forget, cell, output]; ONNX wants [input, output, forget, cell].
- GRU: PyTorch stacks [reset, update, new]; ONNX wants [update, reset, hidden], and PyTorch applies
  the reset gate after the hidden matrix product, which is ONNX's ``linear_before_reset=1``.
"""
from __future__ import annotations

import numpy as np

from .registry import converts

# Which of PyTorch's gate blocks goes to each of ONNX's places.
GATE_ORDER = {"RNN": (0,), "LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2)}


def gate_rows(kind: str, hidden: int) -> np.ndarray:
    """Row indices that turn PyTorch's stacked gate blocks (G*H rows) into ONNX's order."""
    return np.concatenate([np.arange(block * hidden, (block + 1) * hidden) for block in GATE_ORDER[kind]])


def _is_zero_constant(value) -> bool:
    return value.kind == "const" and not np.any(value.array)


def _recurrent(ctx, kind: str):
    has_bias = ctx.attrs["has_bias"]
    state_count = 2 if kind == "LSTM" else 1
    x = ctx.x(0)
    states = [ctx.in_value(1 + i) for i in range(state_count)]
    w_ih, w_hh = 1 + state_count, 2 + state_count
    hidden = ctx.in_shape(w_hh)[1]
    rows = ctx.b.ints(gate_rows(kind, hidden), f"{kind.lower()}_gate_order")
    first_axis = ctx.b.ints([0], "axes")

    def onnx_layout(i):  # one direction's (G*H, ...) PyTorch block as ONNX's (1, G*H, ...)
        return ctx.emit("Unsqueeze", [ctx.emit("Gather", [ctx.x(i), rows], axis=0), first_axis])

    inputs = [x, onnx_layout(w_ih), onnx_layout(w_hh)]
    if has_bias:
        both = ctx.emit("Concat", [ctx.emit("Gather", [ctx.x(w_hh + 1), rows], axis=0),
                                   ctx.emit("Gather", [ctx.x(w_hh + 2), rows], axis=0)], axis=0)
        inputs.append(ctx.emit("Unsqueeze", [both, first_axis]))
    else:
        inputs.append("")
    inputs.append("")  # sequence_lens: every sequence runs the whole length
    for value in states:  # zeros (the default initial state) are left out, so any batch size works
        inputs.append("" if _is_zero_constant(value) else ctx.emit("Unsqueeze", [ctx.b.name_of(value), first_axis]))
    while inputs[-1] == "":
        inputs.pop()
    attrs = {"hidden_size": int(hidden), "direction": "reverse" if ctx.attrs["reverse"] else "forward"}
    if kind == "GRU":
        attrs["linear_before_reset"] = 1
    if kind == "RNN":
        attrs["activations"] = ["Relu" if ctx.attrs.get("nonlinearity") == "relu" else "Tanh"]
    outputs = ctx.emit(kind, inputs, n_out=1 + state_count, **attrs)
    # Y is (T, 1, B, H) and Y_h, Y_c (1, B, H): the engine's outputs have no directions axis.
    ctx.emit("Squeeze", [outputs[0], ctx.b.ints([1], "axes")], outputs=[ctx.out(0)])
    for i in range(state_count):
        ctx.emit("Squeeze", [outputs[1 + i], first_axis], outputs=[ctx.out(1 + i)])


@converts("LSTMLayer")
def lstm(ctx):
    _recurrent(ctx, "LSTM")


@converts("GRULayer")
def gru(ctx):
    _recurrent(ctx, "GRU")


@converts("RNNLayer")
def rnn(ctx):
    _recurrent(ctx, "RNN")
