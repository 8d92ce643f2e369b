"""Declarations: Input, dense layers, reshaping, dropout and merges."""
from __future__ import annotations

import functools
import operator

from .errors import ParamError, ShapeError
from .layer_type import Call, LayerType, Merge
from .params import Param
from .shape_rules import batch_dim, fmt, insert_fix, numel, same_shape

BIAS = Param("bias", "bool", True, "learn an additive bias")


def _input_shape(params, in_shapes):
    return tuple(params["shape"])


INPUT = LayerType(
    "Input", "Input/Output", "The model's input: one sample's shape, without the batch dimension.",
    _input_shape,
    params=(
        Param("shape", "ints", (2,), "shape of one sample without the batch, e.g. 2 or 1,28,28", minimum=1),
        Param("dtype", "choice", "float32", "element type: float32 for features and images, "
              "int64 for token indices fed to Embedding", choices=("float32", "int64")),
    ),
    min_inputs=0, max_inputs=0, name_prefix="input", input_dtype=None, output_dtype=None,
)


def _linear_shape(params, in_shapes):
    (shape,) = in_shapes
    if len(shape) != 1:
        raise ShapeError(f"expects a 1-D feature vector, got {fmt(shape)}: insert Flatten", insert_fix("Flatten"))
    return (params["out_features"],)


LINEAR = LayerType(
    "Linear", "Dense", "Fully connected layer: y = x W^T + b.",
    _linear_shape,
    params=(Param("out_features", "int", 16, "number of output features", minimum=1), BIAS),
    module=lambda p, s: Call("Linear", (s[0][0], p["out_features"]), (("bias", p["bias"]),)),
    count_params=lambda p, s: s[0][0] * p["out_features"] + p["out_features"] * p["bias"],
    name_prefix="fc",
)


def _bilinear_shape(params, in_shapes):
    for index, shape in enumerate(in_shapes):
        if len(shape) != 1:
            raise ShapeError(f"expects 1-D feature vectors on both inputs, got {fmt(shape)} on input {index}: "
                             f"insert Flatten", dict(insert_fix("Flatten"), input=index))
    return (params["out_features"],)


BILINEAR = LayerType(
    "Bilinear", "Dense", "Bilinear layer over two inputs: y = x1^T A x2 + b.",
    _bilinear_shape,
    params=(Param("out_features", "int", 16, "number of output features", minimum=1), BIAS),
    min_inputs=2, max_inputs=2,
    module=lambda p, s: Call("Bilinear", (s[0][0], s[1][0], p["out_features"]), (("bias", p["bias"]),)),
    count_params=lambda p, s: s[0][0] * s[1][0] * p["out_features"] + p["out_features"] * p["bias"],
    name_prefix="bilinear",
)


def _embedding_check(params):
    index = params["padding_idx"]
    size = params["num_embeddings"]
    if index is not None and not -size <= index < size:
        raise ParamError("padding_idx", f"{index} is outside the table of {size} embeddings; "
                         f"use a value between {-size} and {size - 1}, or leave it empty")


EMBEDDING = LayerType(
    "Embedding", "Dense", "Lookup table: each integer index becomes a learned vector (input: int64 tokens).",
    lambda p, s: tuple(s[0]) + (p["embedding_dim"],),
    params=(
        Param("num_embeddings", "int", 100, "size of the vocabulary (indices 0..n-1)", minimum=1),
        Param("embedding_dim", "int", 16, "length of each vector", minimum=1),
        Param("padding_idx", "int", None, "index whose vector stays zero and gets no gradient", optional=True),
    ),
    module=lambda p, s: Call("Embedding", (p["num_embeddings"], p["embedding_dim"]),
                             (("padding_idx", p["padding_idx"]),)),
    count_params=lambda p, s: p["num_embeddings"] * p["embedding_dim"],
    check_params=_embedding_check,
    name_prefix="embed", input_dtype="int64",
)

IDENTITY = LayerType(
    "Identity", "Reshape", "Passes its input through unchanged (a placeholder or a named tap).",
    same_shape, module=lambda p, s: Call("Identity"), name_prefix="identity", input_dtype=None, output_dtype=None,
)


def _flatten_shape(params, in_shapes):
    (shape,) = in_shapes
    start = batch_dim(params["start_dim"], shape, "start_dim")
    end = batch_dim(params["end_dim"], shape, "end_dim")
    if end < start:
        raise ShapeError(f"has end_dim before start_dim for input {fmt(shape)}: choose end_dim >= start_dim")
    return shape[:start] + (numel(shape[start:end + 1]),) + shape[end + 1:]


FLATTEN = LayerType(
    "Flatten", "Reshape", "Flattens dimensions start_dim..end_dim into one (the batch is dimension 0).",
    _flatten_shape,
    params=(
        Param("start_dim", "int", 1, "first dimension to flatten (0 is the batch; 1 is the first of a sample)"),
        Param("end_dim", "int", -1, "last dimension to flatten (-1 is the last)"),
    ),
    module=lambda p, s: Call("Flatten", (), (("start_dim", p["start_dim"]), ("end_dim", p["end_dim"]))),
    name_prefix="flatten", input_dtype=None, output_dtype=None,
)


