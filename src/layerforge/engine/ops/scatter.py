"""Writing into positions: scatter / scatter_add / scatter_reduce along a dim, index_add / index_copy /
index_fill of whole slices, masked_scatter; and the reads that pair with them (masked_select, take,
take_along_dim). Gradients follow PyTorch's formulas, including how amax/amin share among ties and
how prod treats zeros.
"""
from __future__ import annotations

import numpy as np

from .. import backend, creation
from ..autograd import Node
from ..tensor import Tensor
from .common import apply, normalize_dim, promote_pair, xp_of
from .index import along_axis_index, gather, getitem
from .shape import expand, reshape

_wrap = Tensor._wrap
_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _index_array(index, like: Tensor, what: str):
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{what}(): Expected dtype int64 for index")
    return backend.to_device_array(idx, like.device)


def _check_scatter(a: Tensor, axis: int, idx, src_shape, what: str):
    if idx.ndim != a.ndim or (src_shape is not None and len(src_shape) != a.ndim):
        raise RuntimeError(f"Index tensor must have the same number of dimensions as self tensor ({what})")
    for d, n in enumerate(idx.shape):
        if (d != axis and n > a.shape[d]) or (src_shape is not None and n > src_shape[d]):
            raise RuntimeError(f"Expected index {list(idx.shape)} to be no larger than self {list(a.shape)} "
                               f"apart from dimension {axis} and to be no larger size than src "
                               f"{list(src_shape or ())}")
    if idx.size and (bool((idx >= a.shape[axis]).any()) or bool((idx < -a.shape[axis]).any())):
        raise RuntimeError(f"index {int(idx.max())} is out of bounds for dimension {axis} with size "
                           f"{a.shape[axis]}")


def _corner(shape):
    return tuple(slice(0, n) for n in shape)


class Scatter(Node):
    """out = input with src (or a value) written at the index positions along one dim."""

    def __init__(self, axis, index, has_src, value=None):
        self.axis, self.index, self.has_src, self.value = axis, index, has_src, value

    def forward(self, a, src=None):
        out = a.copy()
        self.positions = along_axis_index(self.axis, self.index)
        if self.index.size:
            out[self.positions] = src[_corner(self.index.shape)] if self.has_src else self.value
        self.src_shape = None if src is None else src.shape
        return out

    def backward(self, g):
        xp = xp_of(g)
        ga = g.copy()
        if self.index.size:
            ga[self.positions] = 0
        if not self.has_src:
            return ga
        gsrc = xp.zeros(self.src_shape, dtype=g.dtype)
        gsrc[_corner(self.index.shape)] = g[self.positions]
        return ga, gsrc


