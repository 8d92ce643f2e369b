"""The Tensor methods around the operations that PyTorch code calls: storage queries (stride,
nbytes, is_contiguous), in-place shape changes (unsqueeze_, t_, resize_), sampling in place
(bernoulli_, random_, exponential_, ...), multinomial, put/index_put, sum_to_size, and the flags
every tensor here answers the same way (dense, strided, not quantized, not pinned)."""
from __future__ import annotations

import warnings

import numpy as np

from . import backend
from . import random as _random
from .autograd import is_grad_enabled, register_post_accumulate_grad_hook
from .ops import inplace, reshape, transpose
from .ops.common import xp_of
from .ops.index import _convert_index
from .tensor import Size, Tensor

_wrap = Tensor._wrap


# ------------------------------------------------------------------------------ storage and flags
def stride(self, dim=None):
    steps = tuple(s // self._data.itemsize for s in self._data.strides)
    return steps if dim is None else steps[dim % max(self.ndim, 1)]


def is_contiguous(self, memory_format=None) -> bool:
    return bool(self._data.flags.c_contiguous)


def data_ptr(self) -> int:
    data = self._data
    return int(data.ctypes.data) if type(data) is np.ndarray else int(data.data.ptr)


def get_device(self) -> int:
    return -1 if self.device.type == "cpu" else self.device.index or 0


_FALSE_FLAGS = ("is_sparse", "is_sparse_csr", "is_quantized", "is_meta", "is_nested", "is_mkldnn", "is_mps",
                "is_xla", "is_xpu", "is_ipu", "is_vulkan", "is_maia", "is_mtia")


# ------------------------------------------------------------------------------ in-place reshaping
def _set_shape(self, new: Tensor, name: str) -> Tensor:
    """Give ``self`` the view ``new`` in place, where no gradient can be corrupted (as inplace())."""
    if self.requires_grad and self.grad_fn is None and is_grad_enabled():
        raise RuntimeError(f"a leaf Variable that requires grad is being used in an in-place operation "
                           f"({name}). Wrap it in `with torch.no_grad():`")
    self._data = new._data
    return self


def _shape_in_place(name, fn):
    def method(self, *args, **kwargs):
        return _set_shape(self, fn(self.detach(), *args, **kwargs), name)

    method.__name__ = name
    return method


def resize_(self, *sizes) -> Tensor:
    """Reshape in place; new elements (when growing) are zeros here (PyTorch leaves them uninitialised)."""
    shape = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list, Size)) else tuple(sizes)
    flat = self._data.reshape(-1)
    n = int(np.prod(shape))
    xp = xp_of(flat)
    data = flat[:n] if n <= flat.size else xp.concatenate([flat, xp.zeros(n - flat.size, flat.dtype)])
    self._data = data.reshape(shape).copy()
    return self


def resize_as_(self, other) -> Tensor:
    return resize_(self, tuple(other.shape))


def resize(self, *sizes) -> Tensor:
    """The deprecated out-of-place resize: a reshape that keeps the element count (and the gradient)."""
    warnings.warn("non-inplace resize is deprecated", UserWarning, stacklevel=2)
    shape = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list, Size)) else tuple(sizes)
    if int(np.prod(shape)) != self.numel():
        raise RuntimeError(f"requested resize to {'x'.join(map(str, shape))} ({int(np.prod(shape))} elements in "
                           f"total), but the given tensor has a size of {'x'.join(map(str, self.shape))} "
                           f"({self.numel()} elements). autograd's resize can only change the shape of a given "
                           f"tensor, while preserving the number of elements. ")
    return self.reshape(shape)


def resize_as(self, other) -> Tensor:
    warnings.warn("non-inplace resize_as is deprecated", UserWarning, stacklevel=2)
    if other.numel() != self.numel():
        raise RuntimeError(f"requested resize to {'x'.join(map(str, other.shape))} ({other.numel()} elements in "
                           f"total), but the given tensor has a size of {'x'.join(map(str, self.shape))} "
                           f"({self.numel()} elements). autograd's resize can only change the shape of a given "
                           f"tensor, while preserving the number of elements. ")
    return self.reshape(tuple(other.shape))