def _resolve(target: tuple[int, ...], total: int, shape, what: str) -> tuple[int, ...]:
    """Fill in a single -1 so that the sizes multiply to ``total``, like torch.reshape."""
    if any(size == 0 or size < -1 for size in target) or list(target).count(-1) > 1:
        raise ShapeError(f"has {what} {fmt(target)}: sizes must be positive, with at most one -1")
    known = numel(size for size in target if size != -1)
    if -1 in target:
        if total % known:
            raise ShapeError(f"cannot reshape {fmt(shape)} ({total} values) to {fmt(target)}: "
                             f"{total} is not divisible by {known}")
        return tuple(total // known if size == -1 else size for size in target)
    if known != total:
        raise ShapeError(f"cannot reshape {fmt(shape)} ({total} values) to {fmt(target)} ({known} values): "
                         f"make the sizes multiply to {total}, or use -1 for one of them")
    return tuple(target)


def _unflatten_shape(params, in_shapes):
    (shape,) = in_shapes
    index = batch_dim(params["dim"], shape)
    sizes = _resolve(params["sizes"], shape[index], shape, "sizes")
    return shape[:index] + sizes + shape[index + 1:]


UNFLATTEN = LayerType(
    "Unflatten", "Reshape", "Splits one dimension into several, e.g. 784 into (1, 28, 28).",
    _unflatten_shape,
    params=(
        Param("dim", "int", 1, "dimension to split (0 is the batch)"),
        Param("sizes", "ints", (1, 1), "new sizes; they multiply to the split dimension's size (one may be -1)",
              minimum=-1),
    ),
    module=lambda p, s: Call("Unflatten", (p["dim"], tuple(p["sizes"]))),
    name_prefix="unflatten", input_dtype=None, output_dtype=None,
)


def _reshape_shape(params, in_shapes):
    (shape,) = in_shapes
    return _resolve(params["shape"], numel(shape), shape, "shape")


def _reshape_call(params, in_shapes):
    # PyTorch has no nn.Reshape; Flatten then Unflatten is the same thing in plain nn modules.
    target = _reshape_shape(params, in_shapes)
    return Call("Sequential", (Call("Flatten", (), (("start_dim", 1), ("end_dim", -1))),
                               Call("Unflatten", (1, target))))


RESHAPE = LayerType(
    "Reshape", "Reshape", "Gives each sample a new shape with the same number of values (one size may be -1).",
    _reshape_shape,
    params=(Param("shape", "ints", (-1,), "new shape of one sample, without the batch, e.g. 1,28,28",
                  minimum=-1),),
    module=_reshape_call, name_prefix="reshape", input_dtype=None, output_dtype=None,
)

DROPOUT = LayerType(
    "Dropout", "Regularization", "During training, zeroes each value with probability p and scales the rest "
    "by 1/(1-p); does nothing in evaluation.",
    same_shape,
    params=(Param("p", "float", 0.5, "probability of zeroing a value", minimum=0.0, maximum=1.0),),
    module=lambda p, s: Call("Dropout", (), (("p", p["p"]),)),
    name_prefix="dropout",
)


def _add_shape(params, in_shapes):
    first = in_shapes[0]
    for index, shape in enumerate(in_shapes[1:], start=1):
        if shape != first:
            raise ShapeError(f"needs inputs of the same shape, got {fmt(first)} on input 0 and {fmt(shape)} on "
                             f"input {index}: make the branches agree (e.g. a 1x1 Conv2d or Linear on one of them)")
    return first


ADD = LayerType(
    "Add", "Merge", "Adds its inputs element-wise (all of the same shape), as in a residual connection.",
    _add_shape, min_inputs=2, max_inputs=None,
    merge=Merge(apply=lambda ops, p, xs: functools.reduce(operator.add, xs),
                code=lambda p, names: " + ".join(names)),
    name_prefix="add",
)


def _concat_shape(params, in_shapes):
    first = in_shapes[0]
    for index, shape in enumerate(in_shapes[1:], start=1):
        if len(shape) != len(first):
            raise ShapeError(f"needs inputs with the same number of dimensions, got {fmt(first)} on input 0 "
                             f"and {fmt(shape)} on input {index}")
    axis = batch_dim(params["dim"], first)
    for index, shape in enumerate(in_shapes[1:], start=1):
        if shape[:axis] + shape[axis + 1:] != first[:axis] + first[axis + 1:]:
            raise ShapeError(f"joins along dim {params['dim']}, so all other dimensions must match, got "
                             f"{fmt(first)} on input 0 and {fmt(shape)} on input {index}")
    return first[:axis] + (sum(shape[axis] for shape in in_shapes),) + first[axis + 1:]


CONCAT = LayerType(
    "Concat", "Merge", "Joins its inputs along one dimension (the others must match).",
    _concat_shape,
    params=(Param("dim", "int", 1, "dimension to join along (0 is the batch; 1 is features or channels)"),),
    min_inputs=2, max_inputs=None,
    merge=Merge(apply=lambda ops, p, xs: ops.cat(list(xs), dim=p["dim"]),
                code=lambda p, names: f"torch.cat([{', '.join(names)}], dim={p['dim']})"),
    name_prefix="concat",
)

LAYERS = (INPUT, LINEAR, BILINEAR, EMBEDDING, IDENTITY, FLATTEN, UNFLATTEN, RESHAPE, DROPOUT, ADD, CONCAT)