class ScatterReduce(Node):
    """scatter_reduce: src combined into input at the index positions by sum, prod, mean, amax or amin."""

    def __init__(self, axis, index, reduce, include_self):
        self.axis, self.index, self.reduce, self.include_self = axis, index, reduce, include_self

    def _combine(self, a, src):
        xp = xp_of(a)
        pos, reduce = along_axis_index(self.axis, self.index), self.reduce
        out = a.copy()
        if not self.include_self and self.index.size:
            identity = {"sum": 0, "mean": 0, "prod": 1}.get(reduce)
            if identity is None:
                limits = np.finfo(a.dtype) if a.dtype.kind == "f" else np.iinfo(a.dtype)
                identity = (-np.inf if a.dtype.kind == "f" else limits.min) if reduce == "amax" else \
                    (np.inf if a.dtype.kind == "f" else limits.max)
            out[pos] = identity
        ufunc = {"sum": xp.add, "mean": xp.add, "prod": xp.multiply, "amax": xp.maximum, "amin": xp.minimum}[reduce]
        if self.index.size:
            ufunc.at(out, pos, src)
        if reduce == "mean":
            count = self._count(a)
            if a.dtype.kind == "f":
                out = out / count
            else:
                out = xp.floor_divide(out, count)
            out = out.astype(a.dtype, copy=False)
        return out

    def _count(self, a):
        xp = xp_of(a)
        count = xp.ones(a.shape, dtype=a.dtype) if self.include_self else xp.zeros(a.shape, dtype=a.dtype)
        if self.index.size:
            xp.add.at(count, along_axis_index(self.axis, self.index), 1)
        return xp.where(count == 0, 1, count).astype(a.dtype, copy=False)

    def forward(self, a, src):
        self.a, self.src = a, src[_corner(self.index.shape)]
        self.src_shape = src.shape
        self.out = self._combine(a, self.src)
        return self.out

    def backward(self, g):
        xp = xp_of(g)
        a, src, out, reduce = self.a, self.src, self.out, self.reduce
        pos = along_axis_index(self.axis, self.index)
        with np.errstate(divide="ignore", invalid="ignore"):
            if reduce == "sum":
                ga, gsrc = g, g[pos]
            elif reduce == "mean":
                ga = g / self._count(a)
                gsrc = ga[pos]
            elif reduce in ("amax", "amin"):
                self_hits = (a == out)
                if not self.include_self and self.index.size:
                    self_hits[pos] = False
                src_hits = src == out[pos]
                shares = self_hits.astype(g.dtype)
                if self.index.size:
                    xp.add.at(shares, pos, src_hits.astype(g.dtype))
                each = g / xp.where(shares == 0, 1, shares)
                ga, gsrc = self_hits * each, src_hits * each[pos]
            else:  # prod, exact where inputs are zero (PyTorch's formula)
                safe_a = xp.where(a == 0, 1, a)
                ga = g * self._combine(safe_a, src) / safe_a
                src_zero = src == 0
                zeros_per_slot = xp.zeros(a.shape, dtype=g.dtype)
                if self.index.size:
                    xp.add.at(zeros_per_slot, pos, src_zero.astype(g.dtype))
                single_zero = src_zero & (zeros_per_slot[pos] == 1)
                without_it = self._combine(a, xp.where(single_zero, 1, src))
                gsrc = xp.where(single_zero, (g * without_it)[pos], (g * out)[pos] / xp.where(src_zero, 1, src))
        if not self.include_self and self.index.size:
            ga = ga.copy()
            ga[pos] = 0
        full = xp.zeros(self.src_shape, dtype=g.dtype)
        full[_corner(self.index.shape)] = gsrc
        return ga.astype(g.dtype, copy=False), full


def scatter(input: Tensor, dim: int, index, src=None, *, value=None, reduce=None) -> Tensor:  # noqa: A002
    if reduce is not None:  # the older API: scatter(..., reduce="add" | "multiply")
        if reduce not in ("add", "multiply"):
            raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
        if not isinstance(src, Tensor):
            src = creation.full(index.shape, src if value is None else value, dtype=input.dtype,
                                device=input.device)
        return scatter_reduce(input, dim, index, src, "sum" if reduce == "add" else "prod")
    axis = normalize_dim(dim, input.ndim)
    idx = _index_array(index, input, "scatter")
    if isinstance(src, Tensor):
        _check_scatter(input, axis, idx, src.shape, "scatter")
        src = src.to(input.dtype)
        return apply(Scatter(axis, idx, True), input, src)
    fill = src if value is None else value
    _check_scatter(input, axis, idx, None, "scatter")
    if isinstance(fill, Tensor):
        fill = fill._data
    return apply(Scatter(axis, idx, False, fill), input)


def scatter_reduce(input: Tensor, dim: int, index, src: Tensor, reduce: str, *,  # noqa: A002
                   include_self: bool = True) -> Tensor:
    if reduce not in _REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    axis = normalize_dim(dim, input.ndim)
    idx = _index_array(index, input, "scatter_reduce")
    _check_scatter(input, axis, idx, src.shape, "scatter_reduce")
    if src._data.dtype != input._data.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    return apply(ScatterReduce(axis, idx, reduce, include_self), input, src)


def scatter_add(input: Tensor, dim: int, index, src: Tensor) -> Tensor:  # noqa: A002
    return scatter_reduce(input, dim, index, src, "sum")