# ------------------------------------------------------------------------------ sampling in place
def _fill_with(self, values) -> Tensor:
    return inplace(self, _wrap(values.astype(self._data.dtype, copy=False)), "copy")


def bernoulli_(self, p=0.5, *, generator=None) -> Tensor:
    probs = p._data if isinstance(p, Tensor) else p
    draws = _random.uniform(self._data.shape, np.float64 if self._data.dtype.kind != "f" else self._data.dtype,
                            self.device, generator)
    return _fill_with(self, draws < probs)


def bernoulli(self, p=None, *, generator=None) -> Tensor:
    """Draws of 0/1 with the probabilities in ``self`` (or ``p``), of self's dtype."""
    probs = self._data if p is None else (p._data if isinstance(p, Tensor) else p)
    draws = _random.uniform(self._data.shape, self._data.dtype if self._data.dtype.kind == "f" else np.float64,
                            self.device, generator)
    return _wrap((draws < probs).astype(self._data.dtype))


def random_(self, from_=0, to=None, *, generator=None) -> Tensor:
    if to is None:
        from_, to = 0, from_ if from_ else (2 ** 24 if self._data.dtype.kind == "f" else 2 ** 31)
    ints = _random.integers(from_, to, self._data.shape, np.int64, self.device, generator)
    return _fill_with(self, ints)


def exponential_(self, lambd=1.0, *, generator=None) -> Tensor:
    u = _random.uniform(self._data.shape, self._data.dtype, self.device, generator)
    return _fill_with(self, -xp_of(u).log1p(-u) / lambd)


def geometric_(self, p, *, generator=None) -> Tensor:
    u = _random.uniform(self._data.shape, np.float64, self.device, generator)
    xp = xp_of(u)
    return _fill_with(self, xp.ceil(xp.log1p(-u) / np.log1p(-p)))


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None) -> Tensor:
    u = _random.uniform(self._data.shape, self._data.dtype, self.device, generator)
    return _fill_with(self, median + sigma * xp_of(u).tan(np.pi * (u - 0.5)))


def log_normal_(self, mean=1.0, std=2.0, *, generator=None) -> Tensor:
    z = _random.normal(self._data.shape, self._data.dtype, self.device, generator, mean, std)
    return _fill_with(self, xp_of(z).exp(z))


