"""Reading the files ``torch.save`` writes, without running them: state dicts, optimizer state dicts
and checkpoint dicts of tensors, numbers, strings, lists, tuples and dicts.

Two containers hold them. The zip format (PyTorch 1.6 and later): ``<archive>/data.pkl`` is the
pickled object, whose tensors name their storages by persistent id (``('storage', torch.FloatStorage,
'0', 'cpu', 6)``), each storage's bytes in ``<archive>/data/<key>``, plus ``byteorder`` and
``version``. The legacy format (``_use_new_zipfile_serialization=False``): five pickles in a row (a
magic number, the protocol 1001, a system description, the object, the list of storage keys), then
each storage as its element count (8 bytes) and its bytes.

The pickles go through ``torch_pickle``'s reader, which runs no code. Every storage a tensor names is
checked before a byte of it is allocated: its dtype, that the archive holds exactly the bytes its
element count claims, and that all of them together stay under a cap (this machine's memory). Each
tensor's offset and strides are checked to stay inside its storage. Tensors that shared a storage
in PyTorch (a view, a transposed weight, tied weights) share one array here too, except bfloat16
ones, which the engine holds as float32 (exactly: bfloat16 is the top half of a float32).
"""
from __future__ import annotations

import zipfile

import numpy as np

from . import backend
from .tensor import Tensor
from .torch_pickle import (MAX_PICKLE_BYTES, TORCH_DTYPES, CheckpointError, Global, PickleRefused, StorageRef,
                           TensorRef, _NumpyDtype, read_pickle)

__all__ = ["CheckpointError", "torch_zip_root", "read_torch_zip", "read_torch_legacy", "looks_like_tar"]

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
NEWEST_ZIP_VERSION = 3      # the "version" record PyTorch 2.x writes; the storage layout is the same since 1
_ITEMSIZE = {"bfloat16": 2, "complex64": 8, "complex128": 16, "cfloat": 8, "cdouble": 16, "complex32": 4,
             "uint16": 2, "uint32": 4, "uint64": 8, "float8_e4m3fn": 1, "float8_e5m2": 1, "qint8": 1,
             "quint8": 1, "qint32": 4}


def looks_like_tar(head: bytes) -> bool:
    """PyTorch before 0.4 wrote tar archives (``ustar`` at byte 257)."""
    return head[257:262] == b"ustar"


def torch_zip_root(names: list[str]) -> str | None:
    """The archive folder of a PyTorch zip checkpoint (``'model/'``), or None when ``names`` are not
    one (an .npz, say)."""
    roots = [name[:-len("data.pkl")] for name in names
             if name.endswith("/data.pkl") and name.count("/") == 1 or name == "data.pkl"]
    if len(roots) > 1:
        raise CheckpointError(f"the archive holds {len(roots)} data.pkl records ({', '.join(roots)}); a PyTorch "
                              "checkpoint has one")
    return roots[0] if roots else None


def _itemsize(dtype: str) -> int:
    found = TORCH_DTYPES.get(dtype)
    if found is None or found == "bfloat16":
        return _ITEMSIZE.get(dtype, 1)
    return np.dtype(found).itemsize


