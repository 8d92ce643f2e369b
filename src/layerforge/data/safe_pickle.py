"""A reader for the few pickles a dataset archive holds (CIFAR's python batches), never a general
unpickler.

A pickle is a program; ``pickle.load`` runs it, and any global it names can be called. This reads
it with the engine's pickle machine (``engine.torch_pickle.read_pickle``, the one that reads
PyTorch checkpoints), which walks the opcodes itself and knows only plain values (None, booleans,
numbers, strings, bytes, lists, tuples, dicts). Here it is told of the three globals a numpy array
is rebuilt from, plus the ``_codecs.encode`` Python 3 writes bytes with at protocol 2. Nothing is
imported, nothing is called: an array is rebuilt from its bytes with ``np.frombuffer`` after its
shape and dtype are checked against them. Anything else (other globals, persistent ids,
extensions) is refused.
"""
from __future__ import annotations

import math

import numpy as np

from .dataset import DataError

# The globals a numpy array (and bytes, at protocol 2 from Python 3) is pickled with.
_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}
_NDARRAY = ("numpy", "ndarray")
_DTYPE = ("numpy", "dtype")
_ENCODE = ("_codecs", "encode")
_DTYPES = {"u1", "i1", "u2", "i2", "u4", "i4", "i8", "u8", "f4", "f8", "b1"}


def _machine():
    """The engine's pickle machine, imported when a pickle is read (importing ``layerforge.data``
    does not load the engine)."""
    from ..engine import torch_pickle
    return torch_pickle


def _refused(why: str) -> Exception:
    return _machine().PickleRefused(why)


class _Dtype:
    """A numpy dtype under construction (REDUCE of numpy.dtype, then BUILD with its state)."""

    def __init__(self, code: str):
        self.code, self.order = code, "|"


class _Array:
    """An array under construction (REDUCE of _reconstruct, then BUILD with its state)."""

    def __init__(self):
        self.value = None


def _text(value) -> str | None:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else None


def _reconstruct(args):
    if not args or not isinstance(args[0], _machine().Global) or (args[0].module, args[0].name) != _NDARRAY:
        raise _refused("it rebuilds an array of a type other than numpy.ndarray")
    return _Array()


def _dtype(args):
    code = _text(args[0]) if args else None
    if code not in _DTYPES:
        raise _refused(f"it asks for the dtype {code!r}")
    return _Dtype(code)


def _encode(args):
    if len(args) != 2 or not isinstance(args[0], str) or args[1] != "latin1":
        raise _refused("it encodes text other than as latin1 bytes")
    try:
        return args[0].encode("latin-1")
    except UnicodeEncodeError:
        raise _refused("its latin1 bytes are malformed") from None


def _resolve(module: str, name: str, where: str):
    Global = _machine().Global
    key = (module, name)
    if key in _RECONSTRUCT:
        return Global(module, name, "call", _reconstruct)
    if key == _DTYPE:
        return Global(module, name, "call", _dtype)
    if key == _ENCODE:
        return Global(module, name, "call", _encode)
    if key == _NDARRAY:
        return Global(module, name, "type")   # only as _reconstruct's argument: calling it is refused
    raise _refused(f"it names the global {module}.{name}")


def _build(target, state, pos, where) -> None:
    if isinstance(target, _Dtype) and isinstance(state, tuple) and len(state) >= 2:
        order = _text(state[1])
        if order not in ("<", ">", "|", "="):
            raise _refused(f"a dtype has the byte order {order!r}")
        target.order = order
    elif isinstance(target, _Array) and isinstance(state, tuple) and len(state) == 5:
        target.value = _array(*state)
    else:
        raise _refused("it sets the state of something that is not an array or a dtype")


def _array(version, shape, dtype, fortran, raw) -> np.ndarray:
    if not (isinstance(shape, tuple) and all(isinstance(d, int) and d >= 0 for d in shape)):
        raise _refused(f"an array has the shape {shape!r}")
    if not isinstance(dtype, _Dtype) or not isinstance(raw, (bytes, str)):
        raise _refused("an array's dtype or data is malformed")
    if isinstance(raw, str):   # Python 2's str (a BINSTRING), read as latin-1 text: its bytes again
        raw = raw.encode("latin-1")
    order = "=" if dtype.order == "|" else dtype.order
    kind = np.dtype(dtype.code).newbyteorder(order)
    if math.prod(shape) * kind.itemsize != len(raw):
        raise _refused(f"an array of shape {shape} and dtype {dtype.code} would need "
                            f"{math.prod(shape) * kind.itemsize} bytes but holds {len(raw)}")
    values = np.frombuffer(raw, dtype=kind).reshape(shape, order="F" if fortran else "C")
    return values.astype(kind.newbyteorder("="), copy=False)


def _finish(value, where: str):
    """The value with every array built (an object half built is refused)."""
    if isinstance(value, _Array):
        if value.value is None:
            raise _refused("an array is left half built")
        return value.value
    if isinstance(value, (_machine().Global, _Dtype)):
        raise _refused("an object is left half built")
    if isinstance(value, list):
        return [_finish(v, where) for v in value]
    if isinstance(value, tuple):
        return tuple(_finish(v, where) for v in value)
    if isinstance(value, dict):
        return {_finish(k, where): _finish(v, where) for k, v in value.items()}
    return value


def read_plain_pickle(data: bytes, where: str):
    """The value a pickle of plain values and numpy arrays holds; DataError for anything else."""
    machine = _machine()
    try:
        value, _ = machine.read_pickle(bytes(data), None, where, resolve=_resolve, build=_build)
        return _finish(value, where)
    except machine.CheckpointError as error:
        reason = str(error).removeprefix(f"{where}: ").removeprefix(f"{where} ")
        raise DataError(f"{where}: {reason}; this is not a dataset batch Layerforge can read (it reads plain "
                        "values and numpy arrays only, and never runs a pickle)") from None
    except RecursionError:
        raise DataError(f"{where}: the pickle nests its data too deeply to read") from None
