"""Reading IDX files (the MNIST family's format), raw or gzipped, as hostile input.

An IDX file is two zero bytes, a type code, the number of dimensions, each dimension as a
big-endian uint32, then the values in C order. The header says how many bytes must follow; that
count is checked against what the file really holds (for a ``.gz``, against the uncompressed size
its trailer records) and against a cap before the array is allocated, and the values are read
straight into it: a 60,000-image file costs its own size in memory, once.
"""
from __future__ import annotations

import gzip
import math
import os
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

from .dataset import DataError
from .files import check_regular_file, open_regular_file

# type code -> (big-endian dtype, what it is called in the IDX description)
IDX_TYPES = {
    0x08: (np.dtype(">u1"), "unsigned byte"),
    0x09: (np.dtype(">i1"), "signed byte"),
    0x0B: (np.dtype(">i2"), "short"),
    0x0C: (np.dtype(">i4"), "int"),
    0x0D: (np.dtype(">f4"), "float"),
    0x0E: (np.dtype(">f8"), "double"),
}
MAX_DIMS = 8
# 1 GiB of values: EMNIST by-class, the largest of the family, is 0.6 GiB of images.
MAX_IDX_BYTES = 1024 ** 3
_GZIP_MAGIC = b"\x1f\x8b"


def _size_text(size: int) -> str:
    for unit, scale in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def _read_exactly(stream, count: int, where: str, what: str) -> bytes:
    data = stream.read(count)
    if len(data) != count:
        raise DataError(f"{where}: the file ends inside the {what} ({len(data)} of {count} bytes); "
                        "it is damaged or was cut short")
    return data


def _parse_header(stream, where: str) -> tuple[np.dtype, tuple, int]:
    """(dtype, shape, header length) of the IDX data at the start of ``stream``."""
    magic = _read_exactly(stream, 4, where, "IDX header")
    if magic[:2] != b"\0\0":
        raise DataError(f"{where}: not an IDX file (it starts with {magic.hex(' ')}, an IDX file "
                        "with 00 00); choose an MNIST-style file such as train-images-idx3-ubyte.gz")
    code, ndim = magic[2], magic[3]
    if code not in IDX_TYPES:
        known = ", ".join(f"0x{c:02X} ({name})" for c, (_, name) in IDX_TYPES.items())
        raise DataError(f"{where}: unknown IDX value type 0x{code:02X}; the format defines {known}")
    if not 1 <= ndim <= MAX_DIMS:
        raise DataError(f"{where}: the IDX header declares {ndim} dimensions; expected 1 to {MAX_DIMS}")
    shape = struct.unpack(f">{ndim}I", _read_exactly(stream, 4 * ndim, where, "IDX dimensions"))
    return IDX_TYPES[code][0], tuple(int(d) for d in shape), 4 + 4 * ndim


def _gzip_size(stream, where: str) -> int:
    """The uncompressed size a gzip file records in its last four bytes (modulo 2^32)."""
    try:
        stream.seek(-4, os.SEEK_END)
        size = struct.unpack("<I", _read_exactly(stream, 4, where, "gzip trailer"))[0]
        stream.seek(0)
    except OSError as error:
        raise DataError(f"{where}: cannot read the gzip trailer ({error.strerror or error})") from None
    return size


def _declared_bytes(dtype: np.dtype, shape: tuple, where: str, max_bytes: int) -> int:
    size = math.prod(shape) * dtype.itemsize
    if size > max_bytes:
        raise DataError(f"{where}: the IDX header declares {' x '.join(map(str, shape))} values "
                        f"({_size_text(size)}), more than the {_size_text(max_bytes)} Layerforge reads "
                        "from one IDX file")
    return size


