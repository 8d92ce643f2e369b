"""A pickle *reader* for PyTorch checkpoints that runs no code: it interprets the opcodes itself.

``pickle.Unpickler`` imports whatever module a stream names and calls whatever it finds there, so
a checkpoint from the internet can run ``os.system``. Subclassing it and overriding
``find_class`` (as PyTorch's ``weights_only`` loader does) still leaves ``REDUCE``, ``BUILD`` and
``NEWOBJ`` calling real Python objects. This module does not use ``pickle.Unpickler`` at all: it walks
the stream with ``pickletools.genops`` (which only *parses* opcodes and their arguments) and runs a
small stack machine of its own. A ``GLOBAL`` becomes a :class:`Global` naming one of the few
functions a weights-only checkpoint needs (tensor rebuilding, storage types, ``OrderedDict``,
dtypes, ``torch.Size``, ``_codecs.encode``...), each of which maps to a Layerforge function here that
builds plain data; any other name is refused at once, by name, before anything else is read. Nothing
in the file is ever imported, called, or given a ``__setstate__``.

What comes out is plain Python data: dicts (``OrderedDict`` where the file had one), lists, tuples,
numbers, strings, bytes, and the placeholders :class:`StorageRef` (what a persistent id named) and
:class:`TensorRef` (a tensor over a storage: offset, shape, strides), which ``torch_checkpoint``
checks and turns into engine tensors once the storages' bytes are at hand.
"""
from __future__ import annotations

import codecs
import io
import pickletools
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

__all__ = ["CheckpointError", "Global", "PickleRefused", "StorageRef", "TensorRef", "read_pickle", "TORCH_DTYPES"]


class CheckpointError(ValueError):
    """A PyTorch checkpoint cannot be read; the message names the file, what and where."""


class PickleRefused(CheckpointError):
    """The pickle asks for something a weights-only checkpoint never needs, or is malformed."""


# torch dtype name -> numpy dtype (None: a dtype the engine has no equivalent for; named in the refusal)
TORCH_DTYPES = {
    "float32": np.float32, "float": np.float32, "float64": np.float64, "double": np.float64,
    "float16": np.float16, "half": np.float16, "bfloat16": "bfloat16",
    "int8": np.int8, "uint8": np.uint8, "int16": np.int16, "short": np.int16, "int32": np.int32,
    "int": np.int32, "int64": np.int64, "long": np.int64, "bool": np.bool_,
    "complex64": None, "complex128": None, "cfloat": None, "cdouble": None, "complex32": None,
    "uint16": None, "uint32": None, "uint64": None, "float8_e4m3fn": None, "float8_e5m2": None,
    "qint8": None, "quint8": None, "qint32": None,
}
# The typed storage classes a checkpoint names (torch.FloatStorage...) -> the torch dtype name.
STORAGE_TYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "ByteStorage": "uint8", "CharStorage": "int8", "ShortStorage": "int16",
    "IntStorage": "int32", "LongStorage": "int64", "BoolStorage": "bool", "UntypedStorage": "uint8",
    "ComplexFloatStorage": "complex64", "ComplexDoubleStorage": "complex128",
}
MAX_PICKLE_BYTES = 64 * 2 ** 20   # a state dict's pickle is kilobytes (100,000 tensors: ~15 MB); its tensors' bytes live elsewhere


@dataclass(frozen=True)
class Global:
    """A name the stream asked for, resolved to one of ours (``call`` builds plain data)."""

    module: str
    name: str
    kind: str               # "call" (REDUCE may call it), "dtype", "storage_type"
    value: object = None

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(eq=False)
class StorageRef:
    """What a persistent id names: storage ``key`` of ``dtype`` (a torch dtype name), ``numel`` long."""

    key: str
    dtype: str
    numel: int
    location: str


@dataclass(eq=False)
class TensorRef:
    """A tensor over ``storage``: element ``offset``, ``shape``, ``stride`` (elements), as
    ``torch._utils._rebuild_tensor_v2`` describes it; ``parameter`` when it was an nn.Parameter."""

    storage: StorageRef
    offset: int
    shape: tuple
    stride: tuple
    requires_grad: bool = False
    parameter: bool = False
    extra: dict = field(default_factory=dict)


@dataclass(eq=False)
class _NumpyDtype:
    code: str
    order: str = "="


