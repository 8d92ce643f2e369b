"""Declarations: the layers of a small transformer over (sequence, features) samples, batch first.

Self-attention and the encoder block are PyTorch's ``nn.MultiheadAttention`` / ``nn.TransformerEncoderLayer``
with ``batch_first=True``; the learned positional embedding is an ``nn.Embedding(max_len, dim)`` whose
first rows are added to the input (its table is ``<name>.weight``); the sequence pooling is a plain
tensor expression (mean, max, first or last position), so it has no module and nothing to learn.
"""
from __future__ import annotations

from .errors import ShapeError
from .layer_type import Call, LayerType, Merge, ModuleForward
from .params import Param
from .shape_rules import fmt, insert_fix

NUM_HEADS = Param("num_heads", "int", 4, "attention heads; each looks at dim / num_heads of the features "
                  "(must divide the embedding dimension)", minimum=1)
DROPOUT = Param("dropout", "float", 0.0, "dropout on the attention weights during training", minimum=0.0,
                maximum=1.0)
BIAS = Param("bias", "bool", True, "learn biases in the projections (and the norms' shifts)")


def expect_sequence(shape, what: str = "(sequence length, features)") -> tuple[int, int]:
    """(length, features) of a per-sample shape, or a ShapeError that suggests the fix."""
    if len(shape) == 2:
        return shape
    fix, hint = None, ""
    if len(shape) == 1:
        hint = (": feed token indices through an Embedding (Input dtype int64), or Reshape to "
                f"({shape[0]}, 1) for a sequence of single numbers")
    elif len(shape) == 3:
        fix = insert_fix("Flatten", start_dim=2, end_dim=-1)
        hint = f": insert Flatten(start_dim=2) to get ({shape[0]}, {shape[1] * shape[2]})"
    raise ShapeError(f"expects {what}, got {fmt(shape)}{hint}", fix)


def _check_heads(params, dim: int) -> None:
    heads = params["num_heads"]
    if dim % heads:
        divisors = [h for h in range(1, min(dim, 16) + 1) if dim % h == 0]
        raise ShapeError(f"has num_heads={heads}, which does not divide the embedding dimension {dim} (its input's "
                         f"last size): choose num_heads among {', '.join(map(str, divisors))}, or change the "
                         f"dimension")


# -- multi-head self-attention ----------------------------------------------------------------------------

def _attention_shape(params, in_shapes):
    length, dim = expect_sequence(in_shapes[0])
    _check_heads(params, dim)
    return (length, dim)


def _self_attention_code(params, module, names):
    (x,) = names
    return f"{module}({x}, {x}, {x}, need_weights=False)[0]"


SELF_ATTENTION = LayerType(
    "MultiheadSelfAttention", "Attention",
    "Multi-head self-attention: every position attends to every other; input (sequence, dim), output the same.",
    _attention_shape,
    params=(NUM_HEADS, DROPOUT, BIAS),
    module=lambda p, s: Call("MultiheadAttention", (s[0][1], p["num_heads"]),
                             (("dropout", p["dropout"]), ("bias", p["bias"]), ("batch_first", True))),
    forward=ModuleForward(apply=lambda ops, p, module, xs: module(xs[0], xs[0], xs[0], need_weights=False)[0],
                          code=_self_attention_code),
    count_params=lambda p, s: 4 * s[0][1] * s[0][1] + 4 * s[0][1] * p["bias"],
    name_prefix="attn",
)


# -- transformer encoder block ------------------------------------------------------------------------------

def _encoder_count(params, in_shapes):
    dim, hidden, bias = in_shapes[0][1], params["dim_feedforward"], params["bias"]
    attention = 4 * dim * dim + 4 * dim * bias
    feedforward = 2 * dim * hidden + (hidden + dim) * bias
    norms = 2 * dim * (1 + bias)
    return attention + feedforward + norms


