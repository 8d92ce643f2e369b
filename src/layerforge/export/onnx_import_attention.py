"""The attention layers back from ONNX: Layerforge's own decomposition, and the plain patterns.

Layerforge's exporter (``onnx_attention``) writes self-attention and the encoder block as dozens of
MatMul / Reshape / Transpose / Softmax nodes, each named ``<layer>/...`` and tagged
``layerforge.layer=<type>`` in its doc string, with weights named after the layer's state_dict keys
(``attn1.in_proj_weight.q_T``). Those nodes are gathered back into one layer here; its weights are
put back together from the named blocks and checked against the module's shapes when the model is
built. Two layers need no tag: sequence pooling (ReduceMean / ReduceMax over the positions, or
Gather of the first or last one) and a learned positional table added to a (sequence, features)
input.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .onnx_import_graph import ImportState, Unsupported, attr, f32, int_attr

TAG = "layerforge.layer="
GROUPED = ("MultiheadSelfAttention", "TransformerEncoderBlock", "PositionalEmbedding")


def tagged_type(node: Any) -> str | None:
    text = node.doc_string or ""
    if isinstance(text, bytes):   # not valid UTF-8: not a tag the exporter wrote
        return None
    if text.startswith(TAG) and text[len(TAG):] in GROUPED:
        return text[len(TAG):]
    return None


def convert_tagged(st: ImportState, node: Any, order: list) -> None:
    """Gather every node of the tagged layer ``node`` starts, and add that layer."""
    layer_type = tagged_type(node)
    layer = str(node.name).split("/")[0]
    group = [n for n in order if tagged_type(n) == layer_type and str(n.name).split("/")[0] == layer
             and id(n) not in st.consumed]
    inside = {id(n) for n in group}
    produced = {name for n in group for name in n.output}
    sources = {name for n in group for name in n.input if name and name not in produced and not st.is_const(name)}
    outputs = [name for name in produced if name in st.graph_outputs
               or any(id(user) not in inside for user in st.consumers.get(name, []))]
    if len(sources) != 1 or len(outputs) != 1:
        raise Unsupported(f"the nodes of {layer_type} '{layer}' do not read one tensor and give one")
    value = st.val(sources.pop())
    prefix = f"{layer}."
    if layer_type == "PositionalEmbedding":
        table = _named(st, prefix + "weight")
        params, weights = {"max_len": table.shape[0]}, {"weight": table}
    elif layer_type == "MultiheadSelfAttention":
        params, weights = _attention(st, prefix, group)
    else:
        params, weights = _encoder(st, prefix, group)
    st.add_layer(node, layer_type, params, [value], weights, output=outputs[0], base=layer)
    st.consume(*group)


def _named(st: ImportState, name: str) -> np.ndarray:
    if name not in st.consts:
        raise Unsupported(f"the weight {name!r} the layer needs is not in the file")
    return st.weight(name, name)


def _attention(st: ImportState, prefix: str, group: list) -> tuple[dict, dict]:
    shape = np.asarray(st.array(prefix + "q_heads_shape", "head shape")).reshape(-1)
    bias = prefix + "in_proj_bias.q" in st.consts
    weights = {"in_proj_weight": np.concatenate([_named(st, f"{prefix}in_proj_weight.{r}_T").T for r in "qkv"]),
               "out_proj.weight": _named(st, prefix + "out_proj.weight_T").T}
    if bias:
        weights["in_proj_bias"] = np.concatenate([_named(st, f"{prefix}in_proj_bias.{r}") for r in "qkv"])
        weights["out_proj.bias"] = _named(st, prefix + "out_proj.bias")
    return {"num_heads": int(shape[2]), "bias": bias}, weights


def _encoder(st: ImportState, prefix: str, group: list) -> tuple[dict, dict]:
    attention, attention_weights = _attention(st, prefix + "self_attn.", group)
    bias = attention["bias"]
    weights = {f"self_attn.{key}": array for key, array in attention_weights.items()}
    for name in ("linear1", "linear2"):
        weights[f"{name}.weight"] = _named(st, f"{prefix}{name}.weight_T").T
        if bias:
            weights[f"{name}.bias"] = _named(st, f"{prefix}{name}.bias")
    for name in ("norm1", "norm2"):
        weights[f"{name}.weight"] = _named(st, f"{prefix}{name}.weight")
        if bias:
            weights[f"{name}.bias"] = _named(st, f"{prefix}{name}.bias")
    norms = [n for n in group if n.op_type == "LayerNormalization"]
    ops = {n.op_type for n in group}
    params = {"num_heads": attention["num_heads"], "dim_feedforward": weights["linear1.weight"].shape[0],
              "activation": "relu" if "Relu" in ops else "gelu", "norm_first": group[0].op_type == "LayerNormalization",
              "layer_norm_eps": f32(attr(st.onnx, norms[0], "epsilon", 1e-5)) if norms else 1e-5, "bias": bias}
    return params, weights


# -- untagged ---------------------------------------------------------------------------------------------

def _axes(st: ImportState, node) -> list[int]:
    if len(node.input) > 1 and node.input[1]:
        return [int(a) for a in np.asarray(st.array(node.input[1], "axes")).reshape(-1)]
    return [int(a) for a in (attr(st.onnx, node, "axes", []) or [])]


def reduce_positions(st: ImportState, node) -> None:
    """ReduceMean / ReduceMax over axis 1 of (batch, sequence, features): SequencePool."""
    x = st.val(node.input[0])
    if len(st.shape(x)) != 2 or _axes(st, node) not in ([1], [-2]) or int_attr(node, "keepdims", 1):
        raise Unsupported("only a reduction over the positions of a (sequence, features) input, without keepdims, "
                          "is a layer (SequencePool)")
    st.add_layer(node, "SequencePool", {"mode": "mean" if node.op_type == "ReduceMean" else "max"}, [x])


def pick_position(st: ImportState, node) -> bool:
    """Gather of position 0 or -1 along axis 1 of (batch, sequence, features): SequencePool. False if not."""
    if st.is_const(node.input[0]) or int_attr(node, "axis", 0) != 1 or node.input[0] not in st.values:
        return False
    x = st.val(node.input[0])
    index = np.asarray(st.array(node.input[1], "position"))
    length = st.shape(x)[0] if st.shape(x) else 0
    if len(st.shape(x)) != 2 or index.ndim != 0 or int(index) not in (0, -1, length - 1):
        raise Unsupported("only the first or last position of a (sequence, features) input is a layer (SequencePool)")
    st.add_layer(node, "SequencePool", {"mode": "first" if int(index) == 0 else "last"}, [x])
    return True


def add_positions(st: ImportState, node, x_name: str, table_name: str) -> None:
    """x + a constant (sequence, features) table: a learned PositionalEmbedding of exactly that length."""
    x = st.val(x_name)
    table = st.weight(table_name, "table")
    shape = st.shape(x)
    if len(shape) != 2 or table.shape not in (shape, (1, *shape)):
        raise Unsupported("adding a constant tensor has no layer (only a (sequence, features) table of positions, "
                          "a PositionalEmbedding, or the bias after MatMul)")
    st.add_layer(node, "PositionalEmbedding", {"max_len": shape[0]}, [x], {"weight": table.reshape(shape)})


# -- ONNX's own Attention operator (opset 23) -----------------------------------------------------------------

def _projection(st: ImportState, name: str, x_name: str, dim: int):
    """(weight (dim, dim) as Linear's, bias or None, nodes) when ``name`` is x @ W (+ b), else None."""
    producers = st.producers
    node = producers.get(name)
    bias, nodes = None, []
    if node is not None and node.op_type == "Add":
        constants = [i for i in node.input if st.is_const(i)]
        others = [i for i in node.input if not st.is_const(i)]
        if len(constants) != 1 or len(others) != 1 or st.single_consumer(others[0]) is not node:
            return None
        bias = np.asarray(st.weight(constants[0], "bias")).reshape(-1)
        nodes.append(node)
        node = producers.get(others[0])
    if node is None or node.op_type != "MatMul" or node.input[0] != x_name or not st.is_const(node.input[1]):
        return None
    matrix = st.weight(node.input[1], "projection")
    if matrix.shape != (dim, dim) or (bias is not None and bias.shape != (dim,)):
        return None
    return matrix.T, bias, [node, *nodes]


def self_attention_op(st: ImportState, node) -> bool:
    """x @ Wq, x @ Wk, x @ Wv into ONNX's Attention, then @ Wo: MultiheadSelfAttention. False if not that."""
    x_name = node.input[0]
    x = st.val(x_name)
    if len(st.shape(x)) != 2:
        return False
    length, dim = st.shape(x)
    user = st.single_consumer(node.output[0])
    if user is not None and user.op_type == "Add":
        user = st.single_consumer(user.output[0])
    if user is None or user.op_type != "Attention" or len([i for i in user.input if i]) != 3:
        return False
    heads = int_attr(user, "q_num_heads", 0)
    if (heads < 1 or int_attr(user, "kv_num_heads", 0) != heads or dim % heads or int_attr(user, "is_causal", 0)
            or float(attr(st.onnx, user, "softcap", 0.0)) != 0.0
            or any(st.consumers.get(o) for o in user.output[1:] if o)):
        raise Unsupported("only unmasked, non-causal self-attention with as many key/value heads as query heads "
                          "is a layer (MultiheadSelfAttention)")
    scale = attr(st.onnx, user, "scale")
    if scale is not None and not np.isclose(scale, 1.0 / np.sqrt(dim // heads), rtol=1e-6):
        raise Unsupported(f"its scale {scale} is not 1/sqrt(head size), as MultiheadSelfAttention scales")
    parts = [_projection(st, name, x_name, dim) for name in user.input[:3]]
    if any(part is None for part in parts):
        raise Unsupported("Attention's query, key and value must each be the same input times a constant "
                          "(dim, dim) matrix (plus a bias) to be a MultiheadSelfAttention layer")
    output = st.single_consumer(user.output[0])
    out = _projection_after(st, user.output[0], dim)
    if output is None or out is None:
        raise Unsupported("the attention's result must go through one output projection (a constant (dim, dim) "
                          "MatMul, plus a bias) to be a MultiheadSelfAttention layer")
    out_weight, out_bias, out_nodes, result = out
    biases = [bias for _, bias, _ in parts] + [out_bias]
    has_bias = any(bias is not None for bias in biases)
    biases = [bias if bias is not None else np.zeros(dim, np.float32) for bias in biases]
    weights = {"in_proj_weight": np.concatenate([weight for weight, _, _ in parts]),
               "out_proj.weight": out_weight}
    if has_bias:
        weights["in_proj_bias"] = np.concatenate(biases[:3])
        weights["out_proj.bias"] = biases[3]
    st.add_layer(user, "MultiheadSelfAttention", {"num_heads": heads, "bias": has_bias}, [x], weights, output=result)
    st.consume(user, *out_nodes, *(n for _, _, nodes in parts for n in nodes))
    return True


def _projection_after(st: ImportState, name: str, dim: int):
    matmul = st.single_consumer(name)
    if matmul is None or matmul.op_type != "MatMul" or matmul.input[0] != name or not st.is_const(matmul.input[1]):
        return None
    matrix = st.weight(matmul.input[1], "output projection")
    if matrix.shape != (dim, dim):
        return None
    add = st.single_consumer(matmul.output[0])
    if add is not None and add.op_type == "Add":
        constants = [i for i in add.input if st.is_const(i)]
        if len(constants) == 1:
            bias = np.asarray(st.weight(constants[0], "bias")).reshape(-1)
            if bias.shape == (dim,):
                return matrix.T, bias, [matmul, add], add.output[0]
    return matrix.T, None, [matmul], matmul.output[0]
