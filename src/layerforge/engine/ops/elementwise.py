"""Elementwise kernels (graph nodes on raw arrays): arithmetic with broadcasting, math functions,
activations, clamp, where. The user-facing functions over them are in ``elementwise_functions.py``."""
from __future__ import annotations

import contextlib

import numpy as np

from ..autograd import Node
from .buffer_pool import lent_like, workspace
from .cache_blocks import in_blocks
from .common import unbroadcast, xp_of


def _lends(a, b):
    """Whether ``a`` op ``b`` goes into a lent buffer: two float CPU arrays of one shape and dtype and at
    least ``workspace.result_bytes`` (a residual add, a dropout mask), whose result would otherwise be
    a fresh array that faults its pages in each step wherever malloc gives large blocks back."""
    return (a.nbytes >= workspace.result_bytes and type(a) is np.ndarray and type(b) is np.ndarray
            and a.shape == b.shape and a.dtype == b.dtype and a.dtype.kind in "fc")


# ------------------------------------------------------------------------------ binary, tensor-tensor
class Add(Node):
    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        if _lends(a, b):
            return np.add(a, b, out=workspace.lend(a.shape, a.dtype))
        return a + b

    def backward(self, g):
        a_shape, b_shape = self.shapes
        shape = g.shape
        return (g if shape == a_shape else unbroadcast(g, a_shape),
                g if shape == b_shape else unbroadcast(g, b_shape))


class Sub(Node):
    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return a - b

    def backward(self, g):
        # A constant operand (a target, say) needs no negated copy of the gradient.
        gb = unbroadcast(-g, self.shapes[1]) if self.inputs[1].requires_grad else None
        return unbroadcast(g, self.shapes[0]), gb


class Mul(Node):
    def forward(self, a, b):
        self.a, self.b = a, b
        if _lends(a, b):
            return np.multiply(a, b, out=workspace.lend(a.shape, a.dtype))
        return a * b

    def backward(self, g):
        a, b = self.a, self.b
        inputs = self.inputs
        if _lends(a, b) and g.shape == a.shape and g.dtype == a.dtype:   # as forward: into lent buffers
            return tuple(np.multiply(g, other, out=workspace.lend(g.shape, g.dtype)) if t.requires_grad else None
                         for t, other in zip(inputs, (b, a)))
        ga = unbroadcast(g * b, a.shape) if inputs[0].requires_grad else None
        gb = unbroadcast(g * a, b.shape) if inputs[1].requires_grad else None
        return ga, gb


class Div(Node):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        a, b = self.a, self.b
        ga = g / b
        return unbroadcast(ga, a.shape), unbroadcast(-ga * a / b, b.shape)


def _power(a, b):
    """``a ** b``; integers to negative integer powers as PyTorch computes them (numpy refuses)."""
    if getattr(b, "dtype", np.dtype(float)).kind not in "iu" or getattr(a, "dtype", None) is None \
            or a.dtype.kind not in "iu":
        return a ** b
    xp = xp_of(b)
    negative = b < 0
    out = a ** xp.where(negative, 0, b)
    # 1 ** -n is 1, (-1) ** -n is +-1, any other integer to a negative power truncates to 0
    odd = (b % 2) != 0
    inverse = xp.where(a == 1, 1, xp.where(a == -1, xp.where(odd, -1, 1), 0)).astype(out.dtype)
    return xp.where(negative, inverse, out)


