"""Export trained models: weights files, ONNX, and a PyTorch project that trains with DDP under torchrun.

Headless (no Qt). The pieces work on a spec and a state dict alone; exporting a whole project is
``layerforge.workspace.project_export.export_project``, after which the CLI and the GUI show
:func:`describe_export`:

- :func:`export_weights` / :func:`read_weights`: ``.safetensors`` or ``.npz`` with the spec and the
  normalisation statistics as metadata (never pickle).
- :func:`export_onnx`: an ONNX model (the ``onnx`` package, the ``export`` extra) whose outputs match
  the engine's; every catalog layer has a converter in ``onnx_layers.CONVERTERS``.
- :func:`export_pytorch`: ``model.py`` (an ``nn.Module`` from the catalog's constructor calls),
  ``weights.safetensors``, ``train.py`` (DistributedDataParallel), ``README.txt`` and ``data.npz``.
"""
from .common import ExportError
from .onnx_export import build_onnx_model, export_onnx
from .onnx_layers import CONVERTERS as ONNX_CONVERTERS
from .formats import FORMATS, default_export_path, describe_export
from .pytorch_export import export_pytorch
from .train_script import TrainingHint, train_command
from .weights import WEIGHT_FORMATS, export_weights, read_weights

__all__ = [
    "ExportError", "FORMATS", "ONNX_CONVERTERS", "TrainingHint", "WEIGHT_FORMATS", "build_onnx_model",
    "default_export_path", "describe_export", "export_onnx", "export_pytorch", "export_weights", "read_weights",
    "train_command",
]
