"""Activation kernels beyond the basic ones in elementwise.py: each keeps only what backward needs."""
from __future__ import annotations

import math
import sys

import numpy as np

from ..autograd import _SECOND_BACKWARD, Node
from ..backend import gpu_erf
from .buffer_pool import _Lease, lent_like, workspace
from .common import apply, xp_of
from .cache_blocks import in_blocks
from .elementwise import Relu as _Relu
from .elementwise import sigmoid_into, stable_sigmoid
from .rows import row_dots

_SQRT_HALF = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_SCALE = math.sqrt(2.0 / math.pi)


def erf(a):
    """Elementwise erf on numpy or cupy arrays, keeping the dtype."""
    return erf_and_gaussian(a)[0]


def erf_and_gaussian(a):
    """``(erf(a), exp(-a*a))``: GELU's backward reuses the Gaussian factor, so it is returned too.

    cupy ships an erf; numpy does not. On the CPU, float64 goes through ``math.erf`` (exact, slow,
    and float64 is rare in training); float32 uses the Abramowitz-Stegun 7.1.26 rational
    approximation, whose absolute error (under 1.5e-7) is at float32's resolution. It is evaluated
    in place in float32, a few passes over the array.
    """
    xp = xp_of(a)
    if xp.__name__ == "cupy":
        return gpu_erf(a), xp.exp(-a * a)
    gaussian = xp.exp(-a * a)
    if a.dtype != xp.float32:
        return _exact_erf(a).astype(a.dtype, copy=False), gaussian
    x = xp.abs(a, out=xp.empty_like(a))  # an array also for 0-d input (numpy returns scalars)
    t = x
    t *= np.float32(0.3275911)
    t += np.float32(1.0)
    xp.reciprocal(t, out=t)
    poly = xp.multiply(t, np.float32(1.061405429), out=xp.empty_like(t))
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += np.float32(c)
        poly *= t
    poly *= gaussian
    xp.subtract(np.float32(1.0), poly, out=poly)
    return xp.copysign(poly, a, out=poly), gaussian


_exact_erf = np.vectorize(math.erf, otypes=[np.float64])


class Relu(_Relu):
    """ReLU whose large CPU output and gradient come from the workspace's pooled buffers (a fresh
    multi-megabyte array faults in new pages every step); same values as the plain node's. Small
    arrays take the plain node's two lines first: a tiny MLP's step is mostly per-call Python.

    When backward finds the output referenced by this node alone (its Tensor and every consumer
    that kept it are gone, no view of it is left), the gradient is written over the output: one
    buffer the size of the activation less in backward (no fresh pages either). A retained graph
    never gets there (the consumers' nodes keep the output's Tensor), so the node is then spent,
    as if released. The check is by reference counts, so anything still able to reach the output
    keeps it intact."""

    def forward(self, a):
        if a.nbytes < workspace.LEND_BYTES or type(a) is not np.ndarray or a.dtype.kind != "f":
            self.out = xp_of(a).maximum(a, 0)
            return self.out
        self.out = np.maximum(a, 0, out=workspace.lend(a.shape, a.dtype))
        return self.out

    def backward(self, g):
        out = self.out
        if out is None:  # the gradient was written over the output (never in a retained graph)
            raise RuntimeError(_SECOND_BACKWARD)
        if (g.nbytes < workspace.LEND_BYTES or type(g) is not np.ndarray or g.dtype != out.dtype
                or g.shape != out.shape):
            return g * (out != 0)
        if type(out.base) is _Lease and _references(out) == _ALONE:
            self.out = None
            grad = np.not_equal(out, 0, out=out)  # the mask as 0.0 / 1.0, over the output
        else:
            grad = np.not_equal(out, 0, out=workspace.lend(g.shape, g.dtype))
        return np.multiply(grad, g, out=grad)


def _references(array):
    """Reference counts of a lent array and of its lease (each view of the array holds the lease)."""
    return sys.getrefcount(array), sys.getrefcount(array.base)


class _Discard:
    def give(self, array, wait=True):
        pass


def _alone():
    """``_references`` of a lent array held, like ``Relu.out`` in backward, by one attribute and one
    local variable, and by nothing else: measured rather than assumed, as counts vary between
    Python versions."""
    holder = _Discard()
    holder.out = np.asarray(_Lease(np.empty(1, np.float32), _Discard()))
    out = holder.out
    return _references(out)


_ALONE = _alone()


def relu(a):
    """``F.relu`` on the pooled-buffer node (nn.ReLU's forward)."""
    return apply(Relu(), a)


