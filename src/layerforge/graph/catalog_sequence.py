"""Declarations: recurrent layers (batch_first always) and normalization."""
from __future__ import annotations

import math

from .errors import ShapeError
from .layer_type import Call, LayerType, OutputSelect
from .params import Param
from .shape_rules import fmt, insert_fix

GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}
DESCRIPTIONS = {
    "RNN": "Elman recurrent layer over (time steps, features).",
    "LSTM": "Long short-term memory layer over (time steps, features).",
    "GRU": "Gated recurrent unit layer over (time steps, features).",
}


def _recurrent_params(cls):
    params = [
        Param("hidden_size", "int", 32, "features in the hidden state", minimum=1),
        Param("num_layers", "int", 1, "number of stacked recurrent layers", minimum=1),
    ]
    if cls == "RNN":
        params.append(Param("nonlinearity", "choice", "tanh", "activation of the hidden state",
                            choices=("tanh", "relu")))
    params += [
        Param("bias", "bool", True, "learn bias weights"),
        Param("dropout", "float", 0.0, "dropout between stacked layers (needs num_layers > 1)",
              minimum=0.0, maximum=1.0),
        Param("bidirectional", "bool", False, "also run the sequence backwards; doubles the output features"),
        Param("output", "choice", "last", "'last': the final hidden state (one vector per sample); "
              "'sequence': the output at every time step", choices=("last", "sequence")),
    ]
    return tuple(params)


def _recurrent_shape(params, in_shapes):
    (shape,) = in_shapes
    if len(shape) != 2:
        fix, hint = None, ""
        if len(shape) == 1:
            fix, hint = insert_fix("Reshape", shape=(shape[0], 1)), f": insert Reshape to ({shape[0]}, 1)"
        raise ShapeError(f"expects (time steps, features), got {fmt(shape)}{hint}", fix)
    features = params["hidden_size"] * (2 if params["bidirectional"] else 1)
    return (features,) if params["output"] == "last" else (shape[0], features)


def _recurrent_call(cls):
    def call(params, in_shapes):
        kwargs = [("num_layers", params["num_layers"])]
        if cls == "RNN":
            kwargs.append(("nonlinearity", params["nonlinearity"]))
        kwargs += [("bias", params["bias"]), ("batch_first", True), ("dropout", params["dropout"]),
                   ("bidirectional", params["bidirectional"])]
        return Call(cls, (in_shapes[0][1], params["hidden_size"]), tuple(kwargs))
    return call


def _recurrent_count(cls):
    def count(params, in_shapes):
        gates, hidden = GATES[cls], params["hidden_size"]
        directions = 2 if params["bidirectional"] else 1
        total = 0
        for layer in range(params["num_layers"]):
            inputs = in_shapes[0][1] if layer == 0 else hidden * directions
            per_direction = gates * hidden * (inputs + hidden) + 2 * gates * hidden * params["bias"]
            total += directions * per_direction
        return total
    return count


def _final_hidden(cls, result):
    # LSTM returns (output, (h_n, c_n)); RNN and GRU return (output, h_n).
    return result[1][0] if cls == "LSTM" else result[1]


def _select(cls):
    """'last' is the last layer's final hidden state: for bidirectional, forward and backward joined.

    For a single direction this equals output[:, -1]; for two it is what the backward pass ends on
    (time step 0), which output[:, -1] would miss.
    """
    def apply(ops, params, result):
        if params["output"] == "sequence":
            return result[0]
        hidden = _final_hidden(cls, result)
        if params["bidirectional"]:
            return ops.cat([hidden[-2], hidden[-1]], dim=1)
        return hidden[-1]

    def code(params, var):
        if params["output"] == "sequence":
            return f"{var}[0]"
        hidden = f"{var}[1][0]" if cls == "LSTM" else f"{var}[1]"
        if params["bidirectional"]:
            return f"torch.cat([{hidden}[-2], {hidden}[-1]], dim=1)"
        return f"{hidden}[-1]"
    return OutputSelect(apply, code)


def _recurrent(cls):
    return LayerType(
        cls, "Recurrent", DESCRIPTIONS[cls], _recurrent_shape, params=_recurrent_params(cls),
        module=_recurrent_call(cls), select_output=_select(cls), count_params=_recurrent_count(cls),
        name_prefix=cls.lower(),
    )


# -- normalization ---------------------------------------------------------------------------------

NORM_PARAMS = (
    Param("eps", "float", 1e-5, "added to the variance to avoid dividing by zero", minimum=0.0),
    Param("momentum", "float", 0.1, "weight of the newest batch in the running statistics", minimum=0.0,
          maximum=1.0),
    Param("affine", "bool", True, "learn a scale and shift per channel"),
    Param("track_running_stats", "bool", True, "keep running mean/variance for evaluation"),
)


def _batch_norm_shape(ranks, layout):
    def rule(params, in_shapes):
        (shape,) = in_shapes
        if len(shape) not in ranks:
            fix, hint = None, ""
            if ranks == (3,) and len(shape) == 1:
                hint = ": use BatchNorm1d for feature vectors"
            elif ranks == (1, 2) and len(shape) == 3:
                hint = ": use BatchNorm2d for images"
            raise ShapeError(f"expects {layout}, got {fmt(shape)}{hint}", fix)
        return shape
    return rule


def _batch_norm(cls, ranks, layout):
    return LayerType(
        cls, "Normalization", f"Normalizes each channel over the batch; input {layout}.",
        _batch_norm_shape(ranks, layout), params=NORM_PARAMS,
        module=lambda p, s: Call(cls, (s[0][0],), (("eps", p["eps"]), ("momentum", p["momentum"]),
                                                   ("affine", p["affine"]),
                                                   ("track_running_stats", p["track_running_stats"]))),
        count_params=lambda p, s: 2 * s[0][0] * p["affine"],
        name_prefix="bn",
    )


def _layer_norm_shape(params, in_shapes):
    (shape,) = in_shapes
    if params["normalized_dims"] > len(shape):
        raise ShapeError(f"normalizes the last {params['normalized_dims']} dimensions, but its input "
                         f"{fmt(shape)} has only {len(shape)}: lower normalized_dims")
    return shape


def _normalized_shape(params, in_shapes):
    return tuple(in_shapes[0][-params["normalized_dims"]:])


LAYER_NORM = LayerType(
    "LayerNorm", "Normalization", "Normalizes each sample over its last dimensions.",
    _layer_norm_shape,
    params=(
        Param("normalized_dims", "int", 1, "how many trailing dimensions to normalize over", minimum=1),
        Param("eps", "float", 1e-5, "added to the variance to avoid dividing by zero", minimum=0.0),
        Param("elementwise_affine", "bool", True, "learn a scale and shift per normalized element"),
    ),
    module=lambda p, s: Call("LayerNorm", (_normalized_shape(p, s),),
                             (("eps", p["eps"]), ("elementwise_affine", p["elementwise_affine"]))),
    count_params=lambda p, s: 2 * math.prod(_normalized_shape(p, s)) * p["elementwise_affine"],
    name_prefix="ln",
)

LAYERS = (_recurrent("RNN"), _recurrent("LSTM"), _recurrent("GRU"),
          _batch_norm("BatchNorm1d", (1, 2), "(features,) or (channels, length)"),
          _batch_norm("BatchNorm2d", (3,), "(channels, height, width)"), LAYER_NORM)

