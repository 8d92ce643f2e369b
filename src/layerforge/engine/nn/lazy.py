"""Lazy layers, as ``torch.nn.LazyLinear`` and friends (which Dive into Deep Learning builds on): the
input size is read from the first input, then the layer becomes its ordinary class (LazyLinear becomes
Linear). Parameters exist from the start as ``UninitializedParameter`` objects and are filled in
place, so an optimizer or a list holding them keeps working after the first forward.
"""
from __future__ import annotations

from ..creation import empty
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .linear import Linear
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d
from .normalization_more import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .parameter import Parameter


class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet; ``materialize`` gives it one and makes it a Parameter."""

    cls_to_become = Parameter

    def materialize(self, shape, device=None, dtype=None) -> None:
        self._data = empty(*shape, device=device or self.device, dtype=dtype or self.dtype)._data
        self.__class__ = Parameter

    def __repr__(self):
        return "<UninitializedParameter>"


class LazyModuleMixin:
    """Builds the ordinary layer once the first input says its size, keeping the parameter objects."""

    cls_to_become = None
    _in_size_dim = 1  # where the input's size sits in a batched input (the last dim for Linear)

    def _start_lazy(self):
        for name, param in self._parameters.items():
            if param is not None:
                param._data = empty(0, device=param.device, dtype=param.dtype)._data
                param.__class__ = UninitializedParameter
        for name, buffer in self._buffers.items():
            if buffer is not None and name != "num_batches_tracked":
                buffer._data = empty(0, device=buffer.device, dtype=buffer.dtype)._data

    def has_uninitialized_params(self) -> bool:
        return any(isinstance(p, UninitializedParameter) for p in self._parameters.values())

    def _in_size(self, input) -> int:  # noqa: A002
        batched_dims = getattr(self, "_batched_ndim", None)
        if self._in_size_dim == -1:
            return input.shape[-1]
        unbatched = batched_dims is not None and input.ndim == batched_dims - 1
        return input.shape[0 if unbatched else 1]

    def initialize_parameters(self, input, *args, **kwargs) -> None:  # noqa: A002
        fresh = self._build(self._in_size(input))
        for name, param in self._parameters.items():
            made = fresh._parameters.get(name)
            if param is not None and made is not None:
                param._data = made._data
                param.__class__ = Parameter
        for name, buffer in self._buffers.items():
            made = fresh._buffers.get(name)
            if buffer is not None and made is not None:
                buffer._data = made._data
        for key, value in vars(fresh).items():
            if not key.startswith("_") and key != "training":
                self.__dict__[key] = value
        self.__class__ = self.cls_to_become

    def forward(self, input, *args, **kwargs):  # noqa: A002
        if self.has_uninitialized_params() or type(self) is not self.cls_to_become:
            self.initialize_parameters(input)
        return self.forward(input, *args, **kwargs)


class LazyLinear(LazyModuleMixin, Linear):
    cls_to_become = Linear
    _in_size_dim = -1

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None):
        Linear.__init__(self, 1, out_features, bias, device, dtype)
        self._lazy = {"out_features": out_features, "bias": bias, "device": device, "dtype": dtype}
        self._start_lazy()

    def _build(self, in_size):
        return Linear(in_size, **self._lazy)


def _lazy_conv(name, base, batched_ndim, transposed=False):
    def __init__(self, out_channels, kernel_size, stride=1, padding=0, *args, **kwargs):
        options = dict(zip(("output_padding", "groups", "bias", "dilation", "padding_mode") if transposed else
                           ("dilation", "groups", "bias", "padding_mode"), args), **kwargs)
        groups = options.get("groups", 1)
        base.__init__(self, groups, out_channels, kernel_size, stride, padding, **options)
        self._lazy = dict(out_channels=out_channels, kernel_size=kernel_size, stride=stride, padding=padding,
                          **options)
        self._start_lazy()

    def _build(self, in_size):
        return base(in_size, **self._lazy)

    return type(name, (LazyModuleMixin, base), {"__init__": __init__, "_build": _build, "cls_to_become": base,
                                                "_batched_ndim": batched_ndim, "__module__": __name__})


def _lazy_norm(name, base, batched_ndim, stats: bool):
    def __init__(self, eps=1e-5, momentum=0.1, affine=stats, track_running_stats=stats, device=None, dtype=None):
        base.__init__(self, 1, eps, momentum, affine, track_running_stats, device=device, dtype=dtype)
        self._lazy = dict(eps=eps, momentum=momentum, affine=affine, track_running_stats=track_running_stats,
                          device=device, dtype=dtype)
        self._start_lazy()

    def _build(self, in_size):
        return base(in_size, **self._lazy)

    return type(name, (LazyModuleMixin, base), {"__init__": __init__, "_build": _build, "cls_to_become": base,
                                                "_batched_ndim": batched_ndim, "__module__": __name__})


LazyConv1d = _lazy_conv("LazyConv1d", Conv1d, 3)
LazyConv2d = _lazy_conv("LazyConv2d", Conv2d, 4)
LazyConv3d = _lazy_conv("LazyConv3d", Conv3d, 5)
LazyConvTranspose1d = _lazy_conv("LazyConvTranspose1d", ConvTranspose1d, 3, transposed=True)
LazyConvTranspose2d = _lazy_conv("LazyConvTranspose2d", ConvTranspose2d, 4, transposed=True)
LazyConvTranspose3d = _lazy_conv("LazyConvTranspose3d", ConvTranspose3d, 5, transposed=True)
# batch norms take batched input only (channels in dim 1); instance norms also unbatched input
LazyBatchNorm1d = _lazy_norm("LazyBatchNorm1d", BatchNorm1d, None, True)
LazyBatchNorm2d = _lazy_norm("LazyBatchNorm2d", BatchNorm2d, None, True)
LazyBatchNorm3d = _lazy_norm("LazyBatchNorm3d", BatchNorm3d, None, True)
# (PyTorch's lazy instance norms default to affine=True, track_running_stats=True, unlike the eager ones)
LazyInstanceNorm1d = _lazy_norm("LazyInstanceNorm1d", InstanceNorm1d, 3, True)
LazyInstanceNorm2d = _lazy_norm("LazyInstanceNorm2d", InstanceNorm2d, 4, True)
LazyInstanceNorm3d = _lazy_norm("LazyInstanceNorm3d", InstanceNorm3d, 5, True)
