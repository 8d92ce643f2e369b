"""What every exporter shares: the error type, state-dict conversion, metadata and atomic writes."""
from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from layerforge import atomic
from layerforge.graph import ModelSpec, ShapeReport, require_valid


class ExportError(ValueError):
    """An export could not be done; the message says what, where (file, layer, key) and what to do."""


def valid_shapes(spec: ModelSpec) -> ShapeReport:
    """``spec``'s shape report; ExportError naming the first problem while the model is not valid."""
    return require_valid(spec, ExportError, "the model cannot be exported until it is valid")


def lazy_module(name: str, purpose: str) -> Any:
    """Import ``name`` (safetensors, onnx, ...) when an export first needs it: they are run-time
    dependencies, loaded late only to keep the app's start quick. A failure is a broken install."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        package = name.split(".")[0]
        raise ExportError(f"{purpose} needs the '{package}' package, which comes with Layerforge but cannot "
                          f"be imported here ({error}); reinstall it: pip install --force-reinstall "
                          f"{package}") from None


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
    """``{key: numpy array}`` in key order, whatever tensors the state dict held; all finite."""
    if not hasattr(state_dict, "items"):
        raise ExportError(f"weights must be a state dict (a mapping of names to arrays), "
                          f"got {type(state_dict).__name__}")
    arrays = {}
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise ExportError(f"state dict key {key!r} is not a string")
        arrays[key] = contiguous(as_numpy(value, key))
    require_finite(arrays)  # every exporter reads weights through here: none writes a diverged model
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


def require_finite(arrays: Mapping[str, np.ndarray]) -> None:
    """ExportError naming every weight that holds NaN or inf (a diverged run), with the counts."""
    problems = []
    for key, array in arrays.items():
        if array.dtype.kind not in "fc":
            continue
        if np.isfinite(array).all():
            continue
        counts = ((int(np.isnan(array).sum()), "NaN"), (int(np.isinf(array).sum()), "inf"))
        shown = " and ".join(f"{count} {what}" for count, what in counts if count)
        problems.append(f"'{key}' ({shown} of {array.size} values)")
    if problems:
        shown = ", ".join(problems[:5]) + (f" and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise ExportError(f"the weights are not finite numbers: {shown}. The training diverged; train again "
                          f"with a lower learning rate (or from the last good weights), then export")


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(temporary path)`` in the target folder, then rename the result into place.

    A failed or interrupted write leaves nothing behind: not half a file where a good one was, not
    the temporary file, not the folders made for it. OSError becomes an ExportError naming ``path``.
    """
    path = Path(path)
    created = make_folders(path.parent)
    try:
        remove_stale_staging(path)
        atomic.write_with(path, write, prefix=_staging_prefix(path), suffix=".tmp" + path.suffix)
    except BaseException as error:
        discard(*created)
        if isinstance(error, OSError):
            raise ExportError(f"cannot write '{path}' ({error.strerror or error})") from None
        if isinstance(error, ExportError):  # name the file the person chose, not the temporary one
            message = re.sub(re.escape(_staging_prefix(path)) + r"[^'\s/\\]*\.tmp" + re.escape(path.suffix),
                             path.name, str(error))
            raise ExportError(message) from None
        raise
    return path


def atomic_folder(folder: Path, write: Callable[[Path], list[Path]]) -> list[Path]:
    """Call ``write(temporary folder)``, which returns the files it wrote there; then move them into ``folder``.

    The files are written into a hidden sibling of ``folder`` that is renamed into place at the end,
    so a failure half way leaves nothing (and the same name can be exported to again). Where
    ``folder`` already exists (an earlier export, or files of the person's own), each file replaces
    its namesake there instead, one atomic rename each, and other files are left alone.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"'{folder}' is a file; this export writes a folder: choose a folder name")
    created = make_folders(folder.parent)
    staging = None
    try:
        remove_stale_staging(folder)
        staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(folder), suffix=".tmp", dir=folder.parent))
        names = [Path(path).name for path in write(staging)]
        if folder.is_dir():
            for name in names:
                os.replace(staging / name, folder / name)
            discard(staging)
        else:
            os.chmod(staging, 0o777 & ~atomic.UMASK)  # mkdtemp makes folders private; exports are shared
            os.rename(staging, folder)
    except BaseException as error:
        if staging is not None:
            discard(staging)
        discard(*created)
        if isinstance(error, (OSError, ExportError)):
            # Name the folder the person chose, not the hidden one the files were being written to.
            message = str(error.strerror or error) if isinstance(error, OSError) else str(error)
            if staging is not None:
                message = message.replace(str(staging), str(folder))
            if isinstance(error, OSError):
                message = f"cannot write '{folder}' ({message})"
            raise ExportError(message) from None
        raise
    return [folder / name for name in names]


def _staging_prefix(target: Path) -> str:
    """Hidden, named after the target and the writing process: ``.model_pytorch.1234.``."""
    return f".{target.name}.{os.getpid()}."


def remove_stale_staging(target: Path) -> list[Path]:
    """Remove what an export to ``target`` that was killed half way left beside it (its hidden staging
    file or folder), when the process that wrote it is gone; another export still running keeps its own.
    Returns what was removed. Never raises."""
    removed = []
    prefix = f".{target.name}."
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and ".tmp" in name[len(prefix):]):
            continue
        pid = name[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            discard(entry)
            removed.append(entry)
    return removed


def _process_alive(pid: int) -> bool:
    if os.name == "nt":     # os.kill(pid, 0) would send CTRL_C_EVENT there: keep the files
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True     # it exists (another user's), or we cannot tell: keep its files
    return True


def make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; returns those created, deepest first (to undo)."""
    missing = []
    for parent in [folder, *folder.parents]:
        if parent.exists():
            break
        missing.append(parent)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        discard(*missing)
        raise ExportError(f"cannot create the folder '{folder}' ({error.strerror or error})") from None
    return missing


def discard(*paths: Path) -> None:
    """Remove files or folders left by a failed export; never raises (the first error is what matters)."""
    for path in paths:
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        except OSError:
            pass


def write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
