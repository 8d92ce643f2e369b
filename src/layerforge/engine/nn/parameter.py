"""``Parameter``: a Tensor that a Module registers as learnable when assigned as an attribute."""
from __future__ import annotations

from ..creation import empty
from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default and shares storage with the data it wraps.

    Assigning one to a Module attribute registers it in ``parameters()`` and the ``state_dict``.
    Operations on a Parameter return plain Tensors, as in PyTorch.
    """

    def __new__(cls, data=None, requires_grad: bool = True):
        if data is None:
            data = empty(0)
        array = data._data if isinstance(data, Tensor) else Tensor(data)._data
        param = object.__new__(cls)
        param._data = array
        param.grad = None
        param.grad_fn = None
        param._out_idx = 0
        param._hooks = None
        param.requires_grad = False
        if requires_grad:
            param.requires_grad_(True)
        return param

    def __init__(self, data=None, requires_grad: bool = True):
        pass  # everything happens in __new__ so that Tensor.__init__ does not run again

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        found = memo.get(id(self))
        if found is not None:
            return found
        result = Parameter(Tensor._wrap(self._data.copy()), self.requires_grad)
        if self.grad is not None:
            result.grad = Tensor._wrap(self.grad._data.copy())
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol):
        raise TypeError("Layerforge never pickles tensors; save weights with layerforge.engine.save "
                        "(safetensors or npz) instead")


def is_parameter(value) -> bool:
    return isinstance(value, Parameter)



def new_parameter(shape, device=None, dtype=None) -> Parameter:
    """An uninitialised Parameter of ``shape`` (layers fill it in ``reset_parameters``)."""
    return Parameter(empty(*shape, device=device, dtype=dtype))


def optional_parameter(enabled: bool, shape, device=None, dtype=None) -> Parameter | None:
    """``new_parameter(shape)`` where a layer option asks for it (``bias=True``), else None, which
    registers the name with no parameter, as PyTorch's layers do."""
    return new_parameter(shape, device, dtype) if enabled else None


class Buffer(Tensor):
    """``nn.Buffer(data, persistent=True)``: assigned to a Module attribute, it is registered as a buffer
    (in the state_dict unless persistent=False), as ``register_buffer`` would; the Module keeps a plain
    Tensor on the same memory."""

    __slots__ = ("persistent",)

    def __new__(cls, data=None, *, persistent: bool = True):
        if data is None:
            data = empty(0)
        source = data if isinstance(data, Tensor) else Tensor(data)
        buffer = object.__new__(cls)
        buffer._data = source._data
        buffer.grad = None
        buffer.grad_fn = None
        buffer._out_idx = 0
        buffer._hooks = None
        buffer.requires_grad = bool(source.requires_grad)
        buffer.persistent = persistent
        return buffer

    def __init__(self, data=None, *, persistent: bool = True):
        pass  # everything happens in __new__

    def _plain(self) -> Tensor:
        plain = Tensor._wrap(self._data)
        if self.requires_grad:
            plain.requires_grad_(True)
        return plain
