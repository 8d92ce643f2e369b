"""Export a whole project in one call: its spec and kept weights, and for the PyTorch format its
training settings (PyTorch's names for them) and data, so that the generated train.py trains the same.

The CLI (``layerforge export PROJECT --format ...``) and ``Workspace.export`` both call
:func:`export_project`; the window then shows ``layerforge.export.describe_export``'s message.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..export import ExportError, export_onnx, export_pytorch, export_weights
from ..export.common import normalization_dict
from ..export.formats import SUFFIXES, check_format
from ..export.train_script import LABEL_LOSSES, TrainingHint
from ..data.split import split_indices
from ..training.build import valid_shapes
from ..training.choices import get_loss, get_optimizer, get_schedule
from ..training.errors import TrainingError
from ..training.problem import Problem


def export_project(project: Any, weights_state_dict: Mapping[str, Any] | None, fmt: str, out_path,
                   project_dir=None) -> list[Path]:
    """Export ``project`` (a ``layerforge.training.Project``) with its trained weights; returns the paths.

    ``fmt``: "safetensors" or "npz" (one weights file), "onnx" (one model file, which standardises
    its inputs itself), "pytorch" (a folder: model.py, weights.safetensors, train.py, README.txt and
    the project's data as data.npz). ``project_dir`` resolves the data source's relative paths.
    """
    fmt = check_format(fmt)
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
    """train.py's settings from the project's (PyTorch's names), with its data when it can be loaded:
    the split and the standardisation the app's Trainer would use, so train.py trains as it does."""
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
    schedule, schedule_kwargs = _schedule(settings)
    hint = TrainingHint(loss=loss, loss_kwargs=dict(settings.loss_params),
                        optimizer=get_optimizer(settings.optimizer).torch_name, optimizer_kwargs=optimizer_kwargs,
                        lr=settings.learning_rate, epochs=settings.epochs, batch_size=settings.batch_size,
                        target=target, schedule=schedule, schedule_kwargs=schedule_kwargs,
                        grad_clip_norm=settings.grad_clip_norm, patience=settings.early_stopping_patience,
                        keep_best=settings.keep_best, seed=settings.seed, val_fraction=settings.val_fraction)
    try:
        dataset = project.load_dataset(project_dir)
    except (OSError, ValueError):  # data moved or unreadable: the code is still useful with other data
        return hint
    hint.x, hint.y = dataset.x, dataset.y
    try:   # the Trainer's own view of the data: its split, target and standardisation
        problem = Problem(project.spec, valid_shapes(project.spec), dataset, settings)
    except TrainingError:   # the data does not fit the model: train.py will say so where it runs
        return hint
    hint.target = problem.target
    hint.split = split_indices(dataset, settings.val_fraction, settings.test_fraction, seed=settings.seed)
    hint.normalization = problem.normalization.to_dict() if problem.normalization else {"inputs": None,
                                                                                          "targets": None}
    return hint


def _schedule(settings: Any) -> tuple[str | None, dict]:
    """The schedule as PyTorch's class and arguments; None stands for what depends on the run
    (T_max 0: the whole run; max_lr 0: ten times the learning rate), as ``training.build`` reads them."""
    if settings.schedule is None:
        return None, {}
    values = {key: value for key, value in settings.schedule.items() if key != "type"}
    for key in ("T_max", "max_lr"):
        if key in values and not values[key]:
            values[key] = None
    if "milestones" in values:
        values["milestones"] = list(values["milestones"])
    return get_schedule(settings.schedule["type"]).torch_name, values


def _with_suffix(path: Path, fmt: str) -> Path:
    suffix = SUFFIXES[fmt]
    return path if path.suffix.lower() == suffix else path.with_name(path.name + suffix)