class IndexPut(Node):
    """index_add / index_copy / index_fill: whole slices along one dim, picked by a 1-D index."""

    def __init__(self, axis, index, mode, alpha=1, value=None):
        self.axis, self.index, self.mode, self.alpha, self.value = axis, index, mode, alpha, value

    def forward(self, a, src=None):
        out = a.copy()
        self.pos = (slice(None),) * self.axis + (self.index,)
        if self.mode == "add":
            xp_of(a).add.at(out, self.pos, src * self.alpha if self.alpha != 1 else src)
        else:
            out[self.pos] = src if self.mode == "copy" else self.value
        return out

    def backward(self, g):
        if self.mode == "add":
            ga = g
        else:
            ga = g.copy()
            ga[self.pos] = 0
        if self.mode == "fill":
            return ga
        gsrc = g[self.pos]
        return ga, (gsrc * self.alpha if self.alpha != 1 else gsrc)


def _index_put(input, dim, index, source, mode, what, alpha=1, value=None):
    axis = normalize_dim(dim, input.ndim)
    idx = _index_array(index, input, what).reshape(-1)
    if idx.size and (bool((idx >= input.shape[axis]).any()) or bool((idx < -input.shape[axis]).any())):
        raise IndexError(f"{what}(): index out of range for dimension {axis} with size {input.shape[axis]}")
    if source is None:
        return apply(IndexPut(axis, idx, mode, value=value), input)
    expected = tuple(input.shape[:axis]) + (len(idx),) + tuple(input.shape[axis + 1:])
    if tuple(source.shape) != expected:
        raise RuntimeError(f"{what}(): source of shape {tuple(source.shape)} does not match {expected}, the "
                           f"shape of self with dimension {axis} replaced by the index length")
    input, source = promote_pair(input, source, what) if source.dtype != input.dtype else (input, source)
    return apply(IndexPut(axis, idx, mode, alpha=alpha), input, source)


def index_add(input: Tensor, dim: int, index, source: Tensor, *, alpha=1) -> Tensor:  # noqa: A002
    return _index_put(input, dim, index, source, "add", "index_add", alpha=alpha)


def index_copy(input: Tensor, dim: int, index, source: Tensor) -> Tensor:  # noqa: A002
    return _index_put(input, dim, index, source, "copy", "index_copy")


def index_fill(input: Tensor, dim: int, index, value) -> Tensor:  # noqa: A002
    if isinstance(value, Tensor):
        value = value._data
    return _index_put(input, dim, index, None, "fill", "index_fill", value=value)


def _broadcast_mask(mask: Tensor, like: Tensor, shape, what: str):
    data = backend.to_device_array(mask._data, like.device)
    if data.dtype != np.bool_:
        raise RuntimeError(f"{what}: expected BoolTensor for mask")
    try:
        return xp_of(data).broadcast_to(data, shape)
    except ValueError:
        raise RuntimeError(f"{what}: the shape of the mask {tuple(mask.shape)} must be broadcastable to "
                           f"{tuple(shape)}") from None


def masked_select(input: Tensor, mask: Tensor) -> Tensor:  # noqa: A002
    shape = np.broadcast_shapes(tuple(input.shape), tuple(mask.shape))
    full = expand(input, shape) if tuple(input.shape) != shape else input
    return getitem(full, _wrap(_broadcast_mask(mask, input, shape, "masked_select")))


class MaskedScatter(Node):
    def __init__(self, mask):
        self.mask = mask

    def forward(self, a, src):
        out = a.copy()
        self.count = int(self.mask.sum())
        if self.count > src.size:
            raise RuntimeError("masked_scatter: expected source to have at least as many elements as the "
                               "ones in mask")
        out[self.mask] = src.reshape(-1)[:self.count]
        self.src_shape = src.shape
        return out

    def backward(self, g):
        xp = xp_of(g)
        gsrc = xp.zeros(int(np.prod(self.src_shape)), dtype=g.dtype)
        gsrc[:self.count] = g[self.mask]
        return xp.where(self.mask, 0, g).astype(g.dtype, copy=False), gsrc.reshape(self.src_shape)


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:  # noqa: A002
    return apply(MaskedScatter(_broadcast_mask(mask, input, tuple(input.shape), "masked_scatter")), input,
                 source.to(input.dtype))


