"""Loss kernels, fused: each loss is one graph node from its inputs to the reduced value.

Why fused: cross-entropy written as log_softmax + gather + mean is three nodes and three full-size
temporaries; as one node it keeps only the log-probabilities, and its gradient is one expression
(softmax times the target weights' total, minus the target weights). BCE-with-logits is fused for
numerical stability as much as for speed: the log-sigmoid is never formed from a rounded sigmoid.

Argument checks, warnings and PyTorch's calling conventions live in ``nn/functional_losses.py``; these
kernels trust their arguments.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import Node
from .common import unbroadcast, xp_of


# ------------------------------------------------------------------------------ reduction
def reduce_loss(loss, reduction: str, denominator=None):
    """Reduce an elementwise loss array: 'none', 'sum', or 'mean' (over ``denominator``)."""
    if reduction == "none":
        return loss
    # numpy's ufunc reduce skips ndarray.sum's Python wrapper (every step of a small model pays it).
    total = np.add.reduce(loss, axis=None) if type(loss) is np.ndarray else loss.sum()
    if reduction == "sum":
        return total
    if denominator is None:
        denominator = loss.size
    # A non-zero Python count (the usual case) needs no errstate context manager (a few microseconds);
    # a denominator that is an array (a weight sum, maybe on a GPU) is not read back to decide.
    if type(denominator) is int and denominator:
        return (total / denominator).astype(loss.dtype, copy=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (total / denominator).astype(loss.dtype, copy=False)


def spread_grad(g, reduction: str, shape, denominator=None):
    """The gradient of ``reduce_loss`` with respect to the elementwise loss: ``g`` spread back."""
    if reduction == "none":
        return g
    return xp_of(g).broadcast_to(scaled_grad(g, reduction, shape, denominator), shape)


def scaled_grad(g, reduction: str, shape, denominator=None):
    """``spread_grad`` before the broadcast: the incoming gradient divided by the mean's denominator,
    still 0-d for 'mean' and 'sum' (an elementwise product broadcasts it for free)."""
    if reduction == "mean":
        if denominator is None:
            denominator = math.prod(shape)
        if type(denominator) is int and denominator:  # see reduce_loss: never read a device array back
            return (g / denominator).astype(g.dtype, copy=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g / denominator).astype(g.dtype, copy=False)
    return g


# ------------------------------------------------------------------------------ regression losses
class _PairLoss(Node):
    """A loss of ``input - target`` elementwise (broadcast), then reduced.

    Subclasses give ``pointwise(diff)`` and ``slope(diff)`` (the derivative with respect to input).
    """

    def __init__(self, reduction: str):
        self.reduction = reduction

    def forward(self, x, y):
        self.shapes = (x.shape, y.shape)
        self.diff = x - y
        loss = self.pointwise(self.diff)
        self.loss_shape = loss.shape
        return reduce_loss(loss, self.reduction)

    def backward(self, g):
        # g stays 0-d for 'mean' and 'sum': the product broadcasts it without spreading it first.
        g = scaled_grad(g, self.reduction, self.loss_shape)
        gx = g * self.slope(self.diff)
        if gx.shape != self.loss_shape:  # only where the slope was a scalar
            gx = xp_of(gx).broadcast_to(gx, self.loss_shape)
        gx = gx.astype(self.diff.dtype, copy=False)
        inputs = self.inputs
        # A target (the usual case) needs no gradient: skip its negation and reduction.
        want_y = inputs is None or inputs[1].requires_grad
        return unbroadcast(gx, self.shapes[0]), (unbroadcast(-gx, self.shapes[1]) if want_y else None)


class MSELoss(_PairLoss):
    def backward(self, g):
        d, inputs = self.diff, self.inputs
        # The usual call (a CPU float mean or sum, input and target of one shape, the target needing
        # no gradient): one product with 2 g / n as a Python float. Scaling by 2 and rounding a
        # float64 quotient to float32 are exact here, so it is bit for bit the general path's result.
        if (type(g) is np.ndarray and not g.ndim and type(d) is np.ndarray and d.dtype.itemsize >= 4
                and d.size and self.reduction != "none" and d.shape == self.shapes[0]
                and inputs is not None and not inputs[1].requires_grad):
            return d * (float(g) * 2.0 / (d.size if self.reduction == "mean" else 1)), None
        return super().backward(g)

    def pointwise(self, d):
        return d * d

    def slope(self, d):
        return 2 * d


class L1Loss(_PairLoss):
    def pointwise(self, d):
        return xp_of(d).abs(d)

    def slope(self, d):
        return xp_of(d).sign(d)


class SmoothL1Loss(_PairLoss):
    """Quadratic below ``beta``, linear above (scaled so the pieces meet smoothly)."""

    def __init__(self, reduction: str, beta: float):
        super().__init__(reduction)
        self.beta = float(beta)

    def pointwise(self, d):
        xp = xp_of(d)
        a, beta = xp.abs(d), self.beta
        return xp.where(a < beta, (0.5 / beta) * d * d, a - 0.5 * beta).astype(d.dtype, copy=False)

    def slope(self, d):
        return xp_of(d).clip(d / self.beta, -1.0, 1.0)


class HuberLoss(_PairLoss):
    """Quadratic below ``delta``, ``delta``-scaled linear above: SmoothL1 times ``delta``."""

    def __init__(self, reduction: str, delta: float):
        super().__init__(reduction)
        self.delta = float(delta)

    def pointwise(self, d):
        xp = xp_of(d)
        a, delta = xp.abs(d), self.delta
        return xp.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta)).astype(d.dtype, copy=False)

    def slope(self, d):
        return xp_of(d).clip(d, -self.delta, self.delta)


# ------------------------------------------------------------------------------ binary losses
def _input_target_grads(gx, gy, x, y):
    """The two gradients in their inputs' dtypes, reduced to their inputs' (broadcast) shapes."""
    return (unbroadcast(gx.astype(x.dtype, copy=False), x.shape),
            unbroadcast(gy.astype(y.dtype, copy=False), y.shape))


class _WeightedBinaryLoss(Node):
    """An elementwise loss of (input, target), times an optional ``weight``, then reduced.

    Subclasses give ``pointwise(x, y)`` and ``grads(g, x, y)``: the gradients with respect to input
    and target, ``g`` being the incoming gradient already spread back and weighted.
    """

    def forward(self, x, y):
        loss = self.pointwise(x, y)
        if self.weight is not None:
            loss = loss * self.weight
        self.x, self.y, self.loss_shape = x, y, loss.shape
        return reduce_loss(loss.astype(x.dtype, copy=False), self.reduction)

    def backward(self, g):
        g = spread_grad(g, self.reduction, self.loss_shape)
        if self.weight is not None:
            g = g * self.weight
        x, y = self.x, self.y
        gx, gy = self.grads(g, x, y)
        return _input_target_grads(gx, gy, x, y)


class BinaryCrossEntropy(_WeightedBinaryLoss):
    """BCE on probabilities; each log is clamped to >= -100 as PyTorch does, so 0 and 1 stay finite."""

    def __init__(self, reduction: str, weight=None):
        self.reduction, self.weight = reduction, weight

    def pointwise(self, x, y):
        xp = xp_of(x)
        with np.errstate(divide="ignore"):
            self.log_x = xp.maximum(xp.log(x), -100.0)
            self.log_1mx = xp.maximum(xp.log1p(-x), -100.0)
        return -(y * self.log_x + (1 - y) * self.log_1mx)

    def grads(self, g, x, y):
        gx = g * (x - y) / xp_of(g).maximum((1 - x) * x, 1e-12)
        gy = g * (self.log_1mx - self.log_x)
        return gx, gy


def log_sigmoid(x):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)): finite for every finite x."""
    xp = xp_of(x)
    return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))


