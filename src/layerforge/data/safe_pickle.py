"""A reader for the few pickles a dataset archive holds (CIFAR's python batches), never a general
unpickler.

A pickle is a program; ``pickle.load`` runs it, and any global it names can be called. This reader
walks the opcodes itself and knows only plain values (None, booleans, integers, floats, strings,
bytes, lists, tuples, dicts) and, by name, the three globals a numpy array is rebuilt from plus
the ``_codecs.encode`` Python 3 writes bytes with at protocol 2. Nothing is imported, nothing is
called: an array is rebuilt from its bytes with ``np.frombuffer`` after its shape and dtype are
checked against them. Anything else (other globals, persistent ids, extensions) is refused.
"""
from __future__ import annotations

import math
import struct

import numpy as np

from .dataset import DataError

# The globals a numpy array (and bytes, at protocol 2 from Python 3) is pickled with.
_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}
_NDARRAY = ("numpy", "ndarray")
_DTYPE = ("numpy", "dtype")
_ENCODE = ("_codecs", "encode")
_ALLOWED = _RECONSTRUCT | {_NDARRAY, _DTYPE, _ENCODE}
_DTYPES = {"u1", "i1", "u2", "i2", "u4", "i4", "i8", "u8", "f4", "f8", "b1"}
MAX_ITEMS = 10_000_000        # list / dict entries in one pickle


class _Global:
    def __init__(self, module: str, name: str):
        self.key = (module, name)


class _Dtype:
    """A numpy dtype under construction (REDUCE of numpy.dtype, then BUILD with its state)."""

    def __init__(self, code: str):
        self.code, self.order = code, "|"


class _Array:
    """An array under construction (REDUCE of _reconstruct, then BUILD with its state)."""

    def __init__(self):
        self.value = None


_MARK = object()


class _Reader:
    def __init__(self, data: bytes, where: str):
        self.data, self.where, self.pos = data, where, 0
        self.stack: list = []
        self.marks: list[int] = []
        self.memo: dict = {}
        self.items = 0

    def fail(self, why: str):
        raise DataError(f"{self.where}: {why}; this is not a dataset batch Layerforge can read "
                        "(it reads plain values and numpy arrays only, and never runs a pickle)")

    def take(self, count: int) -> bytes:
        if count < 0 or self.pos + count > len(self.data):
            self.fail("the pickle ends early")
        chunk = self.data[self.pos:self.pos + count]
        self.pos += count
        return chunk

    def number(self, fmt: str) -> int:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def pop_mark(self) -> list:
        if not self.marks:
            self.fail("a MARK is missing")
        start = self.marks.pop()
        items = self.stack[start:]
        del self.stack[start:]
        return items

    def pop(self):
        if not self.stack:
            self.fail("the pickle pops an empty stack")
        return self.stack.pop()

    def count(self, n: int) -> None:
        self.items += n
        if self.items > MAX_ITEMS:
            self.fail(f"more than {MAX_ITEMS:,} items")

    def run(self):
        ops = _OPS
        while True:
            code = self.take(1)[0]
            handler = ops.get(code)
            if handler is None:
                self.fail(f"opcode 0x{code:02x} at byte {self.pos - 1} is not allowed")
            if handler is _stop:
                if len(self.stack) != 1:
                    self.fail("the pickle leaves a malformed stack")
                return _finish(self, self.stack[0])
            handler(self)


def _finish(reader: _Reader, value):
    if isinstance(value, (_Global, _Dtype, _Array)):
        if isinstance(value, _Array) and value.value is not None:
            return value.value
        reader.fail("an object is left half built")
    if isinstance(value, list):
        return [_finish(reader, v) for v in value]
    if isinstance(value, tuple):
        return tuple(_finish(reader, v) for v in value)
    if isinstance(value, dict):
        return {_finish(reader, k): _finish(reader, v) for k, v in value.items()}
    return value


def _push(value):
    return lambda r: r.stack.append(value)


def _text(fmt):
    def handler(r: _Reader):
        raw = r.take(r.number(fmt))
        try:
            r.stack.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            r.fail("a string is not valid UTF-8")
    return handler


