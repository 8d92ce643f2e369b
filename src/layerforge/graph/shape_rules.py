"""Helpers shared by the layers' shape rules: PyTorch's size formulas and the usual complaints.

Shapes here never include the batch dimension. Dimension parameters (Flatten, Concat, Softmax, ...)
follow PyTorch and DO count the batch as dimension 0, so generated code reads like hand-written code.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from .errors import ShapeError

Shape = tuple[int, ...]


def fmt(shape: Sequence[int]) -> str:
    """``(16, 7, 7)``; a 1-tuple prints as ``(10,)`` like Python does."""
    return repr(tuple(shape))


def compact(values: tuple[int, ...]) -> int | tuple[int, ...]:
    """(3, 3) -> 3: PyTorch treats them alike and the generated code reads better."""
    return values[0] if len(set(values)) == 1 else values


def insert_fix(layer_type: str, **params: Any) -> dict[str, Any]:
    """A quick fix that inserts a layer before the failing node (the validator adds which node)."""
    fix: dict[str, Any] = {"action": "insert", "type": layer_type}
    if params:
        fix["params"] = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
    return fix


def single(in_shapes: Sequence[Shape]) -> Shape:
    return in_shapes[0]


def same_shape(params, in_shapes: Sequence[Shape]) -> Shape:
    return in_shapes[0]


def batch_dim(dim: int, shape: Shape, param: str = "dim") -> int:
    """A PyTorch dim (batch = 0, negatives from the end) as an index into the per-sample shape."""
    full_rank = len(shape) + 1
    if not -full_rank <= dim < full_rank:
        raise ShapeError(f"has {param}={dim}, but its input {fmt(shape)} has only dimensions 1..{len(shape)} "
                         f"(0 is the batch): choose {param} between 1 and {len(shape)}, or -1")
    index = dim % full_rank
    if index == 0:
        raise ShapeError(f"has {param}={dim}, which is the batch dimension: choose {param} between 1 and "
                         f"{len(shape)}, or -1")
    return index - 1


def conv_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """PyTorch's Conv/Pool output length: floor((L + 2p - d(k-1) - 1) / s) + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv_transpose_size(size: int, kernel: int, stride: int, padding: int, output_padding: int,
                        dilation: int) -> int:
    """PyTorch's ConvTranspose output length: (L - 1)s - 2p + d(k-1) + output_padding + 1."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def expect_channels_first(shape: Shape, spatial: int) -> None:
    """Conv/pool inputs: (channels, length) or (channels, height, width); suggest a Reshape when easy."""
    rank = spatial + 1
    if len(shape) == rank:
        return
    expected = "(channels, length)" if spatial == 1 else "(channels, height, width)"
    fix = None
    hint = ""
    if spatial == 1 and len(shape) == 1:
        fix = insert_fix("Reshape", shape=(1, shape[0]))
        hint = f": insert Reshape to (1, {shape[0]})"
    elif spatial == 2 and len(shape) == 2:
        fix = insert_fix("Reshape", shape=(1,) + shape)
        hint = f": insert Reshape to (1, {shape[0]}, {shape[1]})"
    elif spatial == 2 and len(shape) == 1 and math.isqrt(shape[0]) ** 2 == shape[0]:
        side = math.isqrt(shape[0])
        fix = insert_fix("Reshape", shape=(1, side, side))
        hint = f": insert Reshape to (1, {side}, {side})"
    elif spatial == 1 and len(shape) == 3:
        fix = insert_fix("Flatten", start_dim=2, end_dim=-1)
        hint = f": insert Flatten(start_dim=2) to get ({shape[0]}, {shape[1] * shape[2]})"
    raise ShapeError(f"expects {expected}, got {fmt(shape)}{hint}", fix)


def check_spatial_sizes(out: Sequence[int], shape: Shape, what: str) -> None:
    if any(size < 1 for size in out):
        raise ShapeError(f"input {fmt(shape)} is too small for its {what}: the output size would be "
                         f"{fmt(tuple(out))}; use a smaller kernel, more padding or a larger input")


def numel(shape: Sequence[int]) -> int:
    return math.prod(shape)
