"""``torch.onnx.export`` for engine modules: trace one forward pass, write it as an ONNX graph.

    import layerforge.engine as torch
    torch.onnx.export(model, x, "model.onnx", input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})

The tracer (``tracer.py``) records the operations through the engine's one dispatch point
(``ops.common.apply``), plus the few gradient-free ones that bypass it (``untracked.py``); a second
trace at other sizes and values (``second_trace.py``) finds the dynamic dimensions and refuses
values computed around the recording; the converters (``converters_*.py``, registered in
``registry.py``) turn each operation into ONNX operators; ``builder.py`` holds the graph and
``writer.py`` writes it with the ``onnx`` package. ``supported_ops()`` lists the engine operations
that convert.

Importing the engine imports only this file: the exporter loads on first use, and the ``onnx``
package only when something is written.
"""
from __future__ import annotations

from .errors import ExportError

_LAZY = {"export": "exporter", "DEFAULT_OPSET": "exporter", "MIN_OPSET": "exporter", "MAX_OPSET": "exporter",
         "TracerWarning": "second_trace"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def supported_ops() -> list[str]:
    """The engine operations (node names) that have an ONNX converter."""
    from .registry import load
    return sorted(load())


__all__ = ["export", "ExportError", "TracerWarning", "supported_ops", "DEFAULT_OPSET", "MIN_OPSET", "MAX_OPSET"]
