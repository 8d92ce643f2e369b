"""Record one forward pass as a list of operations: the front half of ``torch.onnx.export``.

How it sees the operations: every differentiable operation of the engine runs through
``ops.common.apply`` with a graph node that holds its arguments (``Add``, ``Reshape(shape)``,
``Conv2d(stride, pads, ...)``, ``LSTMLayer(reverse, has_bias)`` ...). For the length of the pass the
tracer installs ``ops.common.set_trace_hook``: the hook copies the node's attributes (some nodes drop
what they were given once forward has run), runs ``node.forward`` on the input arrays and notes
(node, inputs, outputs, the module it ran in). Recording at this level needs no list of functions
to wrap, sees through every composite (``norm`` is sqrt of sum of mul; ``F.bilinear`` is matmuls) and
sees the fused recurrent layers whole, so they become ONNX's own LSTM/GRU/RNN operators.

What is not a graph node gets two narrow patches, set and undone with the hook: comparisons
(``ops.compare``, behind ``==``, ``<``, ``torch.gt`` ...) become recorded operations, and in-place
writes (``ops.inplace``, behind ``relu_`` and ``x.add_(y)``) re-point the written tensor at the new
value. Tensors the pass computes are marked ``requires_grad`` (grad mode stays off, as in
``torch.onnx``), so the engine's shortcuts for plain constants (``x[0]`` or a same-shape reshape
without a node) take the recorded path for them. Any other tensor an operation meets is a constant:
a parameter or buffer (named by its state_dict key) or a tensor made inside forward.

Values are identified by their arrays: an operation's output array, a graph input's, a parameter's.
``x.detach()``, ``.data`` and a reshape to the same shape share the array, so they are the same
value, as they should be.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from .. import ops as _ops
from ..backend import to_host
from ..ops import common as _common
from ..tensor import Tensor
from . import untracked
from .errors import ExportError

_EXPORT_LOCK = threading.Lock()  # one trace at a time: the hook is process-wide


@dataclass(eq=False)
class Value:
    """One tensor of the traced graph: a graph input, a parameter/buffer, a constant or an op output."""
    kind: str                      # "input", "param", "const" or "op"
    shape: tuple
    dtype: np.dtype
    array: object = None           # kept for params and constants (their contents), and for ids
    name: str | None = None        # the state_dict key of a param, the user's name of an input
    producer: "Recorded | None" = None
    index: int = 0                 # which output of its producer


@dataclass(eq=False)
class Recorded:
    """One operation as it ran: what it was, on which values, giving which, inside which module."""
    kind: str                      # the node's class name, or "Compare" for a comparison
    attrs: dict                    # the node's attributes before forward (or the comparison's)
    node: object
    inputs: list
    outputs: list = field(default_factory=list)
    scope: str = "model"
    other_attrs: dict | None = None  # the same operation's attributes in the second trace


class Trace:
    """The operations of one forward pass and the values they read and write."""

    def __init__(self, model, constants_by_array: dict):
        self.model = model
        self.ops: list[Recorded] = []
        self.inputs: list[Value] = []
        self.outputs: list[Value] = []
        self.output_structure = None
        self._by_array: dict[int, Value] = {}
        self._alive: list = []                       # arrays whose ids are keys: never reused meanwhile
        self._state = constants_by_array             # id(array) -> state_dict key
        self._scopes = ["model"]
        self.thread = threading.get_ident()

    def state_keys(self):
        """The state_dict keys of the traced model's parameters and buffers."""
        return self._state.values()

    # ------------------------------------------------------------------ values
    def add_input(self, array, name: str) -> Value:
        value = Value("input", tuple(array.shape), array.dtype, array, name)
        self._bind(array, value)
        self.inputs.append(value)
        return value

    def _bind(self, array, value: Value) -> None:
        self._by_array[id(array)] = value
        self._alive.append(array)

    def value_of(self, array) -> Value:
        """The value an array holds: known, a parameter/buffer, or a constant made in forward."""
        value = self._by_array.get(id(array))
        if value is not None:
            return value
        key = self._state.get(id(array))
        if key is not None:
            value = Value("param", tuple(array.shape), array.dtype, array, key)
        else:  # frozen now: a later in-place write must not change what the graph recorded
            self._refuse_untraced_view(array)
            frozen = np.array(_host(array), copy=True)
            value = Value("const", frozen.shape, frozen.dtype, frozen)
        self._bind(array, value)
        return value

    def _refuse_untraced_view(self, array) -> None:
        """A "constant" that is a view of a traced tensor came from it without a recorded
        operation (indexing a detached tensor, say): baking it in would be silently wrong."""
        base = getattr(array, "base", None)
        while base is not None:
            known = self._by_array.get(id(base))
            if known is not None and known.kind in ("input", "op"):
                raise ExportError(
                    f"ONNX export: a tensor of shape {tuple(array.shape)} (used in {self._scopes[-1]} "
                    "forward) was taken from a traced tensor outside the recorded operations, as "
                    "x.detach()[...] or x.data[...] do; use x itself (export runs without gradients)")
            base = getattr(base, "base", None)

    def _record(self, kind, attrs, node, in_arrays, out_arrays) -> Recorded:
        # Arrays a node was given (a where's condition, embedding indices, batch norm's running
        # statistics, index arrays) are values too: traced, parameters, or constants.
        attrs = {k: self._as_values(v) for k, v in attrs.items()}
        op = Recorded(kind, attrs, node, [self.value_of(a) for a in in_arrays], scope=self._scopes[-1])
        for i, array in enumerate(out_arrays):
            value = Value("op", tuple(array.shape), array.dtype, array, producer=op, index=i)
            op.outputs.append(value)
            self._bind(array, value)
        self.ops.append(op)
        return op

    def _as_values(self, item):
        if isinstance(item, np.ndarray) or (type(item).__module__.startswith("cupy") and hasattr(item, "shape")):
            return self.value_of(item)
        if type(item) is tuple:
            return tuple(self._as_values(i) for i in item)
        return item

    def needed(self) -> set:
        """ids of the operations the outputs depend on (others, a debug print's say, are left out)."""
        needed, stack = set(), [v.producer for v in self.outputs if v.producer is not None]
        while stack:
            op = stack.pop()
            if id(op) in needed:
                continue
            needed.add(id(op))
            for value in list(op.inputs) + attr_values(op.attrs):
                if value.producer is not None:
                    stack.append(value.producer)
        return needed

    # ------------------------------------------------------------------ the hook
    def hook(self, node, inputs):
        if threading.get_ident() != self.thread:
            return None  # another thread's operation runs as usual, unrecorded
        attrs = dict(getattr(node, "__dict__", ()))
        arrays = [t._data for t in inputs]
        out = node.forward(*arrays)
        outs = out if type(out) is tuple else (out,)
        tensors = tuple(_marked(Tensor._wrap(o)) for o in outs)
        self._record(type(node).__name__, attrs, node, arrays, [t._data for t in tensors])
        return tensors if type(out) is tuple else tensors[0]

    def compare(self, a, other, name):
        result = _ORIGINAL["compare"](a, other, name)
        if threading.get_ident() != self.thread or not isinstance(a, Tensor) or not isinstance(result, Tensor):
            return result
        arrays = [a._data]
        attrs = {"name": name, "scalar": None}
        if isinstance(other, Tensor):
            arrays.append(other._data)
        elif isinstance(other, (int, float, bool, np.number)):
            attrs["scalar"] = other
        else:
            arrays.append(np.asarray(other))
        self._record("Compare", attrs, None, arrays, [result._data])
        return _marked(result)

    def record_untracked(self, kind, attrs, operands, result):
        """An operation that ran outside ``apply`` (see untracked.py): ``operands`` are Tensors or
        Python numbers, ``result`` the Tensor (or tuple of Tensors) it returned."""
        like = next(t._data.dtype for t in operands if isinstance(t, Tensor))
        arrays = [t._data if isinstance(t, Tensor) else np.asarray(t, dtype=like) for t in operands]
        outputs = list(result) if isinstance(result, tuple) else [result]
        self._record(kind, attrs, None, arrays, [t._data for t in outputs])
        for t in outputs:
            _marked(t)
        return result

    def inplace(self, t, other, op):
        if threading.get_ident() != self.thread:
            return _ORIGINAL["inplace"](t, other, op)
        if op == "copy" and isinstance(other, Tensor) and id(other._data) in self._by_array:
            result = _ORIGINAL["inplace"](t, other, op)
            self._by_array[id(t._data)] = self._by_array[id(other._data)]  # t now holds that value
            return result
        if id(t._data) in self._by_array and self._by_array[id(t._data)].kind in ("input", "op"):
            raise ExportError(f"ONNX export: the in-place '{op}' on a traced tensor (called in "
                               f"{self._scopes[-1]} forward) cannot be recorded; write `x = x + y` "
                               "(the out-of-place form) instead")
        return _ORIGINAL["inplace"](t, other, op)

    # ------------------------------------------------------------------ module scopes
    def _enter(self, name):
        def pre_hook(module, args):
            if threading.get_ident() == self.thread:  # the same model may run in another thread meanwhile
                self._scopes.append(name)
        return pre_hook

    def _leave(self, module, args, out):
        if threading.get_ident() == self.thread and len(self._scopes) > 1:
            self._scopes.pop()


