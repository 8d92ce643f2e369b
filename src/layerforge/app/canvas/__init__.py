"""The model canvas: a QGraphicsScene mirroring the ModelDocument, and the view that shows it."""
from .scene import ModelScene
from .view import ModelCanvas, LAYER_MIME_TYPE

__all__ = ["LAYER_MIME_TYPE", "ModelCanvas", "ModelScene"]
