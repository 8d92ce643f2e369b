"""PyTorch's calling conventions for the functions of the ``torch`` namespace: the first arguments by
their PyTorch names (``torch.matmul(input=a, other=b)``) and ``out=`` (the result written into a given
tensor, which is returned). Kernels keep their own short argument names; this wraps them once.
"""
from __future__ import annotations

import functools
import inspect

from .autograd import is_grad_enabled
from .tensor import Tensor


def _write_out(out, result):
    if isinstance(out, (tuple, list)):
        results = result if isinstance(result, (tuple, list)) else (result,)
        if len(out) != len(results):
            raise RuntimeError(f"out= expects {len(results)} tensors, got {len(out)}")
        for target, value in zip(out, results):
            _write_out(target, value)
        return type(result)(*out) if hasattr(result, "_fields") else tuple(out)
    if not isinstance(out, Tensor):
        raise TypeError(f"out= must be a Tensor, not {type(out).__name__}")
    if is_grad_enabled() and (out.requires_grad or result.requires_grad):
        raise RuntimeError("out=... arguments don't support automatic differentiation, but one of the "
                           "arguments requires grad.")
    data = result._data
    if data.dtype != out._data.dtype and data.dtype.kind == "f" and out._data.dtype.kind in "biu":
        raise RuntimeError(f"result type {result.dtype.name.capitalize()} can't be cast to the desired output "
                           f"type {out.dtype.name.capitalize()}")
    if tuple(out._data.shape) == tuple(data.shape):
        out._data[...] = data
    else:  # PyTorch resizes an out= tensor of another shape
        out._data = data.astype(out._data.dtype, copy=True)
    return out


def torch_keywords(fn):
    """``fn`` accepting ``input=``, ``other=`` and ``out=`` as its PyTorch counterpart does."""
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return fn
    moves_input, moves_other = "input" not in names, "other" not in names and len(names) > 1

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not kwargs:
            return fn(*args)
        out = kwargs.pop("out", None)
        if moves_input and "input" in kwargs:
            args = (kwargs.pop("input"),) + args
        if moves_other and "other" in kwargs and len(args) == 1:
            args = args + (kwargs.pop("other"),)
        result = fn(*args, **kwargs)
        return result if out is None else _write_out(out, result)

    return wrapper


def wrap_namespace(namespace: dict, module_prefix: str) -> None:
    """Give every public function of ``namespace`` defined under ``module_prefix`` PyTorch's keywords."""
    for name, value in list(namespace.items()):
        if name.startswith("_") or not inspect.isfunction(value):
            continue
        if getattr(value, "__module__", "").startswith(module_prefix):
            namespace[name] = torch_keywords(value)