def _select(xp, positive, if_true, if_false, dtype):
    """An array of ``if_true`` where ``positive`` holds and ``if_false`` elsewhere: on the CPU a lookup
    of the mask's bytes in a two-value table (numpy's ``where`` on a mask without a pattern, as an
    activation's sign is, runs ~4 ns a value against ~1 for the lookup: its branches mispredict)."""
    if xp is np:
        return np.take(np.array([if_false, if_true], dtype=dtype), positive.view(np.uint8))
    return xp.where(positive, dtype.type(if_true), dtype.type(if_false))


class Prelu(Node):
    """PReLU: x where x > 0, else weight * x, with ``weight`` (C,) per channel (axis 1) or (1,) shared,
    of the input's dtype. As LeakyRelu: for weights in (0, 1] max(x, weight * x), for weights of 1
    and up the min, two passes; other weights take a select. Backward builds the factor (1 or the
    channel's weight) by arithmetic on the sign mask (a select on a mask without a pattern runs
    ~10x a multiply: its branches mispredict), and the weight's gradient, the sum of g * min(x, 0),
    by BLAS dot products per (sample, channel)."""

    def forward(self, x, weight):
        xp = xp_of(x)
        self.x, self.weight = x, weight
        w = self._broadcast(weight, x.ndim)
        scaled = xp.multiply(x, w, out=lent_like(xp, x))
        low, high = float(weight.min()), float(weight.max())
        if 0 < low and high <= 1:
            return xp.maximum(x, scaled, out=scaled)
        if low >= 1:
            return xp.minimum(x, scaled, out=scaled)
        return xp.where(x > 0, x, scaled)

    @staticmethod
    def _broadcast(weight, ndim):
        """The weight shaped to broadcast against the input along axis 1 (shared: as it is)."""
        if weight.size == 1 or ndim < 2:
            return weight.reshape(())
        return weight.reshape((1, -1) + (1,) * (ndim - 2))

    def backward(self, g):
        xp = xp_of(g)
        x, weight = self.x, self.weight
        w = self._broadcast(weight, x.ndim)
        grad_x = None
        if self.inputs is None or self.inputs[0].requires_grad:
            grad_x = xp.greater(x, 0, out=lent_like(xp, g))   # 1.0 where x > 0, else 0.0
            grad_x *= 1 - w
            grad_x += w                                        # 1 or the weight
            grad_x *= g
        if self.inputs is not None and not self.inputs[1].requires_grad:
            return grad_x, None
        negative = xp.minimum(x, 0, out=workspace.take(xp, x.shape, x.dtype))
        if weight.size == 1 or x.ndim < 2:
            grad_w = row_dots(xp, g.reshape(1, -1), negative.reshape(1, -1)).reshape(weight.shape)
        else:
            rows = (x.shape[0], x.shape[1], -1)
            grad_w = row_dots(xp, xp.ascontiguousarray(g).reshape(rows), negative.reshape(rows)).sum(axis=0)
        workspace.give(negative)
        return grad_x, grad_w.astype(weight.dtype, copy=False)


class LeakyRelu(Node):
    """x where x > 0, else slope * x (PyTorch's). For 0 < slope <= 1 that is max(x, slope * x), and
    for slope > 1 the min: two passes without a select (a slope of 0 would turn +inf * 0 into NaN,
    and a negative one flips the sign of zero: they keep the select); backward multiplies by 1 or
    slope. With 0 < slope <= 1 that factor is max(sign(output), slope) (the output has x's sign), so
    forward keeps no mask of signs: (32, 16, 32, 32) forward 480 -> 365 us, the node's backward
    710 -> 625 us (the mask's lookup, ``_select``, cost more than the two passes)."""

    def __init__(self, slope):
        self.slope = slope

    def forward(self, a):
        xp = xp_of(a)
        slope = a.dtype.type(self.slope)
        scaled = xp.multiply(a, slope, out=xp.empty_like(a))   # an array also for 0-d input
        if 0 < self.slope <= 1:
            self.out = xp.maximum(a, scaled, out=scaled)
            return self.out
        self.positive = a > 0
        if self.slope > 1:
            return xp.minimum(a, scaled, out=scaled)
        return xp.where(self.positive, a, scaled)

    def backward(self, g):
        factor = _one_or(self, self.slope, g.dtype)
        factor *= g
        return factor


