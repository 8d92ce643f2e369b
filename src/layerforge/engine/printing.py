"""``repr`` of a Tensor, shaped like PyTorch's: values, then device, dtype and grad information."""
from __future__ import annotations

import numpy as np

from . import backend


def tensor_repr(t) -> str:
    data = backend.to_host(t._data)
    if data.dtype.kind == "f":
        body = np.array2string(data, separator=", ", precision=4, suppress_small=False,
                               threshold=1000, edgeitems=3, prefix="tensor(",
                               floatmode="maxprec_equal")
    else:
        body = np.array2string(data, separator=", ", threshold=1000, edgeitems=3, prefix="tensor(")
    extras = []
    if t.device.type != "cpu":
        extras.append(f"device='{t.device}'")
    default_shown = {"float32", "int64", "bool"}
    if t.dtype.name not in default_shown or data.size == 0:
        extras.append(f"dtype=layerforge.{t.dtype.name}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    if data.size == 0:
        extras.insert(0, f"size={tuple(data.shape)}")
        body = "[]"
    return "tensor(" + body + "".join(", " + e for e in extras) + ")"