class _Storages:
    """The storages a checkpoint's pickle names: each claim checked when it is made, the bytes read
    once per key (``fetch``) and shared by every tensor over it."""

    def __init__(self, path: str, cap: int, little_endian: bool):
        self.path, self.cap, self.little_endian = path, cap, little_endian
        self.claims: dict[str, StorageRef] = {}       # key -> the first claim (dtype, numel)
        self.refs: dict[tuple, StorageRef] = {}
        self.raw: dict[str, bytearray] = {}
        self.arrays: dict[tuple, np.ndarray] = {}
        self.total = 0

    def claim(self, pid, where: str, available=None) -> StorageRef:
        """A persistent id -> its StorageRef. ``available(key)``: how many bytes the file holds for it
        (None: unknown yet, as in the legacy format, checked when the bytes come)."""
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise PickleRefused(f"{where} names a persistent object {str(pid)[:60]!r} that is not a storage; "
                                "Layerforge loads only weights")
        storage_type, key, location, numel = pid[1:5]
        if not isinstance(storage_type, Global) or storage_type.kind not in ("storage_type", "dtype"):
            raise PickleRefused(f"{where}: storage {key!r} has a type that is not a torch storage type")
        if not isinstance(key, str) or not key or "/" in key or ".." in key or len(key) > 200:
            raise PickleRefused(f"{where}: a storage key {str(key)[:60]!r} is not a plain name")
        if type(numel) is not int or numel < 0:
            raise PickleRefused(f"{where}: storage '{key}' claims {numel!r} elements")
        if len(pid) > 5 and pid[5] is not None:
            raise PickleRefused(f"{where}: storage '{key}' is a view of another storage (PyTorch before 1.6 wrote "
                                "these); save the checkpoint again with a newer PyTorch")
        dtype = storage_type.value
        nbytes = numel * _itemsize(dtype)
        ref = self.refs.get((key, dtype))
        if ref is not None:
            return ref
        first = self.claims.get(key)
        if first is None:
            if available is not None:
                held = available(key)
                if held is None:
                    raise CheckpointError(f"'{self.path}': storage '{key}' is named in data.pkl but the archive "
                                          f"has no data/{key}; the file is incomplete")
                if held != nbytes:
                    raise CheckpointError(f"'{self.path}': storage '{key}' claims {numel:,} {dtype} elements "
                                          f"({nbytes:,} bytes) but data/{key} holds {held:,} bytes; the file "
                                          "is corrupted or was altered")
            if self.total + nbytes > self.cap:
                raise CheckpointError(f"'{self.path}': storage '{key}' claims {nbytes:,} bytes, which with the "
                                      f"others ({self.total:,}) is more than this machine can load "
                                      f"({self.cap:,} bytes)")
            self.total += nbytes
            self.claims[key] = StorageRef(key, dtype, numel, str(location))
        elif nbytes != first.numel * _itemsize(first.dtype):
            raise CheckpointError(f"'{self.path}': storage '{key}' is named twice with different sizes")
        ref = StorageRef(key, dtype, numel, str(location))
        self.refs[(key, dtype)] = ref
        return ref

    def array(self, ref: StorageRef, where: str) -> np.ndarray:
        """The storage as a 1-d numpy array the engine can hold (bfloat16 widened to float32)."""
        found = self.arrays.get((ref.key, ref.dtype))
        if found is not None:
            return found
        target = TORCH_DTYPES.get(ref.dtype)
        if target is None:
            raise CheckpointError(f"'{self.path}': {where} has dtype torch.{ref.dtype}, which Layerforge's engine "
                                  "does not have (it has float16/32/64, bfloat16 as float32, int8-64, uint8 "
                                  "and bool); convert it in PyTorch before saving")
        raw = self.raw.get(ref.key)
        if raw is None:
            raise CheckpointError(f"'{self.path}': the bytes of storage '{ref.key}' are missing; the file is "
                                  "incomplete")
        order = "<" if self.little_endian else ">"
        if target == "bfloat16":
            halves = np.frombuffer(raw, dtype=np.dtype("u2").newbyteorder(order), count=ref.numel)
            array = (halves.astype(np.uint32) << 16).view(np.float32)
        else:
            dtype = np.dtype(target)
            array = np.frombuffer(raw, dtype=dtype.newbyteorder(order) if dtype.itemsize > 1 else dtype,
                                  count=ref.numel)
            if not self.little_endian and dtype.itemsize > 1:
                array = array.astype(dtype)   # to this machine's order (a copy)
        self.arrays[(ref.key, ref.dtype)] = array
        return array


# ---------------------------------------------------------------------------------------- zip
def read_torch_zip(archive: zipfile.ZipFile, root: str, path: str, cap: int, dev):
    """The object of a PyTorch zip checkpoint whose records are under ``root``."""
    members = {info.filename: info for info in archive.infolist()}
    pickle_info = members[root + "data.pkl"]
    if pickle_info.file_size > MAX_PICKLE_BYTES:
        raise CheckpointError(f"'{path}': its data.pkl is {pickle_info.file_size:,} bytes, far more than a "
                              "state dict's; it is not a weights checkpoint")
    byteorder = _small_text(archive, members.get(root + "byteorder"), path) or "little"
    if byteorder not in ("little", "big"):
        raise CheckpointError(f"'{path}': its byteorder record says {byteorder[:20]!r}, not little or big")
    version = _small_text(archive, members.get(root + "version"), path)
    if version and (not version.isdigit() or int(version) > NEWEST_ZIP_VERSION):
        raise CheckpointError(f"'{path}' was written in PyTorch's checkpoint format {version[:10]}, newer than "
                              f"the {NEWEST_ZIP_VERSION} Layerforge reads")
    storages = _Storages(path, cap, byteorder == "little")

    def available(key):
        info = members.get(f"{root}data/{key}")
        if info is None:
            return None
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise CheckpointError(f"'{path}': the archive's record of data/{key} contradicts itself; the file "
                                  "is corrupted")
        return info.file_size

    data = _read_member(archive, pickle_info, path)
    where = f"'{path}' (data.pkl)"
    obj, _ = read_pickle(data, lambda pid: storages.claim(pid, where, available), where)
    for key in storages.claims:
        info = members[f"{root}data/{key}"]
        storages.raw[key] = _read_member(archive, info, path)
    return _realise(obj, storages, dev)


