"""A strict stand-in for cupy that runs on the CPU, so the engine's CUDA code paths run without a GPU.

``LAYERFORGE_SIMULATED_GPU=1 python -m pytest -m gpu tests`` installs it (tests/conftest.py) in place
of cupy: the engine then sees one CUDA device, "cuda:0", and every GPU-marked test runs its CUDA
path here. What it checks is what a real GPU would refuse and a CPU run never notices:

- A device array is not a numpy array (``isinstance(x, np.ndarray)`` is False, as for cupy), and
  mixing the two fails as cupy fails: a numpy array given to a cupy function, ufunc, operator or
  ``__setitem__`` raises ``TypeError``, and ``np.asarray(device_array)`` raises cupy's "Implicit
  conversion to a NumPy array is not allowed". Data reaches the host only through ``cupy.asnumpy``,
  ``.get()``, ``.item()``, ``.tolist()``, ``float()``/``int()``/``bool()``.
- Copies are copies: ``cupy.asarray(host)`` copies, so host and device never share memory.
- Only cupy's names exist (``cupy_names.txt``, recorded from cupy 14.2): a numpy-only function,
  method or ``Generator`` method raises ``AttributeError`` as it would on a GPU. Reductions and
  scalar indexing give 0-d device arrays, not numpy scalars, and a 0-d array has no ``__index__``.
- numpy functions called on device arrays dispatch as cupy's ``__array_function__`` does: only
  where cupy has the same name.

What it cannot check: CUDA C kernels (``ElementwiseKernel``, ``RawKernel`` raise here), speed,
memory use, cupy's own numerical differences. Those need the device machine
(``tests/gpu/run_gpu_checks.sh``).
"""
from __future__ import annotations

import importlib.util
import math
import operator
import sys
from pathlib import Path

import numpy as np

__version__ = "14.2.0+simulated"


