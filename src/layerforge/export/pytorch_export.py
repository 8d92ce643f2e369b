"""Export a model as a PyTorch project: model.py, weights.safetensors, train.py (DDP), data.npz, README.txt
and train.slurm.

This is the way out for someone who outgrows one machine: the generated code is plain PyTorch that
trains as Layerforge does, on one process or under ``torchrun`` on a cluster, with the trained weights
as its starting point.
"""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any, Mapping

import numpy as np

import layerforge
from layerforge.graph import ModelSpec

from .cluster_scripts import readme_text, slurm_script
from .common import ExportError, atomic_folder, atomic_write, normalization_dict, standardizer_arrays, valid_shapes, \
    write_text
from .pytorch_model_code import model_source
from .train_script import TARGETS, TrainingHint, train_source
from .weights import export_weights

DATA_FILE = "data.npz"


def export_pytorch(spec: ModelSpec, state_dict: Mapping[str, Any], out_dir, normalization: Any = None,
                   dataset_hint: TrainingHint | Mapping[str, Any] | None = None, name: str | None = None) -> list[Path]:
    """Write model.py, weights.safetensors, train.py (and data.npz), README.txt and train.slurm into ``out_dir``.

    ``dataset_hint``: a :class:`TrainingHint` (or a dict of its fields) with the loss, optimizer and
    schedule, epochs, batch size, early stopping and target kind for train.py, and optionally the data
    arrays ``x`` and ``y`` (with their split) to write as data.npz; its standardisation statistics are
    the hint's ``normalization``, else ``normalization``. ``name``: the project's name, kept in
    model.py as a string. Returns the paths written, model.py first. The files are written into a hidden
    sibling folder that is renamed into place at the end: a failure half way leaves nothing behind.
    """
    report = valid_shapes(spec)
    hint = _hint(dataset_hint)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ExportError(f"'{out}' is a file; PyTorch export writes a folder: choose a folder name")
    # The name is shown through repr(): quotes, newlines and control characters stay visible as escapes.
    title = f"PyTorch export of the Layerforge model {name!r}" if name else "PyTorch export of a Layerforge model"
    sources = {"model.py": model_source(spec, report, name), "train.py": train_source(hint)}
    for file_name, source in sources.items():
        try:
            compile(source, file_name, "exec")
        except (SyntaxError, ValueError) as error:  # a bug in the generator, never the user's doing
            raise ExportError(f"generated {file_name} does not compile ({error}); please report this with the "
                              f"project file") from None
    has_data = hint.x is not None
    data_file = DATA_FILE if has_data else "YOUR_DATA.npz"
    readme = readme_text(title, layerforge.__version__, data_file, has_data,
                         ", ".join(str(size) for size in report.input_shape), hint.batch_size)
    statistics = normalization_dict(hint.normalization if hint.normalization is not None else normalization)

    def write(folder: Path) -> list[Path]:
        written = [write_text(folder / "model.py", sources["model.py"]),
                   export_weights(state_dict, folder / "weights.safetensors", spec=spec, normalization=normalization,
                                  name=name),
                   write_text(folder / "train.py", sources["train.py"])]
        if has_data:
            written.append(_write_data(folder / DATA_FILE, hint, report.nodes[report.input_id].dtype, statistics))
        written.append(write_text(folder / "README.txt", readme))
        written.append(write_text(folder / "train.slurm", slurm_script(name, data_file)))
        return written

    return atomic_folder(out, write)


def _hint(given: TrainingHint | Mapping[str, Any] | None) -> TrainingHint:
    if given is None:
        return TrainingHint()
    if isinstance(given, TrainingHint):
        given = {f.name: getattr(given, f.name) for f in fields(TrainingHint)}
    known = {f.name for f in fields(TrainingHint)}
    unknown = sorted(set(given) - known)
    if unknown:
        raise ExportError(f"unknown training hint(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    hint = TrainingHint(**dict(given))
    if hint.target not in TARGETS:
        raise ExportError(f"training hint target {hint.target!r} is not one of: {', '.join(TARGETS)}")
    return hint


def _write_data(path: Path, hint: TrainingHint, input_dtype: str | None, statistics: dict | None) -> Path:
    """data.npz: x and y as loaded, the split's index arrays and the standardisation, so that train.py
    trains on exactly the samples, and scales them exactly as, Layerforge does."""
    x = np.asarray(hint.x, dtype=np.int64 if input_dtype == "int64" else np.float32)
    arrays = {"x": x}
    if hint.y is not None:
        y = np.asarray(hint.y)
        if len(y) != len(x):
            raise ExportError(f"the data has {len(x)} inputs but {len(y)} targets; they must match")
        arrays["y"] = y
    if x.dtype == object or any(a.dtype == object for a in arrays.values()):
        raise ExportError("the data holds Python objects, not numbers; it cannot be exported")
    if hint.split is not None:
        arrays.update(_split_arrays(hint.split, len(x)))
        for kind in ("inputs", "targets"):
            pair = standardizer_arrays((statistics or {}).get(kind))
            if pair is not None:
                arrays[f"{kind[:-1]}_mean"], arrays[f"{kind[:-1]}_std"] = pair

    def write(temporary: Path) -> None:
        with open(temporary, "wb") as handle:
            np.savez(handle, **arrays)

    return atomic_write(path, write)


def _split_arrays(split: Any, n: int) -> dict[str, np.ndarray]:
    """train_index, val_index, test_index from the (train, validation, test) index arrays of ``split``."""
    if len(split) != 3:
        raise ExportError(f"the split must be three index arrays (train, validation, test), got {len(split)}")
    arrays = {}
    for key, index in zip(("train_index", "val_index", "test_index"), split):
        index = np.asarray(index)
        if index.ndim != 1 or (index.size and (index.dtype.kind not in "iu" or index.min() < 0 or index.max() >= n)):
            raise ExportError(f"the split's {key} must list sample numbers from 0 to {n - 1}")
        arrays[key] = index.astype(np.int64)
    if len(arrays["train_index"]) == 0:
        raise ExportError("the split keeps no samples for training")
    return arrays
