"""``Dropout`` and its variants (Dropout1d/2d/3d zero whole channels, AlphaDropout keeps SELU's moments),
while training, from the engine's seeded generator."""
from __future__ import annotations

from . import functional as F
from .module import Module


class Dropout(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):  # noqa: A002
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class _ChannelDropout(Dropout):
    """Whole channels zeroed together (for feature maps whose neighbours are correlated)."""

    functional = None

    def forward(self, input):  # noqa: A002
        return type(self).functional(input, self.p, self.training)


class Dropout1d(_ChannelDropout):
    functional = staticmethod(F.dropout1d)


class Dropout2d(_ChannelDropout):
    functional = staticmethod(F.dropout2d)


class Dropout3d(_ChannelDropout):
    functional = staticmethod(F.dropout3d)


class AlphaDropout(_ChannelDropout):
    functional = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_ChannelDropout):
    functional = staticmethod(F.feature_alpha_dropout)