def take(input: Tensor, index: Tensor) -> Tensor:  # noqa: A002
    if index._data.dtype.kind not in "iu":
        raise RuntimeError("take(): Expected a long tensor for index")
    return getitem(reshape(input, -1), index)


def take_along_dim(input: Tensor, indices: Tensor, dim=None) -> Tensor:  # noqa: A002
    if dim is None:
        return take(input, reshape(indices, -1))
    axis = normalize_dim(dim, input.ndim)
    if indices.ndim != input.ndim:
        raise RuntimeError("torch.take_along_dim(): input and indices should have the same number of "
                           "dimensions")
    shape = list(np.broadcast_shapes(*[tuple(1 if d == axis else n for d, n in enumerate(t.shape))
                                       for t in (input, indices)]))
    in_shape, idx_shape = list(shape), list(shape)
    in_shape[axis], idx_shape[axis] = input.shape[axis], indices.shape[axis]
    full = expand(input, tuple(in_shape)) if tuple(input.shape) != tuple(in_shape) else input
    idx = xp_of(indices._data).broadcast_to(indices._data, tuple(idx_shape))
    return gather(full, axis, _wrap(idx))


class WriteAt(Node):
    """out = input with src written at a (basic or advanced) index; the gradient splits accordingly."""

    def __init__(self, index):
        self.index = index

    def forward(self, a, src):
        out = a.copy()
        out[self.index] = src
        self.src_shape = src.shape
        return out

    def backward(self, g):
        ga = g.copy()
        ga[self.index] = 0
        return ga, g[self.index].reshape(self.src_shape)


def _write_at(input: Tensor, index, src: Tensor, what: str) -> Tensor:
    expected = tuple(input._data[index].shape)
    if tuple(src.shape) != expected:
        raise RuntimeError(f"{what}(): expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(expected)}")
    if src._data.dtype != input._data.dtype:
        src = src.to(input.dtype)
    return apply(WriteAt(index), input, src)


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:  # noqa: A002
    axis = normalize_dim(dim, input.ndim)
    return _write_at(input, (slice(None),) * axis + (int(index),), src, "select_scatter")


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start=None, end=None,  # noqa: A002
                  step: int = 1) -> Tensor:
    axis = normalize_dim(dim, input.ndim)
    return _write_at(input, (slice(None),) * axis + (slice(start, end, step),), src, "slice_scatter")


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:  # noqa: A002
    d1, d2 = normalize_dim(dim1, input.ndim), normalize_dim(dim2, input.ndim)
    moved = input.movedim((d1, d2), (-2, -1))
    rows, cols = moved.shape[-2:]
    length = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    xp = xp_of(input._data)
    i = xp.arange(length) + max(0, -offset)
    j = xp.arange(length) + max(0, offset)
    return _write_at(moved, (Ellipsis, i, j), src, "diagonal_scatter").movedim((-2, -1), (d1, d2))


def index_reduce(input: Tensor, dim: int, index, source: Tensor, reduce: str, *,  # noqa: A002
                 include_self: bool = True) -> Tensor:
    """scatter_reduce over whole slices picked by a 1-D index along dim (prod, mean, amax, amin)."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    axis = normalize_dim(dim, input.ndim)
    idx = _index_array(index, input, "index_reduce").reshape(-1)
    if source.ndim and source.shape[axis] != idx.size:
        raise RuntimeError(f"index_reduce_(): Number of indices ({idx.size}) should be equal to source.size(dim): "
                           f"({source.shape[axis]}), for dim: {axis}")
    shape = [1] * source.ndim
    shape[axis] = -1
    full = xp_of(idx).broadcast_to(idx.reshape(shape), tuple(source.shape))
    return scatter_reduce(input, axis, _wrap(xp_of(full).ascontiguousarray(full)), source, reduce,
                          include_self=include_self)
