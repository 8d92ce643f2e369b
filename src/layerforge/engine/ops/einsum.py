"""einsum and what is written with it (tensordot), as one node whose gradients are einsums too."""
from __future__ import annotations

import string

from ..autograd import Node
from ..tensor import Tensor
from .common import apply, xp_of
from .shape import _check_list

_LETTERS = string.ascii_letters


def _parse(equation: str, shapes):
    """The equation with '...' spelled out as letters and the output made explicit (PyTorch's implicit
    output: the letters used once, in alphabetical order, after the broadcast dimensions)."""
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise RuntimeError(f"einsum(): {len(terms)} operands in the equation but {len(shapes)} were given")
    used = set(equation) - {".", ",", "-", ">"}
    free = [c for c in _LETTERS if c not in used]
    ellipsis_dims = max([len(s) - (len(t) - 3) for t, s in zip(terms, shapes) if "..." in t] + [0])
    ellipsis = "".join(free[:ellipsis_dims])
    spelled = []
    for term, shape in zip(terms, shapes):
        if "..." in term:
            n = len(shape) - (len(term) - 3)
            term = term.replace("...", ellipsis[len(ellipsis) - n:] if n else "")
        if len(term) != len(shape):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(term)}) does not "
                               f"match the number of dimensions ({len(shape)}) for operand {len(spelled)}")
        spelled.append(term)
    sizes = {}
    for k, (term, shape) in enumerate(zip(spelled, shapes)):
        for c, n in zip(term, shape):
            seen = sizes.setdefault(c, n)
            if seen != n and 1 not in (seen, n):
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {k} which does not "
                                   f"broadcast with previously seen size {seen}")
            sizes[c] = max(seen, n)
    if arrow:
        output = output.replace("...", ellipsis)
    else:
        counts = {}
        for c in "".join(spelled):
            counts[c] = counts.get(c, 0) + 1
        output = ellipsis + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ellipsis))
    return spelled, output


class Einsum(Node):
    def __init__(self, terms, output):
        self.terms, self.output = terms, output

    def forward(self, *arrays):
        self.arrays = arrays
        equation = f"{','.join(self.terms)}->{self.output}"
        return xp_of(arrays[0]).einsum(equation, *arrays, optimize=len(arrays) > 2)

    def backward(self, g):
        return tuple(self._grad(i, g) for i in range(len(self.arrays)))

    def _grad(self, i, g):
        xp = xp_of(g)
        term, array = self.terms[i], self.arrays[i]
        others = [(t, a) for k, (t, a) in enumerate(zip(self.terms, self.arrays)) if k != i]
        sizes = {}
        for t, a in zip(self.terms, self.arrays):
            for c, n in zip(t, a.shape):
                sizes[c] = max(sizes.get(c, 1), n)
        reachable = set(self.output).union(*[set(t) for t, _ in others]) if others else set(self.output)
        unique = "".join(dict.fromkeys(term))  # its letters once each, in order
        kept = "".join(c for c in unique if c in reachable)
        equation = ",".join([self.output] + [t for t, _ in others]) + "->" + kept
        grad = xp.einsum(equation, g, *[a for _, a in others], optimize=len(others) > 1)
        # letters summed away in this operand alone: the gradient is the same along them
        shape = [sizes[c] if c in kept else 1 for c in unique]
        grad = xp.broadcast_to(grad.reshape(shape), [sizes[c] for c in unique])
        if len(unique) != len(term):  # a repeated letter (a diagonal): write onto that diagonal
            out = xp.zeros(array.shape, dtype=g.dtype)
            grid = [xp.arange(sizes[c]).reshape([-1 if k == unique.index(c) else 1 for k in range(len(unique))])
                    for c in term]
            out[tuple(grid)] = grad
            return out
        # a size-1 dimension broadcast against a longer one: sum back to 1
        axes = tuple(k for k, n in enumerate(array.shape) if n == 1 and grad.shape[k] != 1)
        if axes:
            grad = grad.sum(axis=axes, keepdims=True)
        return xp.ascontiguousarray(grad).astype(g.dtype, copy=False)


def einsum(equation: str, *operands) -> Tensor:
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    if len({t._data.dtype for t in operands}) > 1:
        operands = tuple(_check_list(operands, "einsum"))
    terms, output = _parse(equation, [t.shape for t in operands])
    return apply(Einsum(terms, output), *operands)


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    dims_a = [d % a.ndim for d in dims_a]
    dims_b = [d % b.ndim for d in dims_b]
    letters = iter(_LETTERS)
    term_a = [next(letters) for _ in range(a.ndim)]
    term_b = [next(letters) for _ in range(b.ndim)]
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[da]} in dim "
                               f"{da} and second has size {b.shape[db]} in dim {db}")
        term_b[db] = term_a[da]
    output = [c for k, c in enumerate(term_a) if k not in dims_a] + \
        [c for k, c in enumerate(term_b) if k not in dims_b]
    return einsum(f"{''.join(term_a)},{''.join(term_b)}->{''.join(output)}", a, b)