def read_idx(path, *, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """The array in an IDX file (``.gz`` or raw), in native byte order (uint8 stays uint8).

    Raises DataError naming the file when it is not IDX, declares more values than it holds (or
    than ``max_bytes``), or holds more bytes than its header declares.
    """
    path = Path(path)
    where = str(path)
    file_size = check_regular_file(path, what="IDX file")
    with open_regular_file(path, what="IDX file") as raw:
        try:
            compressed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
        except OSError as error:
            raise DataError(f"{where}: cannot read ({error.strerror or error})") from None
        if compressed:
            available = _gzip_size(raw, where) if file_size >= 18 else 0
            stream = gzip.GzipFile(fileobj=raw, mode="rb")
        else:
            available, stream = file_size, raw
        try:
            return _read_body(stream, where, available, max_bytes, compressed)
        except (OSError, EOFError, zlib.error) as error:
            if isinstance(error, DataError):
                raise
            raise DataError(f"{where}: the gzip data is damaged ({error})") from None


def _read_body(stream, where: str, available: int, max_bytes: int, compressed: bool) -> np.ndarray:
    dtype, shape, header = _parse_header(stream, where)
    size = _declared_bytes(dtype, shape, where, max_bytes)
    held = available - header
    # gzip records the size modulo 2^32; below 4 GiB (and max_bytes is 1 GiB) it is exact.
    if size > held:
        what = "uncompressed data" if compressed else "data"
        raise DataError(f"{where}: the IDX header declares {' x '.join(map(str, shape))} values "
                        f"({_size_text(size)}) but the file holds {_size_text(max(held, 0))} of {what}; "
                        "it is damaged or was cut short")
    if size < held:
        raise DataError(f"{where}: {held - size} bytes follow the {' x '.join(map(str, shape))} values "
                        "the IDX header declares; the file is not one IDX array")
    values = np.empty(shape, dtype=dtype.newbyteorder("="))
    view = memoryview(values.reshape(-1).view(np.uint8))
    done = 0
    while done < size:
        count = stream.readinto(view[done:])
        if not count:
            raise DataError(f"{where}: the file ends after {done} of the {size} bytes of values its "
                            "IDX header declares; it is damaged or was cut short")
        done += count
    if stream.read(1):
        raise DataError(f"{where}: more data follows the values the IDX header declares")
    if dtype.itemsize > 1 and sys.byteorder == "little":
        values.byteswap(inplace=True)   # big-endian bytes were read into a native-order array
    return values


def write_idx(array: np.ndarray) -> bytes:
    """The IDX bytes of ``array`` (uint8, int8, int16, int32, float32 or float64)."""
    array = np.asarray(array)
    for code, (dtype, _) in IDX_TYPES.items():
        if array.dtype.newbyteorder(">") == dtype or array.dtype == dtype:
            header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
            return header + np.ascontiguousarray(array, dtype=dtype).tobytes()
    raise DataError(f"IDX cannot hold values of dtype {array.dtype}")


def read_idx_dataset(path, targets_path=None):
    """A dataset from an IDX images file and (optionally) an IDX labels file, MNIST style.

    uint8 images (N, H, W) become (N, 1, H, W) floats in [0, 1]; (N, C, H, W) is kept as it is.
    Integer labels make a classification dataset, float ones regression; without labels the images
    are their own targets (an autoencoder's data).
    """
    from .dataset import ArrayDataset   # the value type; imported here to keep the parser light
    from .remote_datasets import to_float_images

    path = Path(path)
    images = read_idx(path)
    if images.ndim == 3:
        images = images[:, None]
    if images.dtype == np.uint8:
        x = to_float_images(images)
    else:
        x = images.astype(np.float32)
    del images
    name = path.name.split(".")[0] or "idx"
    if targets_path is None:
        return ArrayDataset(name=name, task="regression", x=x, y=x.reshape(len(x), -1), source=str(path),
                            notes=["no labels file: each image is its own target"])
    labels = read_idx(targets_path)
    if labels.ndim != 1 or len(labels) != len(x):
        raise DataError(f"{targets_path}: expected one label per image ({len(x)}), got shape {labels.shape}")
    task = "classification" if labels.dtype.kind in "iu" else "regression"
    return ArrayDataset(name=name, task=task, x=x, y=labels, source=f"{path} + {Path(targets_path).name}",
                        description=f"IDX images {path.name} with labels {Path(targets_path).name}.")
