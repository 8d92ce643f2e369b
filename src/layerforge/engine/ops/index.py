"""Indexing kernels: ``tensor[index]`` with ints, slices, None, Ellipsis, masks and integer arrays."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Node, is_grad_enabled
from ..tensor import Tensor
from .common import apply, normalize_dim, on_input_gpu, xp_of
from .elementwise_functions import where


def _is_basic(index) -> bool:
    """Basic indexing (views, no repeated elements): ints, slices, None and Ellipsis only."""
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice, np.integer)) for i in items)


def _is_int(item) -> bool:
    return isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_))


def _placement_plan(index):
    """PyTorch's reading of an index as (first, second): ``a[first][second]`` is ``a[index]``.

    numpy counts an integer as an advanced index, so ``x[1, :, idx]`` puts idx's dimensions first;
    PyTorch selects with the integers first (a basic index) and places the advanced dimensions among
    the rest, giving (4, 2) for x of shape (3, 4, 5). Where integers and arrays mix, the integers are
    applied first (a view) and the rest second; elsewhere numpy and PyTorch agree (first is None).
    """
    items = index if isinstance(index, tuple) else (index,)
    if not any(_is_int(i) for i in items) or _is_basic(items):
        return None, index
    first, second = [], []
    for item in items:
        if _is_int(item):
            first.append(item)
            continue
        second.append(item)
        if item is Ellipsis:
            first.append(Ellipsis)
        elif isinstance(item, slice):
            first.append(slice(None))
        elif item is None or isinstance(item, (bool, np.bool_)):
            continue  # adds a dimension; it takes none from the input
        else:  # an index array: a mask takes one input dimension per mask dimension
            first.extend([slice(None)] * (item.ndim if item.dtype == np.bool_ else 1))
    return tuple(first), tuple(second)


class GetItem(Node):
    def __init__(self, plan):
        self.first, self.second = plan

    def forward(self, a):
        self.in_shape = a.shape
        if self.first is not None:
            a = a[self.first]
        return a[self.second]

    def backward(self, g):
        xp = xp_of(g)
        out = xp.zeros(self.in_shape, dtype=g.dtype)
        target = out if self.first is None else out[self.first]  # a view: writes reach out
        if _is_basic(self.second):
            target[self.second] = g
        elif not _sorted_rows_sum(target, self.second, g):
            # Integer arrays may repeat an element: accumulate instead of overwrite.
            xp.add.at(target, self.second, g)
        return out


def _sorted_rows_sum(target, index, g) -> bool:
    """``target[index] += g`` for one non-decreasing 1-D integer array along one axis, the rest whole
    slices (what nearest resizing by an uneven factor and most gathers of sorted rows index with; a
    whole factor has its own node, ``rearrange.RepeatRuns``), as one segment sum (``add.reduceat``)
    per distinct index: the same sums as ``add.at`` (to rounding: a segment of three or more may be
    added in another order), which handles one element at a time (4x PyTorch's time).
    False where the index is not of that form (the caller then uses ``add.at``)."""
    if type(target) is not np.ndarray or not isinstance(index, tuple):
        return False
    arrays = [k for k, item in enumerate(index) if not (isinstance(item, slice) and item == slice(None))]
    if len(arrays) != 1:
        return False
    axis = arrays[0]
    rows = index[axis]
    if type(rows) is not np.ndarray or rows.ndim != 1 or rows.dtype.kind not in "iu" or rows.size < 2:
        return False
    rows = np.where(rows < 0, rows + target.shape[axis], rows) if rows.dtype.kind == "i" else rows
    steps = np.diff(rows)
    if steps.min() < 0:
        return False
    starts = np.flatnonzero(np.concatenate(([True], steps != 0)))
    target[(slice(None),) * axis + (rows[starts],)] = np.add.reduceat(g, starts, axis=axis)
    return True


def _convert_index(index, xp):
    """Replace Tensors (and lists) in an index by arrays on the right device, as PyTorch reads them."""
    if isinstance(index, tuple):
        return tuple(_convert_item(i, xp) for i in index)
    return _convert_item(index, xp)


def _convert_item(item, xp):
    if isinstance(item, Tensor):
        arr = item._data
        if arr.dtype.kind not in "biu":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        if arr.dtype == np.uint8:  # PyTorch reads a byte tensor as a mask
            arr = arr.astype(np.bool_)
        if arr.ndim == 0 and arr.dtype.kind in "iu":  # a 0-d integer tensor selects, as an int does
            return int(arr)
        # As in PyTorch, a CPU index may index a CUDA tensor: move it where the data is.
        if xp is not np and isinstance(arr, np.ndarray):
            return xp.asarray(arr)
        if xp is np and not isinstance(arr, np.ndarray):
            return backend.to_host(arr)
        return arr
    if isinstance(item, list):
        arr = np.asarray(item)
        if arr.dtype.kind == "f":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return xp.asarray(arr)
    if isinstance(item, np.ndarray) and xp is not np:
        return xp.asarray(item)
    return item


@on_input_gpu
def getitem(a: Tensor, index):
    xp = xp_of(a._data)
    first, second = plan = _placement_plan(_convert_index(index, xp))
    try:
        if not a.requires_grad:
            data = a._data if first is None else a._data[first]
            out = data[second]
            return Tensor._wrap(out if isinstance(out, xp.ndarray) else xp.asarray(out))
        return apply(GetItem(plan), a)
    except IndexError as exc:
        raise IndexError(f"{exc} (indexing a tensor of shape {tuple(a.shape)})") from None


@on_input_gpu
def setitem(a: Tensor, index, value) -> None:
    """``a[index] = value``: in place, allowed on tensors that no gradient flows through."""
    if a.requires_grad and is_grad_enabled() and a.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation. "
                           "Wrap the assignment in `with torch.no_grad():`")
    if a.grad_fn is not None and is_grad_enabled():
        raise RuntimeError("in-place assignment into a tensor that is part of a graph is not supported; "
                           "build a new tensor with torch.where or torch.cat instead")
    xp = xp_of(a._data)
    first, second = _placement_plan(_convert_index(index, xp))
    data = value._data if isinstance(value, Tensor) else value
    try:
        target = a._data if first is None else a._data[first]
        target[second] = data
    except (IndexError, ValueError) as exc:
        shape = tuple(value.shape) if hasattr(value, "shape") else "scalar"
        raise RuntimeError(f"cannot assign a value of shape {shape} into tensor of shape "
                           f"{tuple(a.shape)} at {index!r}: {exc}") from None


class Gather(Node):
    def __init__(self, axis, index):
        self.axis, self.index = axis, index

    def forward(self, a):
        self.in_shape = a.shape
        # PyTorch lets the index be smaller than the input in the other dims: read that corner only.
        corner = tuple(slice(None) if d == self.axis else slice(0, n) for d, n in enumerate(self.index.shape))
        return xp_of(a).take_along_axis(a[corner], self.index, axis=self.axis)

    def backward(self, g):
        return scatter_add_along(xp_of(g).zeros(self.in_shape, dtype=g.dtype), self.axis, self.index, g)


def along_axis_index(axis: int, index):
    """The full index tuple that puts ``index`` along ``axis`` and each other position at itself."""
    xp = xp_of(index)
    grid = [xp.arange(n).reshape([-1 if d == i else 1 for d in range(index.ndim)])
            for i, n in enumerate(index.shape)]
    grid[axis] = index
    return tuple(grid)


def scatter_add_along(out, axis: int, index, src):
    """``out[..., index[i], ...] += src[i]`` along ``axis``, repeated indices adding up; returns out."""
    if index.size:
        xp_of(out).add.at(out, along_axis_index(axis, index), src)
    return out


def gather(a: Tensor, dim: int, index: Tensor):
    axis = normalize_dim(dim, a.ndim)
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    idx = backend.to_device_array(idx, a.device)
    if idx.ndim != a.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for d, (n_index, n_input) in enumerate(zip(idx.shape, a.shape)):
        if d != axis and n_index > n_input:
            raise RuntimeError(f"Size does not match at dimension {d} expected index {list(idx.shape)} to "
                               f"be no larger than self {list(a.shape)} apart from dimension {axis}")
    if idx.size and (idx.max() >= a.shape[axis] or idx.min() < -a.shape[axis]):
        raise RuntimeError(f"index {int(idx.max())} is out of bounds for dimension {axis} with size "
                           f"{a.shape[axis]}")
    return apply(Gather(axis, idx), a)


def masked_fill(a: Tensor, mask, value):
    mask_t = mask if isinstance(mask, Tensor) else Tensor._wrap(np.asarray(mask))
    fill = value if isinstance(value, Tensor) else Tensor._wrap(
        xp_of(a._data).asarray(value, dtype=a._data.dtype))
    return where(mask_t, fill, a)