ENCODER_BLOCK = LayerType(
    "TransformerEncoderBlock", "Attention",
    "Self-attention then a two-layer feed-forward net, each with a residual connection and layer norm "
    "(PyTorch's TransformerEncoderLayer); input (sequence, dim), output the same.",
    _attention_shape,
    params=(
        NUM_HEADS,
        Param("dim_feedforward", "int", 128, "width of the feed-forward net's hidden layer", minimum=1),
        Param("dropout", "float", 0.1, "dropout on attention weights, feed-forward and residual branches "
              "during training", minimum=0.0, maximum=1.0),
        Param("activation", "choice", "relu", "the feed-forward net's activation", choices=("relu", "gelu")),
        Param("norm_first", "bool", False, "normalize before attention and feed-forward (pre-norm, steadier "
              "when stacking many blocks) instead of after"),
        Param("layer_norm_eps", "float", 1e-5, "added to the variance in the layer norms", minimum=0.0),
        BIAS,
    ),
    module=lambda p, s: Call("TransformerEncoderLayer", (s[0][1], p["num_heads"]),
                             (("dim_feedforward", p["dim_feedforward"]), ("dropout", p["dropout"]),
                              ("activation", p["activation"]), ("layer_norm_eps", p["layer_norm_eps"]),
                              ("batch_first", True), ("norm_first", p["norm_first"]), ("bias", p["bias"]))),
    count_params=_encoder_count,
    name_prefix="encoder",
)


# -- learned positional embedding -------------------------------------------------------------------------

def _positional_shape(params, in_shapes):
    length, dim = expect_sequence(in_shapes[0], "(sequence length, embedding dim)")
    if length > params["max_len"]:
        raise ShapeError(f"holds {params['max_len']} positions (max_len), but its input {fmt(in_shapes[0])} is "
                         f"a sequence of {length}: raise max_len to at least {length}")
    return (length, dim)


def _add_positions(ops, params, table, inputs):
    (x,) = inputs
    return x + table(ops.arange(x.shape[1], device=x.device))


def _add_positions_code(params, module, names):
    (x,) = names
    return f"{x} + {module}(torch.arange({x}.shape[1], device={x}.device))"


POSITIONAL_EMBEDDING = LayerType(
    "PositionalEmbedding", "Attention",
    "Adds a learned vector per position (a max_len x dim table) so attention can tell positions apart.",
    _positional_shape,
    params=(Param("max_len", "int", 64, "the longest sequence it can take (rows of its table)", minimum=1),),
    module=lambda p, s: Call("Embedding", (p["max_len"], s[0][1])),
    forward=ModuleForward(apply=_add_positions, code=_add_positions_code),
    count_params=lambda p, s: p["max_len"] * s[0][1],
    name_prefix="pos",
)


# -- sequence pooling ----------------------------------------------------------------------------------------

def _pool_shape(params, in_shapes):
    _, features = expect_sequence(in_shapes[0])
    return (features,)


def _pool(ops, params, inputs):
    (x,) = inputs
    mode = params["mode"]
    if mode == "mean":
        return x.mean(dim=1)
    if mode == "max":
        return x.amax(dim=1)
    return x[:, 0] if mode == "first" else x[:, -1]


_POOL_CODE = {"mean": "{x}.mean(dim=1)", "max": "{x}.amax(dim=1)", "first": "{x}[:, 0]", "last": "{x}[:, -1]"}

SEQUENCE_POOL = LayerType(
    "SequencePool", "Attention",
    "One vector per sample from a sequence (sequence, features) -> (features,): the mean or max over "
    "positions, or the first or last position's vector.",
    _pool_shape,
    params=(Param("mode", "choice", "mean", "'mean' or 'max' over positions; 'first' (a class token) or 'last'",
                  choices=("mean", "max", "first", "last")),),
    merge=Merge(apply=_pool, code=lambda p, names: _POOL_CODE[p["mode"]].format(x=names[0])),
    name_prefix="seqpool",
)

LAYERS = (SELF_ATTENTION, ENCODER_BLOCK, POSITIONAL_EMBEDDING, SEQUENCE_POOL)
