"""Convolution layers: ``Conv1d``, ``Conv2d``, ``ConvTranspose2d`` with PyTorch's arguments and init."""
from __future__ import annotations

import math

from . import functional as F
from . import init
from .module import Module
from .parameter import new_parameter, optional_parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(value, n, name):
    if isinstance(value, int):
        return (value,) * n
    value = tuple(value)
    if len(value) != n:
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value}")
    return value


class _ConvNd(Module):
    _dims = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, padding_mode, output_padding=0, device=None, dtype=None):
        super().__init__()
        n = self._dims
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError(f"in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _ntuple(kernel_size, n, "kernel_size")
        self.stride = _ntuple(stride, n, "stride")
        self.dilation = _ntuple(dilation, n, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string '{padding}', should be one of "
                                 "['valid', 'same']")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _ntuple(padding, n, "padding")
        self.output_padding = _ntuple(output_padding, n, "output_padding")
        self.groups, self.padding_mode = groups, padding_mode
        if self.transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = new_parameter(shape, device, dtype)
        self.register_parameter("bias", optional_parameter(bias, (out_channels,), device, dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _mode_padded(self, input):
        """Non-zero padding modes pad explicitly first; the convolution then pads nothing."""
        if self.padding_mode == "zeros":
            return input, self.padding
        if isinstance(self.padding, str):
            pads = []
            for k, d in zip(self.kernel_size, self.dilation):
                total = 0 if self.padding == "valid" else d * (k - 1)
                pads.append((total // 2, total - total // 2))
        else:
            pads = [(p, p) for p in self.padding]
        widths = []
        for lo, hi in reversed(pads):
            widths += [lo, hi]
        return F.pad(input, widths, mode=self.padding_mode), 0

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        n = self._dims
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _ForwardConvNd(_ConvNd):
    """Conv1d and Conv2d: PyTorch's constructor; forward pads by mode, then convolves."""

    _convolve = None  # the functional form for this many spatial dimensions

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device=device, dtype=dtype)

    def forward(self, input):  # noqa: A002
        input, padding = self._mode_padded(input)
        return self._convolve(input, self.weight, self.bias, self.stride, padding, self.dilation,
                              self.groups)


class Conv1d(_ForwardConvNd):
    _dims = 1
    _convolve = staticmethod(F.conv1d)


class Conv2d(_ForwardConvNd):
    _dims = 2
    _convolve = staticmethod(F.conv2d)


class Conv3d(_ForwardConvNd):
    _dims = 3
    _convolve = staticmethod(F.conv3d)


class ConvTranspose2d(_ConvNd):
    _dims = 2
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for ConvTranspose2d, got '
                             f"'{padding_mode}'")
        if isinstance(padding, str):
            raise ValueError("ConvTranspose2d takes integer padding, not a string")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, output_padding, device=device, dtype=dtype)

    def forward(self, input, output_size=None):  # noqa: A002
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding_for(input, output_size)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  output_padding, self.groups, self.dilation)

    def _output_padding_for(self, input, output_size):
        n = self._dims
        wanted = tuple(output_size)[-n:]
        extra = []
        for axis in range(n):
            size = input.shape[-n + axis]
            smallest = ((size - 1) * self.stride[axis] - 2 * self.padding[axis] +
                        self.dilation[axis] * (self.kernel_size[axis] - 1) + 1)
            if not smallest <= wanted[axis] < smallest + self.stride[axis]:
                raise ValueError(f"requested an output size of {list(wanted)}, but valid sizes "
                                 f"along axis {axis} range from {smallest} to "
                                 f"{smallest + self.stride[axis] - 1}")
            extra.append(wanted[axis] - smallest)
        return tuple(extra)


class ConvTranspose1d(ConvTranspose2d):
    _dims = 1

    def forward(self, input, output_size=None):  # noqa: A002
        output_padding = self.output_padding
        if output_size is not None:
            size = input.shape[-1]
            smallest = ((size - 1) * self.stride[0] - 2 * self.padding[0] +
                        self.dilation[0] * (self.kernel_size[0] - 1) + 1)
            wanted = tuple(output_size)[-1]
            if not smallest <= wanted < smallest + self.stride[0]:
                raise ValueError(f"requested an output size of {wanted}, but valid sizes range from {smallest} "
                                 f"to {smallest + self.stride[0] - 1}")
            output_padding = (wanted - smallest,)
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                  self.groups, self.dilation)


class ConvTranspose3d(ConvTranspose2d):
    _dims = 3

    def forward(self, input, output_size=None):  # noqa: A002
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding_for(input, output_size)
        return F.conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                                  self.groups, self.dilation)
