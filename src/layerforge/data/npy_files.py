"""Reading ``.npy`` and ``.npz`` files a user names, as hostile input.

``np.load`` trusts the header: a 100-byte ``.npy`` that declares a shape of 10^12 elements makes it
allocate before it finds the data missing, and a ``.npz`` member compressed 1000:1 inflates in
memory. Here every header is read first and checked against the bytes the file (or the zip
member) really holds and against a size cap; only then is an array allocated. Pickles are never
loaded, whatever the file says.
"""
from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path

import numpy as np

from .dataset import DataError
from .files import DEFAULT_MAX_BYTES, check_regular_file, open_regular_file

# 2^31 values: past it, float32 copies take 8 GiB and int32 indexing breaks in places.
MAX_VALUES = 2 ** 31 - 1
MAX_DECODED_BYTES = DEFAULT_MAX_BYTES


def _open_regular(path: Path, what: str):
    check_regular_file(path, what=what)
    return open_regular_file(path, what=what)


def _pickles(where: str) -> DataError:
    return DataError(f"{where}: holds Python objects (pickled data), which Layerforge never loads; "
                     "save plain numeric arrays, e.g. np.savez(path, x=..., y=...)")


def _size_text(size: int) -> str:
    for unit, scale in (("TiB", 1024 ** 4), ("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def _check_header(stream, available: int, where: str) -> int:
    """Read one .npy header from ``stream`` (at its start); return the array's size in bytes after
    checking it against ``available`` (the stream's length) and the caps."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
        else:   # 3.0 exists only for structured dtypes with non-Latin-1 field names
            raise DataError(f"{where}: .npy format version {version[0]}.{version[1]} is not read; "
                            "save plain numeric arrays with np.save / np.savez")
        header_end = stream.tell()
    except DataError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{where}: not a readable .npy array ({error})") from None
    if dtype.hasobject:
        raise _pickles(where)
    values = math.prod(shape)
    size = values * dtype.itemsize
    shape_text = "x".join(str(d) for d in shape) or "a single value"
    if values > MAX_VALUES:
        raise DataError(f"{where}: declares {values:,} values (shape {shape_text}), more than "
                        f"the {MAX_VALUES:,} Layerforge holds in one array")
    held = available - header_end
    if size > held:
        raise DataError(f"{where}: declares an array of shape {shape_text} ({_size_text(size)}), "
                        f"but only {_size_text(max(held, 0))} of data follow; the file is damaged "
                        "or was cut short")
    return size


def _read_npz(stream, path: Path) -> dict:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise DataError(f"{path}: not a readable .npz file ({error})") from None
    with archive:
        members = archive.infolist()
        total = 0
        for info in members:
            where = f"{path}, array {info.filename[:-4]!r}" if info.filename.endswith(".npy") else None
            if where is None or info.is_dir():
                raise DataError(f"{path}: holds {info.filename!r}, which is not a .npy array; a "
                                ".npz from np.savez holds only arrays")
            try:
                with archive.open(info) as member:
                    total += _check_header(member, info.file_size, where)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as error:
                raise DataError(f"{where}: cannot be read from the archive ({error})") from None
            if total > MAX_DECODED_BYTES:
                raise DataError(f"{path}: its arrays need {_size_text(total)} or more once "
                                f"unpacked, more than the {_size_text(MAX_DECODED_BYTES)} "
                                "Layerforge reads")
        arrays = {}
        for info in members:
            where = f"{path}, array {info.filename[:-4]!r}"
            try:
                with archive.open(info) as member:
                    arrays[info.filename[:-4]] = np.lib.format.read_array(member, allow_pickle=False)
            except (ValueError, OSError, EOFError, zipfile.BadZipFile, RuntimeError) as error:
                raise DataError(f"{where}: cannot be read ({error})") from None
        return arrays


def load_arrays(path) -> np.ndarray | dict:
    """The array of a .npy, or {name: array} of a .npz; DataError naming the file otherwise."""
    path = Path(path)
    with _open_regular(path, "array file") as stream:
        try:
            magic = stream.read(6)
            stream.seek(0)
        except OSError as error:
            raise DataError(f"{path}: cannot read ({error.strerror or error})") from None
        if magic.startswith(b"PK\x03\x04"):
            return _read_npz(stream, path)
        if not magic.startswith(b"\x93NUMPY"):
            what = "a Python pickle" if magic.startswith(b"\x80") else "neither .npy nor .npz data"
            raise DataError(f"{path}: this is {what}; Layerforge reads arrays saved with np.save "
                            "or np.savez (it never loads pickles)")
        _check_header(stream, os.fstat(stream.fileno()).st_size, str(path))
        stream.seek(0)
        try:
            return np.lib.format.read_array(stream, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise DataError(f"{path}: not a readable .npy file ({error})") from None
