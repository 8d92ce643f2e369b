"""BatchNorm without running statistics, as Layerforge exports it: the batch's own mean and variance
in ReduceMean / Sub / Mul / Sqrt / Div arithmetic (``onnx_layers._batch_norm``), every node named
``<layer>/...``.

That arithmetic has no layer of its own; it is gathered back into the BatchNorm layer only where the
file's Layerforge metadata names a BatchNorm without running statistics at that name, and only
when the nodes are exactly the ones the exporter writes for it.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .onnx_import_graph import ImportState, Unsupported

EXPORTED_OPS = ["ReduceMean", "Sub", "Mul", "ReduceMean", "Add", "Sqrt", "Div", "Mul", "Add"]


def layer_of(st: ImportState, node: Any) -> str | None:
    """The BatchNorm layer (without running statistics) ``node`` belongs to, by the metadata; or None."""
    layer = str(node.name).split("/")[0]
    hinted = st.hints.by_name.get(layer)
    if hinted is None or hinted.type not in ("BatchNorm1d", "BatchNorm2d") or hinted.params["track_running_stats"]:
        return None
    return layer


def convert_batch_statistics(st: ImportState, node: Any, order: list) -> None:
    layer = layer_of(st, node)
    group = [n for n in order if str(n.name).split("/")[0] == layer and id(n) not in st.consumed]
    if [n.op_type for n in group] != EXPORTED_OPS:
        raise Unsupported(f"the nodes of BatchNorm '{layer}' are not the ones Layerforge exports for it")
    inside = {id(n) for n in group}
    produced = {name for n in group for name in n.output}
    sources = {name for n in group for name in n.input if name and name not in produced and not st.is_const(name)}
    if len(sources) != 1:
        raise Unsupported(f"the nodes of BatchNorm '{layer}' do not read one tensor")
    value = st.val(sources.pop())
    channels = st.shape(value)[0]
    params = dict(st.hints.by_name[layer].params)
    weights = {}
    if params["affine"]:
        for key in ("weight", "bias"):
            name = f"{layer}.{key}"
            if name not in st.consts:
                raise Unsupported(f"the weight {name!r} of BatchNorm '{layer}' is not in the file")
            weights[key] = np.asarray(st.weight(name, key)).reshape(-1)[:channels]
    output = group[-1].output[0]
    if any(id(user) not in inside for name in produced - {output} for user in st.consumers.get(name, [])):
        raise Unsupported(f"BatchNorm '{layer}' shares its inner values with other nodes")
    layer_type = "BatchNorm2d" if len(st.shape(value)) == 3 else "BatchNorm1d"
    st.add_layer(group[0], layer_type, params, [value], weights, output=output, base=layer)
    st.consume(*group)
