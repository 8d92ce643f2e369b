"""Padding layers: Zero/Constant/Reflection/Replication/CircularPad for 1, 2 and 3 spatial dims, each
``F.pad`` with PyTorch's argument layout (an int pads every side; a tuple lists (left, right, top, ...))."""
from __future__ import annotations

from ..ops import channel_shuffle
from . import functional as F
from .module import Module


class _PadNd(Module):
    _dims = 1
    _mode = "constant"

    def __init__(self, padding, value: float = 0.0):
        super().__init__()
        self.padding = (padding,) * (2 * self._dims) if isinstance(padding, int) else tuple(padding)
        if len(self.padding) != 2 * self._dims:
            raise ValueError(f"{type(self).__name__} expects {2 * self._dims} padding values, got {self.padding}")
        self.value = value

    def forward(self, input):  # noqa: A002
        return F.pad(input, self.padding, self._mode, self.value if self._mode == "constant" else None)

    def extra_repr(self):
        return f"{self.padding}" + (f", value={self.value}" if self._mode == "constant" else "")


def _family(prefix: str, mode: str, takes_value: bool):
    classes = []
    for dims in (1, 2, 3):
        attrs = {"_dims": dims, "_mode": mode}
        if not takes_value:
            attrs["__init__"] = lambda self, padding: _PadNd.__init__(self, padding)
        classes.append(type(f"{prefix}{dims}d", (_PadNd,), attrs))
    return classes


ConstantPad1d, ConstantPad2d, ConstantPad3d = _family("ConstantPad", "constant", True)
ZeroPad1d, ZeroPad2d, ZeroPad3d = _family("ZeroPad", "constant", False)
ReflectionPad1d, ReflectionPad2d, ReflectionPad3d = _family("ReflectionPad", "reflect", False)
ReplicationPad1d, ReplicationPad2d, ReplicationPad3d = _family("ReplicationPad", "replicate", False)
CircularPad1d, CircularPad2d, CircularPad3d = _family("CircularPad", "circular", False)
for _cls in (ConstantPad1d, ConstantPad2d, ConstantPad3d, ZeroPad1d, ZeroPad2d, ZeroPad3d, ReflectionPad1d,
             ReflectionPad2d, ReflectionPad3d, ReplicationPad1d, ReplicationPad2d, ReplicationPad3d, CircularPad1d,
             CircularPad2d, CircularPad3d):
    _cls.__module__ = __name__


class Softmax2d(Module):
    """Softmax over the channels of (N, C, H, W) or (C, H, W) input."""

    def forward(self, input):  # noqa: A002
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D instead")
        return F.softmax(input, -3)


class ChannelShuffle(Module):
    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, input):  # noqa: A002
        return channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"
