"""What every kernel module shares: applying a node, unbroadcasting gradients, argument checks."""
from __future__ import annotations

import functools

import numpy as np

from ..anomaly import STATE as ANOMALY
from ..anomaly import record
from ..grad_mode import _mode
from ..backend import device_out_of_memory, is_device_out_of_memory, module_of, other_gpu, to_device_array
from ..dtypes import from_numpy_dtype, get_default_dtype, result_type, scalar_result_type
from ..tensor import Tensor

_wrap = Tensor._wrap
Number = (int, float, bool)


def apply(node, *inputs):
    """Run ``node.forward`` on the inputs' arrays and, when grad mode asks for it, link the graph.

    ``inputs`` are Tensors; non-tensor arguments were given to the node's constructor. This runs for
    every operation, so it is written for speed: one pass over the inputs, the result Tensor built
    inline (what ``Tensor._wrap`` does) for the usual single ndarray output.
    """
    if _trace_hook is not None:  # only while layerforge.engine.onnx records a forward pass
        traced = _trace_hook(node, inputs)
        if traced is not None:
            return traced
    first = inputs[0]._data
    if type(first) is not np.ndarray:  # a GPU array: run on its GPU, as PyTorch does
        guard = other_gpu(first)
        if guard is not None:
            with guard:
                return apply(node, *inputs)
    try:  # free unless raised (Python >= 3.11), so the hot path pays nothing
        if len(inputs) == 1:
            a = inputs[0]
            out = node.forward(first)
            if a.requires_grad and _mode.enabled:
                node.inputs = inputs
                fn = a.grad_fn
                if fn is not None:
                    node.generation = fn.generation + 1
                if ANOMALY.enabled:
                    record(node)
            else:
                node = None
        else:
            if len(inputs) == 2:
                second = inputs[1]._data
                if type(second) is not type(first) or (type(first) is not np.ndarray
                                                       and second.device != first.device):
                    check_same_device(inputs[0], inputs[1], type(node).__name__)
                out = node.forward(first, second)
            elif len(inputs) == 3:  # Linear with its bias: every layer of an MLP
                second, third = inputs[1]._data, inputs[2]._data
                if type(first) is not np.ndarray or type(second) is not np.ndarray or type(third) is not np.ndarray:
                    check_same_device(inputs[0], inputs[1], type(node).__name__)
                    check_same_device(inputs[0], inputs[2], type(node).__name__)
                out = node.forward(first, second, third)
            else:
                arrays = [t._data for t in inputs]
                for t, array in zip(inputs[1:], arrays[1:]):
                    if type(array) is not np.ndarray or type(first) is not np.ndarray:
                        check_same_device(inputs[0], t, type(node).__name__)
                out = node.forward(*arrays)
            tracked = False
            if _mode.enabled:
                generation = -1
                for t in inputs:
                    if t.requires_grad:
                        tracked = True
                        fn = t.grad_fn
                        if fn is not None and fn.generation > generation:
                            generation = fn.generation
            if tracked:
                node.inputs = inputs
                node.generation = generation + 1
                if ANOMALY.enabled:
                    record(node)
            else:
                node = None
        if type(out) is np.ndarray:
            t = _new(Tensor)
            t._data = out
            t.grad = None
            t._hooks = None
            t.grad_fn = node
            t._out_idx = 0
            t.requires_grad = node is not None
            return t
        return _wrap_outputs(out, node)
    except MemoryError as error:
        if is_device_out_of_memory(error):
            raise device_out_of_memory(error, f"{type(node).__name__}.forward on shapes "
                                              f"{[tuple(t.shape) for t in inputs]}") from error
        raise


_new = object.__new__

# ------------------------------------------------------------------------------ the tracing hook
# The one place where operations can be observed: ``layerforge.engine.onnx`` installs a hook here for
# the length of one traced forward pass. Outside that (always, in training and inference) ``apply``
# pays a single global load and ``is not None`` test, below what bench_engine can measure.
# Keep it the first statement of ``apply`` if ``apply`` is rewritten: every operation must pass it.
_trace_hook = None


def set_trace_hook(hook) -> None:
    """Install ``hook(node, inputs)`` (or remove it with None) for every operation ``apply`` runs.

    The hook returns the operation's output (a Tensor or a tuple of them), computed however it likes,
    or None to let ``apply`` run the operation as usual (other threads' operations, say). It is
    global, not per thread: the hook tells its own thread apart. Only the ONNX tracer uses it.
    """
    global _trace_hook
    _trace_hook = hook


def on_input_gpu(fn):
    """For code that computes on its first argument's arrays outside ``apply`` (argument checks,
    index preparation): run it on that argument's GPU when it is not the current one."""
    @functools.wraps(fn)
    def wrapper(input, *args, **kwargs):  # noqa: A002
        data = getattr(input, "_data", None)
        if data is not None and type(data) is not np.ndarray:
            guard = other_gpu(data)
            if guard is not None:
                with guard:
                    return fn(input, *args, **kwargs)
        return fn(input, *args, **kwargs)
    return wrapper


