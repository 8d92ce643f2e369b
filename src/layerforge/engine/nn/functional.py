"""``layerforge.engine.nn.functional``: stateless forms of the layers, as ``torch.nn.functional``."""
from __future__ import annotations

import numpy as np

from .. import ops as _ops
from .. import random as _random
from ..autograd import no_grad as _no_grad
from ..ops import activation as _act
from ..ops import conv as _conv
from ..ops import conv_transpose as _conv_transpose
from ..ops import dense as _dense
from ..ops import normalization as _norm
from ..ops import pool as _pool
from ..ops import pool_average as _pool_average
from ..ops.common import apply as _apply
from ..ops.common import on_input_gpu as _on_input_gpu
from ..ops.common import xp_of as _xp_of
from ..tensor import Tensor as _Tensor
from .functional_activations import (alpha_dropout, celu, cosine_similarity, dropout, dropout1d,  # noqa: F401
                                     feature_alpha_dropout, dropout2d, dropout3d, glu, hardshrink, hardsigmoid, hardswish,
                                     logsigmoid, mish, normalize, pairwise_distance, prelu, rrelu, selu,
                                     softmin, softshrink, softsign, tanhshrink)
from .functional_activations import _float
from .functional_activations import threshold as _threshold
from .functional_attention import multi_head_attention_forward, scaled_dot_product_attention  # noqa: F401
from .functional_spatial import (adaptive_max_pool1d, adaptive_max_pool2d, fold, interpolate,  # noqa: F401
                                 pixel_shuffle, pixel_unshuffle, unfold, upsample, upsample_bilinear,
                                 upsample_nearest)
from .functional_3d import (adaptive_avg_pool3d, adaptive_max_pool3d, avg_pool3d, conv3d, conv_transpose3d,  # noqa: F401
                            max_pool3d)
from .functional_unpool import max_pool2d_indices, max_unpool1d, max_unpool2d, max_unpool3d  # noqa: F401
from .functional_grid import affine_grid, grid_sample  # noqa: F401
from .functional_margin import (adaptive_max_pool1d_with_indices, adaptive_max_pool2d_with_indices,  # noqa: F401
                                adaptive_max_pool3d_with_indices, max_pool3d_with_indices, lp_pool1d, lp_pool2d, lp_pool3d, max_pool1d_with_indices, max_pool2d_with_indices,
                                multi_margin_loss, multilabel_margin_loss, triplet_margin_with_distance_loss)
from .functional_more import (cosine_embedding_loss, ctc_loss, embedding_bag, gaussian_nll_loss,  # noqa: F401
                              group_norm, hinge_embedding_loss, instance_norm, local_response_norm, margin_ranking_loss,
                              multilabel_soft_margin_loss, poisson_nll_loss, rms_norm, soft_margin_loss,
                              triplet_margin_loss)
from .functional_losses import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: F401
                                cross_entropy, huber_loss, kl_div, l1_loss, mse_loss, nll_loss,
                                smooth_l1_loss)

# Functions that already exist as tensor operations, re-exported under torch.nn.functional's names.
relu = _act.relu  # the pooled-buffer node nn.ReLU runs (lf.relu stays the plain one)
sigmoid = _ops.sigmoid
tanh = _ops.tanh
pad = _ops.pad
softmax = _ops.softmax
log_softmax = _ops.log_softmax


def _tuple(value, n, name):
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * n
    if len(value) != n:
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value}")
    return value


def _check_same_dtype(op, input, *params):  # noqa: A002
    """PyTorch refuses mixed dtypes here; numpy would silently compute in float64 instead."""
    for p in params:
        if p is not None and p._data.dtype != input._data.dtype:
            raise RuntimeError(f"{op}: input is {input.dtype.name} but the layer's parameters are "
                               f"{p.dtype.name}; convert one side (e.g. model.float() or "
                               f"x.to({p.dtype.name}))")


def _check_input(x, dims, op):
    if not isinstance(x, _Tensor):
        raise TypeError(f"{op}(): input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"{op}: expected a {dims + 1}D (unbatched) or {dims + 2}D (batched) input, "
                           f"but got input of shape {tuple(x.shape)}")


