"""The layer catalog: every layer type Layerforge knows, declared once, looked up by name.

The palette reads ``categories()`` / ``layers_in()``, the inspector reads ``get_layer(t).params``,
validation and compilation read the shape rule and the module call, and the exporters read the same.
Adding a layer type means one declaration in a ``catalog_*`` module, listed in ``_DECLARATIONS``.
"""
from __future__ import annotations

from typing import Any, Sequence

from . import catalog_activation, catalog_attention, catalog_basic, catalog_conv, catalog_sequence
from .errors import SpecError
from .layer_type import LayerType, Shape

CATEGORIES = ("Input/Output", "Dense", "Convolution", "Pooling", "Recurrent", "Attention", "Normalization",
              "Activation", "Regularization", "Reshape", "Merge")

_DECLARATIONS = (catalog_basic.LAYERS + catalog_conv.LAYERS + catalog_sequence.LAYERS
                 + catalog_attention.LAYERS + catalog_activation.LAYERS)
_REGISTRY: dict[str, LayerType] = {}
for _layer in _DECLARATIONS:
    assert _layer.type not in _REGISTRY, f"layer type {_layer.type} declared twice"
    assert _layer.category in CATEGORIES, f"{_layer.type}: unknown category {_layer.category}"
    _REGISTRY[_layer.type] = _layer


def categories() -> tuple[str, ...]:
    """Palette groups, in display order (only those that hold at least one layer)."""
    return tuple(c for c in CATEGORIES if layers_in(c))


def layers_in(category: str) -> tuple[LayerType, ...]:
    if category not in CATEGORIES:
        raise KeyError(f"unknown category {category!r}; categories are: {', '.join(CATEGORIES)}")
    return tuple(layer for layer in _REGISTRY.values() if layer.category == category)


def layer_types() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def all_layers() -> tuple[LayerType, ...]:
    return tuple(_REGISTRY.values())


def get_layer(layer_type: str) -> LayerType:
    try:
        return _REGISTRY[layer_type]
    except KeyError:
        close = [name for name in _REGISTRY if name.lower() == str(layer_type).lower()]
        hint = f"; did you mean {close[0]!r}?" if close else "; see layerforge.graph.layer_types()"
        raise SpecError(f"unknown layer type {layer_type!r}{hint}", kind="unknown_type") from None


def search(text: str) -> tuple[LayerType, ...]:
    """Layers whose name, category or description contains ``text`` (case-insensitive), for the palette."""
    needle = text.strip().lower()
    return tuple(layer for layer in _REGISTRY.values()
                 if needle in layer.type.lower() or needle in layer.category.lower()
                 or needle in layer.description.lower())


def torch_code(node: Any, in_shapes: Sequence[Shape]) -> str | None:
    """PyTorch source constructing ``node``'s module, e.g. ``"nn.Linear(784, 128, bias=True)"``.

    ``node`` is a spec Node (anything with ``.type`` and ``.params``); None for Input and merges,
    whose forward expressions come from ``get_layer(t).merge.code``.
    """
    return get_layer(node.type).torch_code(node.params, in_shapes)