def _bytes(fmt):
    def handler(r: _Reader):
        raw = r.take(r.number(fmt))
        r.stack.append(raw)   # Python 2 str: kept as bytes (CIFAR's keys and pixel data)
    return handler


def _global(r: _Reader):
    module = _line(r)
    name = _line(r)
    if (module, name) not in _ALLOWED:
        r.fail(f"it names the global {module}.{name}")
    r.stack.append(_Global(module, name))


def _stack_global(r: _Reader):
    name, module = r.pop(), r.pop()
    if not (isinstance(module, str) and isinstance(name, str)) or (module, name) not in _ALLOWED:
        r.fail(f"it names the global {module}.{name}")
    r.stack.append(_Global(module, name))


def _line(r: _Reader) -> str:
    end = r.data.find(b"\n", r.pos)
    if end < 0 or end - r.pos > 200:
        r.fail("a global's name is malformed")
    text = r.data[r.pos:end].decode("ascii", "replace")
    r.pos = end + 1
    return text


def _as_text(value) -> str | None:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else None


def _reduce(r: _Reader):
    args, func = r.pop(), r.pop()
    if not isinstance(func, _Global) or not isinstance(args, tuple):
        r.fail("it calls something other than an allowed global")
    if func.key in _RECONSTRUCT:
        if not args or not isinstance(args[0], _Global) or args[0].key != _NDARRAY:
            r.fail("it rebuilds an array of a type other than numpy.ndarray")
        r.stack.append(_Array())
    elif func.key == _DTYPE:
        code = _as_text(args[0]) if args else None
        if code not in _DTYPES:
            r.fail(f"it asks for the dtype {code!r}")
        r.stack.append(_Dtype(code))
    elif func.key == _ENCODE:
        if len(args) != 2 or not isinstance(args[0], str) or args[1] != "latin1":
            r.fail("it encodes text other than as latin1 bytes")
        try:
            r.stack.append(args[0].encode("latin-1"))
        except UnicodeEncodeError:
            r.fail("its latin1 bytes are malformed")
    else:
        r.fail("it calls numpy.ndarray directly")


def _build(r: _Reader):
    state, target = r.pop(), r.pop()
    if isinstance(target, _Dtype) and isinstance(state, tuple) and len(state) >= 2:
        order = _as_text(state[1])
        if order not in ("<", ">", "|", "="):
            r.fail(f"a dtype has the byte order {order!r}")
        target.order = order
    elif isinstance(target, _Array) and isinstance(state, tuple) and len(state) == 5:
        target.value = _array(r, *state)
    else:
        r.fail("it sets the state of something that is not an array or a dtype")
    r.stack.append(target)


def _array(r: _Reader, version, shape, dtype, fortran, raw) -> np.ndarray:
    if not (isinstance(shape, tuple) and all(isinstance(d, int) and d >= 0 for d in shape)):
        r.fail(f"an array has the shape {shape!r}")
    if not isinstance(dtype, _Dtype) or not isinstance(raw, (bytes, str)):
        r.fail("an array's dtype or data is malformed")
    if isinstance(raw, str):
        raw = raw.encode("latin-1")
    order = "=" if dtype.order == "|" else dtype.order
    kind = np.dtype(dtype.code).newbyteorder(order)
    if math.prod(shape) * kind.itemsize != len(raw):
        r.fail(f"an array of shape {shape} and dtype {dtype.code} would need "
               f"{math.prod(shape) * kind.itemsize} bytes but holds {len(raw)}")
    values = np.frombuffer(raw, dtype=kind).reshape(shape, order="F" if fortran else "C")
    return values.astype(kind.newbyteorder("="), copy=False)


def _empty(kind):
    return lambda r: r.stack.append(kind())


def _append(r: _Reader):
    value, target = r.pop(), r.pop()
    if not isinstance(target, list):
        r.fail("APPEND to something that is not a list")
    r.count(1)
    target.append(value)
    r.stack.append(target)


def _appends(r: _Reader):
    items = r.pop_mark()
    target = r.stack[-1] if r.stack else None
    if not isinstance(target, list):
        r.fail("APPENDS to something that is not a list")
    r.count(len(items))
    target.extend(items)


