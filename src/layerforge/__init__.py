"""Layerforge: build neural networks visually and train them on a bundled engine."""

__version__ = "0.1.0"