# ------------------------------------------------------------------------------ dense
def _usual_linear(input, weight, bias) -> bool:  # noqa: A002
    """Whether a Linear's arguments are the usual call, checked without building Sizes: a Tensor whose
    last axis fits the weight, weight and bias tensors of its dtype (also nn/fusion.py's test)."""
    if type(input) is not _Tensor:
        return False
    data, weight_data = input._data, getattr(weight, "_data", None)
    bias_data = data if bias is None else getattr(bias, "_data", None)
    return bool(weight_data is not None and bias_data is not None and data.ndim
                and data.shape[-1] == weight_data.shape[-1] and data.dtype == weight_data.dtype
                and bias_data.dtype == data.dtype)


def linear(input, weight, bias=None):  # noqa: A002 (PyTorch's names)
    if _usual_linear(input, weight, bias):
        if bias is None:
            return _apply(_dense.Linear(False), input, weight)
        return _apply(_dense.Linear(True), input, weight, bias)
    if input.shape[-1] != weight.shape[-1]:
        lead = int(np.prod(input.shape[:-1])) if input.ndim > 1 else 1
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({lead}x{input.shape[-1]} and "
                           f"{weight.shape[1]}x{weight.shape[0]}): the layer expects "
                           f"{weight.shape[1]} input features, the input has {input.shape[-1]}")
    _check_same_dtype("linear", input, weight, bias)
    if bias is None:
        return _apply(_dense.Linear(False), input, weight)
    return _apply(_dense.Linear(True), input, weight, bias)


def bilinear(input1, input2, weight, bias=None):
    """y_k = x1 W_k x2 + b_k, weight (out, in1, in2): x1 @ every W_k as one GEMM, then summed with x2."""
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-D (out, in1, in2), got shape {list(weight.shape)}")
    out_features, in1, in2 = weight.shape
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got {list(input1.shape[:-1])} and "
                           f"{list(input2.shape[:-1])}")
    for name, given, expected in (("input1", input1.shape[-1], in1), ("input2", input2.shape[-1], in2)):
        if given != expected:
            raise RuntimeError(f"bilinear(): {name} size does not match weight size: got {given} but expected "
                               f"{expected}")
    if bias is not None and tuple(bias.shape) != (out_features,):
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {list(bias.shape)} but expected "
                           f"[{out_features}]")
    _check_same_dtype("bilinear", input1, input2, weight, bias)
    product = _ops.matmul(input1, weight.permute(1, 0, 2).reshape(in1, out_features * in2))
    out = (product.reshape(*product.shape[:-1], out_features, in2) * input2.unsqueeze(-2)).sum(-1)
    return out + bias if bias is not None else out


@_on_input_gpu
def embedding_renorm_(weight, input, max_norm, norm_type):  # noqa: A002
    """Scale, in place, the rows of weight that input refers to whose p-norm exceeds max_norm down to
    max_norm (by max_norm / (norm + 1e-7), as PyTorch)."""
    data = weight._data
    xp = _xp_of(data)
    indices = input._data if isinstance(input, _Tensor) else np.asarray(input)
    rows = xp.unique(indices.reshape(-1))
    picked = data[rows]
    norms = (xp.abs(picked) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(data.dtype)
    data[rows] = picked * scale[:, None]
    return weight


def _out_of_range(indices, rows: int, xp) -> bool:
    """Any index outside [0, rows)? On the CPU by its extremes; on a GPU by one flag read back (each
    read waits for the device's queue: two extremes per step were two waits), as cross_entropy
    checks its targets."""
    if type(indices) is np.ndarray:
        return int(indices.min()) < 0 or int(indices.max()) >= rows
    return bool(xp.any((indices < 0) | (indices >= rows)))


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,  # noqa: A002
              sparse=False):
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse gradients are not supported")
    if max_norm is not None:
        embedding_renorm_(weight, input, max_norm, norm_type)
    indices = input._data if isinstance(input, _Tensor) else np.asarray(input)
    if indices.dtype.kind not in "iu":
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have an integer dtype, but "
                           f"got {indices.dtype} instead")
    xp = _xp_of(indices)
    if indices.size and _out_of_range(indices, weight.shape[0], xp):
        raise IndexError(f"embedding: index out of range: indices must lie in [0, {weight.shape[0]}), "
                         f"got values from {int(xp.min(indices))} to {int(xp.max(indices))}")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    return _apply(_dense.Embedding(indices, padding_idx), weight)