class BinaryCrossEntropyWithLogits(_WeightedBinaryLoss):
    """(1 - y) x - (1 + (pos_weight - 1) y) log_sigmoid(x), times weight: PyTorch's stable form."""

    def __init__(self, reduction: str, weight=None, pos_weight=None):
        self.reduction, self.weight, self.pos_weight = reduction, weight, pos_weight

    def pointwise(self, x, y):
        self.log_sig = log_sigmoid(x)
        if self.pos_weight is not None:
            self.log_weight = 1 + (self.pos_weight - 1) * y
            return (1 - y) * x - self.log_weight * self.log_sig
        return (1 - y) * x - self.log_sig

    def grads(self, g, x, y):
        sig_neg = xp_of(g).exp(self.log_sig - x)  # sigmoid(-x) = sigmoid(x) exp(-x), stable in logs
        if self.pos_weight is not None:
            gx = g * ((1 - y) - self.log_weight * sig_neg)
            gy = g * (-x - (self.pos_weight - 1) * self.log_sig)
        else:
            gx = g * ((1 - y) - sig_neg)
            gy = g * -x
        return gx, gy


# ------------------------------------------------------------------------------ KL divergence
class KLDivergence(Node):
    """target * (log target - input), or exp(t) * (t - input) when the target is given as log t."""

    def __init__(self, reduction: str, log_target: bool):
        self.reduction, self.log_target = reduction, log_target

    def forward(self, x, t):
        xp = xp_of(x)
        self.x, self.t = x, t
        if self.log_target:
            self.exp_t = xp.exp(t)
            loss = self.exp_t * (t - x)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                t_log_t = xp.where(t == 0, 0, t * xp.log(xp.where(t == 0, 1, t)))
            loss = t_log_t - t * x
        loss = loss.astype(x.dtype, copy=False)
        self.loss_shape = loss.shape
        if self.reduction == "batchmean":
            return reduce_loss(loss, "mean", x.shape[0] if x.ndim else 1)
        return reduce_loss(loss, self.reduction)

    def backward(self, g):
        xp = xp_of(g)
        x, t = self.x, self.t
        if self.reduction == "batchmean":
            g = spread_grad(g, "mean", self.loss_shape, x.shape[0] if x.ndim else 1)
        else:
            g = spread_grad(g, self.reduction, self.loss_shape)
        if self.log_target:
            gx = -g * self.exp_t
            gt = g * self.exp_t * (t - x + 1)
        else:
            gx = -g * t
            with np.errstate(divide="ignore", invalid="ignore"):
                gt = xp.where(t > 0, g * (xp.log(xp.where(t > 0, t, 1)) + 1 - x), 0)
        return _input_target_grads(gx, gt, x, t)


