"""Shape kernels: reshape/view, transpose/permute, expand, squeeze/unsqueeze, cat/stack, split, pad."""
from __future__ import annotations

import math

from ..autograd import Node
from ..dtypes import from_numpy_dtype, result_type
from ..tensor import Size, Tensor
from .common import apply, check_same_device, normalize_dim, unbroadcast, xp_of


class Reshape(Node):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, a):
        self.in_shape = a.shape
        return a.reshape(self.shape)

    def backward(self, g):
        return g.reshape(self.in_shape)


class Permute(Node):
    def __init__(self, axes):
        self.axes = axes

    def forward(self, a):
        return a.transpose(self.axes)

    def backward(self, g):
        inverse = [0] * len(self.axes)
        for i, ax in enumerate(self.axes):
            inverse[ax] = i
        return g.transpose(inverse)


class Expand(Node):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, a):
        self.in_shape = a.shape
        return xp_of(a).broadcast_to(a, self.shape)

    def backward(self, g):
        return unbroadcast(g, self.in_shape)


class Cat(Node):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *arrays):
        self.sizes = [a.shape[self.axis] for a in arrays]
        return xp_of(arrays[0]).concatenate(arrays, axis=self.axis)

    def backward(self, g):
        out, start = [], 0
        index = [slice(None)] * g.ndim
        for size in self.sizes:
            index[self.axis] = slice(start, start + size)
            out.append(g[tuple(index)])
            start += size
        return tuple(out)


class Stack(Node):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *arrays):
        return xp_of(arrays[0]).stack(arrays, axis=self.axis)

    def backward(self, g):
        xp = xp_of(g)
        return tuple(xp.take(g, i, axis=self.axis) for i in range(g.shape[self.axis]))


class Split(Node):
    def __init__(self, sizes, axis):
        self.sizes, self.axis = sizes, axis

    def forward(self, a):
        self.in_shape, self.dtype = a.shape, a.dtype
        out, start = [], 0
        index = [slice(None)] * a.ndim
        for size in self.sizes:
            index[self.axis] = slice(start, start + size)
            out.append(a[tuple(index)])
            start += size
        return tuple(out)

    def backward(self, *grads):
        xp = xp_of(next(g for g in grads if g is not None))
        parts = []
        for g, size in zip(grads, self.sizes):
            if g is None:
                shape = list(self.in_shape)
                shape[self.axis] = size
                g = xp.zeros(shape, dtype=self.dtype)
            parts.append(g)
        return xp.concatenate(parts, axis=self.axis)


class Pad(Node):
    def __init__(self, widths, mode, value):
        self.widths, self.mode, self.value = widths, mode, value

    def forward(self, a):
        xp = xp_of(a)
        self.in_shape = a.shape
        crop = []
        for (lo, hi), n in zip(self.widths, a.shape):
            # Negative padding crops, as in PyTorch.
            crop.append(slice(-lo if lo < 0 else 0, n + hi if hi < 0 else n))
        a = a[tuple(crop)]
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in self.widths]
        if self.mode == "constant":
            return xp.pad(a, widths, mode="constant", constant_values=self.value)
        numpy_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[self.mode]
        self.crop = crop
        return xp.pad(a, widths, mode=numpy_mode)

    def backward(self, g):
        xp = xp_of(g)
        if self.mode == "constant":
            index = tuple(slice(max(lo, 0), g.shape[i] - max(hi, 0))
                          for i, (lo, hi) in enumerate(self.widths))
            inner = g[index]
            if all(lo >= 0 and hi >= 0 for lo, hi in self.widths):
                return inner
            out = xp.zeros(self.in_shape, dtype=g.dtype)
            crop = tuple(slice(-lo if lo < 0 else 0, n + hi if hi < 0 else n)
                         for (lo, hi), n in zip(self.widths, self.in_shape))
            out[crop] = inner
            return out
        # Non-constant modes: route each output position back to its source with a scatter-add.
        index_grid = xp.arange(math.prod(self.in_shape)).reshape(self.in_shape)
        cropped = index_grid[tuple(self.crop)]
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in self.widths]
        numpy_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[self.mode]
        source = xp.pad(cropped, widths, mode=numpy_mode)
        flat = xp.zeros(math.prod(self.in_shape), dtype=g.dtype)
        xp.add.at(flat, source.reshape(-1), g.reshape(-1))
        return flat.reshape(self.in_shape)


# ------------------------------------------------------------------------------ user-facing functions
def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape) if not isinstance(shape, Size) else tuple(shape)


def reshape(a: Tensor, *shape):
    shape = _shape_arg(shape)
    known = [s for s in shape if s != -1]
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    total = a.numel()
    prod = math.prod(known) if known else 1
    if (-1 in shape and (prod == 0 or total % prod)) or (-1 not in shape and prod != total):
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {total}")
    if shape == a._data.shape:
        return apply(Reshape(shape), a) if a.requires_grad else Tensor._wrap(a._data)
    return apply(Reshape(shape), a)


def flatten(a: Tensor, start_dim=0, end_dim=-1):
    if a.ndim == 0:
        return reshape(a, 1)
    start = normalize_dim(start_dim, a.ndim)
    end = normalize_dim(end_dim, a.ndim)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = a.shape[:start] + (math.prod(a.shape[start:end + 1]),) + a.shape[end + 1:]
    return reshape(a, shape)