def _load_sibling(filename: str, part: str):
    """One of the simulation's other files, loaded beside this one (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"{__name__}_{part}", Path(__file__).with_name(filename))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cuda = _load_sibling("simulated_cuda.py", "cuda")
Device, TOTAL_MEMORY, _OutOfMemoryError = cuda.Device, cuda.TOTAL_MEMORY, cuda.OutOfMemoryError


def _read_names(path: Path) -> dict[str, frozenset]:
    sections: dict[str, set] = {}
    current = None
    for line in path.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), set())
        else:
            current.add(line.strip())
    return {key: frozenset(value) for key, value in sections.items()}


NAMES = _read_names(Path(__file__).with_name("cupy_names.txt"))


host_syncs = cuda.EventCounter()  # reads from a device
kernel_launches = cuda.EventCounter()  # operations that would run a kernel on a GPU


class HostArrayError(TypeError):
    """A numpy (host) array reached a place where cupy needs device arrays."""


def _host_array_error(where: str, value) -> HostArrayError:
    return HostArrayError(
        f"{where}: got a numpy array (host memory, shape {value.shape}, {value.dtype}) where cupy needs "
        "a cupy array; cupy raises 'Unsupported type <class 'numpy.ndarray'>' here on a GPU. Move it "
        "with cupy.asarray first.")


class OtherDeviceError(ValueError):
    """A kernel was asked to read an array that lives on another GPU than the current one."""


def _here(array: "ndarray", where: str) -> np.ndarray:
    """The numpy array behind ``array``, which a kernel on the current device is about to read.

    cupy runs kernels on the current device; handed an array from another GPU it enables peer access
    and warns (or fails where peer access is impossible), and its result lands on the current GPU, not
    the array's. PyTorch runs an op on its inputs' device. The simulation refuses it outright."""
    current = cuda.current_device()
    if array._dev != current:
        raise OtherDeviceError(
            f"{where}: the device where the array resides ({array._dev}) is different from the current "
            f"device ({current}); cupy would read it through peer access and put the result on device "
            f"{current}. Enter `with cupy.cuda.Device({array._dev}):` (the array's device) first.")
    return array._a


def _unwrap(value, where: str, allow_host: bool = False):
    """The numpy array behind a device array; host arrays are refused unless ``allow_host``."""
    if isinstance(value, ndarray):
        return _here(value, where)
    if isinstance(value, np.ndarray):
        if allow_host:
            return value
        raise _host_array_error(where, value)
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(item, where, allow_host) for item in value)
    return value


def _unwrap_kwargs(kwargs: dict, where: str) -> dict:
    return {key: _unwrap(value, f"{where}({key}=...)") for key, value in kwargs.items()}


def _wrap(result):
    """Device arrays for every array (and numpy scalar) a numpy call returned."""
    if isinstance(result, np.ndarray):
        return ndarray._of(result)
    if isinstance(result, np.generic):
        return ndarray._of(np.asarray(result))
    if isinstance(result, tuple):
        return tuple(_wrap(item) for item in result)
    if isinstance(result, list):
        return [_wrap(item) for item in result]
    return result


def _on_device(func, *args, **kwargs):
    """Call numpy for a device operation (counted as one kernel launch); a host allocation failure is
    the device running out of memory."""
    kernel_launches(getattr(func, "__name__", "op"))
    try:
        return func(*args, **kwargs)
    except MemoryError as error:
        if isinstance(error, _OutOfMemoryError):
            raise
        size = getattr(error, "_total_size", None)  # numpy's _ArrayMemoryError knows what it asked for
        raise _OutOfMemoryError(int(size) if size is not None else 0, 0) from error


def _check_size(shape, dtype) -> None:
    try:
        count = math.prod(shape) if isinstance(shape, (tuple, list)) else int(shape)
        size = count * np.dtype(dtype if dtype is not None else np.float64).itemsize
    except (TypeError, ValueError):
        return
    if size > TOTAL_MEMORY:
        raise _OutOfMemoryError(size, 0)


def _index(key, where: str):
    """Indices: device arrays, and lists or numpy arrays (cupy copies those to the device itself)."""
    if isinstance(key, tuple):
        return tuple(_index(item, where) for item in key)
    if isinstance(key, ndarray):
        return _here(key, where)
    return key


_VIEW_METHODS = frozenset({"reshape", "view", "transpose", "swapaxes", "squeeze", "diagonal"})


class ndarray:
    """A device array: numpy storage behind cupy's interface, refusing to mix with host arrays."""

    __slots__ = ("_a", "_dev", "__weakref__")
    __array_priority__ = 100

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        _check_size(shape, dtype)
        self._a = np.empty(shape, dtype=dtype, order=order)
        self._dev = cuda.current_device()

    @classmethod
    def _of(cls, array: np.ndarray, dev: int | None = None) -> "ndarray":
        """A device array around ``array``: on ``dev``, or the current device (where cupy puts results)."""
        out = object.__new__(cls)
        out._a = array
        out._dev = cuda.current_device() if dev is None else dev
        return out

    def _view(self, array: np.ndarray) -> "ndarray":
        """A view: the same memory, so the same device, whichever device is current."""
        return ndarray._of(array, self._dev)

    # --- what cupy has as plain attributes
    shape = property(lambda self: self._a.shape, lambda self, value: setattr(self._a, "shape", value))
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: self._view(self._a.T))
    mT = property(lambda self: self._view(np.swapaxes(self._a, -1, -2)))
    real = property(lambda self: self._view(self._a.real))
    imag = property(lambda self: self._view(self._a.imag))
    device = property(lambda self: Device(self._dev))

    @property
    def base(self):
        return None if self._a.base is None else self._view(self._a.base)

    def __getattr__(self, name):
        if name not in NAMES["cupy.ndarray"] or not hasattr(self._a, name):
            raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}'")
        method = getattr(self._a, name)
        where = f"cupy.ndarray.{name}"
        if name in _VIEW_METHODS:  # no kernel: works from any current device, stays on the array's
            def view(*args, **kwargs):
                result = method(*args, **kwargs)
                return self._view(result) if isinstance(result, np.ndarray) and result.base is not None \
                    else _wrap(result)
            return view

        def call(*args, **kwargs):
            _here(self, where)
            return _wrap(_on_device(method, *_unwrap(args, where), **_unwrap_kwargs(kwargs, where)))
        return call

    # --- to the host, explicitly
    def get(self, stream=None, order="C", out=None):
        host_syncs("get")
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order, copy=True)

    def set(self, arr, stream=None):
        self._a[...] = np.asarray(arr)

    def item(self, *args):
        host_syncs("item")
        return self._a.item(*args)

    def tolist(self):
        host_syncs("tolist")
        return self._a.tolist()

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
                        "construct a NumPy array explicitly.")

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self._view(self._a[i]) if self._a.ndim > 1 else self._view(self._a[i:i + 1].reshape(()))
                for i in range(len(self._a)))

    def __repr__(self):
        return repr(self._a).replace("array(", "cupy_simulated_array(", 1)

    __str__ = __repr__

    def __copy__(self):
        return ndarray._of(_here(self, "copy").copy())

    def __deepcopy__(self, memo):
        return ndarray._of(_here(self, "deepcopy").copy())

    def __reduce__(self):
        raise TypeError("a simulated cupy array cannot be pickled; move it to the host first")

    def __getitem__(self, key):
        result = self._a[_index(key, "cupy.ndarray.__getitem__")]
        if isinstance(result, np.generic):  # cupy returns a 0-d view, not a host scalar
            flat_key = key if isinstance(key, tuple) else (key,)
            return self._view(self._a[flat_key + (Ellipsis,)])
        if result.base is not None and np.shares_memory(result, self._a):  # basic indexing: a view
            return self._view(result)
        _here(self, "cupy.ndarray.__getitem__")  # advanced indexing: a gather kernel
        kernel_launches("getitem")
        return _wrap(result)

    def __setitem__(self, key, value):
        where = "cupy.ndarray.__setitem__"
        kernel_launches("setitem")
        _here(self, where)[_index(key, where)] = _unwrap(value, where)

    # --- numpy's protocols: as cupy, numpy's functions and ufuncs work on device arrays where cupy
    # has the same name, and fail on any host array among the arguments.
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        where = f"numpy.{ufunc.__name__}{'' if method == '__call__' else '.' + method} on a cupy array"
        if "out" in kwargs:
            kwargs["out"] = tuple(_unwrap(o, where) for o in kwargs["out"])
        result = _on_device(getattr(ufunc, method), *_unwrap(inputs, where), **_unwrap_kwargs(kwargs, where))
        if "out" in kwargs and method != "at":
            outs = tuple(ndarray._of(o) for o in kwargs["out"])
            return outs[0] if len(outs) == 1 else outs  # (they were checked to be on this device)
        return _wrap(result)

    def __array_function__(self, func, types_, args, kwargs):
        name = func.__name__
        if name not in NAMES["cupy"]:
            raise TypeError(f"numpy.{name} was called on a cupy array, and cupy has no '{name}' to "
                            "dispatch to (no implementation found)")
        where = f"numpy.{name} on a cupy array"
        return _wrap(_on_device(func, *_unwrap(args, where), **_unwrap_kwargs(kwargs, where)))


