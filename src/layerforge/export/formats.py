"""The export formats, where an export goes by default, and what to tell the person afterwards.

Exporting a whole project (its spec, weights, settings and data together) is a workspace operation,
``layerforge.workspace.project_export.export_project``, since it needs the training settings' names;
the CLI and the window both show :func:`describe_export`'s message after it.
"""
from __future__ import annotations

import shlex
from pathlib import Path

from .common import ExportError
from .pytorch_export import DATA_FILE
from .train_script import train_command

FORMATS = ("safetensors", "npz", "onnx", "pytorch")
SUFFIXES = {"safetensors": ".safetensors", "npz": ".npz", "onnx": ".onnx", "pytorch": ""}


def default_export_path(project_path, fmt: str) -> Path:
    """Where an export goes when no path is given: beside the project, named after it."""
    project_path = Path(project_path)
    stem = project_path.name[:-len(".lfproj")] if project_path.name.endswith(".lfproj") else project_path.stem
    if fmt == "pytorch":
        return project_path.with_name(f"{stem}_pytorch")
    return project_path.with_name(stem + SUFFIXES[check_format(fmt)])


def describe_export(fmt: str, paths: list[Path]) -> str:
    """A message for the person who exported: what was written and how to use it next."""
    fmt = check_format(fmt)
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
    if any(path.name == "train.slurm" for path in paths):
        lines.append("On a SLURM cluster: sbatch train.slurm (set its #SBATCH lines for your nodes and GPUs).")
    if not has_data:
        lines.append("The project's data could not be loaded; save yours as an .npz with arrays x and y.")
    return "\n".join(lines)


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return fmt
