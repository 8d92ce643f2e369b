"""The ``*_copy`` forms of PyTorch's view operations (permute_copy, select_copy, view_copy, ...): the
view's values and gradient in memory of their own, so writing to the result never touches the input."""
from __future__ import annotations

from ..autograd import Node
from ..tensor import Tensor
from .common import apply


def _own(result):
    if isinstance(result, (tuple, list)):
        return tuple(r.clone() for r in result)
    return result.clone()


def alias_copy(input: Tensor) -> Tensor:  # noqa: A002
    return input.clone()


class DetachCopy(Node):
    """PyTorch's detach_copy keeps the input's requires_grad but has no derivative: backward raises."""

    def forward(self, a):
        return a.copy()

    def backward(self, g):
        raise RuntimeError("derivative for aten::detach_copy is not implemented")


def detach_copy(input: Tensor) -> Tensor:  # noqa: A002
    return apply(DetachCopy(), input)


def diagonal_copy(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:  # noqa: A002
    return _own(input.diagonal(offset, dim1, dim2))


def expand_copy(input: Tensor, size, *, implicit: bool = False) -> Tensor:  # noqa: A002
    return _own(input.expand(*size))


def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:  # noqa: A002
    return _own(input.narrow(dim, start, length))


def permute_copy(input: Tensor, dims) -> Tensor:  # noqa: A002
    return _own(input.permute(*dims))


def select_copy(input: Tensor, dim: int, index: int) -> Tensor:  # noqa: A002
    return _own(input.select(dim, index))


def slice_copy(input: Tensor, dim: int = 0, start=None, end=None, step: int = 1) -> Tensor:  # noqa: A002
    index = [slice(None)] * input.ndim
    index[dim] = slice(start, end, step)
    return _own(input[tuple(index)])


def split_copy(input: Tensor, split_size, dim: int = 0):  # noqa: A002
    return _own(input.split(split_size, dim))


def split_with_sizes_copy(input: Tensor, split_sizes, dim: int = 0):  # noqa: A002
    return _own(input.split(list(split_sizes), dim))


def squeeze_copy(input: Tensor, dim=None) -> Tensor:  # noqa: A002
    return _own(input.squeeze() if dim is None else input.squeeze(dim))


def t_copy(input: Tensor) -> Tensor:  # noqa: A002
    return _own(input.t())


def transpose_copy(input: Tensor, dim0: int, dim1: int) -> Tensor:  # noqa: A002
    return _own(input.transpose(dim0, dim1))


def unbind_copy(input: Tensor, dim: int = 0):  # noqa: A002
    return _own(input.unbind(dim))


def unfold_copy(input: Tensor, dimension: int, size: int, step: int) -> Tensor:  # noqa: A002
    return _own(input.unfold(dimension, size, step))


def unsqueeze_copy(input: Tensor, dim: int) -> Tensor:  # noqa: A002
    return _own(input.unsqueeze(dim))


def view_copy(input: Tensor, size) -> Tensor:  # noqa: A002
    return _own(input.view(*size) if isinstance(size, (tuple, list)) else input.view(size))


NAMES = ["alias_copy", "detach_copy", "diagonal_copy", "expand_copy", "narrow_copy", "permute_copy", "select_copy",
         "slice_copy", "split_copy", "split_with_sizes_copy", "squeeze_copy", "t_copy", "transpose_copy",
         "unbind_copy", "unfold_copy", "unsqueeze_copy", "view_copy"]