class Pow(Node):
    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = _power(a, b)
        return self.out

    def backward(self, g):
        a, b, out = self.a, self.b, self.out
        xp = xp_of(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            ga = g * b * a ** (b - 1)
            gb = g * out * xp.log(a)
        # PyTorch's convention: d(a**0)/da is 0 everywhere, also at a == 0 (0 * inf would give nan).
        ga = xp.where(b == 0, 0, ga).astype(g.dtype, copy=False)
        # PyTorch's convention: d(0**b)/db is 0 where b >= 0 (the log would give nan).
        gb = xp.where((a == 0) & (b >= 0), 0, gb).astype(g.dtype, copy=False)
        return unbroadcast(ga, a.shape), unbroadcast(gb, b.shape)


class Maximum(Node):
    def forward(self, a, b):
        self.a, self.b = a, b
        return xp_of(a).maximum(a, b)

    def backward(self, g):
        return _select_grads(g, self.a, self.b, self.a > self.b)


class Minimum(Node):
    def forward(self, a, b):
        self.a, self.b = a, b
        return xp_of(a).minimum(a, b)

    def backward(self, g):
        return _select_grads(g, self.a, self.b, self.a < self.b)


def _select_grads(g, a, b, a_wins):
    # Ties share the gradient equally, as PyTorch does for maximum/minimum.
    tie = (a == b)
    half = g * 0.5
    ga = g * a_wins + half * tie
    gb = g * ~(a_wins | tie) + half * tie
    return unbroadcast(ga.astype(g.dtype, copy=False), a.shape), unbroadcast(gb.astype(g.dtype, copy=False), b.shape)


# ------------------------------------------------------------------------------ tensor-scalar
class AddScalar(Node):
    def __init__(self, s):
        self.s = s

    def forward(self, a):
        return a + self.s

    def backward(self, g):
        return g


class MulScalar(Node):
    def __init__(self, s):
        self.s = s

    def forward(self, a):
        return a * self.s

    def backward(self, g):
        return g * self.s


class RSubScalar(Node):
    """s - a"""

    def __init__(self, s):
        self.s = s

    def forward(self, a):
        return self.s - a

    def backward(self, g):
        return -g


class RDivScalar(Node):
    """s / a"""

    def __init__(self, s):
        self.s = s

    def forward(self, a):
        self.out = self.s / a
        self.a = a
        return self.out

    def backward(self, g):
        return -g * self.out / self.a


class DivByZeroScalar(Node):
    """x / 0 keeps IEEE semantics (inf, nan) as PyTorch does."""

    def __init__(self, s):
        self.s = s

    def forward(self, a):
        with np.errstate(divide="ignore", invalid="ignore"):
            return a / self.s

    def backward(self, g):
        with np.errstate(divide="ignore", invalid="ignore"):
            return g / self.s


class PowScalar(Node):
    """a ** s"""

    def __init__(self, s):
        self.s = s

    def forward(self, a):
        self.a = a
        s = self.s
        if s == 2:
            return a * a
        return a ** s

    def backward(self, g):
        s, a = self.s, self.a
        if s == 0:
            return g * 0
        if s == 2:
            return g * (2 * a)
        if s == 1:
            return g
        return g * (s * a ** (s - 1))


class RPowScalar(Node):
    """s ** a"""

    def __init__(self, s):
        self.s = s

    def forward(self, a):
        self.a = a
        if a.dtype.kind in "iu":
            self.out = _power(xp_of(a).asarray(self.s, dtype=a.dtype), a)
        else:
            with np.errstate(divide="ignore"):  # 0 ** -x is inf, as in PyTorch
                self.out = self.s ** a
        return self.out

    def backward(self, g):
        if self.s == 0:  # d(0 ** x)/dx: 0 where x >= 0, -inf where x < 0 (0 ** x is inf there), as PyTorch
            with np.errstate(invalid="ignore"):
                return g * xp_of(g).where(self.a >= 0, 0, -np.inf).astype(g.dtype, copy=False)
        return g * self.out * float(np.log(self.s))


class Neg(Node):
    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


# ------------------------------------------------------------------------------ unary math
class Exp(Node):
    def forward(self, a):
        self.out = xp_of(a).exp(a)
        return self.out

    def backward(self, g):
        return g * self.out


class Log(Node):
    def forward(self, a):
        self.a = a
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp_of(a).log(a)

    def backward(self, g):
        with np.errstate(divide="ignore", invalid="ignore"):
            return g / self.a


class Sqrt(Node):
    def forward(self, a):
        with np.errstate(invalid="ignore"):
            self.out = xp_of(a).sqrt(a)
        return self.out

    def backward(self, g):
        with np.errstate(divide="ignore", invalid="ignore"):
            return g / (2 * self.out)


class Abs(Node):
    def forward(self, a):
        self.a = a
        return xp_of(a).abs(a)

    def backward(self, g):
        return g * xp_of(g).sign(self.a)


class Sin(Node):
    def forward(self, a):
        self.a = a
        return xp_of(a).sin(a)

    def backward(self, g):
        return g * xp_of(g).cos(self.a)


class Cos(Node):
    def forward(self, a):
        self.a = a
        return xp_of(a).cos(a)

    def backward(self, g):
        return -g * xp_of(g).sin(self.a)


class Tanh(Node):
    def forward(self, a):
        xp = xp_of(a)
        self.out = xp.tanh(a, out=lent_like(xp, a)) if a.dtype.kind in "fc" else xp.tanh(a)
        return self.out

    def backward(self, g):
        out = self.out
        grad = lent_like(xp_of(out), out)
        in_blocks(_tanh_gradient, grad, out, g)
        return grad


def _tanh_gradient(grad, out, g):
    """g * (1 - out * out), in one buffer."""
    xp = xp_of(out)
    xp.multiply(out, out, out=grad)
    xp.subtract(1, grad, out=grad)
    grad *= g


def stable_sigmoid(a):
    """1 / (1 + exp(-a)), as PyTorch computes it: accurate in both tails (no cancellation), and where
    exp(-a) overflows (a below about -88 in float32) the result is 1 / inf = 0, as it should be; that
    overflow is expected, so numpy is not asked to warn of it. Four passes in one buffer (a version
    that split the two signs took ten, with five temporaries: 16x PyTorch's time on 0.5 M values)."""
    xp = xp_of(a)
    out = lent_like(xp, a)
    sigmoid_into(out, a)
    return out


def sigmoid_into(out, a):
    """``stable_sigmoid(a)`` written into ``out`` (an array also for 0-d input: numpy returns scalars)."""
    xp = xp_of(a)
    xp.negative(a, out=out)
    with expected_overflow(xp):
        sigmoid_of_negated(xp, out)


def sigmoid_of_negated(xp, out):
    """``out`` = sigmoid(-out) = 1 / (1 + exp(out)), in place: ``stable_sigmoid`` of an array already
    negated (the recurrent kernels negate the gate rows of their weights instead). Callers hold
    ``expected_overflow`` around it (once around a loop of calls)."""
    xp.exp(out, out=out)
    out += 1
    xp.reciprocal(out, out=out)


def expected_overflow(xp):
    """numpy's warning off for exp's expected overflow in the sigmoid (a very negative input: 1 / inf =
    0, correct); a no-op context for other array modules."""
    return np.errstate(over="ignore") if xp is np else contextlib.nullcontext()


class Sigmoid(Node):
    def forward(self, a):
        self.out = stable_sigmoid(a)
        return self.out

    def backward(self, g):
        out = self.out
        grad = lent_like(xp_of(out), out)
        in_blocks(_sigmoid_gradient, grad, out, g)
        return grad


def _sigmoid_gradient(grad, out, g):
    """(g * (1 - y)) * y, PyTorch's order, in one buffer."""
    xp_of(out).subtract(1, out, out=grad)
    grad *= g
    grad *= out


class Relu(Node):
    def forward(self, a):
        self.out = xp_of(a).maximum(a, 0)
        return self.out

    def backward(self, g):
        # PyTorch's threshold_backward: 0 where the output is <= 0, the gradient elsewhere, NaN
        # included; a ReLU's output is never below 0, so that is where it is not 0
        return g * (self.out != 0)


class Clamp(Node):
    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, a):
        self.a = a
        xp = xp_of(a)
        out = a
        if self.low is not None:
            out = xp.maximum(out, self.low)
        if self.high is not None:
            out = xp.minimum(out, self.high)
        # Like PyTorch, NaN inputs stay NaN.
        return xp.where(xp.isnan(a), a, out) if a.dtype.kind == "f" else out

    def backward(self, g):
        a = self.a
        keep = True
        if self.low is not None:
            keep = a >= self.low
        if self.high is not None:
            keep = keep & (a <= self.high)
        return g * keep


class Where(Node):
    def __init__(self, condition):
        self.condition = condition

    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return xp_of(a).where(self.condition, a, b)

    def backward(self, g):
        c = self.condition
        zero = g.dtype.type(0)
        xp = xp_of(g)
        return (unbroadcast(xp.where(c, g, zero), self.shapes[0]),
                unbroadcast(xp.where(c, zero, g), self.shapes[1]))


class Cast(Node):
    def __init__(self, target):
        self.target = target

    def forward(self, a):
        self.source = a.dtype
        return a.astype(self.target)

    def backward(self, g):
        if self.source.kind != "f":
            return None
        return g.astype(self.source)
