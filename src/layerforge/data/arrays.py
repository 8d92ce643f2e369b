"""Importing numpy ``.npz`` / ``.npy`` files (never pickles), and reading inputs for prediction."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .csv_import import read_csv_numbers
from .dataset import MAX_CLASSES, TASKS, ArrayDataset, DataError
from .npy_files import load_arrays

INPUT_KEYS = ("x", "X", "features", "inputs", "data", "images")
TARGET_KEYS = ("y", "Y", "targets", "labels", "target", "label")


def _pick(arrays: dict, wanted: str | None, candidates: tuple, path: Path):
    """(name, array) of the array named ``wanted``, else of the first of ``candidates`` present."""
    if wanted is not None:
        if wanted not in arrays:
            raise DataError(f"{path}: no array named {wanted!r}; it has {', '.join(arrays)}")
        return wanted, arrays[wanted]
    for key in candidates:
        if key in arrays:
            return key, arrays[key]
    return None, None


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _numeric(array: np.ndarray, where: str, role: str) -> np.ndarray:
    """float32 of ``array``, refused where a conversion would change the numbers silently."""
    if array.dtype.kind == "c":
        raise DataError(f"{where}: {role} are complex numbers ({array.dtype}); Layerforge trains on "
                        "real numbers: keep the real part, the magnitude, or both parts as "
                        "separate features")
    if array.dtype.kind in "mM" or not (np.issubdtype(array.dtype, np.number)
                                        or array.dtype == np.bool_):
        raise DataError(f"{where}: {role} have dtype {array.dtype}; they must be numbers")
    if array.ndim == 0:
        raise DataError(f"{where}: {role} are a single number; expected one row per sample")
    if array.dtype.kind == "f":
        bad = ~np.isfinite(array)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise DataError(f"{where}: {role} hold {int(bad.sum())} NaN/inf value(s), the first at "
                            f"index {first}; remove or fill them")
        huge = np.abs(array) > _FLOAT32_MAX
        if huge.any():
            first = tuple(int(i) for i in np.argwhere(huge)[0])
            raise DataError(f"{where}: {role} hold {int(huge.sum())} value(s) beyond float32's "
                            f"range (±3.4e38), the first {array[first].item():g} at index {first}; "
                            "rescale them")
    array = array.astype(np.float32)
    return array.reshape(-1, 1) if array.ndim == 1 else array


def _where(path: Path, key: str | None) -> str:
    return f"{path}" if key is None else f"{path}, array {key!r}"


def _arrays_of(path: Path, x_key: str | None = None, y_key: str | None = None):
    """(x name, x, y name, y, other arrays), raw as stored; x name is None for a .npy."""
    loaded = load_arrays(path)
    if not isinstance(loaded, dict):
        if y_key is not None:
            raise DataError(f"{path}: a .npy file holds one array (the inputs); it has no {y_key!r}")
        return None, loaded, None, None, {}
    x_name, x = _pick(loaded, x_key, INPUT_KEYS, path)
    if x is None:
        raise DataError(f"{path}: no inputs array; name it one of {', '.join(INPUT_KEYS)} "
                        f"(it has {', '.join(loaded) or 'no arrays'})")
    y_name, y = _pick(loaded, y_key, TARGET_KEYS, path)
    extras = {key: value for key, value in loaded.items() if key not in (x_name, y_name)}
    return x_name, x, y_name, y, extras


def read_array_file(path, x_key: str | None = None, y_key: str | None = None):
    """(x, y or None, other arrays) from a .npz (keys x/y, X/y, features/targets, ...) or .npy
    (inputs only)."""
    path = Path(path)
    x_name, x, _, y, extras = _arrays_of(path, x_key, y_key)
    return _numeric(x, _where(path, x_name), "inputs"), y, extras


def _class_indices(y: np.ndarray, n: int, where: str, n_names: int) -> np.ndarray:
    """int64 class indices from whole, non-negative numbers, refused before anything is built for
    a label so large that its classes could not exist (0, 1, 1e9 would mean a billion classes)."""
    if y.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(y) | (np.mod(y, 1) != 0))
        if bad.size:
            raise DataError(f"{where}: targets hold {y[bad[0]].item()!r} at index {int(bad[0])}, not a "
                            "whole number; classification needs class indices 0, 1, 2, ... (or "
                            "choose the task 'regression')")
    if y.size and y.min() < 0:
        raise DataError(f"{where}: classification targets must be class indices 0, 1, 2, ...; "
                        f"found {y.min().item()!r} at index {int(np.argmin(y))}")
    largest = int(y.max()) if y.size else -1
    if n_names:   # the file names its classes: the labels index those names
        if largest >= n_names:
            raise DataError(f"{where}: class index {largest} but only {n_names} class names")
        return y.astype(np.int64)
    limit = min(n, MAX_CLASSES)
    if largest >= limit:
        why = (f"the {MAX_CLASSES:,} classes Layerforge trains" if n > MAX_CLASSES
               else f"the {n:,} samples (each class needs at least one)")
        raise DataError(f"{where}: the largest label is {largest:,}, which means {largest + 1:,} "
                        f"classes, more than {why}; labels must be class indices 0..K-1: relabel "
                        "them, e.g. y = np.unique(y, return_inverse=True)[1]")
    return y.astype(np.int64)


def _targets(y: np.ndarray, n: int, task: str | None, class_names, where: str):
    if y.shape[:1] != (n,):
        raise DataError(f"{where}: {n} inputs but targets of shape {y.shape}; they need one row "
                        "per input")
    if y.dtype.kind == "c":
        return task, _numeric(y, where, "targets"), []   # refused there, with the reason
    if y.ndim == 2 and y.shape[1] == 1 and task != "regression" and not np.issubdtype(
            y.dtype, np.floating):
        y = y[:, 0]
    is_text = y.dtype.kind in "US"
    if task is None:
        task = ("classification" if is_text or y.dtype == np.bool_
                or (np.issubdtype(y.dtype, np.integer) and y.ndim == 1) else "regression")
    if task == "regression":
        if is_text:
            raise DataError(f"{where}: targets are text; a regression needs numbers (or use task "
                            "'classification')")
        return task, _numeric(y, where, "targets"), []
    if y.ndim != 1:
        raise DataError(f"{where}: classification targets need shape ({n},) of class indices or "
                        f"labels, got {y.shape}")
    if is_text:
        names = np.unique(y)
        if len(names) > MAX_CLASSES:
            raise DataError(f"{where}: {len(names):,} different labels, more than the "
                            f"{MAX_CLASSES:,} classes Layerforge trains; is this the right column?")
        indices = np.searchsorted(names, y).astype(np.int64)
        return task, indices, class_names or [str(name) for name in names]
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_) or y.dtype.kind in "mM":
        raise DataError(f"{where}: targets have dtype {y.dtype}; they must be numbers or text")
    return task, _class_indices(y, n, where, len(class_names or [])), list(class_names or [])


def read_arrays(path, targets_path=None, task: str | None = None, x_key: str | None = None,
                y_key: str | None = None, class_names=None) -> ArrayDataset:
    """A dataset from a .npz holding inputs and targets, or from a .npy of inputs plus a
    ``targets_path`` .npy. Integer or text targets mean classification, floats regression,
    unless ``task`` says otherwise. A ``class_names`` array in the .npz names the classes."""
    path = Path(path)
    if task is not None and task not in TASKS:
        raise DataError(f"task must be one of {TASKS} or None to detect it, got {task!r}")
    x_name, x, y_name, y, extras = _arrays_of(path, x_key, y_key)
    x_where = _where(path, x_name)
    if x.ndim >= 1 and x.shape[0] == 0:
        raise DataError(f"{x_where}: has no samples (inputs of shape {x.shape}); save at least "
                        "one sample, one row each")
    x = _numeric(x, x_where, "inputs")
    y_where = _where(path, y_name)
    if targets_path is not None:
        if y is not None:
            raise DataError(f"{path} already holds targets; leave out targets_path")
        y = load_arrays(targets_path)
        if isinstance(y, dict):
            raise DataError(f"{targets_path}: give the targets as a .npy file of one array")
        y_where = str(targets_path)
    if y is None:
        raise DataError(f"{path}: no targets; save inputs and targets together, e.g. "
                        f"np.savez(path, x=inputs, y=targets), or give targets_path")
    if class_names is None and "class_names" in extras:
        class_names = [str(c) for c in np.asarray(extras["class_names"]).reshape(-1)]
    task, y, names = _targets(np.asarray(y), len(x), task, class_names, y_where)
    if task == "classification" and names and y.size and y.max() >= len(names):
        raise DataError(f"{y_where}: class index {int(y.max())} but only {len(names)} class names")
    return ArrayDataset(name=path.stem, task=task, x=x, y=y, class_names=names,
                        description=f"{len(x)} samples from {path.name}",
                        source=f"array file {path}")


def read_inputs(path, feature_columns=None, has_header: bool | None = None) -> np.ndarray:
    """Inputs to predict on, float32 (N, ...): from .npy, .npz (its inputs array) or a CSV of
    numbers (all columns, or ``feature_columns``)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        # Streamed into float32 (about 0.6x the file's size at its peak; a table of strings was 12x).
        x = read_csv_numbers(path, feature_columns, has_header=has_header)
    else:
        x = read_array_file(path)[0]
    if len(x) == 0:
        raise DataError(f"{path}: has no samples to predict on")
    return x
