"""Importing numpy ``.npz`` / ``.npy`` files (never pickles), and reading inputs for prediction."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from .csv_import import column_index
from .csv_table import is_missing, parse_number, read_csv_table
from .dataset import TASKS, ArrayDataset, DataError

INPUT_KEYS = ("x", "X", "features", "inputs", "data", "images")
TARGET_KEYS = ("y", "Y", "targets", "labels", "target", "label")


def _load(path: Path):
    """np.load without pickles, every failure turned into a DataError naming the file."""
    try:
        with open(path, "rb") as stream:
            magic = stream.read(6)
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from None
    if not magic.startswith((b"\x93NUMPY", b"PK\x03\x04")):
        what = "a Python pickle" if magic.startswith(b"\x80") else "neither .npy nor .npz data"
        raise DataError(f"{path}: this is {what}; Layerforge reads arrays saved with np.save or "
                        "np.savez (it never loads pickles)")
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                return {key: loaded[key] for key in loaded.files}
        return loaded
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        if "pickle" in str(error).lower() or "object arrays" in str(error).lower():
            raise DataError(f"{path}: holds Python objects (pickled data), which Layerforge never "
                            "loads; save plain numeric arrays, e.g. np.savez(path, x=..., y=...)"
                            ) from None
        raise DataError(f"{path}: not a readable .npy/.npz file ({error})") from None


def _pick(arrays: dict, wanted: str | None, candidates: tuple, path: Path, role: str):
    if wanted is not None:
        if wanted not in arrays:
            raise DataError(f"{path}: no array named {wanted!r}; it has {', '.join(arrays)}")
        return arrays[wanted]
    for key in candidates:
        if key in arrays:
            return arrays[key]
    return None


def _numeric(array: np.ndarray, path: Path, role: str) -> np.ndarray:
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise DataError(f"{path}: {role} have dtype {array.dtype}; they must be numbers")
    if array.ndim == 0:
        raise DataError(f"{path}: {role} are a single number; expected one row per sample")
    array = array.astype(np.float32)
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{path}: {role} hold {int(bad.sum())} NaN/inf value(s), the first at "
                        f"index {first}; remove or fill them")
    return array.reshape(-1, 1) if array.ndim == 1 else array


def read_array_file(path, x_key: str | None = None, y_key: str | None = None):
    """(x, y or None, other arrays) from a .npz (keys x/y, X/y, features/targets, ...) or .npy
    (inputs only)."""
    path = Path(path)
    loaded = _load(path)
    if not isinstance(loaded, dict):
        if y_key is not None:
            raise DataError(f"{path}: a .npy file holds one array (the inputs); it has no {y_key!r}")
        return _numeric(loaded, path, "inputs"), None, {}
    x = _pick(loaded, x_key, INPUT_KEYS, path, "inputs")
    if x is None:
        raise DataError(f"{path}: no inputs array; name it one of {', '.join(INPUT_KEYS)} "
                        f"(it has {', '.join(loaded) or 'no arrays'})")
    y = _pick(loaded, y_key, TARGET_KEYS, path, "targets")
    used = {id(x), id(y)}
    extras = {key: value for key, value in loaded.items() if id(value) not in used}
    return _numeric(x, path, "inputs"), y, extras


def _targets(y: np.ndarray, n: int, task: str | None, class_names, path: Path):
    if y.shape[:1] != (n,):
        raise DataError(f"{path}: {n} inputs but targets of shape {y.shape}; they need one row "
                        "per input")
    if y.ndim == 2 and y.shape[1] == 1 and task != "regression" and not np.issubdtype(
            y.dtype, np.floating):
        y = y[:, 0]
    is_text = y.dtype.kind in "US"
    if task is None:
        task = ("classification" if is_text or y.dtype == np.bool_
                or (np.issubdtype(y.dtype, np.integer) and y.ndim == 1) else "regression")
    if task == "regression":
        if is_text:
            raise DataError(f"{path}: targets are text; a regression needs numbers (or use task "
                            "'classification')")
        return task, _numeric(y, path, "targets"), []
    if y.ndim != 1:
        raise DataError(f"{path}: classification targets need shape ({n},) of class indices or "
                        f"labels, got {y.shape}")
    if is_text:
        names = sorted({str(v) for v in y})
        index = {name: i for i, name in enumerate(names)}
        return task, np.array([index[str(v)] for v in y], dtype=np.int64), class_names or names
    if not np.all(np.mod(y, 1) == 0) or (y.size and y.min() < 0):
        raise DataError(f"{path}: classification targets must be class indices 0, 1, 2, ...; "
                        f"found values from {y.min()} to {y.max()}")
    return task, y.astype(np.int64), list(class_names or [])


def read_arrays(path, targets_path=None, task: str | None = None, x_key: str | None = None,
                y_key: str | None = None, class_names=None) -> ArrayDataset:
    """A dataset from a .npz holding inputs and targets, or from a .npy of inputs plus a
    ``targets_path`` .npy. Integer or text targets mean classification, floats regression,
    unless ``task`` says otherwise. A ``class_names`` array in the .npz names the classes."""
    path = Path(path)
    if task is not None and task not in TASKS:
        raise DataError(f"task must be one of {TASKS} or None to detect it, got {task!r}")
    x, y, extras = read_array_file(path, x_key, y_key)
    if targets_path is not None:
        if y is not None:
            raise DataError(f"{path} already holds targets; leave out targets_path")
        y = np.asarray(_load(Path(targets_path)))
        if isinstance(y, dict) or y.dtype == object:
            raise DataError(f"{targets_path}: give the targets as a .npy file of one array")
    if y is None:
        raise DataError(f"{path}: no targets; save inputs and targets together, e.g. "
                        f"np.savez(path, x=inputs, y=targets), or give targets_path")
    if class_names is None and "class_names" in extras:
        class_names = [str(c) for c in np.asarray(extras["class_names"]).reshape(-1)]
    task, y, names = _targets(np.asarray(y), len(x), task, class_names, path)
    if task == "classification" and names and y.size and y.max() >= len(names):
        raise DataError(f"{path}: class index {int(y.max())} but only {len(names)} class names")
    return ArrayDataset(name=path.stem, task=task, x=x, y=y, class_names=names,
                        description=f"{len(x)} samples from {path.name}",
                        source=f"array file {path}")


def read_inputs(path, feature_columns=None, has_header: bool | None = None) -> np.ndarray:
    """Inputs to predict on, float32 (N, ...): from .npy, .npz (its inputs array) or a CSV of
    numbers (all columns, or ``feature_columns``)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        table = read_csv_table(path, has_header=has_header)
        columns = range(len(table.columns)) if feature_columns is None else [
            column_index(c, table, "feature") for c in feature_columns]
        x = np.empty((len(table.rows), len(columns)), dtype=np.float32)
        for r, row in enumerate(table.rows):
            for j, c in enumerate(columns):
                value = None if is_missing(row[c]) else parse_number(row[c], table.delimiter)
                if value is None:
                    raise DataError(f"{table.where(r, c)}: {row[c].strip()!r} is not a number")
                x[r, j] = value
        return x
    return read_array_file(path)[0]