# -------------------------------------------------------------------------------- allowed calls
def _ordered_dict(args):
    if args == ():
        return OrderedDict()
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        try:
            return OrderedDict(args[0])
        except (TypeError, ValueError) as error:
            raise PickleRefused(f"collections.OrderedDict got items it cannot hold ({error})") from None
    raise PickleRefused("collections.OrderedDict was called with arguments a checkpoint never has")


def _ints(value, what: str, allow_empty: bool = True) -> tuple:
    if not isinstance(value, (tuple, list)) or not all(type(v) is int for v in value):
        raise PickleRefused(f"a tensor's {what} must be a tuple of integers, not {value!r:.80}")
    if any(v < 0 for v in value):
        raise PickleRefused(f"a tensor's {what} {tuple(value)} has a negative entry")
    return tuple(value)


def _rebuild_tensor(args):
    """``_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[,
    metadata])`` and the older ``_rebuild_tensor(storage, offset, size, stride)``."""
    if len(args) < 4 or len(args) > 7:
        raise PickleRefused(f"torch._utils._rebuild_tensor_v2 got {len(args)} arguments; a checkpoint has 4 to 7")
    storage, offset, size, stride = args[:4]
    if not isinstance(storage, StorageRef):
        raise PickleRefused("a tensor is rebuilt from something that is not one of the file's storages")
    if type(offset) is not int or offset < 0:
        raise PickleRefused(f"a tensor's storage offset must be a non-negative integer, not {offset!r:.40}")
    size, stride = _ints(size, "size"), _ints(stride, "stride")
    if len(size) != len(stride):
        raise PickleRefused(f"a tensor has size {size} but strides {stride}: they must have as many entries")
    requires_grad = bool(args[4]) if len(args) > 4 else False
    extra = args[6] if len(args) > 6 and isinstance(args[6], dict) else {}
    return TensorRef(storage, offset, size, stride, requires_grad, False, dict(extra))


def _rebuild_parameter(args):
    """``_rebuild_parameter(data, requires_grad, backward_hooks[, state])``."""
    if len(args) not in (3, 4) or not isinstance(args[0], TensorRef):
        raise PickleRefused("torch._utils._rebuild_parameter got arguments a checkpoint never has")
    tensor = args[0]
    return TensorRef(tensor.storage, tensor.offset, tensor.shape, tensor.stride, bool(args[1]), True, tensor.extra)


def _rebuild_from_type(args):
    """``torch._tensor._rebuild_from_type_v2(func, new_type, args, state)``: a tensor rebuilt and then
    given a type; allowed only where the type is Tensor or Parameter and the rebuild is one of ours."""
    if len(args) != 4 or not isinstance(args[0], Global) or args[0].kind != "call":
        raise PickleRefused("torch._tensor._rebuild_from_type_v2 got arguments a checkpoint never has")
    func, new_type, inner, state = args
    if not isinstance(new_type, Global) or new_type.kind != "tensor_type":
        raise PickleRefused("torch._tensor._rebuild_from_type_v2 asks for a tensor subclass; only plain tensors "
                            "and parameters load")
    if not isinstance(inner, tuple):
        raise PickleRefused("torch._tensor._rebuild_from_type_v2 got arguments a checkpoint never has")
    result = func.value(inner)
    if isinstance(result, TensorRef) and new_type.name == "Parameter":
        result.parameter = True
    return result


def _torch_size(args):
    if len(args) != 1:
        raise PickleRefused("torch.Size got arguments a checkpoint never has")
    from .tensor import Size   # noqa: PLC0415  (tensor imports the engine's ops; loaded on use)

    return Size(_ints(args[0], "torch.Size"))


def _torch_device(args):
    if not args or not all(isinstance(a, (str, int)) for a in args):
        raise PickleRefused("torch.device got arguments a checkpoint never has")
    return ":".join(str(a) for a in args)   # a device is kept as its name ("cuda:0")


def _codecs_encode(args):
    """Protocol 2 writes ``bytes`` as ``_codecs.encode(text, 'latin1')``."""
    if len(args) != 2 or not isinstance(args[0], str) or args[1] not in ("latin1", "latin-1"):
        raise PickleRefused("_codecs.encode is allowed only as protocol 2 writes bytes (text, 'latin1')")
    return codecs.encode(args[0], "latin1")


