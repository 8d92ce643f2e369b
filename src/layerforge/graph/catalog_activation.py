"""Declarations: activation functions (shape-preserving, no parameters to learn)."""
from __future__ import annotations

from .errors import ParamError
from .layer_type import Call, LayerType
from .params import Param
from .shape_rules import batch_dim


def _activation(cls, description, params=(), check=None, shape_rule=None, prefix=None):
    def call(p, s):
        return Call(cls, (), tuple((param.name, p[param.name]) for param in params))

    def rule(p, in_shapes):
        return in_shapes[0]

    return LayerType(cls, "Activation", description, shape_rule or rule, params=tuple(params), module=call,
                     check_params=check, name_prefix=prefix or cls.lower())


def _dim_rule(p, in_shapes):
    batch_dim(p["dim"], in_shapes[0])
    return in_shapes[0]


def _hardtanh_check(p):
    if p["min_val"] >= p["max_val"]:
        raise ParamError("max_val", f"{p['max_val']} must be greater than min_val {p['min_val']}")


DIM = Param("dim", "int", -1, "dimension the probabilities sum to one over (-1: the last; 0 is the batch)")

LAYERS = (
    _activation("ReLU", "max(0, x)."),
    _activation("LeakyReLU", "x for x > 0, negative_slope * x otherwise.",
                (Param("negative_slope", "float", 0.01, "slope for negative inputs"),), prefix="lrelu"),
    _activation("ELU", "x for x > 0, alpha * (exp(x) - 1) otherwise.",
                (Param("alpha", "float", 1.0, "saturation value for negative inputs"),)),
    _activation("GELU", "Gaussian error linear unit: x * Phi(x).",
                (Param("approximate", "choice", "none", "'tanh' uses the faster tanh approximation",
                       choices=("none", "tanh")),)),
    _activation("SiLU", "x * sigmoid(x) (also called swish)."),
    _activation("Sigmoid", "1 / (1 + exp(-x)): squashes to (0, 1)."),
    _activation("Tanh", "Hyperbolic tangent: squashes to (-1, 1)."),
    _activation("Softmax", "Turns scores into probabilities that sum to one along dim.", (DIM,),
                shape_rule=_dim_rule),
    _activation("LogSoftmax", "Logarithm of softmax along dim (pair with NLLLoss).", (DIM,),
                shape_rule=_dim_rule, prefix="logsoftmax"),
    _activation("Softplus", "log(1 + exp(beta * x)) / beta: a smooth ReLU.",
                (Param("beta", "float", 1.0, "sharpness", minimum=1e-6),
                 Param("threshold", "float", 20.0, "above beta * x > threshold the output is x"))),
    _activation("Hardtanh", "Clamps to [min_val, max_val].",
                (Param("min_val", "float", -1.0, "lower bound"), Param("max_val", "float", 1.0, "upper bound")),
                check=_hardtanh_check),
)