def multinomial(input, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:  # noqa: A002
    """Indices drawn with the (unnormalised) weights in each row of ``input``."""
    weights = backend.to_host(input._data).astype(np.float64)
    rows = weights.reshape(-1, weights.shape[-1]) if weights.ndim else weights.reshape(1, 1)
    if (rows < 0).any() or not np.isfinite(rows).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if not replacement and num_samples > rows.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    picks = []
    for row in rows:
        total = row.sum()
        if total <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if replacement:
            u = backend.to_host(_random.uniform((num_samples,), np.float64, backend.CPU, generator))
            picks.append(np.minimum(np.searchsorted(np.cumsum(row / total), u, side="right"), len(row) - 1))
        else:  # sequential draws without replacement (the Gumbel top-k trick, one uniform per weight)
            u = backend.to_host(_random.uniform(row.shape, np.float64, backend.CPU, generator))
            keys = np.where(row > 0, np.log(np.maximum(u, 1e-300)) / np.where(row > 0, row, 1), -np.inf)
            picks.append(np.argsort(-keys, kind="stable")[:num_samples])
    out = np.stack(picks).astype(np.int64)
    out = out.reshape(weights.shape[:-1] + (num_samples,)) if weights.ndim > 1 else out.reshape(num_samples)
    return _wrap(backend.to_device_array(out, input.device))


# ------------------------------------------------------------------------------ writing by index
def index_put(self, indices, values, accumulate=False) -> Tensor:
    out = self.clone()
    return index_put_(out, indices, values, accumulate)


def index_put_(self, indices, values, accumulate=False) -> Tensor:
    if not accumulate:
        self[tuple(indices)] = values
        return self
    index = _convert_index(tuple(indices), xp_of(self._data))
    data = values._data if isinstance(values, Tensor) else values
    target = self.detach().clone()._data
    xp_of(target).add.at(target, index, data)
    return inplace(self, _wrap(target), "copy")


def put_(self, index, source, accumulate=False) -> Tensor:
    flat = self.detach().clone()._data.reshape(-1)
    idx = index._data.reshape(-1) % max(flat.size, 1)
    src = source._data.reshape(-1)
    if accumulate:
        xp_of(flat).add.at(flat, idx, src)
    else:
        flat[idx] = src
    return inplace(self, _wrap(flat.reshape(self._data.shape)), "copy")


def put(self, index, source, accumulate=False) -> Tensor:
    return put_(self.clone(), index, source, accumulate)


def map_(self, other, callable_) -> Tensor:
    a, b = backend.to_host(self._data), np.broadcast_to(backend.to_host(other._data), self._data.shape)
    values = np.array([callable_(x, y) for x, y in zip(a.reshape(-1).tolist(), b.reshape(-1).tolist())],
                      dtype=a.dtype).reshape(a.shape)
    return inplace(self, _wrap(backend.to_device_array(values, self.device)), "copy")


def apply_(self, callable_) -> Tensor:
    host = backend.to_host(self._data)
    values = np.array([callable_(x) for x in host.reshape(-1).tolist()], dtype=host.dtype).reshape(host.shape)
    return inplace(self, _wrap(backend.to_device_array(values, self.device)), "copy")


def install_methods(cls) -> None:
    for fn in (register_post_accumulate_grad_hook, stride, is_contiguous, data_ptr, get_device, resize_, resize_as_,
               resize, resize_as, bernoulli, bernoulli_, random_,
               exponential_, geometric_, cauchy_, log_normal_, multinomial, index_put, index_put_, put, put_,
               map_, apply_):
        setattr(cls, fn.__name__, fn)
    for flag in _FALSE_FLAGS:
        setattr(cls, flag, property(lambda self: False))
    cls.is_cpu = property(lambda self: self.device.type == "cpu")
    cls.is_inference = lambda self: False
    cls.is_pinned = lambda self, device=None: False
    cls.is_shared = lambda self: False
    cls.pin_memory = lambda self, device=None: self
    cls.share_memory_ = lambda self: self
    cls.nbytes = property(lambda self: int(self._data.nbytes))
    cls.ndimension = lambda self: self._data.ndim
    cls.storage_offset = lambda self: 0
    cls.output_nr = property(lambda self: self._out_idx)
    cls.name = property(lambda self: None)
    cls.to_dense = lambda self, dtype=None, masked_grad=None: self if dtype is None else self.to(dtype)
    cls.H = property(lambda self: transpose(self, 0, 1) if self.ndim == 2 else self)
    cls.mH = property(lambda self: transpose(self, -2, -1))
    cls.adjoint = lambda self: transpose(self, -2, -1)
    cls.byte = lambda self: self.to("uint8")
    cls.char = lambda self: self.to("int8")
    cls.short = lambda self: self.to("int16")
    cls.new = lambda self, *args: (self.new_tensor(args[0]) if len(args) == 1 and not isinstance(args[0], int)
                                   else self.new_empty(*args))
    for name in ("squeeze", "unsqueeze", "t", "transpose", "swapaxes", "swapdims"):
        setattr(cls, name + "_", _shape_in_place(name + "_", getattr(cls, name)))
    cls.sum_to_size = lambda self, *size: _sum_to_size(self, *size)


def _sum_to_size(self, *size):
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list, Size)) else tuple(size)
    lead = self.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and self.shape[lead + i] != 1)
    out = self.sum(dims, keepdim=True) if dims else self
    return reshape(out, shape)