def _wrap_outputs(out, node):
    if type(out) is tuple:
        if node is not None:
            node.n_outputs = len(out)
        return tuple(_wrap(o, node, i) for i, o in enumerate(out))
    return _wrap(out, node)


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the one place where broadcasting is undone for gradients."""
    grad_shape = grad.shape
    if grad_shape == shape:
        return grad
    # numpy's ufunc reduce skips the Python wrapper of ndarray.sum (this runs for every bias).
    reduce = np.add.reduce if type(grad) is np.ndarray else _sum_method
    lead = len(grad_shape) - len(shape)
    if lead:
        grad = reduce(grad, axis=0 if lead == 1 else tuple(range(lead)))
    if 1 in shape:
        axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
        if axes:
            grad = reduce(grad, axis=axes, keepdims=True)
    return grad


def _sum_method(array, axis, keepdims=False):
    return array.sum(axis=axis, keepdims=keepdims)


def broadcast_error(op: str, shape_a, shape_b) -> RuntimeError:
    """PyTorch's message for shapes that do not broadcast, naming both shapes and the operation."""
    shape_a, shape_b = tuple(shape_a), tuple(shape_b)
    ndim = max(len(shape_a), len(shape_b))
    for i in range(1, ndim + 1):  # PyTorch reports the mismatch nearest the last dimension
        x = shape_a[-i] if i <= len(shape_a) else 1
        y = shape_b[-i] if i <= len(shape_b) else 1
        if x != y and x != 1 and y != 1:
            return RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at non-singleton "
                f"dimension {ndim - i} (in {op}: shapes {shape_a} and {shape_b} do not broadcast)")
    return RuntimeError(f"{op}: shapes {shape_a} and {shape_b} do not broadcast")


def dim_aliases(fn):
    """Accept PyTorch's numpy-style spellings: ``axis=`` for ``dim=`` and ``keepdims=`` for ``keepdim=``."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if kwargs:
            if "axis" in kwargs:
                kwargs["dim"] = kwargs.pop("axis")
            if "keepdims" in kwargs:
                kwargs["keepdim"] = kwargs.pop("keepdims")
        return fn(*args, **kwargs)
    return wrapper


def normalize_dim(dim: int, ndim: int, what: str = "dim") -> int:
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-size}, {size - 1}], "
                         f"but got {dim})")
    return dim % size


def normalize_dims(dim, ndim: int):
    """None -> all axes; an int or a sequence -> a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        dim = (dim,)
    dims = tuple(sorted(normalize_dim(int(d), ndim) for d in dim))
    if ndim == 0:  # a 0-d tensor accepts dim 0 or -1, and there is no axis to reduce
        return ()
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {tuple(dim)} appears multiple times in the list of dims")
    return dims


def check_same_device(a: Tensor, b: Tensor, op: str) -> None:
    ad, bd = a._data, b._data
    if type(ad) is not type(bd) or (type(ad) is not np.ndarray and ad.device != bd.device):
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, "
            f"{a.device} and {b.device}! (in {op})")


def promote_pair(a, b, op: str):
    """Turn (Tensor|number, Tensor|number) into two Tensors of PyTorch's result dtype.

    Python numbers stay numbers (returned as the second item with a flag) so kernels can use them
    directly without allocating.
    """
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        check_same_device(a, b, op)
        ad, bd = a._data.dtype, b._data.dtype
        if ad is not bd and ad != bd:
            target = result_type(from_numpy_dtype(ad), a._data.ndim, from_numpy_dtype(bd), b._data.ndim)
            if a._data.dtype != target.np:
                a = a.to(target)
            if b._data.dtype != target.np:
                b = b.to(target)
        return a, b
    raise TypeError(f"{op}: expected tensors")


def scalar_target(t: Tensor, scalar, true_divide: bool = False):
    """The dtype a tensor must have before combining with a Python number (or None to keep it)."""
    kind = t._data.dtype.kind
    if kind == "f" and type(scalar) in (float, int):  # the common case: a float tensor stays as it is
        return None
    td = from_numpy_dtype(t._data.dtype)
    target = scalar_result_type(td, scalar)
    if true_divide and not target.is_floating_point:
        target = get_default_dtype()
    return None if target is td else target


def as_tensor_arg(value, like: Tensor) -> Tensor:
    """A non-Tensor operand (list, numpy array) as a Tensor on ``like``'s device."""
    if isinstance(value, Tensor):
        return value
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"unsupported operand: a Tensor and a {type(value).__name__} ({value!r:.40}); "
                        "use a number, a Tensor or a numeric array")
    return _wrap(to_device_array(arr, like.device))


def xp_of(array):
    return np if type(array) is np.ndarray else module_of(array)