def _one_or(node, low, dtype):
    """1 where the node's input was positive, ``low`` elsewhere. Where the node kept its output
    (``low`` in (0, 1]), read off the output's signs: fmax(sign(out), low), two passes, fmax giving a
    NaN ``low`` as PyTorch's x > 0 test does; else looked up from its mask of signs."""
    out = node.__dict__.get("out")
    if out is None:
        return _select(xp_of(node.positive), node.positive, 1, low, dtype)
    xp = xp_of(out)
    factor = xp.sign(out, out=lent_like(xp, out)).astype(dtype, copy=False)
    return xp.fmax(factor, dtype.type(low), out=factor)


class Elu(Node):
    """x where x > 0, else alpha * (exp(x) - 1), as max(x, 0) + alpha * expm1(min(x, 0)): the second
    term is 0 for x > 0 and the first is 0 (of x's sign) elsewhere, so the sum is PyTorch's value
    without a select. Backward: 1 where x > 0, else alpha + alpha * expm1(x), kept from forward; the
    output has x's sign, so with 0 < alpha <= 1 the 1 or alpha is max(sign(output), alpha) and forward
    keeps no mask ((32, 16, 32, 32): forward 990 -> 845 us, the node's backward 890 -> 775 us)."""

    def __init__(self, alpha):
        self.alpha = alpha

    def forward(self, a):
        xp = xp_of(a)
        alpha = a.dtype.type(self.alpha)
        negative = xp.minimum(a, 0, out=xp.empty_like(a))      # arrays also for 0-d input
        xp.expm1(negative, out=negative)
        negative *= alpha
        self.negative = negative
        out = xp.maximum(a, 0, out=xp.empty_like(a))
        out += negative
        if 0 < self.alpha <= 1:
            self.out = out
        else:
            self.positive = a > 0
        return out

    def backward(self, g):
        # alpha where x <= 0 plus alpha * expm1(x) there (0 elsewhere): alpha * exp(x), or 1
        factor = _one_or(self, self.alpha, g.dtype)
        factor += self.negative
        factor *= g
        return factor


def _relu6_of_shifted(a):
    """min(max(a + 3, 0), 6), a new array (also for 0-d input), which both hard activations scale."""
    xp = xp_of(a)
    out = xp.add(a, a.dtype.type(3), out=xp.empty_like(a))
    return xp.clip(out, 0, 6, out=out)


class Hardsigmoid(Node):
    """min(max(x + 3, 0), 6) / 6, and g / 6 strictly inside (-3, 3) (PyTorch's formulas): three passes
    forward, where the composed version ran an add, a clamp and a divide as graph nodes."""

    def forward(self, a):
        self.a = a
        out = _relu6_of_shifted(a)
        out /= a.dtype.type(6)
        return out

    def backward(self, g):
        a = self.a
        grad = g * g.dtype.type(1 / 6)
        grad *= (a > -3) & (a < 3)
        return grad


class Hardswish(Node):
    """x * min(max(x + 3, 0), 6) / 6; backward (PyTorch's): 0 up to -3, g * (x / 3 + 1/2) strictly
    inside (-3, 3), g from 3 up, NaN at NaN (as PyTorch's vectorised kernel), from bool factors
    instead of selects."""

    def forward(self, a):
        self.a = a
        out = _relu6_of_shifted(a)
        out *= a
        out /= a.dtype.type(6)
        return out

    def backward(self, g):
        a = self.a
        grad = xp_of(g).clip(a, -3, 3).astype(g.dtype, copy=False)   # unchanged inside; no inf * 0 outside
        grad /= g.dtype.type(3)
        grad += g.dtype.type(0.5)
        grad *= (a > -3) & (a < 3)
        grad += a >= 3
        grad *= g
        return grad