def _container(kind):
    def build(args):
        if len(args) > 1 or (args and not isinstance(args[0], (list, tuple, set, frozenset, str, bytes))):
            raise PickleRefused(f"builtins.{kind.__name__} got arguments a checkpoint never has")
        try:
            return kind(*args)
        except TypeError as error:
            raise PickleRefused(f"builtins.{kind.__name__}: {error}") from None
    return build


def _complex(args):
    if not 1 <= len(args) <= 2 or not all(type(a) in (int, float) for a in args):
        raise PickleRefused("builtins.complex got arguments a checkpoint never has")
    return complex(*args)


def _slice(args):
    if not 1 <= len(args) <= 3 or not all(a is None or type(a) is int for a in args):
        raise PickleRefused("builtins.slice got arguments a checkpoint never has")
    return slice(*args)


def _numpy_dtype(args):
    if not args or not isinstance(args[0], str) or len(args[0]) > 8:
        raise PickleRefused("numpy.dtype got arguments a checkpoint never has")
    try:
        kind = np.dtype(args[0]).kind
    except TypeError:
        raise PickleRefused(f"numpy.dtype {args[0]!r} is not a dtype") from None
    if kind not in "biufc":
        raise PickleRefused(f"numpy dtype {args[0]!r} is not a plain number type; only numbers load")
    return _NumpyDtype(args[0])


def _numpy_scalar(args):
    """A numpy scalar (``numpy.float64(0.25)``, often a saved loss or accuracy): a Python number."""
    if len(args) != 2 or not isinstance(args[0], _NumpyDtype) or not isinstance(args[1], (bytes, str)):
        raise PickleRefused("numpy's scalar reconstruction got arguments a checkpoint never has")
    raw = args[1].encode("latin1") if isinstance(args[1], str) else args[1]
    dtype = np.dtype(args[0].code).newbyteorder(args[0].order)
    if len(raw) != dtype.itemsize:
        raise PickleRefused(f"a numpy {dtype} scalar needs {dtype.itemsize} bytes, the file has {len(raw)}")
    return np.frombuffer(raw, dtype=dtype)[0].item()


_CALLS = {
    ("collections", "OrderedDict"): _ordered_dict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type,
    ("torch", "Size"): _torch_size,
    ("torch", "device"): _torch_device,
    ("_codecs", "encode"): _codecs_encode,
    ("builtins", "set"): _container(set), ("builtins", "frozenset"): _container(frozenset),
    ("builtins", "bytearray"): _container(bytearray), ("builtins", "complex"): _complex,
    ("builtins", "slice"): _slice,
    ("numpy", "dtype"): _numpy_dtype,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar, ("numpy._core.multiarray", "scalar"): _numpy_scalar,
}
_TENSOR_TYPES = {("torch", "Tensor"), ("torch.nn.parameter", "Parameter"), ("torch.nn", "Parameter")}
_SYSTEM_MODULES = {"builtins", "os", "posix", "nt", "subprocess", "sys", "io", "shutil", "socket", "importlib",
                   "runpy", "pickle", "codecs", "_codecs", "ctypes", "pty", "webbrowser", "operator", "functools"}
_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}   # what protocol 2 writes for Python 3 names


def resolve_global(module: str, name: str, where: str) -> Global:
    """The Global for ``module.name``, or PickleRefused naming it."""
    module = _PY2_MODULES.get(module, module)
    if (module, name) in _CALLS:
        return Global(module, name, "call", _CALLS[(module, name)])
    if module == "torch" and name in STORAGE_TYPES:
        return Global(module, name, "storage_type", STORAGE_TYPES[name])
    if module in ("torch.storage", "torch") and name in ("UntypedStorage", "TypedStorage", "_UntypedStorage"):
        return Global(module, name, "storage_type", "uint8")
    if module == "torch" and name in TORCH_DTYPES:
        return Global(module, name, "dtype", name)
    if (module, name) in _TENSOR_TYPES:
        return Global(module, name, "tensor_type", name)
    hint = ""
    if module.split(".")[0] not in _SYSTEM_MODULES and (module.startswith("torch.nn") or module == "__main__"
                                                        or name[:1].isupper()):
        hint = (" (a whole pickled model or a custom class: in PyTorch, save model.state_dict() instead of the "
                "model)")
    raise PickleRefused(f"refused global {module}.{name} in {where}: Layerforge loads only weights (tensors, "
                        f"numbers, strings, lists, dicts), never code or objects{hint}")


