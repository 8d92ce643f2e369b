"""Converters by the engine node they translate: ``@converts("Add")`` on ``fn(ctx)``.

A converter reads the recorded operation through its ``OpContext`` (inputs' names, shapes, dtypes,
the node's attributes) and emits ONNX nodes whose last outputs are ``ctx.out(i)`` (or binds the
output to an existing name with ``ctx.same()``). The converter modules register on import.
"""
from __future__ import annotations

import importlib
import re

CONVERTERS: dict = {}


def converts(*kinds: str):
    def register(fn):
        for kind in kinds:
            CONVERTERS[kind] = fn
        return fn
    return register


def op_name(kind: str) -> str:
    """The engine's node class name as the function a person called: ``CumProd`` -> ``cumprod``."""
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", kind).lower().replace("_", "") if kind else kind


_MODULES = ("converters_elementwise", "converters_math", "converters_logic", "converters_shape", "converters_nn", "converters_recurrent")


def load() -> dict:
    """Every converter, registered by importing the converter modules."""
    for module in _MODULES:
        importlib.import_module(f"{__package__}.{module}")
    return CONVERTERS
