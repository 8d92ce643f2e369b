"""Operations the engine runs without a graph node, recorded by wrapping them during a trace.

argmax/argmin, ``& | ^ ~`` on masks, logical_not, all/any and isnan/isinf compute no gradient, and
topk/sort/argsort find their order (and F.one_hot its classes) outside the graph, so the engine runs them (or their indices)
outside ``apply`` and the tracer's hook never sees them. For the length of one
trace (under the tracer's lock) their bindings on Tensor, in ``layerforge.engine.ops``,
``layerforge.engine`` and ``nn.functional`` are replaced by wrappers that call the original and record the result; every
other thread gets the original's result untouched. Nothing is wrapped outside a trace.

Whatever else computes a tensor from the input without being recorded is caught by the second
trace (``second_trace.py``) instead of being written as a wrong constant.
"""
from __future__ import annotations

import threading

from ..tensor import Tensor


def _arg(input, dim=None, keepdim=False, axis=None, keepdims=None, **_):  # noqa: A002
    return [input], {"dim": axis if dim is None else dim, "keepdim": bool(keepdims if keepdims is not None
                                                                           else keepdim)}


def _pair(a, b, **_):
    return [a, b], {}


def _swapped(self, other, **_):
    return [other, self], {}


def _one(input, **_):  # noqa: A002
    return [input], {}


def _topk(input, k, dim=-1, largest=True, sorted=True, axis=None, **_):  # noqa: A002
    return [input], {"k": int(k), "dim": axis if axis is not None else dim, "largest": bool(largest)}


def _sort(input, dim=-1, descending=False, stable=False, axis=None, **_):  # noqa: A002
    return [input], {"k": None, "dim": axis if axis is not None else dim, "largest": bool(descending)}


def _one_hot(tensor, num_classes=-1, **_):
    return [tensor], {}


# kind recorded -> (attrs added, how the arguments bind, the bindings wrapped)
_WRAPPED = [
    ("ArgExtremum", {"largest": True}, _arg, ["argmax"]),
    ("ArgExtremum", {"largest": False}, _arg, ["argmin"]),
    ("TruthReduce", {"all": True}, _arg, ["all"]),
    ("TruthReduce", {"all": False}, _arg, ["any"]),
    ("Bitwise", {"op": "and"}, _pair, ["bitwise_and", "__and__"]),
    ("Bitwise", {"op": "or"}, _pair, ["bitwise_or", "__or__"]),
    ("Bitwise", {"op": "xor"}, _pair, ["bitwise_xor", "__xor__", "logical_xor"]),
    ("Bitwise", {"op": "and"}, _swapped, ["__rand__"]),
    ("Bitwise", {"op": "or"}, _swapped, ["__ror__"]),
    ("Bitwise", {"op": "xor"}, _swapped, ["__rxor__"]),
    ("Invert", {}, _one, ["bitwise_not", "__invert__"]),
    ("LogicalNot", {}, _one, ["logical_not"]),
    ("TopK", {}, _topk, ["topk"]),
    ("TopK", {}, _sort, ["sort"]),
    ("TopK", {"indices_only": True}, _sort, ["argsort"]),
    ("OneHot", {}, _one_hot, ["one_hot"]),
    ("IsNaN", {}, _one, ["isnan"]),
    ("IsInf", {}, _one, ["isinf"]),
]


def install(trace) -> list:
    """Wrap every binding for ``trace``; returns what ``restore`` needs."""
    from .. import ops
    from ..nn import functional
    import layerforge.engine as engine
    saved = []
    for kind, attrs, bind, names in _WRAPPED:
        for owner in (Tensor, ops, engine, functional):
            for name in names:
                original = getattr(owner, name, None)
                if original is None or not callable(original):
                    continue
                saved.append((owner, name, original, name in vars(owner)))
                setattr(owner, name, _recorder(trace, original, kind, attrs, bind))
    return saved


def restore(saved: list) -> None:
    for owner, name, original, own in reversed(saved):
        if own:
            setattr(owner, name, original)
        else:  # it was inherited: take the wrapper away again
            delattr(owner, name)


def _recorder(trace, original, kind, attrs, bind):
    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        if threading.get_ident() != trace.thread or not (
                isinstance(result, Tensor) or (isinstance(result, tuple) and result
                                               and all(isinstance(t, Tensor) for t in result))):
            return result
        try:
            operands, found = bind(*args, **kwargs)
        except TypeError:
            return result
        if not any(isinstance(t, Tensor) for t in operands):
            return result
        return trace.record_untracked(kind, {**attrs, **found}, operands, result)

    wrapper.__name__ = getattr(original, "__name__", kind)
    wrapper.__doc__ = getattr(original, "__doc__", None)
    return wrapper