def unflatten(a: Tensor, dim, sizes):
    dim = normalize_dim(dim, a.ndim)
    return reshape(a, a.shape[:dim] + tuple(sizes) + a.shape[dim + 1:])


def permute(a: Tensor, *dims):
    dims = _shape_arg(dims)
    if len(dims) != a.ndim:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not "
                           f"match the length of the desired ordering of dimensions i.e. input.dim() = "
                           f"{a.ndim} is not equal to len(dims) = {len(dims)}")
    axes = tuple(normalize_dim(d, a.ndim) for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return apply(Permute(axes), a)


def transpose(a: Tensor, dim0, dim1):
    if a.ndim == 0:
        return reshape(a, ())
    axes = list(range(a.ndim))
    d0, d1 = normalize_dim(dim0, a.ndim), normalize_dim(dim1, a.ndim)
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return apply(Permute(tuple(axes)), a)


def t(a: Tensor):
    if a.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {a.ndim}D")
    return transpose(a, 0, 1) if a.ndim == 2 else a


def squeeze(a: Tensor, dim=None):
    if dim is None:
        shape = tuple(n for n in a.shape if n != 1)
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        axes = {normalize_dim(d, a.ndim) for d in dims}
        shape = tuple(n for i, n in enumerate(a.shape) if not (i in axes and n == 1))
    return reshape(a, shape)


def unsqueeze(a: Tensor, dim):
    dim = normalize_dim(dim, a.ndim + 1)
    return reshape(a, a.shape[:dim] + (1,) + a.shape[dim:])


def expand(a: Tensor, *sizes):
    sizes = _shape_arg(sizes)
    if len(sizes) < a.ndim:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or "
                           f"equal to the number of dimensions in the tensor ({a.ndim})")
    lead = len(sizes) - a.ndim
    target = []
    for i, s in reversed(list(enumerate(sizes))):  # PyTorch reports the mismatch nearest the end
        current = a.shape[i - lead] if i >= lead else None
        if s == -1:
            if current is None:
                raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
            s = current
        elif current is not None and current != 1 and current != s:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({current}) at "
                f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                f"{list(a.shape)}")
        target.append(s)
    return apply(Expand(tuple(reversed(target))), a)


def _check_list(tensors, op):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{op}(): expected a non-empty list of Tensors")
    for t in tensors[1:]:
        check_same_device(tensors[0], t, op)
    dtypes = {t._data.dtype for t in tensors}
    if len(dtypes) > 1:
        target = from_numpy_dtype(tensors[0]._data.dtype)
        for t in tensors[1:]:
            target = result_type(target, 1, t.dtype, 1)
        tensors = [t.to(target) for t in tensors]
    return tensors


def cat(tensors, dim=0):
    tensors = _check_list(tensors, "cat")
    ref = tensors[0]
    axis = normalize_dim(dim, ref.ndim)
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and {t.ndim}")
        for d in range(ref.ndim):
            if d != axis and t.shape[d] != ref.shape[d]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {axis}. Expected size "
                    f"{ref.shape[d]} but got size {t.shape[d]} for tensor number {i} in the list.")
    return apply(Cat(axis), *tensors)


def stack(tensors, dim=0):
    tensors = _check_list(tensors, "stack")
    ref = tensors[0]
    for i, t in enumerate(tensors):
        if t.shape != ref.shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(ref.shape)} at "
                               f"entry 0 and {list(t.shape)} at entry {i}")
    return apply(Stack(normalize_dim(dim, ref.ndim + 1)), *tensors)


def split(a: Tensor, split_size_or_sections, dim=0):
    axis = normalize_dim(dim, a.ndim)
    n = a.shape[axis]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise RuntimeError(f"split_size can only be a positive integer, but got {step}")
        sizes = [min(step, n - s) for s in range(0, n, step)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input "
                               f"tensor's size at dimension {dim}), but got split_sizes={sizes}")
    out = apply(Split(tuple(sizes), axis), a)
    return out if isinstance(out, tuple) else (out,)


def chunk(a: Tensor, chunks: int, dim=0):
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0")
    n = a.shape[normalize_dim(dim, a.ndim)]
    step = max(-(-n // chunks), 1)
    return split(a, step, dim)


def unbind(a: Tensor, dim=0):
    axis = normalize_dim(dim, a.ndim)
    return tuple(squeeze(p, axis) for p in split(a, 1, axis))


def pad(a: Tensor, pad_widths, mode="constant", value=0.0):
    """``F.pad``: widths given from the last dim backwards, (left, right, top, bottom, ...)."""
    if len(pad_widths) % 2:
        raise RuntimeError(f"Padding length must be divisible by 2, got {len(pad_widths)}")
    if len(pad_widths) // 2 > a.ndim:
        raise RuntimeError(f"Padding length ({len(pad_widths)}) is too large for a {a.ndim}-D input")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"padding mode '{mode}' is not supported; use constant, reflect, "
                                  "replicate or circular")
    widths = [(0, 0)] * a.ndim
    for i in range(len(pad_widths) // 2):
        widths[a.ndim - 1 - i] = (int(pad_widths[2 * i]), int(pad_widths[2 * i + 1]))
    return apply(Pad(tuple(widths), mode, 0.0 if value is None else value), a)
