"""The declaration of one layer type, and the constructor call it turns into.

A :class:`LayerType` says everything the rest of Layerforge needs about a layer: palette (category,
description), inspector (parameters), validation (shape rule, parameter count), compilation (which
``nn`` class to construct with which arguments) and the PyTorch exporter (the same call as code).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from .errors import ParamError
from .params import Param

Shape = tuple[int, ...]
Params = Mapping[str, Any]


@dataclass(frozen=True)
class Call:
    """A constructor call such as ``nn.Linear(784, 128, bias=True)``, buildable and printable.

    Arguments may themselves be Calls (``nn.Sequential(nn.Flatten(1), nn.Unflatten(1, (16, 7, 7)))``).
    """

    cls: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()

    def build(self, nn: Any) -> Any:
        """Construct the module from the ``nn`` namespace given (the engine's, or torch.nn in tests)."""
        constructor = getattr(nn, self.cls, None)
        if constructor is None:
            raise NotImplementedError(
                f"{getattr(nn, '__name__', 'nn')} has no {self.cls}; this layer cannot be built with it")
        args = [arg.build(nn) if isinstance(arg, Call) else arg for arg in self.args]
        return constructor(*args, **dict(self.kwargs))

    def code(self, prefix: str = "nn") -> str:
        """Python source for the call, e.g. ``"nn.Conv2d(1, 8, 3, stride=1, padding=1)"``."""
        parts = [arg.code(prefix) if isinstance(arg, Call) else _literal(arg) for arg in self.args]
        parts += [f"{key}={_literal(value)}" for key, value in self.kwargs]
        return f"{prefix}.{self.cls}({', '.join(parts)})"


def _literal(value: Any) -> str:
    return repr(value)


@dataclass(frozen=True)
class Merge:
    """A parameter-free node combining several inputs (Add, Concat): no module, an expression.

    apply(ops, params, inputs): the result, with ``ops`` the tensor library (layerforge.engine or torch).
    code(params, input_names): the same as Python source over ``torch``.
    """

    apply: Callable[[Any, Params, Sequence[Any]], Any]
    code: Callable[[Params, Sequence[str]], str]


@dataclass(frozen=True)
class OutputSelect:
    """How a node's output is taken from a module that returns more than one tensor (RNN/LSTM/GRU).

    apply(ops, params, result) -> tensor; code(params, var) -> Python source over ``torch``.
    """

    apply: Callable[[Any, Params, Any], Any]
    code: Callable[[Params, str], str]


@dataclass(frozen=True)
class ModuleForward:
    """How a node's value comes from its module when that is not ``module(*inputs)``: self-attention
    calls ``attn(x, x, x, need_weights=False)[0]``, a positional embedding adds its table to x.

    apply(ops, params, module, inputs) -> tensor; code(params, module_expr, input_names) -> Python
    source over ``torch`` (``module_expr`` is e.g. ``"self.attn1"``).
    """

    apply: Callable[[Any, Params, Any, Sequence[Any]], Any]
    code: Callable[[Params, str, Sequence[str]], str]


def _no_params(params: Params, in_shapes: Sequence[Shape]) -> int:
    return 0


@dataclass(frozen=True)
class LayerType:
    """One layer type, declared once.

    shape_rule(params, in_shapes) -> output shape, all shapes WITHOUT the batch dimension; raises
    ShapeError with a message that reads after "<Type> '<name>' ".
    module(params, in_shapes) -> Call building the engine / PyTorch module (None for Input and merges).
    forward: how the node calls its module, when not as ``module(*inputs)`` (see ModuleForward).
    count_params(params, in_shapes) -> number of trainable parameters.
    check_params(params) raises ParamError when parameters contradict each other.
    input_dtype / output_dtype: what it reads and gives (token indices are int64, all else float32).
    """

    type: str
    category: str
    description: str
    shape_rule: Callable[[Params, Sequence[Shape]], Shape]
    params: tuple[Param, ...] = ()
    min_inputs: int = 1
    max_inputs: int | None = 1
    module: Callable[[Params, Sequence[Shape]], Call] | None = None
    merge: Merge | None = None
    select_output: OutputSelect | None = None
    forward: ModuleForward | None = None
    count_params: Callable[[Params, Sequence[Shape]], int] = _no_params
    check_params: Callable[[Params], None] | None = None
    name_prefix: str = ""
    # Element types: "float32" or "int64"; None on input means any, on output means "same as input".
    input_dtype: str | None = "float32"
    output_dtype: str | None = "float32"

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(f"{self.type} has no parameter '{name}'; it has: {', '.join(self.param_names) or 'none'}")

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(param.name for param in self.params)

    def default_params(self) -> dict[str, Any]:
        return {param.name: param.default for param in self.params}

    def parse_params(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        """All parameters in canonical form: defaults filled in, each value checked (ParamError)."""
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.param_names))
        if unknown:
            raise ParamError(unknown[0], f"{self.type} has no such parameter; it has: "
                             f"{', '.join(self.param_names) or 'none'}")
        values = {p.name: p.parse(given[p.name]) if p.name in given else p.default for p in self.params}
        if self.check_params is not None:
            self.check_params(values)
        return values

    def infer(self, params: Params, in_shapes: Sequence[Shape]) -> Shape:
        return tuple(self.shape_rule(params, tuple(tuple(s) for s in in_shapes)))

    def call(self, params: Params, in_shapes: Sequence[Shape]) -> Call | None:
        return None if self.module is None else self.module(params, tuple(in_shapes))

    def build(self, nn: Any, params: Params, in_shapes: Sequence[Shape]) -> Any:
        call = self.call(params, in_shapes)
        return None if call is None else call.build(nn)

    def torch_code(self, params: Params, in_shapes: Sequence[Shape]) -> str | None:
        """``"nn.Linear(784, 128, bias=True)"``; None for layers without a module (Input, merges)."""
        call = self.call(params, in_shapes)
        return None if call is None else call.code("nn")