_ORIGINAL = {"compare": _ops.compare, "inplace": _ops.inplace}


def attr_values(attrs: dict) -> list:
    """The Values among a recorded operation's attributes (nested in tuples too)."""
    found = []

    def walk(item):
        if isinstance(item, Value):
            found.append(item)
        elif type(item) is tuple:
            for i in item:
                walk(i)

    for item in attrs.values():
        walk(item)
    return found


def _host(array):
    return array if isinstance(array, np.ndarray) else to_host(array)


def _marked(t: Tensor) -> Tensor:
    # A traced value must take the recorded path through functions with a shortcut for tensors that
    # need no gradient; grad mode is off, so nothing builds an autograd graph from the flag.
    t.requires_grad = True
    return t


def _flatten(obj, what: str) -> list:
    """The tensors of a (nested) tuple/list/dict, in order; numbers, strings and None are not graph
    inputs or outputs (a number argument is a constant of the traced graph, as in PyTorch)."""
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for item in obj for t in _flatten(item, what)]
    if isinstance(obj, dict):
        return [t for item in obj.values() for t in _flatten(item, what)]
    if obj is None or isinstance(obj, (int, float, bool, str)):
        return []
    raise TypeError(f"ONNX export: the model's {what} must be Tensors or tuples/lists/dicts of them, "
                    f"got {type(obj).__name__}")


