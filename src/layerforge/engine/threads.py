"""``set_num_threads`` / ``get_num_threads``: how many threads the CPU's matrix products may use.

On the CPU the engine computes through numpy, whose matrix products run in the BLAS library numpy
was built with (OpenBLAS in numpy's own wheels). That library keeps one process-wide pool of
threads; here it is found among the libraries numpy loaded and asked through its C API, as
PyTorch's ``torch.set_num_threads`` asks its own pool. Where numpy uses another BLAS (MKL,
Accelerate) the request is remembered but has no effect, and ``blas_threads_controllable()`` says so.
"""
from __future__ import annotations

import ctypes
import functools
import glob
import os
import sys

import numpy as np

# (prefix, suffix) of OpenBLAS's symbol names, newest numpy wheels first (scipy-openblas with 64-bit
# integers): f"{prefix}set_num_threads{suffix}" and so on.
_SYMBOLS = [("scipy_openblas_", "64_"), ("scipy_openblas_", ""), ("openblas_", "64_"), ("openblas_", "")]

_requested: int | None = None


def _candidate_libraries() -> list[str]:
    here = os.path.dirname(np.__file__)
    # numpy's wheels: numpy.libs/ beside the package (Linux, Windows), numpy/.dylibs/ (macOS).
    found = glob.glob(os.path.join(here + ".libs", "*openblas*")) + glob.glob(os.path.join(here, ".dylibs", "*openblas*"))
    if sys.platform.startswith("linux"):  # a numpy linked against the system's OpenBLAS
        try:
            with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
                found += sorted({line.split()[-1] for line in maps if "openblas" in line and "/" in line})
        except OSError:
            pass
    return list(dict.fromkeys(found))


@functools.lru_cache(maxsize=None)
def _blas_library():
    """(numpy's OpenBLAS as a ctypes library, its symbols' prefix and suffix), or None: the first
    candidate with both thread functions, under the first prefix and suffix that names them."""
    for path in _candidate_libraries():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in _SYMBOLS:
            if all(getattr(library, f"{prefix}{verb}_num_threads{suffix}", None) is not None
                   for verb in ("set", "get")):
                return library, prefix, suffix
    return None


def _blas_function(name: str, argtypes: tuple, restype):
    """OpenBLAS's C function ``name`` ("get_num_threads", ...) in numpy's OpenBLAS, typed, or None where
    numpy's BLAS is not an OpenBLAS that can be asked or lacks it."""
    found = _blas_library()
    if found is None:
        return None
    library, prefix, suffix = found
    function = getattr(library, f"{prefix}{name}{suffix}", None)
    if function is not None:
        function.argtypes, function.restype = list(argtypes), restype
    return function


@functools.lru_cache(maxsize=None)
def _blas_api():
    """(set_num_threads, get_num_threads) of numpy's OpenBLAS, or None where it is not found."""
    set_threads = _blas_function("set_num_threads", (ctypes.c_int,), None)
    get_threads = _blas_function("get_num_threads", (), ctypes.c_int)
    return None if set_threads is None else (set_threads, get_threads)


@functools.lru_cache(maxsize=None)
def blas_core() -> str:
    """The CPU kernel set numpy's OpenBLAS chose at load time ("SkylakeX", "Haswell", "Zen", ...), or
    "" where numpy's BLAS is not an OpenBLAS that can be asked."""
    corename = _blas_function("get_corename", (), ctypes.c_char_p)
    return "" if corename is None else (corename() or b"").decode("ascii", "replace")


def blas_threads_controllable() -> bool:
    """True when ``set_num_threads`` reaches numpy's BLAS (an OpenBLAS numpy, as numpy's wheels are)."""
    return _blas_api() is not None


def set_num_threads(count: int) -> None:
    """Use ``count`` threads for CPU matrix products (process-wide, like ``torch.set_num_threads``).

    Call it between computations, not while another thread is in the middle of one."""
    global _requested
    if isinstance(count, bool) or not isinstance(count, int):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(count).__name__}")
    if count < 1:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {count}")
    _requested = count
    api = _blas_api()
    if api is not None:
        api[0](count)


def get_num_threads() -> int:
    """The threads CPU matrix products use now (as numpy's BLAS reports it where it can be asked)."""
    api = _blas_api()
    if api is not None:
        return int(api[1]())
    return _requested or available_cpus()


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)
