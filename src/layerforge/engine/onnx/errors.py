"""The export's error: what cannot be written as ONNX, and where (operation, module, shapes)."""
from __future__ import annotations


class ExportError(RuntimeError):
    """A model (or an operation in it) that cannot be written as ONNX; the message says which and where."""
