"""Rearranging elements: narrow, roll, flip, rot90, tril/triu, diag/diagonal/diag_embed, movedim,
repeat_interleave, Tensor.unfold, tensor_split and friends, meshgrid, cartesian_prod, the *stack family.

Most are compositions of indexing, reshaping and cat, so their gradients are those ops' gradients;
only diag_embed, which writes into a fresh array, has a node of its own.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..creation import tensor
from ..autograd import Node
from ..tensor import Tensor
from .common import apply, normalize_dim, xp_of
from .elementwise_functions import where
from .index import getitem
from .shape import cat, permute, reshape, stack, unsqueeze

_wrap = Tensor._wrap


def _along(ndim: int, axis: int, item) -> tuple:
    """An index that applies ``item`` to ``axis`` and takes everything elsewhere."""
    return (slice(None),) * axis + (item,)


def _arange(n: int, like: Tensor):
    return backend.to_device_array(np.arange(n), like.device)


def select(input: Tensor, dim: int, index: int) -> Tensor:  # noqa: A002
    axis = normalize_dim(dim, input.ndim)
    n = input.shape[axis]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size {tuple(input.shape)} at "
                         f"dimension {dim}")
    return getitem(input, _along(input.ndim, axis, int(index)))


def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:  # noqa: A002
    axis = normalize_dim(dim, input.ndim)
    size = input.shape[axis]
    start = int(start)
    if start < 0:
        start += size
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return getitem(input, _along(input.ndim, axis, slice(start, start + length)))


def movedim(input: Tensor, source, destination) -> Tensor:  # noqa: A002
    source = [source] if isinstance(source, int) else list(source)
    destination = [destination] if isinstance(destination, int) else list(destination)
    if len(source) != len(destination):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({source} dims) should "
                           f"contain the same number of dims as destination ({destination} dims)")
    src = [normalize_dim(d, input.ndim) for d in source]
    dst = [normalize_dim(d, input.ndim) for d in destination]
    order = [None] * input.ndim
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(input.ndim) if d not in src)
    order = [next(rest) if o is None else o for o in order]
    return permute(input, *order) if input.ndim else input


moveaxis = movedim


def flip(input: Tensor, *dims) -> Tensor:  # noqa: A002
    """``flip(x, dims)``, and the method's ``x.flip(0, 1)``."""
    dims = list(dims[0]) if len(dims) == 1 and isinstance(dims[0], (list, tuple)) else list(dims)
    axes = {normalize_dim(d, input.ndim) for d in dims}
    return getitem(input, tuple(slice(None, None, -1) if d in axes else slice(None) for d in range(input.ndim)))


def fliplr(input: Tensor) -> Tensor:  # noqa: A002
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, [1])


def flipud(input: Tensor) -> Tensor:  # noqa: A002
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, [0])


