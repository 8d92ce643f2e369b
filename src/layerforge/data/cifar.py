"""Reading CIFAR-10 from the archives its authors publish, without extracting them.

Two archives hold the same 60,000 32x32 colour images:

- ``cifar-10-binary.tar.gz``: ``data_batch_1.bin`` .. ``data_batch_5.bin`` and ``test_batch.bin``,
  each a run of 3073-byte records (one label byte, then 1024 red, 1024 green, 1024 blue bytes),
  and ``batches.meta.txt`` with the class names, one per line. Plain bytes.
- ``cifar-10-python.tar.gz``: the same batches as Python pickles of a dict (``data``: a uint8 array
  (10000, 3072), ``labels``: a list of ints) and ``batches.meta`` (``label_names``). These are read
  with :mod:`.safe_pickle`, which never runs a pickle.

Only the members named above are read, each checked for its type and size before a byte of it is
held; nothing is written to disk.
"""
from __future__ import annotations

import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .dataset import DataError
from .files import check_regular_file, open_regular_file
from .safe_pickle import read_plain_pickle

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                   "truck")
IMAGE_SHAPE = (3, 32, 32)
RECORD_BYTES = 1 + 3 * 32 * 32
MAX_ARCHIVE_BYTES = 512 * 1024 ** 2     # the archives are 163 MiB
MAX_BATCH_RECORDS = 100_000             # the published batches hold 10,000 each
_BINARY_BATCH = re.compile(r"(?:^|/)(data_batch_[1-5]|test_batch)\.bin$")
_PYTHON_BATCH = re.compile(r"(?:^|/)(data_batch_[1-5]|test_batch)$")


@dataclass
class ImageSplits:
    """Official train and test parts of an image dataset, uint8 (N, C, H, W), labels int64."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    class_names: tuple


def _batches(archive: tarfile.TarFile, pattern, where: str) -> dict:
    """{batch name: member} for the members matching ``pattern``, regular files only."""
    found = {}
    for member in archive.getmembers():
        match = pattern.search(member.name)
        if match is None:
            continue
        if not member.isreg():
            raise DataError(f"{where}: {member.name} is not a regular file inside the archive")
        found[match.group(1)] = member
    wanted = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    missing = [name for name in wanted if name not in found]
    if missing:
        raise DataError(f"{where}: the archive lacks {', '.join(missing)}; is it a CIFAR-10 archive "
                        "(cifar-10-binary.tar.gz or cifar-10-python.tar.gz)?")
    return found


def _read_member(archive: tarfile.TarFile, member: tarfile.TarInfo, where: str, limit: int) -> bytes:
    if member.size > limit:
        raise DataError(f"{where}: {member.name} is {member.size:,} bytes, more than a CIFAR batch "
                        f"({limit:,} at most)")
    stream = archive.extractfile(member)
    data = stream.read(member.size) if stream is not None else b""
    if len(data) != member.size:
        raise DataError(f"{where}: {member.name} ends early; the archive is damaged or was cut short")
    return data


def _binary_batch(data: bytes, name: str, where: str):
    if len(data) % RECORD_BYTES or not data:
        raise DataError(f"{where}: {name} holds {len(data):,} bytes, not a whole number of "
                        f"{RECORD_BYTES}-byte CIFAR records")
    records = np.frombuffer(data, np.uint8).reshape(-1, RECORD_BYTES)
    return records[:, 1:].reshape((-1,) + IMAGE_SHAPE), records[:, 0].astype(np.int64)


def _python_batch(data: bytes, name: str, where: str):
    value = read_plain_pickle(data, f"{where}: {name}")
    if not isinstance(value, dict):
        raise DataError(f"{where}: {name} does not hold a dict of data and labels")
    value = {k.decode("latin-1") if isinstance(k, bytes) else k: v for k, v in value.items()}
    images, labels = value.get("data"), value.get("labels")
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 2 \
            or images.shape[1] != RECORD_BYTES - 1:
        raise DataError(f"{where}: {name}: 'data' must be a uint8 array of shape (N, 3072)")
    if not isinstance(labels, list) or len(labels) != images.shape[0] \
            or not all(isinstance(v, int) for v in labels):
        raise DataError(f"{where}: {name}: 'labels' must be a list of {images.shape[0]} whole numbers")
    return images.reshape((-1,) + IMAGE_SHAPE), np.asarray(labels, dtype=np.int64)


def _class_names(archive, members: dict, where: str, python: bool) -> tuple:
    meta = members.get("meta")
    if meta is None:
        return CIFAR10_CLASSES
    data = _read_member(archive, meta, where, 1 << 16)
    if python:
        value = read_plain_pickle(data, f"{where}: {meta.name}")
        names = value.get(b"label_names", value.get("label_names")) if isinstance(value, dict) else None
        names = [n.decode("latin-1") if isinstance(n, bytes) else n for n in names or []]
    else:
        names = [line.strip() for line in data.decode("latin-1").splitlines() if line.strip()]
    if len(names) != 10 or not all(isinstance(n, str) and 0 < len(n) <= 64 for n in names):
        return CIFAR10_CLASSES
    return tuple(names)


def read_cifar10_archive(path) -> ImageSplits:
    """Train (50,000) and test (10,000) images of a CIFAR-10 binary or python ``.tar.gz``."""
    path = Path(path)
    where = str(path)
    check_regular_file(path, what="CIFAR-10 archive", max_bytes=MAX_ARCHIVE_BYTES)
    with open_regular_file(path, what="CIFAR-10 archive") as stream:
        try:
            with tarfile.open(fileobj=stream, mode="r:*") as archive:
                members = archive.getmembers()
                python = not any(_BINARY_BATCH.search(m.name) for m in members)
                batches = _batches(archive, _PYTHON_BATCH if python else _BINARY_BATCH, where)
                meta_name = re.compile(r"(?:^|/)batches\.meta$" if python else r"(?:^|/)batches\.meta\.txt$")
                meta = [m for m in members if meta_name.search(m.name) and m.isreg()]
                if meta:
                    batches["meta"] = meta[0]
                parts = {}
                limit = MAX_BATCH_RECORDS * RECORD_BYTES + (1 << 20)
                for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
                    data = _read_member(archive, batches[name], where, limit)
                    parts[name] = (_python_batch if python else _binary_batch)(data, name, where)
                names = _class_names(archive, batches, where, python)
        except (tarfile.TarError, EOFError, OSError) as error:
            if isinstance(error, DataError):
                raise
            raise DataError(f"{where}: not a readable .tar.gz archive ({error})") from None
    train = [parts[f"data_batch_{i}"] for i in range(1, 6)]
    splits = ImageSplits(np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]),
                         parts["test_batch"][0].copy(), parts["test_batch"][1], names)
    for labels in (splits.train_y, splits.test_y):
        if labels.size and (labels.min() < 0 or labels.max() >= len(names)):
            raise DataError(f"{where}: a label lies outside 0..{len(names) - 1}")
    return splits
