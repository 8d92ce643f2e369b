"""ONNX operators that become one catalog layer each: dense, convolution, pooling, normalization,
activations, reshaping and merges.

``CONVERTERS[op_type](state, node)`` adds the layer (``ImportState.add_layer``) with parameters
read from the attributes and the weights' shapes, and the weights in the layout the engine's module
keeps (PyTorch's), or raises :class:`Unsupported` saying why this node cannot be that layer.
The inverse of ``onnx_layers``; recurrent operators are ``onnx_import_recurrent``'s.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .onnx_layers import _adaptive_weights

from .onnx_import_attention import add_positions, pick_position, reduce_positions, self_attention_op
from .onnx_import_graph import BATCH, ImportState, Unsupported, Val, attr, f32, int_attr

Converter = Callable[[ImportState, Any], None]


def _attr(st: ImportState, node, name, default=None):
    return attr(st.onnx, node, name, default)


def _no_batch_axis(st: ImportState, axis: int, rank: int, what: str) -> int:
    """A per-sample axis for an ONNX axis over (batch, *shape): negative stays negative."""
    if axis == 0 or axis == -rank:
        raise Unsupported(f"its {what} is the batch dimension; Layerforge layers work within one sample")
    return axis


# -- dense ---------------------------------------------------------------------------------------------

def _gemm(st: ImportState, node) -> None:
    if int_attr(node, "transA", 0):
        raise Unsupported("transA=1 multiplies by the transposed input, which no layer does")
    x = st.val(node.input[0])
    if len(st.shape(x)) != 1:
        raise Unsupported(f"Linear needs one feature vector per sample, the input is {st.shape(x)}")
    weight = st.weight(node.input[1], "weight B")
    if weight.ndim != 2:
        raise Unsupported(f"its weight B has shape {weight.shape}, not a matrix")
    if not int_attr(node, "transB", 0):
        weight = weight.T
    weight = weight * float(_attr(st, node, "alpha", 1.0))
    out, features = weight.shape
    if features != st.shape(x)[0]:
        raise Unsupported(f"its weight takes {features} features, the input has {st.shape(x)[0]}")
    weights = {"weight": weight}
    if len(node.input) > 2 and node.input[2]:
        weights["bias"] = _bias(st, node.input[2], out) * float(_attr(st, node, "beta", 1.0))
    st.add_layer(node, "Linear", {"out_features": out, "bias": "bias" in weights}, [x], weights)


def _bias(st: ImportState, name: str, size: int) -> np.ndarray:
    bias = st.weight(name, "bias")
    try:
        return np.broadcast_to(bias.reshape(-1) if bias.size == size else bias, (size,)).copy()
    except ValueError:
        raise Unsupported(f"its bias has shape {bias.shape}, not ({size},)") from None


def _added_constant(st: ImportState, output: str):
    """The Add that follows ``output`` with a constant, and that constant's name, or (None, None)."""
    user = st.single_consumer(output)
    if user is None or user.op_type != "Add":
        return None, None
    other = [name for name in user.input if name != output]
    if len(other) == 1 and st.is_const(other[0]) and not isinstance(st.consts.get(other[0]), type(None)):
        return user, other[0]
    return None, None


def _matmul(st: ImportState, node) -> None:
    """MatMul by a constant matrix (and an Add of a constant after it): Linear."""
    if st.is_const(node.input[0]):
        raise Unsupported("its left operand is a constant: no layer multiplies from the left")
    x = st.val(node.input[0])
    if len(st.shape(x)) == 3 and _adaptive_pool(st, node, x):
        return
    if len(st.shape(x)) == 2 and self_attention_op(st, node):
        return
    if len(st.shape(x)) != 1:
        raise Unsupported(f"Linear needs one feature vector per sample, the input is {st.shape(x)}")
    matrix = st.weight(node.input[1], "right operand")
    if matrix.ndim != 2 or matrix.shape[0] != st.shape(x)[0]:
        raise Unsupported(f"its right operand has shape {matrix.shape}; Linear needs ({st.shape(x)[0]}, outputs)")
    weights = {"weight": matrix.T}
    add, bias_name = _added_constant(st, node.output[0])
    output = node.output[0]
    if add is not None:
        try:
            weights["bias"] = _bias(st, bias_name, matrix.shape[1])
            st.consume(add)
            output = add.output[0]
        except Unsupported:
            weights.pop("bias", None)
    st.add_layer(node, "Linear", {"out_features": matrix.shape[1], "bias": "bias" in weights}, [x], weights,
                 output=output)