# ------------------------------------------------------------------------------ classification
def _log_softmax(x, axis):
    xp = xp_of(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))


def _class_shape(ndim: int, n_classes: int):
    """Shape that broadcasts a (C,) vector along axis 1 of a (N, C, d1, ...) array."""
    return (1, n_classes) + (1,) * (ndim - 2)


class ClassIndexLoss(Node):
    """Cross-entropy (``from_log_probs=False``) or NLL (True) against class indices, in one node.

    ``x`` is (N, C, d1, ...) logits or log-probabilities; ``target`` (N, d1, ...) integer classes,
    fixed at construction. Per position p with class t_p, weight w_p = weight[t_p] (0 where ignored):
    loss_p = -(1 - eps) w_p logp[p, t_p] - eps / C * sum_c weight_c logp[p, c]; 'mean' divides the sum
    by sum_p w_p, as PyTorch does. The gradient through log-softmax is G - softmax * sum_c G.
    """

    def __init__(self, target, weight, ignore_index: int, label_smoothing: float, reduction: str,
                 from_log_probs: bool):
        self.target, self.weight = target, weight
        self.ignore_index, self.eps = ignore_index, float(label_smoothing)
        self.reduction, self.from_log_probs = reduction, from_log_probs

    def forward(self, x):
        xp = xp_of(x)
        self.unbatched = x.ndim == 1
        target = self.target
        if self.unbatched:
            x, target = x[None], target[None]
        n_classes = x.shape[1]
        logp = x if self.from_log_probs else _log_softmax(x, 1)
        valid = target != self.ignore_index
        safe = xp.where(valid, target, 0)
        if self.weight is not None:
            w_p = self.weight[safe] * valid
        else:
            w_p = valid.astype(x.dtype)
        picked = xp.take_along_axis(logp, safe[:, None], axis=1)[:, 0]
        loss = -picked * w_p
        if self.eps:
            wc = 1 if self.weight is None else self.weight.reshape(_class_shape(x.ndim, n_classes))
            smooth = -(logp * wc).sum(axis=1) * valid
            loss = (1 - self.eps) * loss + (self.eps / n_classes) * smooth
        loss = loss.astype(x.dtype, copy=False)
        self.logp, self.safe, self.valid, self.w_p = logp, safe, valid, w_p
        self.denominator = w_p.sum() if self.reduction == "mean" else None
        out = reduce_loss(loss, self.reduction, self.denominator)
        return out[0] if self.unbatched and self.reduction == "none" else out

    def backward(self, g):
        xp = xp_of(g)
        logp = self.logp
        n_classes = logp.shape[1]
        if self.unbatched and self.reduction == "none":
            g = g[None]
        g_p = spread_grad(g, self.reduction, self.w_p.shape, self.denominator)
        classes = xp.arange(n_classes).reshape(_class_shape(logp.ndim, n_classes))
        one_hot = classes == self.safe[:, None]
        # Ignored positions get exactly zero, even when every target is ignored and 'mean' gave nan.
        with np.errstate(invalid="ignore"):
            g_valid = xp.where(self.valid, g_p, 0).astype(logp.dtype, copy=False)
        # grad with respect to the log-probabilities
        grad = one_hot * (-(1 - self.eps) * self.w_p * g_valid)[:, None]
        if self.eps:
            wc = 1 if self.weight is None else self.weight.reshape(_class_shape(logp.ndim, n_classes))
            grad = grad - (self.eps / n_classes) * wc * g_valid[:, None]
        grad = grad.astype(logp.dtype, copy=False)
        if not self.from_log_probs:
            grad = grad - xp.exp(logp) * grad.sum(axis=1, keepdims=True)
        return grad[0] if self.unbatched else grad


