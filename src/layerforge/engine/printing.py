"""``repr`` of a Tensor, as PyTorch prints one: the same column widths, styles, summaries, wrapping and suffixes.

The algorithm follows torch/_tensor_str.py: one formatter per tensor (styled by the elements that are
shown), rows of at most ``(linewidth - indent) // (width + 2)`` elements, ``...`` for summarised parts,
then device, dtype and grad information, wrapped onto a new line where the last line would grow too long.
"""
from __future__ import annotations

import math

import numpy as np

from . import backend
from .dtypes import get_default_dtype

_DEFAULTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}
_PROFILES = {"default": _DEFAULTS, "short": {**_DEFAULTS, "precision": 2, "edgeitems": 2},
             "full": {**_DEFAULTS, "threshold": math.inf}}
OPTIONS = dict(_DEFAULTS)


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None) -> None:
    """torch.set_printoptions: digits after the point, how many elements before summarising, ..."""
    if profile is not None:
        OPTIONS.update(_PROFILES[profile])
    for key, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                       ("linewidth", linewidth)):
        if value is not None:
            OPTIONS[key] = value
    OPTIONS["sci_mode"] = sci_mode


class _Formatter:
    """PyTorch's float style: '1.' when all are whole, fixed decimals, or scientific for wide ranges."""

    def __init__(self, data: np.ndarray):
        self.floating = data.dtype.kind == "f"
        self.whole, self.sci, self.width = True, False, 1
        if not self.floating:
            self.width = max((len(_plain(v)) for v in data.reshape(-1).tolist()), default=1)
            return
        values = data[np.isfinite(data) & (data != 0)].astype(np.float64)
        if values.size == 0:
            return
        magnitudes = np.abs(values)
        low, high = magnitudes.min(), magnitudes.max()
        self.whole = bool(np.all(values == np.ceil(values)))
        self.sci = (high / low > 1000.0 or high > 1.0e8 or low < 1.0e-4) if OPTIONS["sci_mode"] is None \
            else bool(OPTIONS["sci_mode"])
        self.width = max(len(self._text(v)) for v in values.tolist())

    def _text(self, value: float) -> str:
        if self.sci:
            return f"{value:.{OPTIONS['precision']}e}"
        if self.whole:
            return f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        return f"{value:.{OPTIONS['precision']}f}"

    def format(self, value) -> str:
        text = self._text(value) if self.floating else _plain(value)
        return text.rjust(self.width)


def _plain(value) -> str:
    return str(value)


def _summarised(data: np.ndarray) -> np.ndarray:
    """The elements a summarised print shows: ``edgeitems`` at each end of every long axis."""
    edge = OPTIONS["edgeitems"]
    for axis, size in enumerate(data.shape):
        if size > 2 * edge:
            data = np.concatenate([np.take(data, range(edge), axis), np.take(data, range(size - edge, size), axis)],
                                  axis)
    return data


def _vector_text(data, indent: int, summarise: bool, formatter: _Formatter) -> str:
    per_line = max(1, math.floor((OPTIONS["linewidth"] - indent) / (formatter.width + 2)))
    edge = OPTIONS["edgeitems"]
    if summarise and not edge:
        items = ["..."]
    elif summarise and data.shape[0] > 2 * edge:
        items = ([formatter.format(v) for v in data[:edge].tolist()] + [" ..."]
                 + [formatter.format(v) for v in data[-edge:].tolist()])
    else:
        items = [formatter.format(v) for v in data.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _array_text(data, indent: int, summarise: bool, formatter: _Formatter) -> str:
    if data.ndim == 0:
        return formatter.format(data.item())
    if data.ndim == 1:
        return _vector_text(data, indent, summarise, formatter)
    edge = OPTIONS["edgeitems"]
    rows = range(data.shape[0])
    if summarise and data.shape[0] > 2 * edge:
        rows = [*range(edge), None, *range(data.shape[0] - edge, data.shape[0])]
    parts = ["..." if i is None else _array_text(data[i], indent + 1, summarise, formatter) for i in rows]
    return "[" + ("," + "\n" * (data.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _with_suffixes(text: str, suffixes, indent: int) -> str:
    pieces = [text]
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > OPTIONS["linewidth"]:
            pieces.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            pieces.append(", " + suffix)
            last_line += len(suffix) + 2
    return "".join(pieces) + ")"


def tensor_repr(t) -> str:
    prefix = "tensor("
    indent = len(prefix)
    data = backend.to_host(t._data)
    suffixes = []
    if t.device.type != backend.get_default_device().type:
        suffixes.append(f"device='{t.device}'")
    default = get_default_dtype().name
    if data.size == 0:
        if data.ndim != 1:
            suffixes.append(f"size={tuple(data.shape)}")
        if t.dtype.name != default:
            suffixes.append(f"dtype=layerforge.{t.dtype.name}")
        body = "[]"
    else:
        if not OPTIONS["edgeitems"]:
            suffixes.append(f"size={tuple(data.shape)}")
        if t.dtype.name not in {default, "int64", "bool"}:
            suffixes.append(f"dtype=layerforge.{t.dtype.name}")
        summarise = data.size > OPTIONS["threshold"]
        formatter = _Formatter(_summarised(data) if summarise else data)
        body = _array_text(data, indent, summarise, formatter)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, indent)
