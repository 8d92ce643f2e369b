"""PyTorch's other spellings of existing operations (greater for gt, ravel, tile, ger, ...), the small
predicates (is_floating_point, isposinf, ...), and integer helpers (gcd, lcm, ldexp, frexp)."""
from __future__ import annotations

import numpy as np

from ..dtypes import from_numpy_dtype, get_default_dtype, scalar_result_type
from ..dtypes import result_type as _result_type
from ..tensor import Tensor
from .common import apply, xp_of
from .elementwise_rounding import Stepwise
from .elementwise_functions import clamp, mul, pow, sub
from .linalg import dot, matmul, outer
from .rearrange import narrow
from .shape import cat, chunk, reshape, split, transpose

_wrap = Tensor._wrap


def clamp_min(input, min):  # noqa: A002
    return clamp(input, min=min)


def clamp_max(input, max):  # noqa: A002
    return clamp(input, max=max)


def ravel(input: Tensor) -> Tensor:  # noqa: A002
    return reshape(input, -1)


def tile(input: Tensor, dims) -> Tensor:  # noqa: A002
    """repeat with dims padded by leading 1s to the input's rank (PyTorch's tile)."""
    dims = tuple(dims) if not isinstance(dims, int) else (dims,)
    dims = (1,) * (input.ndim - len(dims)) + dims
    return input.repeat(*dims)


def swapdims(input: Tensor, dim0: int, dim1: int) -> Tensor:  # noqa: A002
    return transpose(input, dim0, dim1)


def detach(input: Tensor) -> Tensor:  # noqa: A002
    return input.detach()


def vdot(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    return dot(input, other)


def ger(input: Tensor, vec2: Tensor) -> Tensor:  # noqa: A002
    return outer(input, vec2)


def chain_matmul(*matrices) -> Tensor:
    out = matrices[0]
    for m in matrices[1:]:
        out = matmul(out, m)
    return out


def split_with_sizes(input: Tensor, split_sizes, dim: int = 0):  # noqa: A002
    return split(input, list(split_sizes), dim)


def unsafe_split(input: Tensor, split_size, dim: int = 0):  # noqa: A002
    return split(input, split_size, dim)


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0):  # noqa: A002
    return chunk(input, chunks, dim)


def is_floating_point(input: Tensor) -> bool:  # noqa: A002
    return input._data.dtype.kind == "f"


def is_complex(input: Tensor) -> bool:  # noqa: A002
    return input._data.dtype.kind == "c"


def is_signed(input: Tensor) -> bool:  # noqa: A002
    return input._data.dtype.kind in "fic"


def is_nonzero(input: Tensor) -> bool:  # noqa: A002
    if input.numel() != 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous" if input.numel()
                           else "Boolean value of Tensor with no values is ambiguous")
    return bool(input.item())


def is_same_size(input: Tensor, other: Tensor) -> bool:  # noqa: A002
    return tuple(input.shape) == tuple(other.shape)


def _float_predicate(name, test):
    def op(input: Tensor) -> Tensor:  # noqa: A002
        data = input._data
        xp = xp_of(data)
        if data.dtype.kind != "f":
            return _wrap(xp.zeros(data.shape, dtype=bool))
        return _wrap(test(xp, data))

    op.__name__ = op.__qualname__ = name
    return op


isposinf = _float_predicate("isposinf", lambda xp, a: a == np.inf)
isneginf = _float_predicate("isneginf", lambda xp, a: a == -np.inf)


def isreal(input: Tensor) -> Tensor:  # noqa: A002
    return _wrap(xp_of(input._data).ones(input._data.shape, dtype=bool))


def _integers(name, fn):
    def op(input: Tensor, other) -> Tensor:  # noqa: A002
        a = input._data
        b = other._data if isinstance(other, Tensor) else other
        if a.dtype.kind not in "iub" or getattr(b, "dtype", np.dtype(int)).kind not in "iub":
            raise NotImplementedError(f'"{name}_cpu" not implemented for \'{input.dtype.name.capitalize()}\'')
        return _wrap(xp_of(a).asarray(getattr(xp_of(a), fn)(a, b)))

    op.__name__ = op.__qualname__ = name
    return op


gcd = _integers("gcd", "gcd")
lcm = _integers("lcm", "lcm")


def ldexp(input: Tensor, other) -> Tensor:  # noqa: A002
    """input * 2 ** other, in a floating dtype."""
    base = input if input._data.dtype.kind == "f" else input.to("float32")
    return mul(base, pow(2.0, other.to(base.dtype) if isinstance(other, Tensor) else other))


def frexp(input: Tensor):  # noqa: A002
    """(mantissa, exponent) with input = mantissa * 2 ** exponent and 0.5 <= |mantissa| < 1."""
    data = input._data
    if data.dtype.kind != "f":
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    mantissa, exponent = xp_of(data).frexp(data)
    return _wrap(mantissa), _wrap(exponent.astype(np.int32))



def result_type(tensor1, tensor2):
    """The dtype ``tensor1 (op) tensor2`` has under PyTorch's promotion (tensors or Python numbers)."""
    if isinstance(tensor1, Tensor) and isinstance(tensor2, Tensor):
        return _result_type(tensor1.dtype, tensor1.ndim, tensor2.dtype, tensor2.ndim)
    if isinstance(tensor1, Tensor) or isinstance(tensor2, Tensor):
        t, s = (tensor1, tensor2) if isinstance(tensor1, Tensor) else (tensor2, tensor1)
        return scalar_result_type(t.dtype, s)
    kinds = {type(tensor1), type(tensor2)}
    if float in kinds:
        return get_default_dtype()
    return from_numpy_dtype(np.int64 if int in kinds else np.bool_)


def rsub(input, other, alpha=1):  # noqa: A002
    """other - alpha * input (torch.rsub)."""
    return sub(other, input, alpha=alpha)


def fill(input: Tensor, value) -> Tensor:  # noqa: A002
    """A new tensor like input, every element value (the out-of-place torch.fill; a zero gradient)."""
    fill_value = value._data if isinstance(value, Tensor) else value
    return apply(Stepwise(lambda a: xp_of(a).full(a.shape, fill_value, dtype=a.dtype)), input)


def get_device(input: Tensor) -> int:  # noqa: A002
    return input.get_device()


def gradient(input: Tensor, *, spacing=1, dim=None, edge_order: int = 1):  # noqa: A002
    """Central differences inside, one-sided (first order) at the edges, per dim, as torch.gradient."""
    if edge_order != 1:
        raise NotImplementedError("torch.gradient: only edge_order=1 is supported here")
    dims = list(range(input.ndim)) if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    steps = list(spacing) if isinstance(spacing, (list, tuple)) else [spacing] * len(dims)
    out = []
    for d, h in zip(dims, steps):
        h = float(h.item()) if isinstance(h, Tensor) else float(h)
        n = input.shape[d]
        if n < 2:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
        inner = (narrow(input, d, 2, n - 2) - narrow(input, d, 0, n - 2)) / (2 * h)
        first = (narrow(input, d, 1, 1) - narrow(input, d, 0, 1)) / h
        last = (narrow(input, d, n - 1, 1) - narrow(input, d, n - 2, 1)) / h
        out.append(cat([first, inner, last], d))
    return tuple(out)