def _small_text(archive, info, path) -> str:
    if info is None:
        return ""
    if info.file_size > 64:
        raise CheckpointError(f"'{path}': its {info.filename} record is {info.file_size} bytes; it should be a word")
    return _read_member(archive, info, path).decode("ascii", "replace").strip()


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str) -> bytearray:
    """A record's bytes, into a buffer of the size its header claims (already checked against the
    caps); a record that holds fewer bytes, or fails its CRC, is a truncated or corrupted file."""
    buffer = bytearray(info.file_size)
    try:
        with archive.open(info) as handle:
            view = memoryview(buffer)
            filled = 0
            while filled < len(buffer):
                got = handle.readinto(view[filled:])
                if not got:
                    break
                filled += got
            if filled != len(buffer) or handle.read(1):
                raise CheckpointError(f"'{path}': {info.filename} holds {filled:,} bytes, not the {info.file_size:,} "
                                      "its record says; the file is truncated or corrupted")
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        if isinstance(error, CheckpointError):
            raise
        raise CheckpointError(f"'{path}': {info.filename} cannot be read ({error}); the file is truncated or "
                              "corrupted") from None
    return buffer


# ------------------------------------------------------------------------------------- legacy
def read_torch_legacy(data: bytes, path: str, cap: int, dev):
    """The object of a checkpoint in PyTorch's legacy (non-zip) format, all of whose bytes are ``data``."""
    where = f"'{path}'"

    def no_storage(pid):
        raise PickleRefused(f"{where}: its header names a persistent object; it is not a PyTorch checkpoint")

    magic, offset = read_pickle(data, no_storage, where)
    if magic != LEGACY_MAGIC:
        raise CheckpointError(f"{where} is a pickle file but not a PyTorch checkpoint (it does not begin with "
                              "PyTorch's magic number); Layerforge loads only PyTorch checkpoints")
    protocol, offset = read_pickle(data, no_storage, where, offset)
    if protocol != LEGACY_PROTOCOL:
        raise CheckpointError(f"{where}: PyTorch's legacy protocol {protocol!r} is not the {LEGACY_PROTOCOL} "
                              "Layerforge reads")
    info, offset = read_pickle(data, no_storage, where, offset)
    little = bool(info.get("little_endian", True)) if isinstance(info, dict) else True
    storages = _Storages(path, cap, little)
    obj, offset = read_pickle(data, lambda pid: storages.claim(pid, where + " (the object)"), where, offset)
    keys, offset = read_pickle(data, no_storage, where, offset)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise CheckpointError(f"{where}: the list of storage keys is not a list of names; the file is corrupted")
    for key in keys:
        claim = storages.claims.get(key)
        if claim is None:
            raise CheckpointError(f"{where}: storage '{key}' has bytes but no tensor names it; the file is corrupted")
        if offset + 8 > len(data):
            raise CheckpointError(f"{where} ends before storage '{key}': the file is truncated")
        numel = int.from_bytes(data[offset:offset + 8], "little" if little else "big")
        offset += 8
        nbytes = numel * _itemsize(claim.dtype)
        if numel != claim.numel:
            raise CheckpointError(f"{where}: storage '{key}' holds {numel:,} elements but its tensors claim "
                                  f"{claim.numel:,}; the file is corrupted")
        if offset + nbytes > len(data):
            raise CheckpointError(f"{where}: storage '{key}' needs {nbytes:,} bytes but only "
                                  f"{len(data) - offset:,} remain; the file is truncated")
        storages.raw[key] = bytearray(memoryview(data)[offset:offset + nbytes])   # one copy, writable
        offset += nbytes
    missing = [key for key in storages.claims if key not in storages.raw]
    if missing:
        raise CheckpointError(f"{where}: the bytes of storage(s) {', '.join(missing[:5])} are missing; the file "
                              "is truncated")
    return _realise(obj, storages, dev)