def _binary(op, name, reflected=False, inplace=False):
    where = f"cupy.ndarray.{name}"

    def method(self, other):
        if isinstance(other, np.ndarray):
            raise _host_array_error(where, other)
        if not isinstance(other, (ndarray, int, float, complex, bool, np.generic)):
            return NotImplemented
        mine, value = _here(self, where), _unwrap(other, where)
        if inplace:
            kernel_launches(name)
            op(mine, value)
            return self
        return _wrap(_on_device(op, value, mine) if reflected else _on_device(op, mine, value))
    method.__name__ = name
    return method


for _name, _op in (("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("floordiv", operator.floordiv), ("mod", operator.mod),
                   ("pow", operator.pow), ("matmul", operator.matmul), ("and", operator.and_),
                   ("or", operator.or_), ("xor", operator.xor), ("lshift", operator.lshift),
                   ("rshift", operator.rshift)):
    setattr(ndarray, f"__{_name}__", _binary(_op, f"__{_name}__"))
    setattr(ndarray, f"__r{_name}__", _binary(_op, f"__r{_name}__", reflected=True))
    _inplace = getattr(operator, f"i{_name}")
    setattr(ndarray, f"__i{_name}__", _binary(_inplace, f"__i{_name}__", inplace=True))
for _name, _op in (("eq", operator.eq), ("ne", operator.ne), ("lt", operator.lt), ("le", operator.le),
                   ("gt", operator.gt), ("ge", operator.ge)):
    setattr(ndarray, f"__{_name}__", _binary(_op, f"__{_name}__"))
for _name, _op in (("neg", operator.neg), ("pos", operator.pos), ("abs", operator.abs),
                   ("invert", operator.invert)):
    setattr(ndarray, f"__{_name}__", (lambda op, name: lambda self: _wrap(op(_here(self, name))))(_op, _name))
def _read_as(convert):
    """``float(x)``, ``int(x)``, ``complex(x)``, ``bool(x)``: a read from the device, counted."""
    def read(self):
        host_syncs(convert.__name__)
        return convert(self._a)
    read.__name__ = f"__{convert.__name__}__"
    return read


for _convert in (float, int, complex, bool):
    setattr(ndarray, f"__{_convert.__name__}__", _read_as(_convert))
ndarray.__hash__ = None


class ufunc:
    """A cupy ufunc: numpy's, on device arrays only."""

    def __init__(self, np_ufunc):
        self._u = np_ufunc
        self.__name__ = self.name = np_ufunc.__name__
        self.nin, self.nout, self.nargs, self.types = np_ufunc.nin, np_ufunc.nout, np_ufunc.nargs, np_ufunc.types

    def _apply(self, method, args, kwargs):
        where = f"cupy.{self.name}{'' if method == '__call__' else '.' + method}"
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_unwrap(o, where) for o in out) if isinstance(out, tuple) else _unwrap(out, where)
        result = _on_device(getattr(self._u, method), *_unwrap(args, where), **_unwrap_kwargs(
            {k: v for k, v in kwargs.items() if k != "out"}, where), **({"out": kwargs["out"]} if out is not None else {}))
        if out is not None and method != "at":
            return out
        return _wrap(result)

    def __call__(self, *args, **kwargs):
        return self._apply("__call__", args, kwargs)

    def at(self, a, indices, b=None):
        where = f"cupy.{self.name}.at"
        kernel_launches(f"{self.name}.at")
        args = (_unwrap(a, where), _index(indices, where)) + (() if b is None else (_unwrap(b, where),))
        self._u.at(*args)

    def reduce(self, *args, **kwargs):
        return self._apply("reduce", args, kwargs)

    def accumulate(self, *args, **kwargs):
        return self._apply("accumulate", args, kwargs)

    def outer(self, *args, **kwargs):
        return self._apply("outer", args, kwargs)

    def reduceat(self, *args, **kwargs):
        return self._apply("reduceat", args, kwargs)


