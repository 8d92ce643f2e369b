"""The attention layers as plain opset-17 ONNX ops (MatMul, Reshape, Transpose, Softmax, ...).

Every node a layer emits is named ``<layer name>/...`` and carries ``layerforge.layer=<layer type>``
in its doc string, so an importer can gather them back into one layer. The weights keep the
layer's state_dict names with a suffix saying how they were laid out:

- MultiheadSelfAttention ``attn1``: ``attn1.in_proj_weight.q_T`` / ``.k_T`` / ``.v_T`` are the three
  (dim, dim) row blocks of ``in_proj_weight``, transposed for ``x @ W``; ``attn1.in_proj_bias.q`` /
  ``.k`` / ``.v`` the thirds of ``in_proj_bias``; ``attn1.out_proj.weight_T`` and ``attn1.out_proj.bias``.
- TransformerEncoderBlock ``encoder1``: its attention as above under ``encoder1.self_attn``, then
  ``encoder1.linear1.weight_T`` / ``.bias``, ``encoder1.linear2...``, and ``encoder1.norm1.weight`` /
  ``.bias`` (LayerNormalization), ``norm2`` likewise.
- PositionalEmbedding ``pos1``: ``pos1.weight``, the whole (max_len, dim) table, sliced to the
  sequence length by a Slice node.
- SequencePool: ReduceMean / ReduceMax over axis 1, or Gather of position 0 / -1.

Evaluation mode throughout: dropout does nothing, as in the engine's ``eval()``.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .onnx_graph import LayerContext

Converter = Callable[[LayerContext], str]


class _Part:
    """Emits the nodes of one part of a layer (``encoder1/self_attn``) under that name prefix."""

    def __init__(self, ctx: LayerContext, part: str = ""):
        self.ctx, self.graph = ctx, ctx.graph
        self.prefix = f"{ctx.name}/{part}" if part else ctx.name
        self.key = f"{part}." if part else ""

    def op(self, op_type: str, inputs, **attributes) -> str:
        return self.graph.op(op_type, inputs, self.prefix, **attributes)

    def weight(self, key: str, shape) -> np.ndarray:
        return self.ctx.weight(self.key + key, shape)

    def constant(self, value, key: str) -> str:
        return self.ctx.constant(value, self.key + key)

    def ints(self, values, key: str) -> str:
        return self.graph.ints(values, f"{self.ctx.name}.{self.key}{key}")

    def linear(self, x: str, weight: np.ndarray, weight_key: str, bias: np.ndarray | None, bias_key: str) -> str:
        """x @ weight^T (+ bias) over the last axis, as nn.Linear on a (batch, seq, features) tensor."""
        y = self.op("MatMul", [x, self.constant(np.ascontiguousarray(weight.T), weight_key)])
        return y if bias is None else self.op("Add", [y, self.constant(bias, bias_key)])


def _self_attention(part: _Part, x: str, dim: int, heads: int, bias: bool) -> str:
    """PyTorch's multi-head attention of x with itself, (batch, seq, dim) -> (batch, seq, dim)."""
    head_dim = dim // heads
    weight = part.weight("in_proj_weight", (3 * dim, dim))
    biases = part.weight("in_proj_bias", (3 * dim,)) if bias else None

    def heads_of(index: int, role: str, perm: list[int]) -> str:
        block = slice(index * dim, (index + 1) * dim)
        projected = part.linear(x, weight[block], f"in_proj_weight.{role}_T",
                                None if biases is None else biases[block], f"in_proj_bias.{role}")
        split = part.op("Reshape", [projected, part.ints([0, 0, heads, head_dim], f"{role}_heads_shape")])
        return part.op("Transpose", [split], perm=perm)

    query = heads_of(0, "q", [0, 2, 1, 3])   # (batch, heads, seq, head_dim)
    key_t = heads_of(1, "k", [0, 2, 3, 1])   # (batch, heads, head_dim, seq)
    value = heads_of(2, "v", [0, 2, 1, 3])
    scores = part.op("MatMul", [query, key_t])
    scaled = part.op("Mul", [scores, part.constant(1.0 / math.sqrt(head_dim), "scale")])
    weights = part.op("Softmax", [scaled], axis=-1)
    mixed = part.op("Transpose", [part.op("MatMul", [weights, value])], perm=[0, 2, 1, 3])
    joined = part.op("Reshape", [mixed, part.ints([0, 0, dim], "joined_shape")])
    out_bias = part.weight("out_proj.bias", (dim,)) if bias else None
    return part.linear(joined, part.weight("out_proj.weight", (dim, dim)), "out_proj.weight_T", out_bias,
                       "out_proj.bias")


def _multihead_self_attention(ctx: LayerContext) -> str:
    _, dim = ctx.in_shape
    return _self_attention(_Part(ctx), ctx.x, dim, int(ctx.params["num_heads"]), bool(ctx.params["bias"]))


