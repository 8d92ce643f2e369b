"""``save`` / ``load`` as ``torch.save`` / ``torch.load`` are used, never with pickle.

What is saved is a tree of dicts, lists and tuples whose leaves are tensors, numpy arrays, numbers,
strings, bools or None: a state dict, an optimizer's state dict, a checkpoint dict of all of these.
The container is safetensors whatever the file is called (``model.pth``, ``checkpoint.pt``), or npz
for a name ending in ``.npz``; a file object works too. The tensors are written flat under dotted keys
(``'state.0.exp_avg'``), exactly the keys PyTorch tools expect, so a model's weights load with
``safetensors.torch.load_file``. The tree itself (which dict keys are integers, what is a tuple, which
arrays were numpy arrays, the non-tensor leaves, each tensor's shape and dtype) is stored beside them as
JSON: in the safetensors metadata, or as a string array in the npz. ``load`` tells the formats apart by
their first bytes, not by the name.

``load`` also reads what ``torch.save`` writes (the zip format and the legacy one), through
``torch_checkpoint``: a reader that interprets the pickle itself and accepts only what a weights-only
checkpoint holds, refusing anything else by name. No pickle is ever given to Python's unpickler.

Files are written to a temporary name in the target folder and renamed into place, so a failed write
never leaves a half-written file where a good one was.
"""
from __future__ import annotations

import io
import json
import os
import stat
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from . import backend
from .tensor import Tensor
from .torch_checkpoint import (CheckpointError, looks_like_tar, read_torch_legacy, read_torch_zip,
                               torch_zip_root)
from .torch_pickle import PickleRefused

__all__ = ["save", "load", "SerializationError"]

STRUCTURE_KEY = "layerforge.structure"
FORMAT_VERSION = 1
_NPZ_STRUCTURE = "__layerforge_structure__"

def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()  # read once: os.umask can only be read by setting it
_SAFETENSORS_DTYPES = {np.dtype(t) for t in (np.bool_, np.uint8, np.int8, np.int16, np.int32, np.int64,
                                             np.float16, np.float32, np.float64)}


class SerializationError(ValueError):
    """A file could not be written or read as a state dict; the message names the file and why."""


# ----------------------------------------------------------------------------------------- save
def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True) -> None:
    """Write ``obj`` to ``f`` (a path of any name, or a binary file object): safetensors plus the JSON
    structure, or npz where the name ends in .npz. torch.save's pickle options are accepted and have
    nothing to do: no pickle is written."""
    if hasattr(f, "write"):
        name = Path(str(getattr(f, "name", "<file object>")))
        arrays: dict[str, np.ndarray] = {}
        header = _header(obj, arrays, name)
        try:
            _write_safetensors(f, arrays, header)
        except Exception as exc:  # noqa: BLE001  (the writer's own error types)
            raise SerializationError(f"cannot save to {name}: {_writer_failure(exc)}") from exc
        return
    path = Path(os.fspath(f))
    arrays = {}
    header = _header(obj, arrays, path)
    write = _write_npz if path.suffix.lower() == ".npz" else _write_safetensors
    try:
        _atomic_write(path, lambda handle: write(handle, arrays, header))
    except (OSError, SerializationError):
        raise
    except Exception as exc:  # the writer's own error types (safetensors raises SafetensorError)
        raise SerializationError(f"cannot save to '{path}': {_writer_failure(exc)}") from exc


def _header(obj, arrays: dict, path: Path) -> str:
    structure = _encode(obj, "", arrays, path)
    return json.dumps({"version": FORMAT_VERSION, "tree": structure}, allow_nan=True)


def _encode(value, key: str, arrays: dict, path: Path):
    if isinstance(value, Tensor):
        return _encode_array(backend.to_host(value._data), key, arrays, path)
    if isinstance(value, np.ndarray):  # comes back as a numpy array, not a tensor
        return {**_encode_array(value, key, arrays, path), "numpy": True}
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"v": value}
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise SerializationError(f"cannot save to '{path}': dict key {k!r} at '{key or '<root>'}' "
                                         "is not a string or an integer")
            items.append([k, _encode(v, _join(key, k), arrays, path)])
        return {"d": items}
    if isinstance(value, (list, tuple)):
        children = [_encode(v, _join(key, i), arrays, path) for i, v in enumerate(value)]
        return {"t" if isinstance(value, tuple) else "l": children}
    raise SerializationError(f"cannot save to '{path}': the value at '{key or '<root>'}' is a "
                             f"{type(value).__name__}; state dicts hold tensors, numbers, strings, bools, "
                             "None, and dicts/lists/tuples of them")