@_on_input_gpu
def one_hot(tensor, num_classes=-1):
    data = tensor._data
    if data.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of integer dtype")
    xp = _xp_of(data)
    if num_classes == -1:
        num_classes = int(data.max()) + 1 if data.size else 0
    if data.size and (int(data.min()) < 0 or int(data.max()) >= num_classes):
        raise RuntimeError(f"one_hot: class values must be in [0, {num_classes}), got values from "
                           f"{int(data.min())} to {int(data.max())}")
    out = (data[..., None] == xp.arange(num_classes)).astype(np.int64)
    return _Tensor._wrap(out)


# ------------------------------------------------------------------------------ convolution
def _conv_padding(padding, kernel, dilation, stride, op):
    if isinstance(padding, str):
        if padding == "valid":
            return tuple((0, 0) for _ in kernel)
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        raise ValueError(f"{op}: invalid padding string '{padding}', should be one of "
                         "{'valid', 'same'}")
    return tuple((p, p) for p in _tuple(padding, len(kernel), "padding"))


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    _check_input(input, 2, "conv2d")
    if input.ndim == 3:
        return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    stride, dilation = _tuple(stride, 2, "stride"), _tuple(dilation, 2, "dilation")
    kernel = tuple(weight.shape[2:])
    pads = _conv_padding(padding, kernel, dilation, stride, "conv2d")
    in_channels = input.shape[1]
    if weight.ndim != 4 or in_channels != weight.shape[1] * groups:
        raise RuntimeError(
            f"conv2d: weight of shape {list(weight.shape)} with groups={groups} expects input to have "
            f"{weight.shape[1] * groups} channels, but got input of shape {list(input.shape)} with "
            f"{in_channels} channels")
    for axis in range(2):
        size = input.shape[2 + axis] + sum(pads[axis])
        if size < dilation[axis] * (kernel[axis] - 1) + 1:
            raise RuntimeError(
                f"conv2d: the padded input ({size} along axis {2 + axis}) is smaller than the "
                f"dilated kernel ({dilation[axis] * (kernel[axis] - 1) + 1}); input shape "
                f"{list(input.shape)}, kernel {list(kernel)}")
    _check_same_dtype("conv2d", input, weight, bias)
    node = _conv.Conv2d(stride, pads, dilation, groups, bias is not None)
    return _apply(node, input, weight) if bias is None else _apply(node, input, weight, bias)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):  # noqa: A002
    _check_input(input, 1, "conv1d")
    if input.ndim == 2:
        return conv1d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0)
    if not isinstance(padding, str):
        padding = (0, _tuple(padding, 1, "padding")[0])
    out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, _tuple(stride, 1, "stride")[0]),
                 padding, (1, _tuple(dilation, 1, "dilation")[0]), groups)
    return out.squeeze(2)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,  # noqa: A002
                     groups=1, dilation=1):
    _check_input(input, 2, "conv_transpose2d")
    if input.ndim == 3:
        return conv_transpose2d(input.unsqueeze(0), weight, bias, stride, padding, output_padding,
                                groups, dilation).squeeze(0)
    stride, dilation = _tuple(stride, 2, "stride"), _tuple(dilation, 2, "dilation")
    padding = _tuple(padding, 2, "padding")
    output_padding = _tuple(output_padding, 2, "output_padding")
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= max(s, d):
            raise RuntimeError(f"conv_transpose2d: output padding must be smaller than either stride "
                               f"or dilation, but got output_padding={output_padding}, "
                               f"stride={stride}, dilation={dilation}")
    if input.shape[1] != weight.shape[0]:
        raise RuntimeError(f"conv_transpose2d: weight of shape {list(weight.shape)} expects "
                           f"{weight.shape[0]} input channels, but got input of shape "
                           f"{list(input.shape)}")
    _check_same_dtype("conv_transpose2d", input, weight, bias)
    node = _conv_transpose.ConvTranspose2d(stride, padding, output_padding, dilation, groups, bias is not None)
    return _apply(node, input, weight) if bias is None else _apply(node, input, weight, bias)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,  # noqa: A002
                     dilation=1):
    """The 2-d transposed convolution with a height of 1."""
    batched = input.ndim == 3
    x = input if batched else input.unsqueeze(0)
    one = (lambda v, name: (1, _tuple(v, 1, name)[0]))
    out = conv_transpose2d(x.unsqueeze(2), weight.unsqueeze(2), bias, one(stride, "stride"),
                           (0, _tuple(padding, 1, "padding")[0]), (0, _tuple(output_padding, 1, "output_padding")[0]),
                           groups, one(dilation, "dilation")).squeeze(2)
    return out if batched else out.squeeze(0)


