"""Light image augmentation, applied to each training batch only: a random crop after padding, and
a random horizontal flip.

The settings are plain JSON stored with the data source (``{"crop_padding": 4, "hflip": true}``),
so a project keeps them. :class:`BatchAugmenter` works on a batch already standardised, so the
padding is filled with what a black pixel became (``fill``), not with 0; its randomness comes from
(seed, epoch, batch), so a run and its continuation see the same batches. Cost: one copy of the
batch, a few microseconds per image.
"""
from __future__ import annotations

import numpy as np

from .dataset import DataError

MAX_CROP_PADDING = 16
AUGMENT_KEYS = {"crop_padding": "pixels of padding before a random crop back to the image's size (0: off)",
                "hflip": "flip each image left-right with probability 1/2"}


def check_augment(value, where: str = "data augmentation") -> dict:
    """The augmentation settings with only what is on; DataError naming the bad key otherwise."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DataError(f"{where} must be a dict such as {{'crop_padding': 4, 'hflip': true}}, got {value!r}")
    unknown = sorted(set(value) - set(AUGMENT_KEYS))
    if unknown:
        raise DataError(f"{where} has unknown key(s) {', '.join(map(repr, unknown))}; its keys are: "
                        f"{', '.join(AUGMENT_KEYS)}")
    checked = {}
    padding = value.get("crop_padding", 0)
    if isinstance(padding, bool) or not isinstance(padding, int) or not 0 <= padding <= MAX_CROP_PADDING:
        raise DataError(f"{where}: 'crop_padding' must be a whole number of pixels in 0..{MAX_CROP_PADDING}, "
                        f"got {padding!r}")
    if padding:
        checked["crop_padding"] = padding
    flip = value.get("hflip", False)
    if not isinstance(flip, bool):
        raise DataError(f"{where}: 'hflip' must be true or false, got {flip!r}")
    if flip:
        checked["hflip"] = True
    return checked


def describe_augment(settings: dict) -> str:
    parts = []
    if settings.get("crop_padding"):
        parts.append(f"random crop (padding {settings['crop_padding']} px)")
    if settings.get("hflip"):
        parts.append("horizontal flip")
    return ", ".join(parts)


class BatchAugmenter:
    """``augmenter(x, epoch, batch)``: a new augmented batch (N, C, H, W); ``x`` is left unchanged."""

    def __init__(self, settings: dict, fill: np.ndarray, seed: int = 0):
        self.padding = int(settings.get("crop_padding", 0))
        self.flip = bool(settings.get("hflip", False))
        self.fill = np.asarray(fill, dtype=np.float32)   # (C, H, W): what the padding holds
        self.seed = int(seed)
        self._canvas: np.ndarray | None = None

    @classmethod
    def for_images(cls, settings: dict, sample_shape: tuple, fill: np.ndarray, seed: int = 0):
        """An augmenter for samples of ``sample_shape``, or None when nothing is on; DataError when
        the samples are not images (C, H, W)."""
        settings = check_augment(settings)
        if not settings:
            return None
        if len(sample_shape) != 3:
            raise DataError(f"augmentation ({describe_augment(settings)}) works on images (channels, height, "
                            f"width); these samples have shape {tuple(sample_shape)}: turn it off in the Data panel")
        return cls(settings, fill, seed)

    def __call__(self, x: np.ndarray, epoch: int, batch: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, epoch, batch, 0xA11])
        n, _, height, width = x.shape
        if self.padding:
            out = self._crop(x, rng, height, width)
        else:
            out = np.array(x, dtype=np.float32, copy=True)
        if self.flip:
            flipped = rng.random(n) < 0.5
            out[flipped] = out[flipped, :, :, ::-1]
        return out

    def _crop(self, x: np.ndarray, rng, height: int, width: int) -> np.ndarray:
        p = self.padding
        n, channels = x.shape[:2]
        shape = (channels, height + 2 * p, width + 2 * p)
        if self._canvas is None or self._canvas.shape[1:] != shape or len(self._canvas) < n:
            # The border holds, per channel, what a black pixel became; only the centre changes per batch.
            black = self.fill.reshape(channels, -1).mean(axis=1) if self.fill.size else np.zeros(channels)
            self._canvas = np.empty((n,) + shape, dtype=np.float32)
            self._canvas[:] = black.astype(np.float32)[:, None, None]
        canvas = self._canvas[:n]
        canvas[:, :, p:p + height, p:p + width] = x
        dy = rng.integers(0, 2 * p + 1, n)
        dx = rng.integers(0, 2 * p + 1, n)
        out = np.empty(x.shape, dtype=np.float32)
        for i in range(n):
            out[i] = canvas[i, :, dy[i]:dy[i] + height, dx[i]:dx[i] + width]
        return out


def augmenter_for(dataset, model_inputs, seed: int = 0) -> BatchAugmenter | None:
    """The augmenter training on ``dataset`` uses (None when its ``augment`` settings are off).
    ``model_inputs`` maps raw inputs to what the model reads, so the padding is a black pixel's value."""
    settings = getattr(dataset, "augment", None) or {}
    if not settings:
        return None
    shape = tuple(dataset.input_shape)
    fill = np.asarray(model_inputs(np.zeros((1,) + shape, np.float32)))[0] if len(shape) == 3 else np.zeros(0)
    return BatchAugmenter.for_images(settings, shape, fill, seed)