def trace(model, args: tuple, kwargs: dict, input_names: list[str]) -> Trace:
    """Run ``model(*args, **kwargs)`` once in eval mode without gradients, recording every operation.

    Python control flow runs as it does for these inputs and only the branch taken is recorded, as
    with PyTorch's tracer. The model's training flag is restored afterwards.
    """
    from ..grad_mode import no_grad

    constants = {}
    for key, tensor in model.state_dict().items():
        constants.setdefault(id(tensor._data), key)
    for key, tensor in list(model.named_parameters()) + list(model.named_buffers()):
        constants.setdefault(id(tensor._data), key)
    result = Trace(model, constants)
    flat = _flatten(args, "inputs")
    if len(input_names) > len(flat):
        raise ValueError(f"ONNX export: {len(input_names)} input_names for {len(flat)} input tensors")
    copies = {}

    def fresh(t):  # the model sees copies: an input can never alias a parameter or another input
        if id(t) not in copies:
            data = t._data.copy()
            result.add_input(data, input_names[len(result.inputs)] if len(result.inputs) < len(input_names)
                             else f"input_{len(result.inputs)}" if len(flat) > 1 else "input")
            copies[id(t)] = _marked(Tensor._wrap(data))
        return copies[id(t)]

    traced_args = _rebuild(args, fresh)
    was_training = model.training
    handles, wrapped = [], []
    # Buffers and frozen parameters are marked too, so that slicing one (a causal mask cut to the
    # sequence length) is recorded rather than taken as a constant; their flags are put back after.
    weights = [t for _, t in list(model.named_parameters()) + list(model.named_buffers())]
    flags = [t.requires_grad for t in weights]
    with _EXPORT_LOCK:
        try:
            for t in weights:
                t.requires_grad = True
            model.eval()
            for name, module in model.named_modules():
                handles.append(module.register_forward_pre_hook(result._enter("model." + name if name else "model")))
                handles.append(module.register_forward_hook(result._leave))
            _common.set_trace_hook(result.hook)
            _ops.compare, _ops.inplace = result.compare, result.inplace
            wrapped = untracked.install(result)
            with no_grad():
                out = model(*traced_args, **kwargs)
        finally:
            _common.set_trace_hook(None)
            _ops.compare, _ops.inplace = _ORIGINAL["compare"], _ORIGINAL["inplace"]
            untracked.restore(wrapped)
            for handle in handles:
                handle.remove()
            for t, flag in zip(weights, flags):
                t.requires_grad = flag
            model.train(was_training)
    result.output_structure = out
    result.outputs = [result.value_of(t._data) for t in _flatten(out, "outputs")]
    return result


def _rebuild(obj, fn):
    if isinstance(obj, Tensor):
        return fn(obj)
    if isinstance(obj, tuple):
        return tuple(_rebuild(o, fn) for o in obj)
    if isinstance(obj, list):
        return [_rebuild(o, fn) for o in obj]
    if isinstance(obj, dict):
        return {k: _rebuild(v, fn) for k, v in obj.items()}
    return obj