def roll(input: Tensor, shifts, dims=None) -> Tensor:  # noqa: A002
    if dims is None:  # roll the flattened tensor, then restore the shape
        return reshape(roll(reshape(input, -1), shifts, 0), input.shape)
    shifts = [shifts] if isinstance(shifts, int) else list(shifts)
    dims = [dims] if isinstance(dims, int) else list(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    out = input
    for shift, dim in zip(shifts, dims):
        axis = normalize_dim(dim, input.ndim)
        n = input.shape[axis]
        if n == 0:
            continue
        k = shift % n
        if k:
            out = cat([getitem(out, _along(out.ndim, axis, slice(n - k, None))),
                       getitem(out, _along(out.ndim, axis, slice(0, n - k)))], axis)
    return out


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:  # noqa: A002
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    d0, d1 = (normalize_dim(d, input.ndim) for d in dims)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    k %= 4
    if k == 1:
        return flip(input, [d1]).transpose(d0, d1)
    if k == 2:
        return flip(input, [d0, d1])
    if k == 3:
        return flip(input, [d0]).transpose(d0, d1)
    return input.clone()


def _triangle(input: Tensor, diagonal: int, lower: bool) -> Tensor:
    if input.ndim < 2:
        raise RuntimeError(f"{'tril' if lower else 'triu'}: input tensor must have at least 2 dimensions")
    xp = xp_of(input._data)
    rows, cols = input.shape[-2:]
    keep = (xp.tril if lower else xp.triu)(xp.ones((rows, cols), dtype=bool), diagonal)
    return where(_wrap(keep), input, 0)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002
    return _triangle(input, diagonal, True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002
    return _triangle(input, diagonal, False)


def _triangle_indices(row: int, col: int, offset: int, lower: bool, dtype, device) -> Tensor:
    rows, cols = (np.tril_indices if lower else np.triu_indices)(row, offset, col)
    return tensor(np.stack([rows, cols]).astype(np.int64), dtype=dtype or "int64", device=device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    return _triangle_indices(row, col, offset, True, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    return _triangle_indices(row, col, offset, False, dtype, device)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:  # noqa: A002
    """The diagonal of the (dim1, dim2) planes, as a new last dimension (PyTorch's layout)."""
    d1, d2 = normalize_dim(dim1, input.ndim), normalize_dim(dim2, input.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    moved = movedim(input, (d1, d2), (-2, -1))
    rows, cols = moved.shape[-2:]
    length = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    start_row, start_col = max(0, -offset), max(0, offset)
    i = _arange(length, input) + start_row
    j = _arange(length, input) + start_col
    return getitem(moved, (Ellipsis, _wrap(i), _wrap(j)))


_diagonal_of = diagonal  # diag's argument is called diagonal, as in PyTorch


class DiagEmbed(Node):
    """Values on a diagonal of fresh (..., n, n) matrices; the gradient reads that diagonal back."""

    def __init__(self, offset):
        self.offset = offset

    def forward(self, a):
        xp = xp_of(a)
        n = a.shape[-1] + abs(self.offset)
        out = xp.zeros(a.shape[:-1] + (n, n), dtype=a.dtype)
        self.rows = xp.arange(a.shape[-1]) + max(0, -self.offset)
        self.cols = xp.arange(a.shape[-1]) + max(0, self.offset)
        out[..., self.rows, self.cols] = a
        return out

    def backward(self, g):
        return g[..., self.rows, self.cols]


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:  # noqa: A002
    out = apply(DiagEmbed(offset), input)
    d1, d2 = normalize_dim(dim1, out.ndim), normalize_dim(dim2, out.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return movedim(out, (-2, -1), (d1, d2))


def diag(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002
    """A 1-D input becomes a matrix with it on a diagonal; a matrix gives its diagonal."""
    if input.ndim == 1:
        return diag_embed(input, diagonal)
    if input.ndim == 2:
        return _diagonal_of(input, diagonal)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


def diagflat(input: Tensor, offset: int = 0) -> Tensor:  # noqa: A002
    return diag_embed(reshape(input, -1), offset)


def trace(input: Tensor) -> Tensor:  # noqa: A002
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return diagonal(input).sum()


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:  # noqa: A002
    axis = normalize_dim(dim, input.ndim)
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if index._data.dtype.kind not in "iu":
        raise RuntimeError("index_select(): Expected dtype int32/int64 for index")
    flat = reshape(index, -1)
    if input.ndim == 0:
        return getitem(reshape(input, 1), flat).reshape(())
    return getitem(input, _along(input.ndim, axis, flat))


class RepeatRuns(Node):
    """Every element repeated ``count`` times in a row along each axis of ``counts`` (``(axis, count)``
    pairs, counts >= 1): ``numpy.repeat`` with one count per axis. Nearest upsampling by whole factors
    and ``repeat_interleave`` by one count are this. Its backward adds each run's gradients with a few
    slice adds, where indexing's backward needs a segment sum per run (``add.reduceat``: ~0.8 ms per
    axis for a 32x8x32x32 upsampled batch, against ~0.05 ms here)."""

    def __init__(self, counts):
        self.counts = tuple(counts)

    def forward(self, a):
        xp = xp_of(a)
        for axis, count in self.counts:
            a = xp.repeat(a, count, axis=axis)
        return a

    def backward(self, g):
        for axis, count in reversed(self.counts):
            g = _sum_runs(g, axis, count)
        return g


def _sum_runs(g, axis: int, count: int):
    """Each run of ``count`` neighbours along ``axis`` summed (in order): ``RepeatRuns``'s adjoint."""
    if count == 1:
        return g
    shape = g.shape
    runs = g.reshape(shape[:axis] + (shape[axis] // count, count) + shape[axis + 1:])
    lead = (slice(None),) * (axis + 1)
    out = runs[lead + (0,)] + runs[lead + (1,)]
    for k in range(2, count):
        out += runs[lead + (k,)]
    return out


def repeat_runs(input: Tensor, counts) -> Tensor:  # noqa: A002
    """``input`` with each element repeated ``count`` times along each ``(axis, count)`` of ``counts``
    (``input`` itself where every count is 1)."""
    counts = tuple((int(axis), int(count)) for axis, count in counts if count != 1)
    if not counts:
        return input
    return apply(RepeatRuns(counts), input)


def repeat_interleave(input: Tensor, repeats=None, dim=None, *, output_size=None) -> Tensor:  # noqa: A002
    if repeats is None:  # repeat_interleave(counts): each index repeated its count
        counts = backend.to_host(input._data)
        return _wrap(backend.to_device_array(np.repeat(np.arange(len(counts)), counts), input.device))
    if dim is None:
        input, axis = reshape(input, -1), 0
    else:
        axis = normalize_dim(dim, input.ndim)
    n = input.shape[axis]
    counts = backend.to_host(repeats._data) if isinstance(repeats, Tensor) else repeats
    counts = np.broadcast_to(np.asarray(counts, dtype=np.int64).reshape(-1), (n,)) \
        if np.size(counts) == 1 else np.asarray(counts, dtype=np.int64)
    if len(counts) != n:
        raise RuntimeError(f"repeats must have the same size as input along dim, but got repeats.size(0) = "
                           f"{len(counts)} and input.size({axis}) = {n}")
    if len(counts) and counts.min() < 0:
        raise RuntimeError(f"repeat_interleave: repeats must be non-negative, got {int(counts.min())}")
    if n and counts.min() == counts.max() > 1:  # one count for every element: runs of equal length
        return repeat_runs(input, [(axis, counts[0])])
    order = backend.to_device_array(np.repeat(np.arange(n), counts), input.device)
    return getitem(input, _along(input.ndim, axis, _wrap(order)))


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:  # noqa: A002
    """``Tensor.unfold``: every window of ``size`` along ``dimension`` (moved to a new last dim)."""
    axis = normalize_dim(dimension, input.ndim)
    n = input.shape[axis] if input.ndim else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {axis} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    windows = (n - size) // step + 1
    grid = np.arange(windows)[:, None] * step + np.arange(size)[None, :]
    picked = getitem(input, _along(input.ndim, axis, _wrap(backend.to_device_array(grid, input.device))))
    return movedim(picked, axis + 1, -1)


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0):  # noqa: A002
    axis = normalize_dim(dim, input.ndim)
    n = input.shape[axis]
    if isinstance(indices_or_sections, Tensor) and indices_or_sections.ndim == 0:
        indices_or_sections = int(indices_or_sections.item())
    if isinstance(indices_or_sections, int):
        sections = indices_or_sections
        if sections <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
        size, extra = divmod(n, sections)
        bounds = np.cumsum([0] + [size + 1] * extra + [size] * (sections - extra))
    else:
        points = backend.to_host(indices_or_sections._data).tolist() \
            if isinstance(indices_or_sections, Tensor) else list(indices_or_sections)
        bounds = [0] + [int(p) for p in points] + [n]
    return tuple(getitem(input, _along(input.ndim, axis, slice(min(max(lo, 0), n), min(max(hi, lo, 0), n))))
                 for lo, hi in zip(bounds[:-1], bounds[1:]))


def _split_by(input: Tensor, sections, dim: int, name: str):
    if isinstance(sections, int) and input.shape[dim] % sections:
        raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                           f"dimension {input.shape[dim]} is not divisible by the split_size {sections}!")
    return tensor_split(input, sections, dim)


def hsplit(input: Tensor, sections):  # noqa: A002
    return _split_by(input, sections, 1 if input.ndim > 1 else 0, "hsplit")


def vsplit(input: Tensor, sections):  # noqa: A002
    return _split_by(input, sections, 0, "vsplit")


def dsplit(input: Tensor, sections):  # noqa: A002
    return _split_by(input, sections, 2, "dsplit")


def atleast_1d(*tensors):
    out = [t if t.ndim >= 1 else reshape(t, 1) for t in _tensors(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_2d(*tensors):
    out = [t if t.ndim >= 2 else reshape(t, (1,) * (2 - t.ndim) + tuple(t.shape)) for t in _tensors(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def atleast_3d(*tensors):
    def lift(t):
        if t.ndim == 0:
            return reshape(t, 1, 1, 1)
        if t.ndim == 1:
            return reshape(t, 1, -1, 1)
        return unsqueeze(t, -1) if t.ndim == 2 else t

    out = [lift(t) for t in _tensors(tensors)]
    return out[0] if len(out) == 1 else tuple(out)


def _tensors(tensors):
    return list(tensors[0]) if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else list(tensors)


def hstack(tensors) -> Tensor:
    tensors = atleast_1d(*tensors)
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    tensors = atleast_2d(*tensors)
    return cat([tensors] if isinstance(tensors, Tensor) else list(tensors), 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    tensors = atleast_3d(*tensors)
    return cat([tensors] if isinstance(tensors, Tensor) else list(tensors), 2)


def column_stack(tensors) -> Tensor:
    return cat([reshape(t, -1, 1) if t.ndim < 2 else t for t in tensors], 1)


def meshgrid(*tensors, indexing: str = "ij"):
    tensors = _tensors(tensors)
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError("torch.meshgrid: Expected 0D or 1D tensor in the tensor list")
    flat = [reshape(t, -1) for t in tensors]
    swap = indexing == "xy" and len(flat) >= 2
    if swap:
        flat[0], flat[1] = flat[1], flat[0]
    shape = tuple(t.shape[0] for t in flat)
    grids = [reshape(t, tuple(-1 if i == k else 1 for k in range(len(flat)))).expand(*shape)
             for i, t in enumerate(flat)]
    if swap:  # "xy": the first two inputs trade places in the layout, not in the result's order
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def cartesian_prod(*tensors) -> Tensor:
    tensors = _tensors(tensors)
    if len(tensors) == 1:
        return tensors[0]
    return stack([reshape(g, -1) for g in meshgrid(*tensors, indexing="ij")], 1)