def _layer_norm(part: _Part, x: str, name: str, dim: int, eps: float, bias: bool) -> str:
    scale = part.constant(part.weight(f"{name}.weight", (dim,)), f"{name}.weight")
    shift = part.weight(f"{name}.bias", (dim,)) if bias else np.zeros(dim, np.float32)
    return part.op("LayerNormalization", [x, scale, part.constant(shift, f"{name}.bias")], axis=-1, epsilon=eps)


def _gelu(part: _Part, x: str) -> str:
    """0.5 x (1 + erf(x / sqrt(2))), PyTorch's exact GELU (opset 17 has no Gelu op)."""
    core = part.op("Erf", [part.op("Div", [x, part.constant(math.sqrt(2.0), "sqrt_2")])])
    half_x = part.op("Mul", [x, part.constant(0.5, "half")])
    return part.op("Mul", [half_x, part.op("Add", [core, part.constant(1.0, "one")])])


def _feed_forward(part: _Part, x: str, dim: int, hidden: int, activation: str, bias: bool) -> str:
    def linear(y, name, out, features):
        weight = part.weight(f"{name}.weight", (out, features))
        return part.linear(y, weight, f"{name}.weight_T", part.weight(f"{name}.bias", (out,)) if bias else None,
                           f"{name}.bias")

    widened = linear(x, "linear1", hidden, dim)
    activated = part.op("Relu", [widened]) if activation == "relu" else _gelu(part, widened)
    return linear(activated, "linear2", dim, hidden)


def _transformer_encoder_block(ctx: LayerContext) -> str:
    """nn.TransformerEncoderLayer: post-norm LN(x + SA(x)), LN(x + FF(x)); pre-norm x + SA(LN(x)), ..."""
    _, dim = ctx.in_shape
    p = ctx.params
    heads, bias, eps = int(p["num_heads"]), bool(p["bias"]), float(p["layer_norm_eps"])
    block, attention = _Part(ctx), _Part(ctx, "self_attn")

    def attend(y):
        return _self_attention(attention, y, dim, heads, bias)

    def feed(y):
        return _feed_forward(block, y, dim, int(p["dim_feedforward"]), p["activation"], bias)

    def norm(y, name):
        return _layer_norm(block, y, name, dim, eps, bias)

    x = ctx.x
    if p["norm_first"]:
        x = block.op("Add", [x, attend(norm(x, "norm1"))])
        return block.op("Add", [x, feed(norm(x, "norm2"))])
    x = norm(block.op("Add", [x, attend(x)]), "norm1")
    return norm(block.op("Add", [x, feed(x)]), "norm2")


def _positional_embedding(ctx: LayerContext) -> str:
    length, dim = ctx.in_shape
    table = ctx.constant(ctx.weight("weight", (int(ctx.params["max_len"]), dim)), "weight")
    graph = ctx.graph
    rows = ctx.op("Slice", [table, graph.ints([0], f"{ctx.name}.starts"), graph.ints([length], f"{ctx.name}.ends"),
                            graph.ints([0], f"{ctx.name}.axes")])
    return ctx.op("Add", [ctx.x, rows])


def _sequence_pool(ctx: LayerContext) -> str:
    mode = ctx.params["mode"]
    if mode == "mean":
        return ctx.op("ReduceMean", [ctx.x], axes=[1], keepdims=0) if ctx.graph.opset < 18 else \
            ctx.op("ReduceMean", [ctx.x, ctx.graph.ints([1], f"{ctx.name}.axes")], keepdims=0)
    if mode == "max":
        return ctx.op("ReduceMax", [ctx.x], axes=[1], keepdims=0) if ctx.graph.opset < 18 else \
            ctx.op("ReduceMax", [ctx.x, ctx.graph.ints([1], f"{ctx.name}.axes")], keepdims=0)
    position = ctx.graph.constant(0 if mode == "first" else -1, f"{ctx.name}.position", np.int64)
    return ctx.op("Gather", [ctx.x, position], axis=1)


def _tagged(converter: Converter) -> Converter:
    """The converter, with ``layerforge.layer=<type>`` written into the doc string of each node it adds."""
    def convert(ctx: LayerContext) -> str:
        first = len(ctx.graph.nodes)
        output = converter(ctx)
        for node in ctx.graph.nodes[first:]:
            node.doc_string = f"layerforge.layer={ctx.type}"
        return output
    convert.__doc__ = converter.__doc__
    return convert


ATTENTION_CONVERTERS: dict[str, Converter] = {
    "MultiheadSelfAttention": _tagged(_multihead_self_attention),
    "TransformerEncoderBlock": _tagged(_transformer_encoder_block),
    "PositionalEmbedding": _tagged(_positional_embedding),
    "SequencePool": _tagged(_sequence_pool),
}
