"""Export a whole project in one call, and say in plain words what was written and how to use it.

The CLI (``layerforge export PROJECT --format ...``) and the GUI's export dialog both call
:func:`export_project` and show :func:`describe_export`'s message.
"""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, Mapping

from .common import ExportError, normalization_dict
from .onnx_export import export_onnx
from .pytorch_export import DATA_FILE, export_pytorch
from .train_script import LABEL_LOSSES, TrainingHint, train_command
from .weights import export_weights

FORMATS = ("safetensors", "npz", "onnx", "pytorch")
SUFFIXES = {"safetensors": ".safetensors", "npz": ".npz", "onnx": ".onnx", "pytorch": ""}


def default_export_path(project_path, fmt: str) -> Path:
    """Where an export goes when no path is given: beside the project, named after it."""
    project_path = Path(project_path)
    stem = project_path.name[:-len(".lfproj")] if project_path.name.endswith(".lfproj") else project_path.stem
    if fmt == "pytorch":
        return project_path.with_name(f"{stem}_pytorch")
    return project_path.with_name(stem + SUFFIXES[_check_format(fmt)])


def export_project(project: Any, weights_state_dict: Mapping[str, Any] | None, fmt: str, out_path,
                   project_dir=None) -> list[Path]:
    """Export ``project`` (a ``layerforge.training.Project``) with its trained weights; returns the paths.

    ``fmt``: "safetensors" or "npz" (one weights file), "onnx" (one model file, which standardises
    its inputs itself), "pytorch" (a folder: model.py, weights.safetensors, train.py, README.txt and
    the project's data as data.npz). ``project_dir`` resolves the data source's relative paths.
    """
    fmt = _check_format(fmt)
    if weights_state_dict is None:
        raise ExportError(f"project {project.name!r} has no trained weights yet: train it first "
                          f"(`layerforge train PROJECT`), then export")
    out = Path(out_path)
    normalization = normalization_dict(getattr(project, "normalization", None))
    if fmt in ("safetensors", "npz"):
        return [export_weights(weights_state_dict, _with_suffix(out, fmt), spec=project.spec,
                               normalization=normalization, fmt=fmt, name=project.name)]
    if fmt == "onnx":
        return [export_onnx(project.spec, weights_state_dict, _with_suffix(out, fmt), normalization=normalization,
                            name=project.name)]
    hint = training_hint(project, project_dir)
    return export_pytorch(project.spec, weights_state_dict, out, normalization=normalization, dataset_hint=hint,
                          name=project.name)


def training_hint(project: Any, project_dir=None) -> TrainingHint:
    """train.py's settings from the project's (PyTorch's names), with its data when it can be loaded."""
    from layerforge.training.choices import get_loss, get_optimizer  # the declarations name the torch classes

    settings = project.settings
    loss = get_loss(settings.loss).torch_name
    optimizer_kwargs = {}
    for key, value in settings.optimizer_params.items():
        if key in ("beta1", "beta2"):  # PyTorch takes them as one pair, where beta1 stood
            key, value = "betas", (settings.optimizer_params.get("beta1", 0.9),
                                   settings.optimizer_params.get("beta2", 0.999))
        optimizer_kwargs[key] = value
    target = settings.target
    if target == "auto":
        target = "labels" if loss in LABEL_LOSSES else "values"
    hint = TrainingHint(loss=loss, loss_kwargs=dict(settings.loss_params),
                        optimizer=get_optimizer(settings.optimizer).torch_name, optimizer_kwargs=optimizer_kwargs,
                        lr=settings.learning_rate, epochs=settings.epochs, batch_size=settings.batch_size,
                        target=target)
    try:
        dataset = project.load_dataset(project_dir)
    except (OSError, ValueError):  # data moved or unreadable: the code is still useful with other data
        return hint
    hint.x, hint.y = dataset.x, dataset.y
    return hint


def describe_export(fmt: str, paths: list[Path]) -> str:
    """A message for the person who exported: what was written and how to use it next."""
    fmt = _check_format(fmt)
    paths = [Path(p) for p in paths]
    if not paths:
        return "Nothing was exported."
    if fmt in ("safetensors", "npz"):
        loader = ("safetensors.torch.load_file(path)" if fmt == "safetensors"
                  else "numpy.load(path, allow_pickle=False)")
        return (f"Wrote the weights to {paths[0]}.\nThe keys are PyTorch's (e.g. fc1.weight); the model spec and "
                f"the input standardisation are stored as metadata. Load them with {loader}, or with "
                f"layerforge.export.read_weights(path).")
    if fmt == "onnx":
        return (f"Wrote the ONNX model to {paths[0]}.\nIt takes 'input' shaped (batch, ...) as raw data (the "
                f"project's input standardisation is built in) and gives 'output'. Run it with onnxruntime:\n"
                f"    onnxruntime.InferenceSession({paths[0].name!r}).run(None, {{'input': x}})")
    folder = paths[0].parent
    has_data = any(path.name == DATA_FILE for path in paths)
    data = DATA_FILE if has_data else "YOUR_DATA.npz"
    lines = [f"Wrote a PyTorch project to {folder}:"]
    lines += [f"  {path.name}" for path in paths]
    lines += ["Train it on 2 processes (add GPUs or machines as README.txt explains):",
              f"    cd {shlex.quote(str(folder))}", f"    {train_command(data)}"]
    if not has_data:
        lines.append("The project's data could not be loaded; save yours as an .npz with arrays x and y.")
    return "\n".join(lines)


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return fmt


def _with_suffix(path: Path, fmt: str) -> Path:
    suffix = SUFFIXES[fmt]
    return path if path.suffix.lower() == suffix else path.with_name(path.name + suffix)