def _join(prefix: str, key) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def _encode_array(array: np.ndarray, key: str, arrays: dict, path: Path):
    if not key:
        key = "tensor"  # a bare tensor saved on its own
    if key in arrays:
        raise SerializationError(f"cannot save to '{path}': two entries flatten to the same key '{key}' "
                                 "(a dotted dict key collides with a nested one); rename one of them")
    if array.dtype not in _SAFETENSORS_DTYPES:
        raise SerializationError(f"cannot save to '{path}': tensor '{key}' has dtype {array.dtype}, "
                                 "which the file formats do not store")
    arrays[key] = array if array.flags.c_contiguous else array.copy(order="C")  # keeps 0-d shapes
    return {"a": key, "shape": list(array.shape), "dtype": str(array.dtype)}


def _write_safetensors(handle, arrays: dict, header: str) -> None:
    # save() to bytes, then our own write: save_file() would stage the data in a ".tmpXXXXXX" file of
    # its own, which a crash leaves behind under a name nobody can attribute to this file.
    handle.write(_safetensors_numpy().save(arrays, metadata={"format": "pt", STRUCTURE_KEY: header}))


def _write_npz(handle, arrays: dict, header: str) -> None:
    if _NPZ_STRUCTURE in arrays:
        raise SerializationError(f"the key '{_NPZ_STRUCTURE}' is reserved in .npz files")
    np.savez(handle, **arrays, **{_NPZ_STRUCTURE: np.array(header)})


def _writer_failure(exc: Exception) -> str:
    text = str(exc)
    if "No space left" in text or "StorageFull" in text or "os error 28" in text:
        return f"the disk is full ({text}); free some space and save again"
    return f"{type(exc).__name__}: {text}"


def _atomic_write(path: Path, write) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot save to '{path}': the folder '{folder}' does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private (0600); give it the mode a plain open() would have.
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_UMASK
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        _discard(tmp)
        raise


def _discard(path) -> None:
    """Remove a temporary file; never raises (it runs inside error handlers)."""
    try:
        os.unlink(path)
    except OSError:
        pass


def _safetensors_numpy():
    try:
        import safetensors.numpy as st_numpy  # noqa: PLC0415  (optional dependency, loaded on use)
    except ImportError as exc:
        raise SerializationError("reading or writing .safetensors files needs the 'safetensors' package "
                                 "(pip install safetensors); or use a .npz file instead") from exc
    return st_numpy


# ----------------------------------------------------------------------------------------- load
def load(f, map_location=None, weights_only: bool = True, mmap=None, **pickle_load_args):
    """Read what ``save`` wrote, any safetensors/npz file of plain arrays, or a PyTorch checkpoint
    written by ``torch.save`` (state dicts, optimizer state dicts, checkpoint dicts), from a path or a
    binary file object; the format is recognised by the file's first bytes, whatever its name.

    Tensors land on the CPU unless ``map_location`` names a device (``"cuda"``, ``"cuda:1"``,
    ``device(...)``). Files without Layerforge's structure come back as a flat ``{key: tensor}`` dict.
    A PyTorch checkpoint is always read as ``weights_only=True`` would: only tensors, numbers, strings,
    and lists/tuples/dicts of them; anything else is refused by name, and nothing in it runs.
    """
    dev = _map_location(map_location)
    if hasattr(f, "read"):
        path = Path(str(getattr(f, "name", "<file object>")))
        data = f.read()
        if _is_pickle(data[:9]):
            return _torch_legacy(data, path, dev)
        if data.startswith(b"PK"):
            torch_result = _torch_zip(io.BytesIO(data), path, dev, len(data))
            if torch_result is not _NOT_TORCH:
                return torch_result
        _refuse_tar(data[:512], path)
        arrays, header = _read_bytes(data, path)
    else:
        path = Path(os.fspath(f))
        _check_regular_file(path)
        # O_NONBLOCK: a FIFO swapped in after the check cannot block the open.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(descriptor, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise SerializationError(f"'{path}' is not a regular file; choose a .safetensors, .npz or "
                                         "PyTorch .pt file")
            head = handle.read(512)
            if _is_pickle(head):
                handle.seek(0)
                return _torch_legacy(handle.read(), path, dev)
            if head.startswith(b"PK"):
                handle.seek(0)
                torch_result = _torch_zip(handle, path, dev, info.st_size)
                if torch_result is not _NOT_TORCH:
                    return torch_result
            _refuse_tar(head, path)
            magic = head[:9]
        if magic.startswith(b"PK"):
            arrays, header = _read_npz(path)
        elif len(magic) >= 8:
            _refuse_unknown(magic, path)
            arrays, header = _read_safetensors(path)
        else:
            raise SerializationError(f"'{path}' is not a .safetensors, .npz or PyTorch file: it is only "
                                     f"{len(magic)} bytes long (truncated?)")
    return _assemble(arrays, header, dev, path)