class Gelu(Node):
    def __init__(self, approximate):
        self.approximate = approximate

    def forward(self, a):
        xp = xp_of(a)
        self.a = a
        if self.approximate == "tanh":
            inner = _TANH_SCALE * (a + 0.044715 * a * a * a)
            self.t = xp.tanh(inner).astype(a.dtype, copy=False)
            return (0.5 * a * (1 + self.t)).astype(a.dtype, copy=False)
        if xp is not np or a.dtype != np.float32 or a.size < 2 * self.BLOCK:
            self.cdf, self.gaussian = self._cdf(a)   # gaussian = exp(-a*a/2)
            return a * self.cdf
        # erf is some twenty passes over the array: a block at a time they stay in the cache
        # ((32, 16, 32, 32): 3.5 -> 2.4 ms)
        self.cdf, self.gaussian, out = (np.empty(a.shape, dtype=a.dtype) for _ in range(3))   # C order: flat views
        values, cdf, gaussian, flat_out = (array.reshape(-1) for array in (a, self.cdf, self.gaussian, out))
        for start in range(0, a.size, self.BLOCK):
            block = slice(start, start + self.BLOCK)
            cdf[block], gaussian[block] = self._cdf(values[block])
            np.multiply(values[block], cdf[block], out=flat_out[block])
        return out

    BLOCK = 1 << 15

    @staticmethod
    def _cdf(a):
        """(Phi(a), exp(-a*a/2))."""
        erf_value, gaussian = erf_and_gaussian(a * a.dtype.type(_SQRT_HALF))
        erf_value += 1
        erf_value *= a.dtype.type(0.5)
        return erf_value, gaussian

    def backward(self, g):
        a = self.a
        if self.approximate == "tanh":
            t = self.t
            d_inner = _TANH_SCALE * (1 + 3 * 0.044715 * a * a)
            grad = 0.5 * (1 + t) + 0.5 * a * (1 - t * t) * d_inner
            return (g * grad).astype(g.dtype, copy=False)
        grad = lent_like(xp_of(a), self.gaussian)
        in_blocks(_gelu_gradient, grad, self.gaussian, a, self.cdf, g)
        return grad


def _gelu_gradient(grad, gaussian, a, cdf, g):
    """(gaussian * a / sqrt(2 pi) + cdf) * g: exact GELU's derivative times the gradient."""
    xp_of(a).multiply(gaussian, a, out=grad)
    grad *= g.dtype.type(_INV_SQRT_2PI)
    grad += cdf
    grad *= g


class Silu(Node):
    def forward(self, a):
        xp = xp_of(a)
        self.a = a
        self.sig, out = lent_like(xp, a), lent_like(xp, a)
        in_blocks(_silu, self.sig, out, a)
        return out

    def backward(self, g):
        sig = self.sig
        grad = lent_like(xp_of(sig), sig)
        in_blocks(_silu_gradient, grad, sig, self.a, g)
        return grad


def _silu(sig, out, a):
    sigmoid_into(sig, a)
    xp_of(a).multiply(a, sig, out=out)


def _silu_gradient(grad, sig, a, g):
    """g * (sig * (1 + a * (1 - sig))), in one buffer."""
    xp_of(sig).subtract(1, sig, out=grad)
    grad *= a
    grad += 1
    grad *= sig
    grad *= g


class Softplus(Node):
    """log(1 + exp(beta*x)) / beta, linear above ``threshold`` (as PyTorch) to avoid overflow.

    With beta 1, float32 and a threshold of 17 or more (PyTorch's default is 20), the linear region
    needs no select: there max(x, 0) + log1p(exp(-|x|)) rounds to x and the sigmoid of x to 1
    (exp(-17) is under half a float32 ulp of 1), so one in-place chain serves everywhere, the same
    bits: forward six passes in two buffers where it took ten with six temporaries, backward the
    sigmoid and one product ((32, 16, 32, 32): forward 1.9-2.0 -> 1.15-1.2 ms, backward 1.55-1.6 ->
    1.05-1.13 ms)."""

    def __init__(self, beta, threshold):
        self.beta, self.threshold = beta, threshold

    def forward(self, a):
        xp = xp_of(a)
        self.a = a
        if self.beta == 1 and a.dtype == np.float32 and self.threshold >= 17:
            self.linear = None
            soft = xp.abs(a, out=lent_like(xp, a))           # max(x, 0) + log1p(exp(-|x|))
            xp.negative(soft, out=soft)
            xp.exp(soft, out=soft)
            xp.log1p(soft, out=soft)
            soft += xp.maximum(a, 0, out=xp.empty_like(a))
            return soft
        beta = a.dtype.type(self.beta)
        scaled = a * beta
        self.linear = scaled > self.threshold
        soft = (xp.maximum(scaled, 0) + xp.log1p(xp.exp(-xp.abs(scaled)))) / beta
        return xp.where(self.linear, a, soft)

    def backward(self, g):
        xp = xp_of(g)
        if self.linear is None:
            grad = stable_sigmoid(self.a)
            grad *= g
            return grad
        sig = stable_sigmoid(self.a * self.a.dtype.type(self.beta))
        return xp.where(self.linear, g, g * sig)


class Hardtanh(Node):
    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, a):
        xp = xp_of(a)
        self.inside = (a > self.low) & (a < self.high)
        return xp.clip(a, self.low, self.high).astype(a.dtype, copy=False)

    def backward(self, g):
        return g * self.inside
