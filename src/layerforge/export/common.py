"""What every exporter shares: the error type, state-dict conversion, metadata and atomic writes."""
from __future__ import annotations

import importlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from layerforge.graph import ModelSpec, ShapeReport, require_valid


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()  # read once at import: reading the umask means setting it, which is not thread-safe


class ExportError(ValueError):
    """An export could not be done; the message says what, where (file, layer, key) and what to do."""


def valid_shapes(spec: ModelSpec) -> ShapeReport:
    """``spec``'s shape report; ExportError naming the first problem while the model is not valid."""
    return require_valid(spec, ExportError, "the model cannot be exported until it is valid")


def optional_module(name: str, purpose: str) -> Any:
    """Import ``name`` (safetensors, onnx, ...) only when an export needs it, with a clear hint."""
    try:
        return importlib.import_module(name)
    except ImportError:
        package = name.split(".")[0]
        raise ExportError(f"{purpose} needs the '{package}' package, which is not installed: run "
                          f"`pip install {package}` (or `pip install layerforge[export]`)") from None


def as_numpy(value: Any, key: str = "") -> np.ndarray:
    """A host numpy array from an engine Tensor, a torch tensor, or anything array-like."""
    if hasattr(value, "detach"):
        value = value.detach()
    if hasattr(value, "cpu") and not isinstance(value, np.ndarray):
        value = value.cpu()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as error:
        raise ExportError(f"weight '{key}' is not an array ({type(value).__name__}: {error})") from None
    if array.dtype == object:
        raise ExportError(f"weight '{key}' is not a numeric array (it holds Python objects)")
    return array


def numpy_state_dict(state_dict: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """``{key: numpy array}`` in key order, whatever tensors the state dict held."""
    if not hasattr(state_dict, "items"):
        raise ExportError(f"weights must be a state dict (a mapping of names to arrays), "
                          f"got {type(state_dict).__name__}")
    arrays = {}
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise ExportError(f"state dict key {key!r} is not a string")
        arrays[key] = contiguous(as_numpy(value, key))
    return arrays


def contiguous(array: np.ndarray) -> np.ndarray:
    """A C-contiguous array of the same shape (np.ascontiguousarray would turn a 0-d array into 1-d)."""
    return array if array.flags.c_contiguous else np.array(array, order="C")


def normalization_dict(normalization: Any) -> dict | None:
    """Normalization statistics as the plain dict ``layerforge.data.Normalization.to_dict`` gives.

    Accepts None, a Normalization (anything with ``to_dict``), or the dict itself (as a project stores
    it); an empty normalisation (no inputs, no targets) becomes None.
    """
    if normalization is None:
        return None
    data = normalization.to_dict() if hasattr(normalization, "to_dict") else normalization
    if not isinstance(data, Mapping):
        raise ExportError(f"normalisation must be a Normalization or its dict form, got {type(data).__name__}")
    data = {key: data.get(key) for key in ("inputs", "targets")}
    return data if any(value is not None for value in data.values()) else None


def standardizer_arrays(entry: Mapping | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(mean, std) as float32 arrays shaped to broadcast over one sample, or None."""
    if entry is None:
        return None
    try:
        mean = np.asarray(entry["mean"], dtype=np.float32)
        std = np.asarray(entry["std"], dtype=np.float32)
    except (KeyError, TypeError, ValueError) as error:
        raise ExportError(f"normalisation statistics are malformed ({error}); they need 'mean' and 'std'") from None
    if mean.shape != std.shape:
        raise ExportError(f"normalisation mean {mean.shape} and std {std.shape} have different shapes")
    return mean, std


def spec_json(spec: Any) -> str | None:
    """The model spec as its JSON text (``ModelSpec.to_dict``), or None without a spec."""
    if spec is None:
        return None
    data = spec.to_dict() if hasattr(spec, "to_dict") else spec
    return json.dumps(data, separators=(",", ":"))


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(temporary path)`` in the target folder, then rename the result into place.

    A failed or interrupted write never leaves half a file where a good one was.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExportError(f"cannot create the folder '{path.parent}' ({error.strerror or error})") from None
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        write(temporary_path)
        os.chmod(temporary_path, 0o666 & ~_UMASK)  # mkstemp makes files private; exports are shared files
        os.replace(temporary_path, path)
    except BaseException:
        temporary_path.unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
