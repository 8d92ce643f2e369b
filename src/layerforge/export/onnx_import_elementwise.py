"""Activations written as several element-wise operators: SiLU as x * Sigmoid(x), GELU through Erf or
Tanh, Softplus with PyTorch's threshold, ELU or Hardtanh spelled out.

Exporters (Layerforge's below opset 20, PyTorch's) write these as small chains of arithmetic on one
tensor and scalar constants. Rather than a pattern per exporter, the chain that starts at a node is
grown over the element-wise operators that read only it and constants, evaluated on a range of
numbers, and compared with each activation the catalog has (its parameters tried from the chain's
own constants). The longest chain that equals one becomes that layer.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .onnx_import_graph import ImportState, Unsupported, attr, f32

PROBE = np.concatenate([np.linspace(-7.0, 7.0, 281), [-40.0, -25.0, -12.0, 12.0, 25.0, 40.0]])
_ERF = np.vectorize(math.erf, otypes=[np.float64])
MAX_CHAIN = 24


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _softplus(x, beta, threshold):
    scaled = beta * x
    with np.errstate(over="ignore"):
        smooth = np.logaddexp(0.0, scaled) / beta
    return np.where(scaled > threshold, x, smooth)


# op type -> f(node, inputs as float64 arrays / scalars, onnx)
_EVAL: dict[str, Callable[..., np.ndarray]] = {
    "Add": lambda n, a, o: a[0] + a[1], "Sub": lambda n, a, o: a[0] - a[1],
    "Mul": lambda n, a, o: a[0] * a[1], "Div": lambda n, a, o: a[0] / a[1],
    "Pow": lambda n, a, o: np.power(a[0], a[1]), "Sqrt": lambda n, a, o: np.sqrt(a[0]),
    "Exp": lambda n, a, o: np.exp(a[0]), "Log": lambda n, a, o: np.log(a[0]), "Neg": lambda n, a, o: -a[0],
    "Abs": lambda n, a, o: np.abs(a[0]), "Reciprocal": lambda n, a, o: 1.0 / a[0],
    "Erf": lambda n, a, o: _ERF(a[0]), "Tanh": lambda n, a, o: np.tanh(a[0]),
    "Sigmoid": lambda n, a, o: _sigmoid(a[0]), "Softplus": lambda n, a, o: np.logaddexp(0.0, a[0]),
    "Relu": lambda n, a, o: np.maximum(a[0], 0.0), "Greater": lambda n, a, o: a[0] > a[1],
    "Less": lambda n, a, o: a[0] < a[1], "Where": lambda n, a, o: np.where(a[0], a[1], a[2]),
    "Max": lambda n, a, o: np.maximum.reduce(a), "Min": lambda n, a, o: np.minimum.reduce(a),
    "Clip": lambda n, a, o: np.clip(a[0], a[1] if len(a) > 1 and a[1] is not None else -np.inf,
                                    a[2] if len(a) > 2 and a[2] is not None else np.inf),
    "LeakyRelu": lambda n, a, o: np.where(a[0] > 0, a[0], attr(o, n, "alpha", 0.01) * a[0]),
    "Elu": lambda n, a, o: np.where(a[0] > 0, a[0], attr(o, n, "alpha", 1.0) * np.expm1(a[0])),
}
ELEMENTWISE = frozenset(_EVAL)


def _candidates(constants: list[float]):
    """(layer type, params, function of x) for every catalog activation, parameters from ``constants``."""
    yield "ReLU", {}, lambda x: np.maximum(x, 0.0)
    yield "Sigmoid", {}, _sigmoid
    yield "Tanh", {}, np.tanh
    yield "SiLU", {}, lambda x: x * _sigmoid(x)
    yield "GELU", {"approximate": "none"}, lambda x: 0.5 * x * (1.0 + _ERF(x / math.sqrt(2.0)))
    yield "GELU", {"approximate": "tanh"}, lambda x: 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi)
                                                                                * (x + 0.044715 * x ** 3)))
    numbers = sorted(set(constants))
    for alpha in [1.0] + numbers:
        yield "ELU", {"alpha": alpha}, lambda x, a=alpha: np.where(x > 0, x, a * np.expm1(x))
    for slope in numbers:
        yield "LeakyReLU", {"negative_slope": slope}, lambda x, a=slope: np.where(x > 0, x, a * x)
    for beta in [1.0] + [b for b in numbers if b > 0]:
        for threshold in [20.0] + numbers:
            params = {"beta": beta, "threshold": threshold}
            yield "Softplus", params, lambda x, b=beta, t=threshold: _softplus(x, b, t)
    for low in numbers:
        for high in numbers:
            if low < high:
                yield "Hardtanh", {"min_val": low, "max_val": high}, lambda x, lo=low, hi=high: np.clip(x, lo, hi)


def match_activation(st: ImportState, start: Any, order: list) -> bool:
    """Add the activation that the chain starting at ``start`` computes; False when none matches with
    two or more operators (a single operator is left to its own converter)."""
    x_name = _variable_input(st, start)
    if x_name is None:
        return False
    chain = _grow(st, start, order, x_name)
    for length in range(len(chain), 1, -1):
        part = chain[:length]
        output = _single_output(st, part)
        if output is None:
            continue
        found = _identify(st, part, x_name, output)
        if found is not None:
            layer, params = found
            value = st.val(x_name)
            st.add_layer(start, layer, params, [value], output=output)
            st.consume(*part)
            return True
    return False


def _variable_input(st: ImportState, node) -> str | None:
    names = [name for name in node.input if name and not st.is_const(name)]
    return names[0] if len(set(names)) == 1 and names[0] in st.values else None


def _grow(st: ImportState, start, order: list, x_name: str) -> list:
    chain, produced = [start], set(start.output)
    begin = next(i for i, node in enumerate(order) if node is start) + 1
    for node in order[begin:begin + 4 * MAX_CHAIN]:
        if len(chain) >= MAX_CHAIN:
            break
        if id(node) in st.consumed or node.op_type not in ELEMENTWISE:
            continue
        inputs = [name for name in node.input if name]
        if not any(name in produced or name == x_name for name in inputs):
            continue
        if all(name in produced or name == x_name or _scalar(st, name) for name in inputs):
            chain.append(node)
            produced.update(node.output)
    return chain


def _scalar(st: ImportState, name: str) -> bool:
    value = st.consts.get(name)
    return isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "fiub"


def _single_output(st: ImportState, part: list) -> str | None:
    inside = {id(node) for node in part}
    produced = [name for node in part for name in node.output if name]
    escaping = [name for name in produced
                if name in st.graph_outputs or any(id(user) not in inside for user in st.consumers.get(name, []))]
    return escaping[0] if len(escaping) == 1 and escaping[0] == part[-1].output[0] else None


def _identify(st: ImportState, part: list, x_name: str, output: str):
    values: dict[str, Any] = {x_name: PROBE}
    constants = []
    try:
        with np.errstate(all="ignore"):
            for node in part:
                args = []
                for name in node.input:
                    if not name:
                        args.append(None)
                    elif name in values:
                        args.append(values[name])
                    else:
                        number = f32(np.asarray(st.consts[name]).reshape(()))
                        constants.append(number)
                        args.append(number)
                for name in node.output:
                    values[name] = np.asarray(_EVAL[node.op_type](node, args, st.onnx), dtype=np.float64)
    except (KeyError, ValueError, TypeError, IndexError, Unsupported):
        return None
    result = values.get(output)
    if result is None or result.shape != PROBE.shape or not np.all(np.isfinite(result)):
        return None
    for layer, params, function in _candidates(constants):
        with np.errstate(all="ignore"):
            expected = function(PROBE)
        if np.allclose(result, expected, rtol=2e-6, atol=2e-6):
            return layer, params
    return None
