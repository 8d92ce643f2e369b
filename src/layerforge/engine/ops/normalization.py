"""Normalisation kernels: batch norm and layer norm, fused so backward is one closed-form pass."""
from __future__ import annotations

from ..autograd import Node
from .common import xp_of


def _broadcast_channel(v, ndim):
    """A per-channel vector (C,) shaped to broadcast over (N, C, *spatial)."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _with_affine_grads(grad_x, grad_weight, grad_bias):
    """The gradients for the node's inputs: x, then weight and bias where they were inputs (not None)."""
    affine = [g for g in (grad_weight, grad_bias) if g is not None]
    return (grad_x, *affine) if affine else grad_x


class BatchNorm(Node):
    """Normalise over every axis but the channel axis (1).

    With ``mean``/``var`` given (eval mode, running statistics) they are constants; otherwise the
    batch's own statistics are used and differentiated through. The batch mean and biased variance
    are kept on the node (``batch_mean``, ``batch_var``) so the caller can update running stats.
    """

    def __init__(self, eps, has_weight, has_bias, mean=None, var=None):
        self.eps, self.has_weight, self.has_bias = eps, has_weight, has_bias
        self.fixed_mean, self.fixed_var = mean, var

    def forward(self, x, weight=None, bias=None):
        xp = xp_of(x)
        axes = (0,) + tuple(range(2, x.ndim))
        self.axes = axes
        if self.fixed_mean is None:
            mean = x.mean(axis=axes)
            centered = x - _broadcast_channel(mean, x.ndim)
            var = (centered * centered).mean(axis=axes)
            self.batch_mean, self.batch_var = mean, var
        else:
            mean, var = self.fixed_mean, self.fixed_var
            centered = x - _broadcast_channel(mean.astype(x.dtype, copy=False), x.ndim)
        inv_std = (1.0 / xp.sqrt(var + self.eps)).astype(x.dtype, copy=False)
        x_hat = centered * _broadcast_channel(inv_std, x.ndim)
        self.x_hat, self.inv_std, self.weight = x_hat, inv_std, weight
        out = x_hat
        if weight is not None:
            out = out * _broadcast_channel(weight, x.ndim)
        if bias is not None:
            out = out + _broadcast_channel(bias, x.ndim)
        self.batch_stats = self.fixed_mean is None
        self.fixed_mean = self.fixed_var = None  # backward needs only inv_std and x_hat
        return out

    def backward(self, g):
        x_hat, inv_std, weight, axes = self.x_hat, self.inv_std, self.weight, self.axes
        ndim = g.ndim
        grad_bias = g.sum(axis=axes) if self.has_bias else None
        grad_weight = (g * x_hat).sum(axis=axes) if self.has_weight else None
        g_hat = g * _broadcast_channel(weight, ndim) if weight is not None else g
        if self.batch_stats:  # batch statistics: the mean and variance depend on x too
            count = g.size // g.shape[1]
            sum_g = g_hat.sum(axis=axes) / count
            sum_gx = (g_hat * x_hat).sum(axis=axes) / count
            g_hat = g_hat - _broadcast_channel(sum_g, ndim) - x_hat * _broadcast_channel(sum_gx, ndim)
        grad_x = g_hat * _broadcast_channel(inv_std, ndim)
        return _with_affine_grads(grad_x, grad_weight, grad_bias)


class LayerNorm(Node):
    """Normalise over the last ``n_axes`` axes; weight and bias have those axes' shape."""

    def __init__(self, n_axes, eps, has_weight, has_bias):
        self.n_axes, self.eps = n_axes, eps
        self.has_weight, self.has_bias = has_weight, has_bias

    def forward(self, x, weight=None, bias=None):
        xp = xp_of(x)
        axes = tuple(range(x.ndim - self.n_axes, x.ndim))
        self.axes = axes
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)
        inv_std = (1.0 / xp.sqrt(var + self.eps)).astype(x.dtype, copy=False)
        x_hat = centered * inv_std
        self.x_hat, self.inv_std, self.weight = x_hat, inv_std, weight
        out = x_hat
        if weight is not None:
            out = out * weight
        if bias is not None:
            out = out + bias
        return out

    def backward(self, g):
        x_hat, axes = self.x_hat, self.axes
        lead = tuple(range(g.ndim - self.n_axes))
        grad_weight = (g * x_hat).sum(axis=lead) if self.has_weight else None
        grad_bias = g.sum(axis=lead) if self.has_bias else None
        g_hat = g * self.weight if self.weight is not None else g
        mean_g = g_hat.mean(axis=axes, keepdims=True)
        mean_gx = (g_hat * x_hat).mean(axis=axes, keepdims=True)
        grad_x = (g_hat - mean_g - x_hat * mean_gx) * self.inv_std
        return _with_affine_grads(grad_x, grad_weight, grad_bias)