# ------------------------------------------------------------------------------ pooling
def _pool_args(kernel_size, stride, padding, dilation, n):
    kernel = _tuple(kernel_size, n, "kernel_size")
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _tuple(stride, n, "stride")
    padding, dilation = _tuple(padding, n, "padding"), _tuple(dilation, n, "dilation")
    for p, k in zip(padding, kernel):
        if p > k // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, "
                               f"kernel_size={k}")
    return kernel, stride, padding, dilation


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    _check_input(input, 2, "max_pool2d")
    if input.ndim == 3:
        out = max_pool2d(input.unsqueeze(0), kernel_size, stride, padding, dilation, ceil_mode, return_indices)
        return tuple(o.squeeze(0) for o in out) if return_indices else out.squeeze(0)
    kernel, stride, padding, dilation = _pool_args(kernel_size, stride, padding, dilation, 2)
    _check_pool_fits(input, kernel, stride, padding, dilation, ceil_mode, "max_pool2d")
    values = _apply(_pool.MaxPool2d(kernel, stride, padding, dilation, ceil_mode), input)
    if not return_indices:
        return values
    return values, max_pool2d_indices(input.detach(), kernel, stride, padding, dilation, ceil_mode)


def _check_pool_fits(input, kernel, stride, padding, dilation, ceil_mode, op):
    for axis in range(2):
        size = input.shape[2 + axis]
        out = _pool.pool_output_size(size, kernel[axis], stride[axis], padding[axis], dilation[axis],
                                     ceil_mode)
        if out < 1:
            raise RuntimeError(f"{op}: output size is too small: input of shape {list(input.shape)} "
                               f"with kernel {list(kernel)}, stride {list(stride)}, padding "
                               f"{list(padding)} gives no output along axis {2 + axis}")


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,  # noqa: A002
               return_indices=False):
    _check_input(input, 1, "max_pool1d")
    stride = kernel_size if stride is None else stride
    out = max_pool2d(input.unsqueeze(-2), (1, _tuple(kernel_size, 1, "kernel_size")[0]),
                     (1, _tuple(stride, 1, "stride")[0]), (0, _tuple(padding, 1, "padding")[0]),
                     (1, _tuple(dilation, 1, "dilation")[0]), ceil_mode, return_indices)
    return tuple(o.squeeze(-2) for o in out) if return_indices else out.squeeze(-2)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True, divisor_override=None):
    _check_input(input, 2, "avg_pool2d")
    if input.ndim == 3:
        return avg_pool2d(input.unsqueeze(0), kernel_size, stride, padding, ceil_mode,
                          count_include_pad, divisor_override).squeeze(0)
    kernel, stride, padding, _ = _pool_args(kernel_size, stride, padding, 1, 2)
    _check_pool_fits(input, kernel, stride, padding, (1, 1), ceil_mode, "avg_pool2d")
    node = _pool_average.AvgPool2d(kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    return _apply(node, input)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,  # noqa: A002
               count_include_pad=True):
    _check_input(input, 1, "avg_pool1d")
    stride = kernel_size if stride is None else stride
    out = avg_pool2d(input.unsqueeze(-2), (1, _tuple(kernel_size, 1, "kernel_size")[0]),
                     (1, _tuple(stride, 1, "stride")[0]), (0, _tuple(padding, 1, "padding")[0]),
                     ceil_mode, count_include_pad)
    return out.squeeze(-2)


def adaptive_avg_pool2d(input, output_size):  # noqa: A002
    _check_input(input, 2, "adaptive_avg_pool2d")
    if input.ndim == 3:
        return adaptive_avg_pool2d(input.unsqueeze(0), output_size).squeeze(0)
    if isinstance(output_size, (int, np.integer)):
        output_size = (int(output_size), int(output_size))
    size = tuple(input.shape[2 + i] if s is None else int(s) for i, s in enumerate(output_size))
    return _apply(_pool_average.AdaptiveAvgPool2d(size), input)


def adaptive_avg_pool1d(input, output_size):  # noqa: A002
    size = output_size if isinstance(output_size, (int, np.integer)) else output_size[0]
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, int(size))).squeeze(-2)