def _setitem(r: _Reader):
    value, key = r.pop(), r.pop()
    target = r.stack[-1] if r.stack else None
    if not isinstance(target, dict) or not isinstance(key, (str, bytes, int)):
        r.fail("SETITEM on something that is not a dict of plain keys")
    r.count(1)
    target[key] = value


def _setitems(r: _Reader):
    items = r.pop_mark()
    target = r.stack[-1] if r.stack else None
    if not isinstance(target, dict) or len(items) % 2:
        r.fail("SETITEMS on something that is not a dict")
    r.count(len(items) // 2)
    for key, value in zip(items[::2], items[1::2]):
        if not isinstance(key, (str, bytes, int)):
            r.fail("a dict key is not a plain value")
        target[key] = value


def _tuple_n(n):
    def handler(r: _Reader):
        if len(r.stack) < n:
            r.fail("a tuple lacks items")
        items = tuple(r.stack[len(r.stack) - n:]) if n else ()
        del r.stack[len(r.stack) - n:]
        r.stack.append(items)
    return handler


def _tuple(r: _Reader):
    r.stack.append(tuple(r.pop_mark()))


def _list(r: _Reader):
    r.stack.append(list(r.pop_mark()))


def _dict(r: _Reader):
    items = r.pop_mark()
    if len(items) % 2:
        r.fail("a dict has an odd number of items")
    r.stack.append(dict(zip(items[::2], items[1::2])))


def _mark(r: _Reader):
    r.marks.append(len(r.stack))


def _put(fmt):
    def handler(r: _Reader):
        if not r.stack:
            r.fail("PUT on an empty stack")
        r.memo[r.number(fmt)] = r.stack[-1]
    return handler


def _memoize(r: _Reader):
    if not r.stack:
        r.fail("MEMOIZE on an empty stack")
    r.memo[len(r.memo)] = r.stack[-1]


def _get(fmt):
    def handler(r: _Reader):
        key = r.number(fmt)
        if key not in r.memo:
            r.fail(f"memo entry {key} is used before it is set")
        r.stack.append(r.memo[key])
    return handler


def _int(fmt):
    return lambda r: r.stack.append(r.number(fmt))


def _long1(r: _Reader):
    r.stack.append(int.from_bytes(r.take(r.take(1)[0]), "little", signed=True))


def _proto(r: _Reader):
    if r.take(1)[0] > 5:
        r.fail("its protocol is newer than 5")


def _frame(r: _Reader):
    r.take(8)


def _float(r: _Reader):
    r.stack.append(struct.unpack(">d", r.take(8))[0])


def _stop(r: _Reader):   # handled in run()
    pass


def _pop_op(r: _Reader):
    r.pop()


_OPS = {
    0x80: _proto, 0x95: _frame, ord("."): _stop, ord("("): _mark, ord("0"): _pop_op,
    ord("N"): _push(None), 0x88: _push(True), 0x89: _push(False),
    ord("J"): _int("<i"), ord("K"): _int("<B"), ord("M"): _int("<H"), 0x8A: _long1,
    ord("G"): _float,
    ord("X"): _text("<I"), 0x8C: _text("<B"), 0x8D: _text("<Q"),
    ord("T"): _bytes("<I"), ord("U"): _bytes("<B"), ord("B"): _bytes("<I"), ord("C"): _bytes("<B"),
    0x8E: _bytes("<Q"),
    ord("}"): _empty(dict), ord("]"): _empty(list), ord(")"): _tuple_n(0),
    0x85: _tuple_n(1), 0x86: _tuple_n(2), 0x87: _tuple_n(3), ord("t"): _tuple, ord("l"): _list,
    ord("d"): _dict, ord("a"): _append, ord("e"): _appends, ord("s"): _setitem, ord("u"): _setitems,
    ord("c"): _global, 0x93: _stack_global, ord("R"): _reduce, ord("b"): _build,
    ord("q"): _put("<B"), ord("r"): _put("<I"), 0x94: _memoize,
    ord("h"): _get("<B"), ord("j"): _get("<I"),
}


def read_plain_pickle(data: bytes, where: str):
    """The value a pickle of plain values and numpy arrays holds; DataError for anything else."""
    return _Reader(bytes(data), where).run()