_NOT_TORCH = object()


def _torch_cap() -> int:
    """The most storage bytes one checkpoint may claim: this machine's memory (64 GiB where unknown)."""
    return _physical_memory() or 64 * 1024 ** 3


def _torch_zip(source, path: Path, dev, size: int):
    """A PyTorch zip checkpoint's object, or _NOT_TORCH for a zip without data.pkl (an .npz)."""
    try:
        with zipfile.ZipFile(source) as archive:
            root = torch_zip_root(archive.namelist())
            if root is None:
                return _NOT_TORCH
            return read_torch_zip(archive, root, str(path), _torch_cap(), dev)
    except zipfile.BadZipFile as exc:
        raise SerializationError(f"'{path}' is not a readable zip archive ({exc}): a PyTorch checkpoint or an "
                                 ".npz file that is truncated or corrupted; save it again") from None
    except (CheckpointError, PickleRefused) as exc:
        raise SerializationError(str(exc)) from None


def _torch_legacy(data: bytes, path: Path, dev):
    try:
        return read_torch_legacy(data, str(path), _torch_cap(), dev)
    except (CheckpointError, PickleRefused) as exc:
        raise SerializationError(str(exc)) from None


def _refuse_tar(head: bytes, path: Path) -> None:
    if looks_like_tar(head):
        raise SerializationError(f"'{path}' is a tar archive: PyTorch before 0.4 wrote checkpoints so, and "
                                 "Layerforge does not read them; load it in PyTorch and save it again")


def _map_location(map_location):
    """A device from what torch.load accepts; a function or a dict (remappings of saved devices)
    mean the CPU here, where everything is saved from the host."""
    if map_location is None or callable(map_location) or isinstance(map_location, dict):
        return backend.CPU
    return backend.as_device(map_location)


