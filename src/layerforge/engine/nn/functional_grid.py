"""Spatial transformers' sampling, as PyTorch's: ``affine_grid`` (a sampling grid from affine matrices)
and ``grid_sample`` (bilinear/trilinear or nearest, zeros/border/reflection padding, align_corners), for
4-d and 5-d input. Composed of differentiable operations (the corner reads are gathers), so the gradients reach
both the input and the grid as PyTorch's do."""
from __future__ import annotations

import itertools
import math
import warnings

import numpy as np

from .. import backend
from .. import ops as _ops
from ..tensor import Tensor


def _base_coords(size: int, align_corners: bool, like):
    if size <= 1:
        coords = np.zeros(size)
    else:
        coords = np.linspace(-1.0, 1.0, size)
        if not align_corners:
            coords = coords * (size - 1) / size
    return Tensor._wrap(backend.to_device_array(coords.astype(like._data.dtype), like.device))


_DEFAULT_CHANGED = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                    "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                    "grid_sample for details.")


def affine_grid(theta, size, align_corners=None):
    """(N, H, W, 2) (or (N, D, H, W, 3)) sampling locations: the output pixels' normalised (x, y[, z], 1)
    times theta^T."""
    if align_corners is None:
        warnings.warn(_DEFAULT_CHANGED, UserWarning, stacklevel=2)
        align_corners = False
    if align_corners and len(size) in (4, 5) and min(size[2:]) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the documentation "
                      "of affine_grid for details.", UserWarning, stacklevel=2)
    if len(size) not in (4, 5):
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine "
                                  f"transformations, respectively. Got size {list(size)}.")
    spatial = len(size) - 2
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (spatial, spatial + 1):
        kind = "2D affine matrices of shape Nx2x3" if spatial == 2 else "3D affine matrices of shape Nx3x4"
        raise ValueError(f"Expected a batch of {kind} for size {list(size)}. Got {list(theta.shape)}.")
    n, sizes = size[0], list(size[2:])
    axes = [_base_coords(s, align_corners, theta) for s in sizes]  # in input order: (D,) H, W
    columns = []
    for k in range(spatial):  # x runs along the last dim, y the one before, z the first
        axis = spatial - 1 - k
        shape = [1] * spatial
        shape[axis] = sizes[axis]
        columns.append(axes[axis].reshape(*shape).expand(*sizes))
    columns.append((axes[-1] * 0 + 1).reshape(*([1] * (spatial - 1)), sizes[-1]).expand(*sizes))
    base = _ops.stack(columns, -1)  # (..., spatial + 1)
    points = math.prod(sizes)
    return _ops.matmul(base.reshape(1, points, spatial + 1), theta.transpose(1, 2)).reshape(n, *sizes, spatial)


def _unnormalize(coord, size: int, align_corners: bool):
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _reflect(coord, low2: float, high2: float):
    """PyTorch's reflect_coordinates: fold coord into [low2/2, high2/2] by reflection."""
    if low2 == high2:
        return coord * 0
    low, span = low2 / 2, (high2 - low2) / 2
    coord = (coord - low).abs()
    extra = _ops.fmod(coord, span)
    flips = _ops.floor(coord.detach() / span)
    even = (flips % 2) == 0
    return _ops.where(even, extra + low, span - extra + low)


def _source(coord, size: int, padding_mode: str, align_corners: bool):
    coord = _unnormalize(coord, size, align_corners)
    if padding_mode == "border":
        coord = _ops.clamp(coord, 0, size - 1)
    elif padding_mode == "reflection":
        coord = _reflect(coord, 0, 2 * (size - 1)) if align_corners else _reflect(coord, -1, 2 * size - 1)
        coord = _ops.clamp(coord, 0, size - 1)
    return coord


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):  # noqa: A002
    if align_corners is None:
        warnings.warn(_DEFAULT_CHANGED, UserWarning, stacklevel=2)
        align_corners = False
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    spatial = input.ndim - 2
    if spatial not in (2, 3) or grid.ndim != input.ndim or grid.shape[-1] != spatial:
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, and "
                           f"a grid's last dim of 2 or 3, but got input {list(input.shape)} and grid "
                           f"{list(grid.shape)}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got input with "
                           f"sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    n, c = input.shape[:2]
    sizes = list(input.shape[2:])
    out_sizes = list(grid.shape[1:-1])
    # grid[..., 0] is x (the last dim), grid[..., 1] is y, grid[..., 2] is z (the first)
    coords = [_source(grid[..., spatial - 1 - axis], sizes[axis], padding_mode, align_corners)
              for axis in range(spatial)]
    strides = [math.prod(sizes[axis + 1:]) for axis in range(spatial)]
    flat = input.reshape(n, c, math.prod(sizes))

    def read(positions):
        """input at integer positions (one (N, *out) tensor per axis), zero outside: (N, C, *out)."""
        inside = None
        linear = 0
        for p, size, stride in zip(positions, sizes, strides):
            ok = (p >= 0) & (p <= size - 1)
            inside = ok if inside is None else inside & ok
            linear = linear + _ops.clamp(p, 0, size - 1) * stride
        index = linear.long().reshape(n, 1, -1).expand(n, c, -1)
        values = flat.gather(2, index).reshape(n, c, *out_sizes)
        return values * inside.to(values.dtype).unsqueeze(1)

    if mode == "bicubic":
        if spatial != 2:
            raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
        return _bicubic(grid, sizes, padding_mode, align_corners, read)
    if mode == "nearest":
        return read([_ops.round(p.detach()) for p in coords])
    lows = [_ops.floor(p.detach()) for p in coords]
    highs = [(p - low).unsqueeze(1) for p, low in zip(coords, lows)]
    total = None
    for corner in itertools.product((0, 1), repeat=spatial):
        weight = None
        for bit, high in zip(corner, highs):
            factor = high if bit else 1 - high
            weight = factor if weight is None else weight * factor
        term = read([low + bit for low, bit in zip(lows, corner)]) * weight
        total = term if total is None else total + term
    return total


_CUBIC_A = -0.75  # PyTorch's (and OpenCV's) cubic convolution coefficient


def _cubic_weights(t):
    """The four tap weights of cubic convolution at fractional offset t (PyTorch's get_cubic_upsample_coefficients)."""
    a = _CUBIC_A

    def near(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return far(t + 1), near(t), near(1 - t), far(2 - t)


def _bicubic(grid, sizes, padding_mode, align_corners, read):
    height, width = sizes
    ix = _unnormalize(grid[..., 0], width, align_corners)  # no padding on the point itself, as PyTorch
    iy = _unnormalize(grid[..., 1], height, align_corners)
    x0, y0 = _ops.floor(ix.detach()), _ops.floor(iy.detach())
    wx = [w.unsqueeze(1) for w in _cubic_weights(ix - x0)]
    wy = [w.unsqueeze(1) for w in _cubic_weights(iy - y0)]

    def tap(position, size):  # each tap is padded on its own
        if padding_mode == "border":
            return _ops.clamp(position, 0, size - 1)
        if padding_mode == "reflection":
            reflected = _reflect(position, 0, 2 * (size - 1)) if align_corners else _reflect(position, -1, 2 * size - 1)
            return _ops.clamp(reflected, 0, size - 1)
        return position

    out = None
    for i in range(4):
        row_y = tap(y0 - 1 + i, height)
        row = None
        for j in range(4):
            term = read([row_y, tap(x0 - 1 + j, width)]) * wx[j]
            row = term if row is None else row + term
        term = row * wy[i]
        out = term if out is None else out + term
    return out