def _adaptive_pool(st: ImportState, node, x: Val) -> bool:
    """The exporter's AdaptiveAvgPool2d of uneven windows: (H-matrix @ (x @ W-matrix)), both averaging."""
    _, height, width = st.shape(x)
    rows = st.array(node.input[1], "right operand") if st.is_const(node.input[1]) else None
    user = st.single_consumer(node.output[0])
    if rows is None or rows.ndim != 2 or user is None or user.op_type != "MatMul" or user.input[1] != node.output[0] \
            or not st.is_const(user.input[0]):
        return False
    columns = st.array(user.input[0], "left operand")
    out_h, out_w = columns.shape[0] if columns.ndim == 2 else -1, rows.shape[1]
    if (columns.ndim != 2 or rows.shape[0] != width or columns.shape[1] != height
            or not np.allclose(rows, _adaptive_weights(width, out_w).T, atol=1e-6)
            or not np.allclose(columns, _adaptive_weights(height, out_h), atol=1e-6)):
        return False
    st.add_layer(node, "AdaptiveAvgPool2d", {"output_size": (out_h, out_w)}, [x], output=user.output[0])
    st.consume(user)
    return True


def _einsum(st: ImportState, node) -> None:
    """The exporter's Bilinear: Einsum 'bi,kij,bj->bk' with the weight in the middle."""
    equation = str(_attr(st, node, "equation", "")).replace(" ", "")
    if equation != "bi,kij,bj->bk" or len(node.input) != 3:
        raise Unsupported(f"only the bilinear form 'bi,kij,bj->bk' is a layer (Bilinear), not {equation!r}")
    left, right = st.val(node.input[0]), st.val(node.input[2])
    weight = st.weight(node.input[1], "weight")
    weights = {"weight": weight}
    add, bias_name = _added_constant(st, node.output[0])
    output = node.output[0]
    if add is not None:
        weights["bias"] = _bias(st, bias_name, weight.shape[0])
        st.consume(add)
        output = add.output[0]
    st.add_layer(node, "Bilinear", {"out_features": weight.shape[0], "bias": "bias" in weights}, [left, right],
                 weights, output=output)


def _gather(st: ImportState, node) -> None:
    """Gather rows of a constant table by the input's indices: Embedding (or a position: SequencePool)."""
    if pick_position(st, node):
        return
    if not st.is_const(node.input[0]) or int_attr(node, "axis", 0) != 0:
        raise Unsupported("only a lookup in a constant table along its first axis is a layer (Embedding)")
    table = st.weight(node.input[0], "table")
    if table.ndim != 2:
        raise Unsupported(f"its table has shape {table.shape}; Embedding needs (entries, dimension)")
    x = st.val(node.input[1])
    if st.dtypes.get(x.node) != "int64":
        raise Unsupported("Embedding reads int64 token indices; this input holds other values")
    st.add_layer(node, "Embedding", {"num_embeddings": table.shape[0], "embedding_dim": table.shape[1]}, [x],
                 {"weight": table})


# -- convolution and pooling ---------------------------------------------------------------------------

