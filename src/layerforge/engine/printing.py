"""``repr`` of a Tensor, shaped like PyTorch's: values, then device, dtype and grad information."""
from __future__ import annotations

import numpy as np

from . import backend


def tensor_repr(t) -> str:
    data = backend.to_host(t._data)
    if data.dtype.kind == "f":
        body = np.array2string(data, separator=", ", threshold=1000, edgeitems=3, prefix="tensor(",
                               formatter={"float_kind": _float_formatter(data)})
    else:
        body = np.array2string(data, separator=", ", threshold=1000, edgeitems=3, prefix="tensor(")
    extras = []
    if t.device.type != "cpu":
        extras.append(f"device='{t.device}'")
    default_shown = {"float32", "int64", "bool"}
    if t.dtype.name not in default_shown or data.size == 0:
        extras.append(f"dtype=layerforge.{t.dtype.name}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    if data.size == 0:
        extras.insert(0, f"size={tuple(data.shape)}")
        body = "[]"
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"


def _float_formatter(data):
    """PyTorch's float style: '1.' for whole numbers, 4 decimals, or scientific for wide ranges."""
    finite = np.abs(data[np.isfinite(data)]).astype(np.float64)
    nonzero = finite[finite > 0]
    if finite.size and np.all(finite == np.round(finite)) and finite.max() < 1e8:
        style = "{:.0f}."
    elif nonzero.size and (nonzero.max() >= 1e8 or nonzero.min() < 1e-4
                           or nonzero.max() / nonzero.min() > 1000):
        style = "{:.4e}"
    else:
        style = "{:.4f}"

    def text(value):
        return style.format(value) if np.isfinite(value) else str(value)

    sample = data.reshape(-1)
    if sample.size > 1000:  # summarised printing shows only the edges; their width is enough
        sample = np.concatenate([sample[:3], sample[-3:]])
    width = max((len(text(v)) for v in sample), default=0)
    return lambda value: text(value).rjust(width)