def _is_pickle(magic: bytes) -> bool:
    """A pickle stream (PyTorch's legacy, non-zip checkpoint format) opens with PROTO 2-5; a
    safetensors file opens with its header's length and then '{', which tells the two apart."""
    return magic[8:9] != b"{" and magic[:1] == b"\x80" and magic[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")


def _refuse_unknown(magic: bytes, path) -> None:
    """A file that is no zip, no pickle and whose header does not open like safetensors' ('{' after
    the 8-byte length) is none of the formats: say so, rather than quote safetensors' parser."""
    if magic[8:9] != b"{":
        raise SerializationError(f"'{path}' is not a weights file Layerforge reads: it is neither a PyTorch "
                                 "checkpoint (zip or pickle) nor a .safetensors or .npz file (its first bytes "
                                 f"are {magic[:8].hex(' ')})")


def _read_bytes(data: bytes, path: Path):
    if data.startswith(b"PK"):
        return _read_npz(io.BytesIO(data), path)
    if len(data) < 8:
        raise SerializationError(f"{path} is not a safetensors or npz file: it is only {len(data)} bytes long "
                                 "(truncated?)")
    _refuse_unknown(data[:9], path)
    try:
        size = int.from_bytes(data[:8], "little")
        metadata = json.loads(data[8:8 + size]).get("__metadata__") or {}
        arrays = _safetensors_numpy().load(data)
    except SerializationError:
        raise
    except Exception as exc:  # noqa: BLE001  (safetensors' and json's own error types)
        raise SerializationError(f"{path} is not a readable safetensors file: {exc}. It may be truncated or "
                                 "corrupted; save it again") from exc
    return arrays, metadata.get(STRUCTURE_KEY)


def _assemble(arrays: dict, header, dev, path: Path):
    tensors = {k: Tensor._wrap(backend.to_device_array(a, dev)) for k, a in arrays.items()}
    if header is None:
        return tensors
    try:
        structure = json.loads(header)
        tree = structure["tree"]
        version = structure.get("version", 0)
        newer = version > FORMAT_VERSION
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SerializationError(f"'{path}': the stored structure is not valid JSON ({exc}); the file "
                                 "is corrupted") from exc
    except RecursionError:
        raise SerializationError(f"'{path}': the stored structure is nested too deeply to read; the file "
                                 "is corrupted or was not written by Layerforge") from None
    if newer:
        raise SerializationError(f"'{path}' was written by a newer Layerforge (format "
                                 f"{version}); update Layerforge to read it")
    try:
        return _decode(tree, tensors, path)
    except RecursionError:
        raise SerializationError(f"'{path}': the stored structure is nested too deeply to read; the file "
                                 "is corrupted or was not written by Layerforge") from None


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _check_regular_file(path: Path) -> None:
    """Refuse, by os.stat (which never opens the file), what cannot be a weights file: a FIFO would
    block forever, /dev/zero never ends, a folder is not a file, and a file larger than this
    machine's memory cannot be loaded into it."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"no such file: '{path}'") from None
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
        raise SerializationError(f"'{path}' is {kind}, not a .safetensors, .npz or PyTorch .pt file; choose a "
                                 "regular file")
    memory = _physical_memory()
    if memory is not None and info.st_size > memory:
        raise SerializationError(f"'{path}' is {info.st_size / 1024 ** 3:.1f} GiB, more than this machine's "
                                 f"{memory / 1024 ** 3:.1f} GiB of memory; it cannot be loaded here")


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not on every platform (Windows has no sysconf)
        return None


def _read_safetensors(path: Path):
    _safetensors_numpy()
    from safetensors import safe_open  # noqa: PLC0415

    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
            arrays = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except Exception as exc:  # safetensors reports truncation and bad headers with its own error type
        raise SerializationError(f"'{path}' is not a readable safetensors file: {exc}. It may be "
                                 "truncated or corrupted; save it again") from exc
    return arrays, metadata.get(STRUCTURE_KEY)


def _read_npz(source, path: Path | None = None):
    path = source if path is None else path
    try:
        with zipfile.ZipFile(source) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile as exc:
        raise SerializationError(f"'{path}' is not a readable .npz file: {exc}. It may be truncated or "
                                 "corrupted; save it again") from exc
    if any(name.endswith("data.pkl") for name in names):   # not where torch.save puts it
        raise SerializationError(f"'{path}' holds a data.pkl record, but not where a PyTorch checkpoint keeps "
                                 "it (<archive>/data.pkl); it is neither a PyTorch checkpoint nor an .npz file")
    arrays, header = {}, None
    key = None
    try:
        if hasattr(source, "seek"):
            source.seek(0)
        with np.load(source, allow_pickle=False) as npz:
            for key in npz.files:
                if key == _NPZ_STRUCTURE:
                    header = str(npz[key])
                else:
                    arrays[key] = npz[key]
    except Exception as exc:  # bad CRC, truncated member, object arrays (which would need pickle)
        where = f" at key '{key}'" if key is not None else ""
        raise SerializationError(f"'{path}' could not be read{where}: {exc}. The file may be truncated "
                                 "or corrupted; save it again") from exc
    return arrays, header


def _decode(node, tensors: dict, path: Path):
    if not isinstance(node, dict) or len(node) == 0:
        raise SerializationError(f"'{path}': the stored structure has an unreadable entry {node!r}")
    if "v" in node:
        return node["v"]
    if "a" in node:
        key = node["a"]
        tensor = tensors.get(key)
        if tensor is None:
            raise SerializationError(f"'{path}': tensor '{key}' is listed in the structure but missing "
                                     "from the file; the file is incomplete or was edited")
        shape, dtype = tuple(node.get("shape", tensor.shape)), node.get("dtype", str(tensor._data.dtype))
        if tuple(tensor.shape) != shape or str(tensor._data.dtype) != dtype:
            raise SerializationError(f"'{path}': tensor '{key}' has shape {list(tensor.shape)} and dtype "
                                     f"{tensor._data.dtype}, but the structure says {list(shape)} and "
                                     f"{dtype}; the file was altered")
        if node.get("numpy"):
            return backend.to_host(tensor._data).copy()
        return tensor
    if "d" in node:
        return {k: _decode(v, tensors, path) for k, v in node["d"]}
    if "l" in node:
        return [_decode(v, tensors, path) for v in node["l"]]
    if "t" in node:
        return tuple(_decode(v, tensors, path) for v in node["t"])
    raise SerializationError(f"'{path}': the stored structure has an unknown entry kind {sorted(node)}")