_ALLOCATORS = {"empty": 1, "zeros": 1, "ones": 1, "full": 2}  # name: where dtype sits among the args


def _function(name, func):
    where = f"cupy.{name}"
    dtype_at = _ALLOCATORS.get(name)

    def call(*args, **kwargs):
        if dtype_at is not None:  # a huge allocation fails as the GPU's would, before the host tries
            shape = kwargs.get("shape", args[0] if args else ())
            _check_size(shape, kwargs.get("dtype", args[dtype_at] if len(args) > dtype_at else None))
        return _wrap(_on_device(func, *_unwrap(args, where), **_unwrap_kwargs(kwargs, where)))
    call.__name__ = name
    return call


def asarray(a, dtype=None, order=None, *, blocking=False):
    """To the device: a copy of host data (cupy copies), the array itself when already there."""
    if isinstance(a, ndarray):
        if a._dev != cuda.current_device():  # a copy between GPUs, onto the current one
            return ndarray._of(np.array(a._a, dtype=dtype, copy=True))
        return a if dtype is None or a.dtype == np.dtype(dtype) else a.astype(dtype)
    host = np.array(_unwrap(a, "cupy.asarray", allow_host=True), dtype=dtype, order=order or "K", copy=True)
    _check_size(host.shape, host.dtype)
    return ndarray._of(host)


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if isinstance(obj, ndarray):  # a copy, onto the current device
        return ndarray._of(np.array(obj._a, dtype=dtype, copy=True if copy else None, order=order, ndmin=ndmin))
    host = np.array(_unwrap(obj, "cupy.array", allow_host=True), dtype=dtype, copy=True, order=order,
                    ndmin=ndmin)
    return ndarray._of(host)


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    return np.asarray(a, order=order)


