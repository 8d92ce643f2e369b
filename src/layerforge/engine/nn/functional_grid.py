"""Spatial transformers' sampling, as PyTorch's: ``affine_grid`` (a sampling grid from affine matrices)
and ``grid_sample`` (bilinear or nearest, zeros/border/reflection padding, align_corners), for 4-d
input. Composed of differentiable operations (the corner reads are gathers), so the gradients reach
both the input and the grid as PyTorch's do."""
from __future__ import annotations

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
    """(N, H, W, 2) sampling locations: the output pixels' normalised (x, y, 1) times theta^T."""
    if align_corners is None:
        warnings.warn(_DEFAULT_CHANGED, UserWarning, stacklevel=2)
        align_corners = False
    if align_corners and len(size) == 4 and min(size[2:]) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the documentation "
                      "of affine_grid for details.", UserWarning, stacklevel=2)
    if len(size) != 4:
        raise NotImplementedError(f"affine_grid only supports 4D sizes, for 2D affine transformations here. "
                                  f"Got size {list(size)}.")
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (2, 3):
        raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {list(size)}. Got "
                         f"{list(theta.shape)}.")
    n, _, h, w = size
    xs = _base_coords(w, align_corners, theta)
    ys = _base_coords(h, align_corners, theta)
    base = _ops.stack([xs.reshape(1, w).expand(h, w), ys.reshape(h, 1).expand(h, w),
                       (xs * 0 + 1).reshape(1, w).expand(h, w)], -1)  # (H, W, 3)
    return _ops.matmul(base.reshape(1, h * w, 3), theta.transpose(1, 2)).reshape(n, h, w, 2)


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
    if mode == "bicubic":
        raise NotImplementedError("grid_sample(mode='bicubic') is not written yet; use 'bilinear' or 'nearest'")
    if input.ndim != 4 or grid.ndim != 4 or grid.shape[-1] != 2:
        raise RuntimeError(f"grid_sampler(): expected 4D input and grid with last dim 2 here, but got input "
                           f"{list(input.shape)} and grid {list(grid.shape)}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got input with "
                           f"sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    n, c, h, w = input.shape
    out_h, out_w = grid.shape[1:3]
    x = _source(grid[..., 0], w, padding_mode, align_corners)  # (N, Ho, Wo)
    y = _source(grid[..., 1], h, padding_mode, align_corners)
    flat = input.reshape(n, c, h * w)

    def read(ix, iy):
        """input at integer positions (N, Ho, Wo), zero outside: (N, C, Ho, Wo)."""
        inside = (ix >= 0) & (ix <= w - 1) & (iy >= 0) & (iy <= h - 1)
        index = (_ops.clamp(iy, 0, h - 1) * w + _ops.clamp(ix, 0, w - 1)).long().reshape(n, 1, -1).expand(n, c, -1)
        values = flat.gather(2, index).reshape(n, c, out_h, out_w)
        return values * inside.to(values.dtype).unsqueeze(1)

    if mode == "nearest":
        return read(_ops.round(x.detach()), _ops.round(y.detach()))
    x0, y0 = _ops.floor(x.detach()), _ops.floor(y.detach())
    x1, y1 = x0 + 1, y0 + 1
    wx1, wy1 = (x - x0).unsqueeze(1), (y - y0).unsqueeze(1)
    wx0, wy0 = 1 - wx1, 1 - wy1
    return (read(x0, y0) * wx0 * wy0 + read(x1, y0) * wx1 * wy0 + read(x0, y1) * wx0 * wy1
            + read(x1, y1) * wx1 * wy1)