# ------------------------------------------------------------------------------ normalisation
@_on_input_gpu
def batch_norm(input, running_mean, running_var, weight=None, bias=None,  # noqa: A002
               training=False, momentum=0.1, eps=1e-5):
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected at least 2D input (N, C, ...), got {input.ndim}D")
    channels = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (channels,):
            raise RuntimeError(f"batch_norm: {name} has shape {list(t.shape)} but the input has "
                               f"{channels} channels (input shape {list(input.shape)})")
    use_batch = training or running_mean is None
    if use_batch:
        count = input.numel() // channels
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"{list(input.shape)}")
        node = _norm.BatchNorm(eps, weight is not None, bias is not None)
    else:
        node = _norm.BatchNorm(eps, weight is not None, bias is not None,
                               running_mean._data, running_var._data)
    out = _apply(node, *[t for t in (input, weight, bias) if t is not None])
    if use_batch and training and running_mean is not None:
        with _no_grad():
            m = momentum
            mean = node.batch_mean.astype(running_mean._data.dtype, copy=False)
            unbiased = node.batch_var * (count / (count - 1))
            running_mean._data[...] = (1 - m) * running_mean._data + m * mean
            running_var._data[...] = (1 - m) * running_var._data + m * unbiased
    return out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):  # noqa: A002
    if isinstance(normalized_shape, (int, np.integer)):
        normalized_shape = (int(normalized_shape),)
    normalized_shape = tuple(normalized_shape)
    n = len(normalized_shape)
    if tuple(input.shape[input.ndim - n:]) != normalized_shape:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with "
                           f"shape [*, {', '.join(map(str, normalized_shape))}], but got input of "
                           f"size {list(input.shape)}")
    node = _norm.LayerNorm(n, eps, weight is not None, bias is not None)
    return _apply(node, *[t for t in (input, weight, bias) if t is not None])


# ------------------------------------------------------------------------------ activations
def leaky_relu(input, negative_slope=0.01, inplace=False):  # noqa: A002
    return _apply(_act.LeakyRelu(negative_slope), _float(input, "leaky_relu"))


def elu(input, alpha=1.0, inplace=False):  # noqa: A002
    return _apply(_act.Elu(alpha), _float(input, "elu"))


def gelu(input, approximate="none"):  # noqa: A002
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh, got '{approximate}'")
    return _apply(_act.Gelu(approximate), _float(input, "gelu"))


def silu(input, inplace=False):  # noqa: A002
    return _apply(_act.Silu(), _float(input, "silu"))


def softplus(input, beta=1.0, threshold=20.0):  # noqa: A002
    return _apply(_act.Softplus(beta, threshold), _float(input, "softplus"))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):  # noqa: A002
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _apply(_act.Hardtanh(min_val, max_val), _float(input, "hardtanh"))


def relu6(input, inplace=False):  # noqa: A002
    return hardtanh(input, 0.0, 6.0)


def flatten(input, start_dim=0, end_dim=-1):  # noqa: A002
    return _ops.flatten(input, start_dim, end_dim)


def threshold(input, threshold, value, inplace=False):  # noqa: A002
    """x where x > threshold, else value."""
    return _threshold(input, threshold, value)


def _in_place(fn, name):
    def op(input, *args, **kwargs):  # noqa: A002
        return _ops.inplace(input, fn(input.detach(), *args, **kwargs), "copy")

    op.__name__ = op.__qualname__ = name
    return op


# F.relu_(x) and friends: the activation written into x (allowed where no gradient flows through x)
relu_ = _in_place(relu, "relu_")
elu_ = _in_place(elu, "elu_")
leaky_relu_ = _in_place(leaky_relu, "leaky_relu_")
hardtanh_ = _in_place(hardtanh, "hardtanh_")
selu_ = _in_place(selu, "selu_")
celu_ = _in_place(celu, "celu_")
rrelu_ = _in_place(rrelu, "rrelu_")
threshold_ = _in_place(threshold, "threshold_")
pdist = _ops.pdist
channel_shuffle = _ops.channel_shuffle


def gumbel_softmax(logits, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1):
    """softmax((logits + Gumbel noise) / tau); with hard=True the one-hot of the argmax forward and the
    soft sample's gradient backward (the straight-through estimator), as PyTorch's."""
    uniform = _random.uniform(logits._data.shape, logits._data.dtype, logits.device)
    gumbels = _Tensor._wrap(-_xp_of(uniform).log(-_xp_of(uniform).log(uniform)))
    soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return soft
    index = soft.detach().argmax(dim, keepdim=True)
    one_hot_hard = (soft.detach() * 0).scatter(dim, index, 1.0)
    return one_hot_hard - soft.detach() + soft
