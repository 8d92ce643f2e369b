"""What a Layerforge-exported ONNX file says about its own layers beyond its operators.

The exporter writes the model's spec into the file's metadata (``layerforge.spec``). The operators
stay the truth for the structure and the weights; the spec only fills in what ONNX cannot carry,
each time after checking that it agrees with what the operators say:

- settings that act only in training (dropout rates, batch norm momentum, an RNN's dropout),
- which of several equivalent layers was drawn (Flatten, Unflatten or Reshape; 'same' padding or
  its numbers; a pool's stride left empty; AdaptiveAvgPool2d rather than the AvgPool2d it became),
- layers without learned scale or bias (whose exported ones and zeros are then dropped again),
- the layers' ids and canvas positions, when every imported layer is found in it.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

import numpy as np

from layerforge.graph import GraphError, ModelSpec, get_layer
from layerforge.graph.errors import ShapeError

SUBSTITUTES = {
    "Reshape": {"Reshape", "Flatten", "Unflatten"},
    "Flatten": {"Flatten", "Reshape", "Unflatten"},
    "AvgPool2d": {"AvgPool2d", "AdaptiveAvgPool2d"},
    "Identity": {"Identity", "Dropout"},
}
# Parameters ONNX does not carry (or carries in another, equivalent form), per layer type.
_TRAINING_ONLY = {"BatchNorm1d": {"momentum"}, "BatchNorm2d": {"momentum"}, "RNN": {"dropout"},
                  "LSTM": {"dropout"}, "GRU": {"dropout"}, "Embedding": {"padding_idx"}, "Softplus": {"threshold"},
                  "Flatten": {"start_dim", "end_dim"}, "Reshape": {"shape"},
                  "MultiheadSelfAttention": {"dropout"}, "TransformerEncoderBlock": {"dropout"}}   # reshapes: the same output shape


class Hints:
    """The exported spec's nodes by name (empty for files from elsewhere)."""

    def __init__(self, spec: ModelSpec | None = None):
        self.spec = spec
        self.by_name = {node.name: node for node in spec.nodes.values()} if spec is not None else {}

    @classmethod
    def from_metadata(cls, model: Any) -> tuple["Hints", str | None]:
        """Hints from ``layerforge.spec`` in the model's metadata, and a note when it was unreadable."""
        text = next((prop.value for prop in model.metadata_props if prop.key == "layerforge.spec"), None)
        if text is None:
            return cls(), None
        try:
            return cls(ModelSpec.from_dict(json.loads(text))), None
        except (ValueError, TypeError, GraphError, RecursionError):
            return cls(), "the Layerforge model description in the file's metadata was unreadable and was ignored"

    def has(self, name: str, layer_type: str) -> bool:
        node = self.by_name.get(name)
        return node is not None and node.type == layer_type

    def refine(self, base: str, layer_type: str, params: dict, weights: dict, in_shapes, out_shape):
        """(type, params, weights) of the layer, with what the hint adds where it agrees."""
        node = self.by_name.get(base)
        if node is None or node.type not in SUBSTITUTES.get(layer_type, {layer_type}):
            return layer_type, params, weights
        hinted = dict(node.params)
        try:
            if tuple(get_layer(node.type).infer(hinted, in_shapes)) != tuple(out_shape):
                return layer_type, params, weights
        except (GraphError, ShapeError, ValueError):
            return layer_type, params, weights
        if node.type != layer_type:
            if node.type == "AdaptiveAvgPool2d" and not _pools_like_adaptive(params, in_shapes[0], hinted):
                return layer_type, params, weights
            return node.type, hinted, weights
        weights = dict(weights)
        for key, value in params.items():
            wanted = hinted.get(key)
            if wanted == value or key in _TRAINING_ONLY.get(layer_type, ()):
                continue
            if not _equivalent(layer_type, key, value, wanted, params, hinted, weights):
                return layer_type, params, dict(weights)
        _drop_unlearned(layer_type, hinted, weights)
        return layer_type, hinted, weights

    def placement(self, spec: ModelSpec) -> dict[str, tuple[str, tuple[float, float]]] | None:
        """node id -> (the exported id, position) when every node is in the hint, by name and type."""
        if self.spec is None or len(self.spec.nodes) != len(spec.nodes):
            return None
        result = {}
        for node in spec.nodes.values():
            hinted = self.by_name.get(node.name)
            if hinted is None or hinted.type != node.type:
                return None
            result[node.id] = (hinted.id, hinted.position)
        return result


def _equivalent(layer_type, key, value, wanted, params, hinted, weights) -> bool:
    if key == "stride" and "Pool" in layer_type:
        return tuple(value or params["kernel_size"]) == tuple(wanted or hinted["kernel_size"])
    if key == "padding" and layer_type in ("Conv1d", "Conv2d"):
        return _conv_pairs(params) == _conv_pairs(hinted)
    if key in ("affine", "elementwise_affine") and wanted is False:
        return _is_constant(weights.get("weight"), 1.0) and _is_constant(weights.get("bias"), 0.0)
    if key == "bias" and wanted is False and layer_type in ("RNN", "LSTM", "GRU"):
        return all(_is_constant(array, 0.0) for name, array in weights.items() if name.startswith("bias_"))
    return False


def _drop_unlearned(layer_type: str, hinted: Mapping, weights: dict) -> None:
    if hinted.get("affine") is False or hinted.get("elementwise_affine") is False:
        weights.pop("weight", None)
        weights.pop("bias", None)
    if layer_type in ("RNN", "LSTM", "GRU") and hinted.get("bias") is False:
        for name in [name for name in weights if name.startswith("bias_")]:
            del weights[name]


def _conv_pairs(params) -> tuple:
    padding = params["padding"]
    if padding == "valid":
        return tuple((0, 0) for _ in params["kernel_size"])
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip(params["kernel_size"], params["dilation"])]
        return tuple((t // 2, t - t // 2) for t in totals)
    return tuple((p, p) for p in padding)


def _pools_like_adaptive(params, in_shape, hinted) -> bool:
    _, height, width = in_shape
    out_h, out_w = hinted["output_size"]
    stride = params["stride"] or params["kernel_size"]
    return (height % out_h == 0 and width % out_w == 0 and tuple(params["kernel_size"]) == (height // out_h, width // out_w)
            and tuple(stride) == tuple(params["kernel_size"]) and not any(params["padding"]))


def _is_constant(array, value: float) -> bool:
    return array is not None and bool(np.all(np.asarray(array) == value))
