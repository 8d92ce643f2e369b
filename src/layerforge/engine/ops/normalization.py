"""Normalisation kernels: batch, layer and group norm, fused so backward is one closed-form pass."""
from __future__ import annotations

from ..autograd import Node
from .common import xp_of


def _broadcast_channel(v, ndim):
    """A per-channel vector (C,) shaped to broadcast over (N, C, *spatial)."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _channel_affine(xp, x_hat, weight, bias, out):
    """``out = x_hat * weight + bias`` per channel (axis 1), either left out where None, into ``out``."""
    if weight is not None:
        xp.multiply(x_hat, _broadcast_channel(weight, x_hat.ndim), out=out)
    else:
        xp.copyto(out, x_hat)
    if bias is not None:
        out += _broadcast_channel(bias, x_hat.ndim)


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
        out = xp.empty(x.shape, dtype=x.dtype)  # the squares (batch statistics), then the output
        if self.fixed_mean is None:
            mean = x.mean(axis=axes)
            x_hat = x - _broadcast_channel(mean, x.ndim)
            var = xp.multiply(x_hat, x_hat, out=out).mean(axis=axes)
            self.batch_mean, self.batch_var = mean, var
        else:
            mean, var = self.fixed_mean, self.fixed_var
            x_hat = x - _broadcast_channel(mean.astype(x.dtype, copy=False), x.ndim)
        inv_std = (1.0 / xp.sqrt(var + self.eps)).astype(x.dtype, copy=False)
        x_hat *= _broadcast_channel(inv_std, x.ndim)
        self.x_hat, self.inv_std, self.weight = x_hat, inv_std, weight
        _channel_affine(xp, x_hat, weight, bias, out)
        self.batch_stats = self.fixed_mean is None
        self.fixed_mean = self.fixed_var = None  # backward needs only inv_std and x_hat
        return out

    def backward(self, g):
        # From per-channel sums of g and of g * x_hat: grad_x = g * weight * inv_std, less (batch
        # statistics) the channel means of g * weight and of g * weight * x_hat (times x_hat), times inv_std.
        xp = xp_of(g)
        x_hat, inv_std, weight, axes = self.x_hat, self.inv_std, self.weight, self.axes
        ndim = g.ndim
        products = g * x_hat if self.has_weight or self.batch_stats else None
        sum_gx = products.sum(axis=axes) if products is not None else None
        sum_g = g.sum(axis=axes) if self.has_bias or self.batch_stats else None
        scale = inv_std if weight is None else (inv_std * weight).astype(g.dtype, copy=False)
        grad_x = g * _broadcast_channel(scale, ndim)
        if self.batch_stats:  # the mean and variance depend on x too
            per_value = scale / (g.size // g.shape[1])
            xp.multiply(x_hat, _broadcast_channel((sum_gx * per_value).astype(g.dtype, copy=False), ndim),
                        out=products)
            grad_x -= products
            grad_x -= _broadcast_channel((sum_g * per_value).astype(g.dtype, copy=False), ndim)
        return _with_affine_grads(grad_x, sum_gx if self.has_weight else None,
                                  sum_g if self.has_bias else None)


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


class GroupNorm(Node):
    """Normalise each sample's channels in ``groups`` groups, each over its channels and positions;
    weight and bias are per channel. One node (the composed version, mean, var, subtract, divide and
    the affine as eight graph nodes, ran 7x PyTorch's time): forward in two buffers, and backward from
    per-(sample, channel) sums, which the per-channel weight and the per-group statistics both reduce
    to, so it makes seven passes over the values instead of a dozen."""

    def __init__(self, groups, eps, has_weight, has_bias):
        self.groups, self.eps = groups, eps
        self.has_weight, self.has_bias = has_weight, has_bias

    def forward(self, x, weight=None, bias=None):
        xp = xp_of(x)
        grouped = x.reshape(x.shape[0], self.groups, -1)
        mean = grouped.mean(axis=2, keepdims=True)
        x_hat = grouped - mean
        out = xp.empty(x.shape, dtype=x.dtype)           # the squares, then the output
        squares = xp.multiply(x_hat, x_hat, out=out.reshape(grouped.shape))
        inv_std = (1.0 / xp.sqrt(squares.mean(axis=2, keepdims=True) + self.eps)).astype(x.dtype, copy=False)
        x_hat *= inv_std
        x_hat = x_hat.reshape(x.shape)
        _channel_affine(xp, x_hat, weight, bias, out)
        self.x_hat, self.inv_std, self.weight = x_hat, inv_std, weight
        return out

    def backward(self, g):
        xp = xp_of(g)
        n, c = g.shape[0], g.shape[1]
        groups = self.groups
        rows_g = g.reshape(n, c, -1)
        rows_x = self.x_hat.reshape(rows_g.shape)
        products = rows_g * rows_x
        sum_gx, sum_g = products.sum(axis=2), rows_g.sum(axis=2)   # (N, C)
        grad_weight = sum_gx.sum(axis=0) if self.has_weight else None
        grad_bias = sum_g.sum(axis=0) if self.has_bias else None
        weight = self.weight
        if weight is not None:
            sum_gx, sum_g = sum_gx * weight, sum_g * weight
        count = rows_g.shape[2] * (c // groups)                    # values per group
        inv_std = self.inv_std.reshape(n, groups, 1)
        # per group: mean of (g * weight) and of (g * weight * x_hat), each times inv_std
        mean_g = sum_g.reshape(n, groups, -1).sum(axis=2, keepdims=True) / count * inv_std
        mean_gx = sum_gx.reshape(n, groups, -1).sum(axis=2, keepdims=True) / count * inv_std
        scale = xp.broadcast_to(inv_std, (n, groups, c // groups)).reshape(n, c)
        if weight is not None:
            scale = scale * weight
        grad_x = xp.empty(g.shape, dtype=g.dtype)  # the array itself, not a view, goes to the input
        grad = xp.multiply(rows_g, scale.astype(g.dtype, copy=False)[..., None], out=grad_x.reshape(rows_g.shape))
        per_channel = (n, groups, c // groups)
        xp.multiply(rows_x, xp.broadcast_to(mean_gx, per_channel).reshape(n, c, 1).astype(g.dtype, copy=False),
                    out=products)
        grad -= products
        grad -= xp.broadcast_to(mean_g, per_channel).reshape(n, c, 1).astype(g.dtype, copy=False)
        return _with_affine_grads(grad_x, grad_weight, grad_bias)
