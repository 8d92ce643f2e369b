"""Weights files: ``.safetensors`` and ``.npz``, with the model spec and normalisation beside them.

Both hold the flat state dict under its PyTorch key names (``fc1.weight``), so
``safetensors.torch.load_file`` / ``numpy.load`` read them directly. The spec JSON and the
standardisation statistics travel as metadata: in the safetensors header (string to string), or in
the npz as a one-element string array under :data:`NPZ_METADATA_KEY`. Nothing is ever pickled.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .common import ExportError, atomic_write, normalization_dict, numpy_state_dict, lazy_module, spec_json

WEIGHT_FORMATS = ("safetensors", "npz")
NPZ_METADATA_KEY = "__layerforge_metadata__"
FORMAT_TAG = "layerforge.weights"
FORMAT_VERSION = "1"
SPEC_KEY = "layerforge.spec"
KEYS_KEY = "layerforge.keys"  # the state dict's key order, which safetensors does not keep
NORMALIZATION_KEY = "layerforge.normalization"
PROJECT_KEY = "layerforge.project"  # the project's name as a JSON string: any text, even lone surrogates


def weights_format(path: Path, fmt: str | None) -> str:
    """The format named by ``fmt``, or by the file's extension when ``fmt`` is None."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if fmt is None:
        if suffix not in WEIGHT_FORMATS:
            raise ExportError(f"cannot tell the weights format of '{path}': name it *.safetensors or *.npz, "
                              f"or pass fmt='safetensors' or 'npz'")
        return suffix
    if fmt not in WEIGHT_FORMATS:
        raise ExportError(f"unknown weights format {fmt!r}; use one of: {', '.join(WEIGHT_FORMATS)}")
    return fmt


def export_weights(state_dict: Mapping[str, Any], path, spec: Any = None, normalization: Any = None,
                   fmt: str | None = None, name: str | None = None) -> Path:
    """Write ``state_dict`` to ``path`` (atomically) with the spec, normalisation and project name as metadata.

    ``fmt`` is "safetensors" or "npz" (default: from the extension; a path without one gets it added).
    Weights that are not finite (a diverged run) are refused. Returns the path written.
    """
    path = Path(path)
    if fmt is not None and path.suffix == "":
        path = path.with_suffix(f".{fmt}")
    fmt = weights_format(path, fmt)
    if path.suffix.lower() != f".{fmt}":
        raise ExportError(f"'{path}' does not end in .{fmt}; name the file *.{fmt} so others can open it")
    arrays = numpy_state_dict(state_dict)
    metadata = {"format": "pt", "layerforge.format": FORMAT_TAG, "layerforge.version": FORMAT_VERSION}
    metadata[KEYS_KEY] = json.dumps(list(arrays), separators=(",", ":"))
    spec_text = spec_json(spec)
    if spec_text is not None:
        metadata[SPEC_KEY] = spec_text
    if name is not None:
        metadata[PROJECT_KEY] = json.dumps(str(name))
    norm = normalization_dict(normalization)
    if norm is not None:
        metadata[NORMALIZATION_KEY] = json.dumps(norm, separators=(",", ":"))
    if fmt == "safetensors":
        return atomic_write(path, lambda temporary: _write_safetensors(temporary, arrays, metadata))
    if NPZ_METADATA_KEY in arrays:
        raise ExportError(f"the state dict uses the reserved key {NPZ_METADATA_KEY!r}; rename that entry")
    return atomic_write(path, lambda temporary: _write_npz(temporary, arrays, metadata))


def _write_safetensors(path: Path, arrays: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    numpy_io = lazy_module("safetensors.numpy", "Saving .safetensors weights")
    rust_error = lazy_module("safetensors", "Saving .safetensors weights").SafetensorError
    try:
        numpy_io.save_file(arrays, str(path), metadata=metadata)
    except (ValueError, TypeError) as error:
        raise ExportError(f"cannot write '{path.name}' as safetensors ({error}); try the .npz format") from None
    except rust_error as error:  # the Rust writer's I/O failures: disk full, folder gone
        raise ExportError(f"cannot write '{path}' ({error})") from None


def _write_npz(path: Path, arrays: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    entries = dict(arrays)
    entries[NPZ_METADATA_KEY] = np.array([json.dumps(metadata)])  # a unicode array: loads without pickle
    with open(path, "wb") as handle:
        np.savez(handle, **entries)


def read_weights(path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(state dict of numpy arrays, metadata) from a file :func:`export_weights` wrote.

    Metadata holds "spec" (the spec's JSON dict, or None), "normalization" (dict or None), "project"
    (the project's name, or None) and the
    remaining string entries as stored. Files written by other tools load too, with no metadata.
    """
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"no weights file at '{path}'")
    fmt = weights_format(path, None)
    raw = _read_safetensors(path) if fmt == "safetensors" else _read_npz(path)
    arrays, metadata = raw
    order = _json_entry(metadata, KEYS_KEY, path)
    if isinstance(order, list) and sorted(order) == sorted(arrays):
        arrays = {key: arrays[key] for key in order}
    info: dict[str, Any] = {key: value for key, value in metadata.items()
                            if key not in (SPEC_KEY, NORMALIZATION_KEY, KEYS_KEY, PROJECT_KEY)}
    info["spec"] = _json_entry(metadata, SPEC_KEY, path)
    info["normalization"] = _json_entry(metadata, NORMALIZATION_KEY, path)
    info["project"] = _json_entry(metadata, PROJECT_KEY, path)
    return arrays, info


def _read_safetensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    safetensors = lazy_module("safetensors", "Reading .safetensors weights")
    try:
        with safetensors.safe_open(str(path), framework="numpy") as handle:
            metadata = dict(handle.metadata() or {})
            arrays = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as error:  # the Rust reader raises its own error types for corrupt headers
        raise ExportError(f"'{path}' is not a readable safetensors file ({error})") from None
    return arrays, metadata


def _read_npz(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ExportError(f"'{path}' is not a readable .npz weights file ({error}); Layerforge never loads "
                          f"pickled data") from None
    metadata: dict[str, str] = {}
    if NPZ_METADATA_KEY in arrays:
        entry = arrays.pop(NPZ_METADATA_KEY)
        try:
            metadata = json.loads(str(entry.reshape(-1)[0]))
        except (ValueError, IndexError) as error:
            raise ExportError(f"'{path}': the metadata entry {NPZ_METADATA_KEY!r} is not JSON ({error})") from None
        if not isinstance(metadata, dict):
            raise ExportError(f"'{path}': the metadata entry {NPZ_METADATA_KEY!r} is not a JSON object")
    return arrays, metadata


def _json_entry(metadata: Mapping[str, str], key: str, path: Path) -> Any:
    if key not in metadata:
        return None
    try:
        return json.loads(metadata[key])
    except (TypeError, ValueError) as error:
        raise ExportError(f"'{path}': the metadata entry {key!r} is not valid JSON ({error})") from None