class CrossEntropyMean(Node):
    """The usual cross-entropy, on the CPU: (N, C) logits, every target a class in [0, C), no class
    weights or smoothing, 'mean'. ``ClassIndexLoss``'s arithmetic without its ignore/weight masks
    (a dozen numpy calls fewer per step); the results are the same to the bit."""

    def __init__(self, target):
        self.target = target

    def name(self) -> str:
        return "ClassIndexLossBackward"  # the same operation: graph views and recorders know it so

    def forward(self, x):
        n, n_classes = x.shape
        if n_classes <= 64 and n >= 16:
            # Few classes: numpy's row-by-row maximum costs ~0.06 us per row (8 us for 128 x 10);
            # the maximum over the columns of the transposed copy is one vectorised pass (2 us), the
            # same values (a maximum does not depend on its order)
            shifted = x - np.maximum.reduce(np.ascontiguousarray(x.T), axis=0)[:, None]
            logp = shifted - np.log(np.add.reduce(np.exp(shifted), axis=1, keepdims=True))
        else:
            logp = _log_softmax(x, 1)
        self.logp, self.rows = logp, np.arange(n)
        picked = logp[self.rows, self.target]
        return reduce_loss(-picked, "mean", n)

    def backward(self, g):
        logp = self.logp
        g_p = (g / logp.shape[0]).astype(logp.dtype, copy=False)
        grad = np.exp(logp)  # softmax * g - one_hot * g, as ClassIndexLoss's G - softmax * sum(G)
        grad *= g_p
        grad[self.rows, self.target] -= g_p
        return grad


class CrossEntropyWithProbs(Node):
    """Cross-entropy against class probabilities (same shape as the logits), optionally smoothed.

    loss_p = -sum_c weight_c t'[p, c] logp[p, c] with t' = (1 - eps) t + eps / C; 'mean' divides by the
    number of positions (numel / C), as PyTorch does. Differentiable in both logits and target.
    """

    def __init__(self, weight, label_smoothing: float, reduction: str):
        self.weight, self.eps, self.reduction = weight, float(label_smoothing), reduction

    def forward(self, x, t):
        self.unbatched = x.ndim == 1
        if self.unbatched:
            x, t = x[None], t[None]
        n_classes = x.shape[1]
        logp = _log_softmax(x, 1)
        scale = t * (1 - self.eps) + self.eps / n_classes if self.eps else t
        self.wc = 1 if self.weight is None else self.weight.reshape(_class_shape(x.ndim, n_classes))
        scale = scale * self.wc
        loss = -(logp * scale).sum(axis=1).astype(x.dtype, copy=False)
        self.logp, self.scale, self.loss_shape = logp, scale, loss.shape
        out = reduce_loss(loss, self.reduction)
        return out[0] if self.unbatched and self.reduction == "none" else out

    def backward(self, g):
        xp = xp_of(g)
        if self.unbatched and self.reduction == "none":
            g = g[None]
        g_p = spread_grad(g, self.reduction, self.loss_shape)[:, None]
        logp = self.logp
        grad_logp = -self.scale * g_p
        gx = grad_logp - xp.exp(logp) * grad_logp.sum(axis=1, keepdims=True)
        gt = -logp * self.wc * g_p
        if self.eps:
            gt = gt * (1 - self.eps)
        gx, gt = gx.astype(logp.dtype, copy=False), gt.astype(logp.dtype, copy=False)
        if self.unbatched:
            gx, gt = gx[0], gt[0]
        return gx, gt