# ---------------------------------------------------------------------------------- the machine
_MARK = object()
_REFUSED_OPS = {
    "INST": "creates an object of a class", "OBJ": "creates an object of a class",
    "NEWOBJ": "creates an object of a class", "NEWOBJ_EX": "creates an object of a class",
    "EXT1": "uses the extension registry", "EXT2": "uses the extension registry",
    "EXT4": "uses the extension registry", "NEXT_BUFFER": "uses out-of-band buffers",
    "READONLY_BUFFER": "uses out-of-band buffers", "PERSID": "uses a text persistent id",
}


def read_pickle(data: bytes, persistent_load, where: str, start: int = 0, resolve=None, build=None):
    """Interpret the pickle in ``data`` from ``start``; returns (the object, the offset after STOP).
    ``persistent_load(pid)`` resolves a persistent id (a tuple) to a :class:`StorageRef` (None:
    persistent ids are refused).

    The machine is the same for any pickle of plain data: ``resolve(module, name, where)`` says
    which globals a stream may name (a :class:`Global`; a checkpoint's by default), and
    ``build(target, state, pos, where)`` which BUILD opcodes it may run (a checkpoint's by default).
    Both raise :class:`PickleRefused` for anything else; nothing is imported or called but the
    builders they return."""
    resolve = resolve or resolve_global
    build = build or _build
    stack: list = []
    marks: list[int] = []
    memo: dict = {}
    stream = io.BytesIO(data)
    stream.seek(start)
    try:
        for opcode, arg, pos in pickletools.genops(stream):
            name = opcode.name
            if name in _REFUSED_OPS:
                raise PickleRefused(f"{where} {_REFUSED_OPS[name]} (pickle opcode {name} at byte {pos}); "
                                    "Layerforge loads only weights")
            if name == "STOP":
                if len(stack) != 1 or marks:
                    raise PickleRefused(f"{where} ends with a malformed stack (byte {pos})")
                return stack[0], pos + 1
            _step(name, arg, pos, stack, marks, memo, persistent_load, where, resolve, build)
    except CheckpointError:
        raise
    except (ValueError, IndexError, KeyError, TypeError) as error:   # genops' own, and a short stack
        raise PickleRefused(f"{where} is not a readable pickle ({type(error).__name__}: {error}); the file is "
                            "truncated or corrupted") from None
    except RecursionError:
        raise PickleRefused(f"{where} nests its data too deeply to read") from None
    raise PickleRefused(f"{where} ends before its pickle does (no STOP): the file is truncated")


def _pop_mark(stack: list, marks: list) -> list:
    if not marks:
        raise PickleRefused("a pickle opcode needs a MARK that is missing: the file is corrupted")
    start = marks.pop()
    items = stack[start:]
    del stack[start:]
    return items


def _hashable(key):
    try:
        hash(key)
    except TypeError:
        raise PickleRefused(f"a dict key of type {type(key).__name__} cannot be a key: the file is corrupted") from None
    return key


