"""``torch.onnx.export`` for engine modules: trace one forward pass, write it as an ONNX graph.

    import layerforge.engine as torch
    torch.onnx.export(model, x, "model.onnx", input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})

The tracer (``tracer.py``) records the operations through the engine's one dispatch point
(``ops.common.apply``), plus the few gradient-free ones that bypass it (``untracked.py``); a second
trace at other sizes and values (``second_trace.py``) finds the dynamic dimensions and refuses
values computed around the recording; the converters (``converters_*.py``, registered in
``registry.py``) turn each operation into ONNX operators; ``builder.py`` holds the graph and
``writer.py`` writes it with the ``onnx`` package, which is imported only when something is
exported. ``supported_ops()`` lists the engine operations that convert.
"""
from __future__ import annotations

from .errors import ExportError
from .export import DEFAULT_OPSET, MAX_OPSET, MIN_OPSET, export
from .second_trace import TracerWarning


def supported_ops() -> list[str]:
    """The engine operations (node names) that have an ONNX converter."""
    from .registry import load
    return sorted(load())


__all__ = ["export", "ExportError", "TracerWarning", "supported_ops", "DEFAULT_OPSET", "MIN_OPSET", "MAX_OPSET"]
