"""Numerical gradient checking that needs no reference library.

Chainer's trick: instead of perturbing every input element, compare the analytic and numerical
directional derivatives along one random direction, in float64 with central differences. That costs
two extra forward passes whatever the input size, yet a wrong gradient almost surely shows.
"""
from __future__ import annotations

import numpy as np

from .autograd import grad as autograd_grad
from .autograd import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    pass


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0, raise_exception: bool = True, directions: int = 2) -> bool:
    """Check ``fn``'s gradients with respect to every float64 input that requires grad."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    wrt = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        raise ValueError("gradcheck: no input requires grad; pass tensors with requires_grad=True")
    for t in wrt:
        if t._data.dtype != np.float64:
            raise ValueError(f"gradcheck needs float64 inputs for precision, got {t.dtype} "
                             f"(convert with .double())")
    rng = np.random.default_rng(seed)
    outputs = fn(*inputs)
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    outputs = [o for o in outputs if isinstance(o, Tensor) and o.requires_grad]
    for _ in range(directions):
        # Random weights on the outputs turn a vector function into a scalar one.
        weights = [rng.standard_normal(o._data.shape) for o in outputs]
        analytic = autograd_grad(outputs, wrt, grad_outputs=[Tensor._wrap(w) for w in weights],
                                 retain_graph=True, allow_unused=True)
        direction = [rng.standard_normal(t._data.shape) for t in wrt]
        predicted = sum(float((g._data * d).sum()) for g, d in zip(analytic, direction) if g is not None)

        def scalar_at(step):
            originals = [t._data for t in wrt]
            try:
                for t, original, d in zip(wrt, originals, direction):
                    t._data = original + step * d
                with no_grad():
                    outs = fn(*inputs)
                outs = outs if isinstance(outs, (tuple, list)) else (outs,)
                outs = [o for o in outs if isinstance(o, Tensor) and o._data.dtype.kind == "f"]
                return sum(float((o._data * w).sum()) for o, w in zip(outs, weights))
            finally:
                for t, orig in zip(wrt, originals):
                    t._data = orig

        numerical = (scalar_at(eps) - scalar_at(-eps)) / (2 * eps)
        if not abs(predicted - numerical) <= atol + rtol * abs(numerical):
            if raise_exception:
                raise GradcheckError(
                    f"gradcheck failed: the analytic directional derivative is {predicted:.8g}, the "
                    f"numerical one (central differences, eps={eps}) is {numerical:.8g}")
            return False
    return True