# ----------------------------------------------------------------------------------- tensors
def _realise(obj, storages: _Storages, dev):
    """Replace every TensorRef by an engine Tensor (one per TensorRef, so a tensor saved twice stays one)."""
    made: dict[int, object] = {}
    try:
        return _walk(obj, "", storages, dev, made)
    except RecursionError:
        raise CheckpointError(f"'{storages.path}': the checkpoint nests its data too deeply to read") from None


def _walk(value, where: str, storages, dev, made):
    if isinstance(value, (str, bytes, int, float, complex, type(None), bytearray, slice)):
        return value
    known = made.get(id(value))
    if known is not None:
        return known
    if isinstance(value, TensorRef):
        result = _tensor(value, where or "<root>", storages, dev)
    elif isinstance(value, dict):   # in place: the machine built it, and a dict may hold itself
        made[id(value)] = value
        for key in list(value):
            value[key] = _walk(value[key], f"{where}.{key}" if where else str(key), storages, dev, made)
        return value
    elif isinstance(value, list):
        made[id(value)] = value
        for i, item in enumerate(value):
            value[i] = _walk(item, f"{where}.{i}" if where else str(i), storages, dev, made)
        return value
    elif isinstance(value, tuple):
        result = tuple(_walk(item, f"{where}.{i}" if where else str(i), storages, dev, made)
                       for i, item in enumerate(value))
    elif isinstance(value, (set, frozenset)):
        return value   # only hashable plain values can be in one
    elif isinstance(value, _NumpyDtype):
        result = np.dtype(value.code)
    elif isinstance(value, Global) and value.kind == "dtype":
        result = _engine_dtype(value.name)
    elif isinstance(value, Global):
        raise CheckpointError(f"'{storages.path}': '{where or '<root>'}' is {value.qualname} itself, not data")
    elif isinstance(value, StorageRef):
        raise CheckpointError(f"'{storages.path}': '{where or '<root>'}' is a bare storage; Layerforge loads "
                              "tensors, save the tensor instead")
    else:
        raise CheckpointError(f"'{storages.path}': '{where or '<root>'}' holds a {type(value).__name__}")
    made[id(value)] = result
    return result


def _engine_dtype(name: str):
    from .dtypes import to_dtype   # noqa: PLC0415  (dtypes is light; imported where the rare case is)

    try:
        return to_dtype(name)
    except (TypeError, ValueError, KeyError):
        return f"torch.{name}"


def _tensor(ref: TensorRef, where: str, storages: _Storages, dev) -> Tensor:
    storage = ref.storage
    flat = storages.array(storage, f"tensor '{where}'")
    count = int(np.prod(ref.shape, dtype=np.int64)) if ref.shape else 1
    if count == 0:
        if ref.offset > storage.numel:
            raise CheckpointError(f"'{storages.path}': tensor '{where}' starts at element {ref.offset:,} of storage "
                                  f"'{storage.key}', which holds {storage.numel:,}; the file is corrupted")
        array = np.zeros(ref.shape, dtype=flat.dtype)
    else:
        last = ref.offset + sum((n - 1) * s for n, s in zip(ref.shape, ref.stride))
        if last >= storage.numel:
            raise CheckpointError(f"'{storages.path}': tensor '{where}' (offset {ref.offset}, size {list(ref.shape)}, "
                                  f"stride {list(ref.stride)}) reaches element {last:,} of storage '{storage.key}', "
                                  f"which holds only {storage.numel:,}; the file is corrupted or was altered")
        item = flat.itemsize
        array = np.lib.stride_tricks.as_strided(flat[ref.offset:], shape=ref.shape,
                                                strides=tuple(s * item for s in ref.stride))
    array = backend.to_device_array(array, dev)
    if ref.parameter:
        from .nn.parameter import Parameter   # noqa: PLC0415  (nn imports this package)

        return Parameter(Tensor._wrap(array), requires_grad=ref.requires_grad and array.dtype.kind == "f")
    tensor = Tensor._wrap(array)
    if ref.requires_grad and array.dtype.kind == "f":
        tensor.requires_grad = True
    return tensor

