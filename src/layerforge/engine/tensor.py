"""The Tensor: an n-dimensional array (numpy on the CPU, cupy on a GPU) that records how it was made.

Methods are thin: each forwards to a kernel module under ``ops/``, where the differentiable operation
lives once and serves both ``torch.add(a, b)`` and ``a + b``.
"""
from __future__ import annotations

import numpy as np

from . import backend
from .autograd import (_add_hook, _initial_grad, _retain, _run_backward, _SECOND_BACKWARD, backward_into,
                       no_grad, run_backward, scalar_seed)
from .grad_mode import _mode
from .dtypes import dtype as _dtype_cls
from .dtypes import from_numpy_dtype, get_default_dtype, to_dtype


class Size(tuple):
    """A tensor's shape, as ``torch.Size``: a tuple that prints like PyTorch's."""

    def __repr__(self):
        return f"layerforge.Size({list(self)})"

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n


class Tensor:
    __slots__ = ("_data", "requires_grad", "grad", "grad_fn", "_out_idx", "_hooks", "__weakref__")
    __array_priority__ = 1000  # numpy defers to Tensor's reflected operators

    def __init__(self, data, requires_grad: bool = False):
        if isinstance(data, Tensor):
            data = data._data
        elif not (isinstance(data, np.ndarray) or backend.is_gpu_array(data)):
            data = _late.to_array(data, None)
        self._data = data
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self.grad_fn = None
        self._out_idx = 0
        self._hooks = None
        if requires_grad and data.dtype.kind != "f":
            raise RuntimeError("Only Tensors of floating point dtype can require gradients")

    @classmethod
    def _wrap(cls, data, grad_fn=None, index=0):
        """Fast construction from an array the engine owns (no checks, no copy)."""
        if type(data) is not np.ndarray and isinstance(data, np.generic):
            data = np.asarray(data)
        t = object.__new__(cls)
        t._data = data
        t.grad = None
        t._hooks = None
        t.grad_fn = grad_fn
        t._out_idx = index
        t.requires_grad = grad_fn is not None
        return t

    # ---------------------------------------------------------------- attributes
    @property
    def data(self) -> "Tensor":
        """The same storage without history (as PyTorch's ``.data``)."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value):
        self._data = value._data if isinstance(value, Tensor) else value

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_ops.common.normalize_dim(dim, self._data.ndim)]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    @property
    def dtype(self) -> _dtype_cls:
        return from_numpy_dtype(self._data.dtype)

    @property
    def device(self):
        return backend.device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return backend.is_gpu_array(self._data)

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def T(self) -> "Tensor":
        return _ops.permute(self, *reversed(range(self.ndim)))

    @property
    def mT(self) -> "Tensor":
        return _ops.transpose(self, -2, -1)

    def _xp(self):
        return np if type(self._data) is np.ndarray else backend.module_of(self._data)

    # ---------------------------------------------------------------- conversion
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(-1)[0].item()

    def numpy(self, force: bool = False) -> np.ndarray:
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        if backend.is_gpu_array(self._data):
            if not force:
                raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use "
                                "Tensor.cpu() to copy the tensor to host memory first.")
            return backend.to_host(self._data)
        return self._data

    def tolist(self):
        return backend.to_host(self._data).tolist()

    def __array__(self, dtype=None, copy=None):
        arr = backend.to_host(self._data)
        return arr.astype(dtype) if dtype is not None else arr

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} values is ambiguous")
        return bool(self._data.reshape(-1)[0])

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    # By identity (== is elementwise), and object's own C-level hash: optimizers look their state up
    # by parameter several times a step, and a Python __hash__ costs a call each time.
    __hash__ = object.__hash__

    def detach(self) -> "Tensor":
        return Tensor._wrap(self._data)

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self.requires_grad = False
        return self

    def clone(self) -> "Tensor":
        return _ops.clone(self)

    def contiguous(self) -> "Tensor":
        return self

    def to(self, *args, **kwargs) -> "Tensor":
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(other_tensor)``."""
        device, dtype = kwargs.get("device"), kwargs.get("dtype")
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, (_dtype_cls, type)) or (isinstance(arg, str) and arg in _DTYPE_NAMES):
                dtype = arg
            elif isinstance(arg, np.dtype):
                dtype = arg
            else:
                device = arg
        out = self
        if dtype is not None:
            target = to_dtype(dtype)
            if out._data.dtype != target.np:
                out = _ops.cast(out, target.np)
        if device is not None:
            dev = backend.as_device(device)
            if backend.device_of(out._data) != dev:
                out = _ops.to_device(out, dev)
        return out

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self, device=None) -> "Tensor":
        index = 0 if device is None else (device if isinstance(device, int) else backend.as_device(device).index)
        return self.to(f"cuda:{index}")

    def float(self):
        return self.to(_DTYPE_NAMES["float32"])

    def double(self):
        return self.to(_DTYPE_NAMES["float64"])

    def half(self):
        return self.to(_DTYPE_NAMES["float16"])

    def long(self):
        return self.to(_DTYPE_NAMES["int64"])

    def int(self):
        return self.to(_DTYPE_NAMES["int32"])

    def bool(self):
        return self.to(_DTYPE_NAMES["bool"])

    def type(self, dtype=None):
        if dtype is None:
            return f"layerforge.{self.dtype.name.capitalize()}Tensor"
        return self.to(dtype)

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(other.dtype)

    # ---------------------------------------------------------------- autograd
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to "
                               "use a computed variable in a subgraph that doesn't require "
                               "differentiation use var_no_grad = var.detach().")
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is not None:
            _retain(self.grad_fn, self._out_idx, self)

    @property
    def retains_grad(self) -> bool:
        fn = self.grad_fn
        return fn is not None and bool(fn._retained) and self._out_idx in fn._retained

    def register_hook(self, hook):
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
        else:
            _add_hook(self.grad_fn, self._out_idx, hook)
        return hook

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        if create_graph:
            raise NotImplementedError("create_graph=True (higher-order gradients) is not supported")
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        fn = self.grad_fn
        if fn is not None and fn.inputs is None:  # released (Node._released, without the property)
            raise RuntimeError(_SECOND_BACKWARD)
        data = self._data
        if gradient is None and inputs is None and type(data) is np.ndarray and data.size == 1:
            # the usual call, a CPU loss: what _initial_grad and run_backward do, two calls fewer
            _run_backward([(self, scalar_seed(data))], bool(retain_graph))
            return
        roots = [(self, _initial_grad(self, gradient))]
        if inputs is None:
            run_backward(roots, retain_graph=bool(retain_graph))
        else:
            backward_into(roots, inputs, bool(retain_graph))

    # ---------------------------------------------------------------- printing
    def __repr__(self):
        return _late.tensor_repr(self)

    def __str__(self):
        return self.__repr__()

    def __format__(self, spec):
        if self._data.ndim == 0 and spec:
            return format(self.item(), spec)
        return self.__repr__()

    # ---------------------------------------------------------------- operators
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __mul__(self, other):
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __floordiv__(self, other):
        return _ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _ops.floor_divide(other, self)

    def __mod__(self, other):
        return _ops.remainder(self, other)

    def __rmod__(self, other):
        return _ops.remainder(other, self)

    def __pow__(self, other):
        return _ops.pow(self, other)

    def __rpow__(self, other):
        return _ops.pow(other, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(Tensor(other), self)

    def __neg__(self):
        return _ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    def __eq__(self, other):
        return _ops.compare(self, other, "equal")

    def __ne__(self, other):
        return _ops.compare(self, other, "not_equal")

    def __lt__(self, other):
        return _ops.compare(self, other, "less")

    def __le__(self, other):
        return _ops.compare(self, other, "less_equal")

    def __gt__(self, other):
        return _ops.compare(self, other, "greater")

    def __ge__(self, other):
        return _ops.compare(self, other, "greater_equal")

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    def __setitem__(self, index, value):
        _ops.setitem(self, index, value)

    # In-place arithmetic: on leaves under no_grad (parameter updates), or on tensors without history.
    def __iadd__(self, other):
        return _ops.inplace(self, other, "add")

    def __isub__(self, other):
        return _ops.inplace(self, other, "sub")

    def __imul__(self, other):
        return _ops.inplace(self, other, "mul")

    def __itruediv__(self, other):
        return _ops.inplace(self, other, "div")

    def add_(self, other, alpha=1):
        return _ops.inplace(self, other * alpha if alpha != 1 else other, "add")

    def sub_(self, other, alpha=1):
        return _ops.inplace(self, other * alpha if alpha != 1 else other, "sub")

    def mul_(self, other):
        return _ops.inplace(self, other, "mul")

    def div_(self, other):
        return _ops.inplace(self, other, "div")

    def pow_(self, other):
        return _ops.inplace(self, other, "pow")

    def clamp_(self, min=None, max=None):  # noqa: A002
        return _ops.inplace(self, _ops.clamp(self.detach(), min, max), "copy")

    def zero_(self):
        return _ops.inplace(self, 0, "fill")

    def fill_(self, value):
        return _ops.inplace(self, value, "fill")

    def copy_(self, src):
        return _ops.inplace(self, src, "copy")

    def normal_(self, mean=0.0, std=1.0, generator=None):
        return _ops.inplace(self, _late.normal_array(self, mean, std, generator), "copy")

    def uniform_(self, a=0.0, b=1.0, generator=None):
        return _ops.inplace(self, _late.uniform_array(self, a, b, generator), "copy")

    def masked_fill_(self, mask, value):
        return _ops.inplace(self, _ops.masked_fill(self.detach(), mask, value), "copy")


_DTYPE_NAMES = {"float32": None}


class _Late:
    """What Tensor's methods use from modules that import this one (creation, printing, random):
    filled in by ``_late_bindings``."""

    to_array = tensor_repr = normal_array = uniform_array = None


_late = _Late()


def _late_bindings():
    """Close the engine's one import cycle, in one place, once every engine module has loaded: the
    kernel modules, creation, printing and random import Tensor, and Tensor (with autograd, whose
    backward walk builds Tensors) uses them."""
    global _ops
    from . import autograd, creation, custom_function, dtypes, printing, random, tensor_extras, typed_tensors
    from . import ops as _ops_module

    _ops = _ops_module
    autograd.Tensor = custom_function.Tensor = Tensor
    _late.to_array, _late.tensor_repr = creation._to_array, printing.tensor_repr
    _late.normal_array, _late.uniform_array = random.normal_array, random.uniform_array
    _DTYPE_NAMES.update({d.name: d for d in (dtypes.float16, dtypes.float32, dtypes.float64,
                                             dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64,
                                             dtypes.uint8, dtypes.bool_)})
    _ops_module.install_methods(Tensor)
    typed_tensors.install_methods(Tensor)
    tensor_extras.install_methods(Tensor)


_ops = None
_ = (get_default_dtype, _mode, no_grad)