def _step(name, arg, pos, stack, marks, memo, persistent_load, where, resolve, build) -> None:   # noqa: C901
    push = stack.append
    if name in ("PROTO", "FRAME"):
        return
    if name == "MARK":
        marks.append(len(stack))
    elif name in ("NONE",):
        push(None)
    elif name == "NEWTRUE":
        push(True)
    elif name == "NEWFALSE":
        push(False)
    elif name in ("INT",):
        push(arg)   # genops gives True/False for the "01"/"00" forms
    elif name in ("BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT"):
        push(arg)
    elif name in ("STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE",
                  "BINUNICODE8"):
        push(arg if isinstance(arg, str) else arg.decode("latin1"))
    elif name in ("BINBYTES", "SHORT_BINBYTES", "BINBYTES8"):
        push(bytes(arg))
    elif name == "BYTEARRAY8":
        push(bytearray(arg))
    elif name == "EMPTY_TUPLE":
        push(())
    elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
        n = int(name[-1])
        if len(stack) - (marks[-1] if marks else 0) < n:
            raise PickleRefused(f"{where}: {name} at byte {pos} has too few items: the file is corrupted")
        items = tuple(stack[-n:])
        del stack[-n:]
        push(items)
    elif name == "TUPLE":
        push(tuple(_pop_mark(stack, marks)))
    elif name == "EMPTY_LIST":
        push([])
    elif name == "LIST":
        push(_pop_mark(stack, marks))
    elif name == "EMPTY_DICT":
        push({})
    elif name == "DICT":
        items = _pop_mark(stack, marks)
        push({_hashable(items[i]): items[i + 1] for i in range(0, len(items) - 1, 2)})
    elif name == "EMPTY_SET":
        push(set())
    elif name == "FROZENSET":
        push(frozenset(_hashable(v) for v in _pop_mark(stack, marks)))
    elif name in ("APPEND", "APPENDS"):
        items = [stack.pop()] if name == "APPEND" else _pop_mark(stack, marks)
        target = stack[-1]
        if not isinstance(target, list):
            raise PickleRefused(f"{where}: {name} at byte {pos} appends to a {type(target).__name__}, not a list")
        target.extend(items)
    elif name in ("SETITEM", "SETITEMS"):
        if name == "SETITEM":
            value = stack.pop()
            items = [stack.pop(), value]
        else:
            items = _pop_mark(stack, marks)
        target = stack[-1]
        if not isinstance(target, dict) or len(items) % 2:
            raise PickleRefused(f"{where}: {name} at byte {pos} sets items on a {type(target).__name__}, not a dict")
        for i in range(0, len(items), 2):
            target[_hashable(items[i])] = items[i + 1]
    elif name == "ADDITEMS":
        items = _pop_mark(stack, marks)
        target = stack[-1]
        if not isinstance(target, set):
            raise PickleRefused(f"{where}: ADDITEMS at byte {pos} adds to a {type(target).__name__}, not a set")
        target.update(_hashable(v) for v in items)
    elif name == "POP":
        if marks and marks[-1] == len(stack):
            marks.pop()
        else:
            stack.pop()
    elif name == "POP_MARK":
        _pop_mark(stack, marks)
    elif name == "DUP":
        push(stack[-1])
    elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
        memo[arg] = stack[-1]
    elif name == "MEMOIZE":
        memo[len(memo)] = stack[-1]
    elif name in ("GET", "BINGET", "LONG_BINGET"):
        if arg not in memo:
            raise PickleRefused(f"{where}: {name} at byte {pos} reads memo {arg}, which was never set")
        push(memo[arg])
    elif name == "GLOBAL":
        module, _, attribute = arg.partition(" ")
        push(resolve(module, attribute, where))
    elif name == "STACK_GLOBAL":
        attribute, module = stack.pop(), stack.pop()
        if not isinstance(module, str) or not isinstance(attribute, str):
            raise PickleRefused(f"{where}: STACK_GLOBAL at byte {pos} names a global with non-text")
        push(resolve(module, attribute, where))
    elif name == "REDUCE":
        args, func = stack.pop(), stack.pop()
        if not isinstance(func, Global) or func.kind != "call":
            what = func.qualname if isinstance(func, Global) else type(func).__name__
            raise PickleRefused(f"{where}: REDUCE at byte {pos} calls {what}, which a weights-only checkpoint "
                                "never calls")
        if not isinstance(args, tuple):
            raise PickleRefused(f"{where}: REDUCE at byte {pos} calls {func.qualname} without an argument tuple")
        push(func.value(args))
    elif name == "BUILD":
        state = stack.pop()
        build(stack[-1], state, pos, where)
    elif name == "BINPERSID" and persistent_load is not None:
        pid = stack.pop()
        push(persistent_load(pid))
    else:
        raise PickleRefused(f"{where}: pickle opcode {name} at byte {pos} is not part of a weights-only checkpoint")


def _build(target, state, pos, where) -> None:
    """BUILD sets an object's state. PyTorch's state dicts put their ``_metadata`` (module versions)
    on the OrderedDict this way; it tells nothing about the weights and is dropped. A numpy dtype's
    state carries its byte order. Anything else is refused."""
    if isinstance(target, dict) and (state is None or isinstance(state, dict)):
        return
    if isinstance(target, _NumpyDtype) and isinstance(state, tuple) and len(state) > 1 and state[1] in "<>=|":
        target.order = "=" if state[1] == "|" else state[1]
        return
    if isinstance(target, TensorRef) and (state is None or isinstance(state, (dict, tuple))):
        return   # a tensor's Python attributes (rare); the values are what load
    raise PickleRefused(f"{where}: BUILD at byte {pos} sets the state of a {type(target).__name__}, which a "
                        "weights-only checkpoint never does")