def get_array_module(*args):
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else np


def fuse(*args, kernel_name=None):
    """``cupy.fuse``: on a GPU one kernel for the whole function. Here the function runs as it is,
    its operations counted as one kernel launch."""
    def decorate(func):
        name = f"fused {kernel_name or func.__name__}"

        def fused(*call_args):
            kernel_launches(name)
            kernel_launches.paused = True
            try:
                return func(*call_args)
            finally:
                kernel_launches.paused = False
        fused.__name__ = func.__name__
        return fused
    if len(args) == 1 and callable(args[0]):
        return decorate(args[0])
    return decorate


class _CudaCodeError(NotImplementedError):
    pass


def _cuda_code(*args, **kwargs):
    raise _CudaCodeError("CUDA C kernels (cupy.ElementwiseKernel, RawKernel, ReductionKernel) cannot run "
                         "on the simulated GPU; test them on a device machine")


ElementwiseKernel = RawKernel = ReductionKernel = _cuda_code


def get_default_memory_pool():
    return cuda.pool


def get_default_pinned_memory_pool():
    return cuda.pool


random = _load_sibling("simulated_random.py", "random").RandomModule(sys.modules[__name__])


class _Linalg:
    """``cupy.linalg``: numpy.linalg's functions that cupy has, on device arrays only."""

    LinAlgError = np.linalg.LinAlgError

    def __getattr__(self, name):
        if name not in NAMES["cupy.linalg"]:
            raise AttributeError(f"module 'cupy.linalg' has no attribute '{name}'")
        return _function(f"linalg.{name}", getattr(np.linalg, name))


linalg = _Linalg()

_cache: dict = {}


def __getattr__(name):
    """Every other cupy name: numpy's, restricted to device arrays; numpy-only names do not exist."""
    found = _cache.get(name)
    if found is not None:
        return found
    if name not in NAMES["cupy"] or not hasattr(np, name):
        raise AttributeError(f"module 'cupy' has no attribute '{name}'")
    value = getattr(np, name)
    if isinstance(value, np.ufunc):
        found = ufunc(value)
    elif callable(value) and not isinstance(value, type):
        found = _function(name, value)
    else:
        found = value  # dtypes, constants (inf, pi, newaxis), errstate
    _cache[name] = found
    return found


def install() -> None:
    """Make ``import cupy`` (and cupyx's erf and scatter_add) find the simulation."""
    sys.modules["cupy"] = sys.modules[__name__]
    sys.modules.update(random.cupyx_modules())
