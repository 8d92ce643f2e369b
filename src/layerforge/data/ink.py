"""Which way round a set of images is drawn: the value of its background and the value of its ink.

The handwritten digits are light strokes on a dark ground (background 0, ink 1); a scan of a page is
dark on light. A sketch pad that draws for a model must draw as its training images were drawn, so
the pad reads both values from the data instead of assuming one convention.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE = 2000   # images looked at: enough to know the convention, cheap for a large set


@dataclass(frozen=True)
class Ink:
    """``background``: the value of an empty pixel; ``ink``: the value of a fully drawn one."""

    background: float = 0.0
    ink: float = 1.0

    def values(self, amount: np.ndarray) -> np.ndarray:
        """Pixel values for ``amount`` of ink in [0, 1] (0: background)."""
        return (self.background + amount * (self.ink - self.background)).astype(np.float32)

    @property
    def light_on_dark(self) -> bool:
        return self.ink >= self.background


def ink_of(images: np.ndarray) -> Ink:
    """The background is the usual value of the images' borders; the ink is the far end of the
    values' range from it (the 1st or 99th percentile, so a few stray pixels do not decide)."""
    x = np.asarray(images[:SAMPLE], dtype=np.float32)
    if x.ndim < 3 or x.size == 0 or not np.isfinite(x).all():
        return Ink()
    border = np.concatenate([x[..., 0, :].ravel(), x[..., -1, :].ravel(),
                             x[..., :, 0].ravel(), x[..., :, -1].ravel()])
    background = float(np.median(border))
    low, high = (float(v) for v in np.percentile(x, [1, 99]))
    ink = high if high - background >= background - low else low
    if ink == background:   # blank images: fall back to the pad's own convention, on their scale
        return Ink(background, background + 1.0)
    return Ink(background, ink)