def _pads(st: ImportState, node, spatial: int, kernel, dilation, stride) -> Any:
    """Catalog padding from ONNX pads / auto_pad: numbers when symmetric, 'same' for its own split."""
    auto = str(_attr(st, node, "auto_pad", "NOTSET"))
    if auto == "VALID":
        return (0,) * spatial
    totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        if any(s != 1 for s in stride):
            raise Unsupported(f"auto_pad={auto} with strides {tuple(stride)} has no layer (only stride 1)")
        if auto == "SAME_LOWER" and any(t % 2 for t in totals):
            raise Unsupported("auto_pad=SAME_LOWER with an even kernel pads more before, which no layer does")
        return "same" if any(t % 2 for t in totals) else tuple(t // 2 for t in totals)
    pads = list(_attr(st, node, "pads", [0] * (2 * spatial)))
    begins, ends = pads[:spatial], pads[spatial:]
    if begins == ends:
        return tuple(int(p) for p in begins)
    if all(s == 1 for s in stride) and [(t // 2, t - t // 2) for t in totals] == list(zip(begins, ends)):
        return "same"
    raise Unsupported(f"its padding {tuple(pads)} differs before and after, which no layer does")


def _conv(st: ImportState, node) -> None:
    x = st.val(node.input[0])
    weight = st.weight(node.input[1], "weight")
    spatial = weight.ndim - 2
    if spatial not in (1, 2):
        raise Unsupported(f"{spatial}-D convolution has no layer (Conv1d and Conv2d only)")
    kernel = tuple(int(k) for k in weight.shape[2:])
    stride = tuple(_attr(st, node, "strides", [1] * spatial))
    dilation = tuple(_attr(st, node, "dilations", [1] * spatial))
    groups = int_attr(node, "group", 1)
    weights = {"weight": weight}
    if len(node.input) > 2 and node.input[2]:
        weights["bias"] = _bias(st, node.input[2], weight.shape[0])
    params = {"out_channels": weight.shape[0], "kernel_size": kernel, "stride": stride,
              "padding": _pads(st, node, spatial, kernel, dilation, stride), "dilation": dilation,
              "groups": groups, "bias": "bias" in weights}
    st.add_layer(node, f"Conv{spatial}d", params, [x], weights)


def _conv_transpose(st: ImportState, node) -> None:
    x = st.val(node.input[0])
    weight = st.weight(node.input[1], "weight")
    if weight.ndim != 4:
        raise Unsupported("only 2-D transposed convolution has a layer (ConvTranspose2d)")
    if _attr(st, node, "output_shape") is not None or str(_attr(st, node, "auto_pad", "NOTSET")) != "NOTSET":
        raise Unsupported("output_shape / auto_pad are not imported; give explicit pads")
    groups = int_attr(node, "group", 1)
    pads = list(_attr(st, node, "pads", [0] * 4))
    if pads[:2] != pads[2:]:
        raise Unsupported(f"its padding {tuple(pads)} differs before and after, which no layer does")
    weights = {"weight": weight}
    out = weight.shape[1] * groups
    if len(node.input) > 2 and node.input[2]:
        weights["bias"] = _bias(st, node.input[2], out)
    params = {"out_channels": out, "kernel_size": tuple(int(k) for k in weight.shape[2:]),
              "stride": tuple(_attr(st, node, "strides", [1, 1])), "padding": tuple(pads[:2]),
              "output_padding": tuple(_attr(st, node, "output_padding", [0, 0])),
              "dilation": tuple(_attr(st, node, "dilations", [1, 1])), "groups": groups, "bias": "bias" in weights}
    st.add_layer(node, "ConvTranspose2d", params, [x], weights)


def _pool(st: ImportState, node) -> None:
    x = st.val(node.input[0])
    shape = st.shape(x)
    spatial = len(shape) - 1
    if spatial not in (1, 2):
        raise Unsupported(f"pooling over {spatial} dimensions has no layer (1-D and 2-D only)")
    kind = "Max" if node.op_type == "MaxPool" else "Avg"
    if kind == "Max" and len(node.output) > 1 and node.output[1] and st.consumers.get(node.output[1]):
        raise Unsupported("its indices output is used; MaxPool layers give only the values")
    kernel = tuple(int(k) for k in _attr(st, node, "kernel_shape"))
    stride = tuple(_attr(st, node, "strides", [1] * spatial))
    dilation = tuple(_attr(st, node, "dilations", [1] * spatial))
    if kind == "Avg" and any(d != 1 for d in dilation):
        raise Unsupported("average pooling with dilation has no layer")
    padding = _pads(st, node, spatial, kernel, [1] * spatial, stride)
    if padding == "same":
        raise Unsupported("pooling padded unevenly ('same') has no layer")
    if int_attr(node, "ceil_mode", 0):
        for size, k, s, p, d in zip(shape[1:], kernel, stride, padding, dilation):
            if (size + 2 * p - d * (k - 1) - 1) % s:
                raise Unsupported("ceil_mode=1 gives another output size than Layerforge's (PyTorch's default) "
                                  "floor here")
    if kind == "Avg" and any(padding) and not int_attr(node, "count_include_pad", 0):
        raise Unsupported("average pooling that leaves the padding out of the count has no layer "
                          "(Layerforge counts it, as PyTorch does by default)")
    params = {"kernel_size": kernel, "stride": None if stride == kernel else stride, "padding": padding}
    if kind == "Max":
        params["dilation"] = dilation
    st.add_layer(node, f"{kind}Pool{spatial}d", params, [x])


def _global_pool(st: ImportState, node) -> None:
    x = st.val(node.input[0])
    shape = st.shape(x)
    if len(shape) not in (2, 3):
        raise Unsupported(f"global pooling over {len(shape) - 1} dimensions has no layer")
    if node.op_type == "GlobalAveragePool" and len(shape) == 3:
        st.add_layer(node, "AdaptiveAvgPool2d", {"output_size": (1, 1)}, [x])
        return
    kind = "Max" if node.op_type == "GlobalMaxPool" else "Avg"
    st.add_layer(node, f"{kind}Pool{len(shape) - 1}d", {"kernel_size": shape[1:], "stride": None,
                                                         "padding": (0,) * (len(shape) - 1)}, [x])


# -- normalization -------------------------------------------------------------------------------------

def _batch_norm(st: ImportState, node) -> None:
    if int_attr(node, "training_mode", 0) or any(st.consumers.get(o) for o in node.output[1:] if o):
        raise Unsupported("training mode (batch statistics as outputs) is not imported; export in evaluation mode")
    x = st.val(node.input[0])
    shape = st.shape(x)
    names = ("weight", "bias", "running_mean", "running_var")
    weights = {name: st.weight(node.input[i + 1], name).reshape(-1) for i, name in enumerate(names)}
    if any(array.shape != (shape[0],) for array in weights.values()):
        raise Unsupported(f"its statistics are not one per channel of the input {shape}")
    layer = "BatchNorm2d" if len(shape) == 3 else "BatchNorm1d"
    momentum = 1.0 - float(_attr(st, node, "momentum", 0.9))   # ONNX weighs the old statistics, PyTorch the new
    params = {"eps": float(_attr(st, node, "epsilon", 1e-5)), "momentum": round(momentum, 6), "affine": True,
              "track_running_stats": True}
    st.add_layer(node, layer, params, [x], weights)


def _layer_norm(st: ImportState, node) -> None:
    x = st.val(node.input[0])
    shape = st.shape(x)
    rank = len(shape) + 1
    axis = int_attr(node, "axis", -1)
    axis = axis + rank if axis < 0 else axis
    if axis < 1 or axis >= rank:
        raise Unsupported(f"axis {axis} includes the batch dimension; LayerNorm normalizes within a sample")
    if any(st.consumers.get(o) for o in node.output[1:] if o):
        raise Unsupported("its mean / inverse deviation outputs are used; LayerNorm gives only the result")
    dims = rank - axis
    normalized = shape[-dims:]
    scale = st.weight(node.input[1], "scale")
    bias = st.weight(node.input[2], "bias") if len(node.input) > 2 and node.input[2] else np.zeros(normalized, np.float32)
    try:
        weights = {"weight": np.broadcast_to(scale, normalized).copy(), "bias": np.broadcast_to(bias, normalized).copy()}
    except ValueError:
        raise Unsupported(f"its scale {scale.shape} does not fit the normalized shape {normalized}") from None
    st.add_layer(node, "LayerNorm", {"normalized_dims": dims, "eps": float(_attr(st, node, "epsilon", 1e-5)),
                                     "elementwise_affine": True}, [x], weights)


# -- activations -----------------------------------------------------------------------------------------

def _plain(layer: str) -> Converter:
    return lambda st, node: st.add_layer(node, layer, {}, [st.val(node.input[0])])


def _leaky_relu(st: ImportState, node) -> None:
    st.add_layer(node, "LeakyReLU", {"negative_slope": float(_attr(st, node, "alpha", 0.01))}, [st.val(node.input[0])])


def _elu(st: ImportState, node) -> None:
    st.add_layer(node, "ELU", {"alpha": float(_attr(st, node, "alpha", 1.0))}, [st.val(node.input[0])])


def _gelu(st: ImportState, node) -> None:
    st.add_layer(node, "GELU", {"approximate": str(_attr(st, node, "approximate", "none"))}, [st.val(node.input[0])])


def _softplus(st: ImportState, node) -> None:
    st.add_layer(node, "Softplus", {}, [st.val(node.input[0])])


def _clip(st: ImportState, node) -> None:
    x = st.val(node.input[0])
    if st.opset < 11:
        low, high = _attr(st, node, "min"), _attr(st, node, "max")
    else:
        low = f32(st.array(node.input[1], "minimum")) if len(node.input) > 1 and node.input[1] else None
        high = f32(st.array(node.input[2], "maximum")) if len(node.input) > 2 and node.input[2] else None
    if low == 0.0 and high is None:
        st.add_layer(node, "ReLU", {}, [x])
    elif low is not None and high is not None:
        st.add_layer(node, "Hardtanh", {"min_val": float(low), "max_val": float(high)}, [x])
    else:
        raise Unsupported("a clip with only one bound (other than ReLU's 0) has no layer")


def _softmax(layer: str) -> Converter:
    def convert(st: ImportState, node) -> None:
        x = st.val(node.input[0])
        rank = len(st.shape(x)) + 1
        default = -1 if st.opset >= 13 else 1
        axis = int_attr(node, "axis", default)
        if st.opset < 13 and axis not in (-1, rank - 1):
            raise Unsupported(f"before opset 13, {node.op_type} over axis {axis} flattens the rest; no layer does")
        st.add_layer(node, layer, {"dim": _no_batch_axis(st, axis, rank, "axis")}, [x])
    return convert


# -- reshaping, merges, pass-through ---------------------------------------------------------------------

def _flatten(st: ImportState, node) -> None:
    x = st.val(node.input[0])
    axis = int_attr(node, "axis", 1)
    rank = len(st.shape(x)) + 1
    if axis not in (1, 1 - rank):
        raise Unsupported(f"Flatten with axis={axis} joins the batch with other dimensions; only axis=1 is a layer")
    st.add_layer(node, "Flatten", {"start_dim": 1, "end_dim": -1}, [x])


def _reshape(st: ImportState, node) -> None:
    from .onnx_import_recurrent import reshape_recurrent
    value = st.values.get(node.input[0])
    if value is not None and value.layout in ("YT", "HT"):
        reshape_recurrent(st, node, value)
        return
    x = st.val(node.input[0])
    target = [int(v) for v in np.asarray(st.const(node.input[1], "target shape")).reshape(-1)]
    if int_attr(node, "allowzero", 0) and 0 in target[1:]:
        raise Unsupported("allowzero=1 with a zero size has no layer")
    if not target or target[0] not in (0, -1, int(BATCH)):
        raise Unsupported(f"its target shape {tuple(target)} does not keep the batch dimension first")
    sample = []
    for index, size in enumerate(target[1:], start=1):
        if size == 0:
            size = st.shape(x)[index - 1] if index - 1 < len(st.shape(x)) else -2
        if size == int(BATCH) or size < -1:
            raise Unsupported(f"its target shape {tuple(target)} moves the batch dimension")
        sample.append(size)
    if target[0] == -1 and -1 in sample:
        raise Unsupported(f"its target shape {tuple(target)} leaves two sizes to infer")
    if not sample:
        raise Unsupported("it removes every dimension of the sample")
    total = int(np.prod(st.shape(x)))
    if len(sample) == 1 and sample[0] in (-1, total) and len(st.shape(x)) > 1:
        st.add_layer(node, "Flatten", {"start_dim": 1, "end_dim": -1}, [x])   # x.view(len(x), -1)
        return
    st.add_layer(node, "Reshape", {"shape": tuple(sample)}, [x])


def _passthrough(st: ImportState, node) -> None:
    """Identity (and Dropout, which evaluation skips): no layer unless the exporter drew one here."""
    base = st.base(node)
    if node.op_type == "Dropout" and len(node.output) > 1 and st.consumers.get(node.output[1]):
        raise Unsupported("its mask output is used; dropout masks have no layer")
    value = st.values.get(node.input[0])
    if value is None:
        st.val(node.input[0])   # raises with the reason
    if base and (st.hints.has(base, "Dropout") or st.hints.has(base, "Identity")):
        st.add_layer(node, "Identity", {}, [st.val(node.input[0], ("",))])
        return
    st.values[node.output[0]] = value


def _add(st: ImportState, node) -> None:
    inputs = [name for name in node.input if name]
    constants = [name for name in inputs if st.is_const(name)]
    if constants:
        variables = [name for name in inputs if name not in constants]
        if len(variables) != 1 or len(constants) != 1:
            raise Unsupported("adding constants has no layer")
        add_positions(st, node, variables[0], constants[0])
        return
    values = [st.val(name) for name in inputs]
    base = st.base(node)
    # The exporter writes Add of n inputs as a chain of Adds: join it back into one layer.
    first = values[0]
    if (base and st.spec.nodes.get(first.node) is not None and st.spec.nodes[first.node].type == "Add"
            and st.origin.get(first.node) == base and st.single_consumer(node.input[0]) is node):
        target = first.node
        for value in values[1:]:
            st.spec.connect(value.node, target, len(st.spec.inputs_of(target)))
        shapes = [st.shapes[e.source] for e in st.spec.inputs_of(target)]
        from layerforge.graph import get_layer
        try:
            get_layer("Add").infer({}, shapes)
        except Exception as error:
            raise Unsupported(f"its inputs have different shapes ({error})") from None
        st.values[node.output[0]] = Val(target)
        return
    st.add_layer(node, "Add", {}, values)


def _concat(st: ImportState, node) -> None:
    values = [st.val(name) for name in node.input if name]
    rank = len(st.shape(values[0])) + 1
    axis = _no_batch_axis(st, int_attr(node, "axis", 1), rank, "axis")
    st.add_layer(node, "Concat", {"dim": axis}, values)


def _shape(st: ImportState, node) -> None:
    """Shape of a layer's output: a constant, with the batch size as a marker (for Reshape targets)."""
    x = st.val(node.input[0], ("", "T"))
    shape = st.shape(x)
    full = [BATCH, *shape] if x.layout == "" else [shape[0], BATCH, *shape[1:]]
    start, end = int_attr(node, "start", 0), int_attr(node, "end", len(full))
    st.consts[node.output[0]] = np.array(full[start:end] if end else full[start:], dtype=np.int64)


CONVERTERS: dict[str, Converter] = {
    "Gemm": _gemm, "MatMul": _matmul, "Einsum": _einsum, "Gather": _gather,
    "Conv": _conv, "ConvTranspose": _conv_transpose, "MaxPool": _pool, "AveragePool": _pool,
    "GlobalAveragePool": _global_pool, "GlobalMaxPool": _global_pool,
    "BatchNormalization": _batch_norm, "LayerNormalization": _layer_norm,
    "Relu": _plain("ReLU"), "Sigmoid": _plain("Sigmoid"), "Tanh": _plain("Tanh"), "LeakyRelu": _leaky_relu,
    "Elu": _elu, "Gelu": _gelu, "Softplus": _softplus, "Clip": _clip,
    "Softmax": _softmax("Softmax"), "LogSoftmax": _softmax("LogSoftmax"),
    "Flatten": _flatten, "Reshape": _reshape, "Identity": _passthrough, "Dropout": _passthrough,
    "Add": _add, "Sum": _add, "Concat": _concat, "Shape": _shape,
    "ReduceMean": reduce_positions, "ReduceMax": reduce_positions,
}
