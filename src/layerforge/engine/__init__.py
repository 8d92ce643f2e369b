"""The Layerforge tensor/autograd engine, PyTorch-shaped: ``import layerforge.engine as torch``.

numpy on the CPU, cupy on CUDA GPUs. It imports nothing else of Layerforge and could ship alone.
Importing it asks glibc's malloc to keep freed memory for the next step (``allocator.py``; set
``LAYERFORGE_MALLOC=system`` to leave malloc as it is).
"""
from .allocator import keep_freed_memory as _keep_freed_memory

_keep_freed_memory()

from . import tensor as _tensor_module  # noqa: E402
from .tensor import Size, Tensor

_tensor_module._late_bindings()

from . import autograd, cuda  # noqa: E402
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: E402
from .autograd import inference_mode, is_inference_mode_enabled  # noqa: E402
from .backend import device  # noqa: E402
from .creation import (arange, as_tensor, bernoulli, empty, empty_like, eye, from_numpy, full,  # noqa: E402
                       full_like, linspace, normal, ones, ones_like, rand, rand_like, randint, randn,
                       randn_like, randperm, tensor, zeros, zeros_like)
from .dtypes import (bool_ as bool, double, dtype, float_ as float, float16, float32, float64,  # noqa: E402,A004
                     get_default_dtype, half, int_ as int, int8, int16, int32, int64, long,
                     set_default_dtype, short, uint8)
from .gradcheck import gradcheck  # noqa: E402
from .ops import (abs, add, all, allclose, amax, amin, any, argmax, argmin, bitwise_and,  # noqa: E402,A004
                  bitwise_left_shift, bitwise_not, bitwise_or, bitwise_right_shift, bitwise_xor, bmm, cat,
                  ceil, chunk, clamp, clone, cos, count_nonzero, div, dot, eq, equal, exp, expand, fix,
                  flatten, floor, floor_divide, frac, gather, ge, gt, isclose, isfinite, isinf, isnan, le,
                  log, log_softmax, logical_and, logical_not, logical_or, logical_xor, logsumexp, lt,
                  masked_fill, matmul, max, maximum, mean, min, minimum, mm, mul, ne, neg, norm, outer,
                  permute, pow, reciprocal, relu, remainder, repeat, reshape, round, rsqrt, sgn, sigmoid,
                  sign, sin, softmax, split, sqrt, square, squeeze, stack, std, sub, sum, t, tanh,
                  transpose, trunc, unbind, unflatten, unsqueeze, var, where)
from .ops import (argsort, bincount, cummax, cummin, cumprod, cumsum, histc, kthvalue,  # noqa: E402
                  logcumsumexp, median, mode, msort, prod, sort, topk, unique)
from .ops import (acos, acosh, addcdiv, addcmul, arccos, arccosh, arcsin, arcsinh, arctan,  # noqa: E402
                  arctan2, arctanh, asin, asinh, atan, atan2, atanh, copysign, cosh, deg2rad, erf, erfc,
                  erfinv, exp2, expm1, float_power, fmod, heaviside, hypot, lerp, log1p, log2, log10,
                  logaddexp, logaddexp2, logit, nan_to_num, positive, rad2deg, signbit, sinc, sinh, tan,
                  xlogy, igamma, igammac, nextafter)
from .ops import (addbmm, addmm, addmv, addr, atleast_1d, atleast_2d, atleast_3d, baddbmm,  # noqa: E402
                  cartesian_prod, cdist, column_stack, cross, diag, diag_embed, diagflat, diagonal, dsplit,
                  dstack, einsum, flip, fliplr, flipud, hsplit, hstack, index_add, index_copy, index_fill,
                  index_select, inner, kron, masked_scatter, masked_select, meshgrid, moveaxis, movedim,
                  mv, narrow, repeat_interleave, roll, rot90, row_stack, scatter, scatter_add,
                  scatter_reduce, select, take, take_along_dim, tensor_split, tensordot, trace, tril,
                  tril_indices, triu, triu_indices, vsplit, vstack)
from .ops import (aminmax, argwhere, block_diag, broadcast_shapes, broadcast_tensors,  # noqa: E402
                  broadcast_to, bucketize, chain_matmul, clamp_max, clamp_min, combinations, corrcoef, cov,
                  cumulative_trapezoid, detach, diff, dist, fmax, fmin, frexp, gcd, ger, greater,
                  greater_equal, is_complex, is_floating_point, is_nonzero, is_same_size, is_signed, isin,
                  isneginf, isposinf, isreal, lcm, ldexp, less, less_equal, nanmean, nanmedian, nanquantile,
                  nansum, nonzero, not_equal, quantile, ravel, result_type, searchsorted, split_with_sizes,
                  std_mean, swapdims, tile, trapezoid, trapz, unique_consecutive, unravel_index, unsafe_chunk,
                  unsafe_split, vander, var_mean, vdot)
from .creation import asarray, logspace, randint_like, range, scalar_tensor  # noqa: E402,A004
from .tensor_extras import multinomial  # noqa: E402
from .dtypes import can_cast, promote_types  # noqa: E402
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state  # noqa: E402
from .threads import get_num_threads, set_num_threads  # noqa: E402

clip = clamp
concat = concatenate = cat
multiply = mul
divide = true_divide = div
subtract = sub
absolute = abs
negative = neg
swapaxes = transpose

__version__ = "0.1.0"


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> int:
    return t.numel()


from . import accelerator, linalg  # noqa: E402
from .ops.linalg_dense import det, inverse, logdet, matrix_power, renorm, slogdet  # noqa: E402
from .ops import diagonal_scatter, index_reduce, select_scatter, slice_scatter  # noqa: E402
from .ops import digamma, i0, lgamma, mvlgamma, polygamma  # noqa: E402
from .ops.linalg_decomp import cholesky_legacy as cholesky  # noqa: E402
from .ops.linalg_decomp import matrix_rank, pinverse  # noqa: E402
from .ops.linalg_dense import frobenius_norm, nuclear_norm  # noqa: E402
from .ops.linalg_householder import geqrf, orgqr, ormqr  # noqa: E402
from .ops.linalg_decomp import pca_lowrank, svd_lowrank  # noqa: E402
from .native import (affine_grid_generator, constant_pad_nd, conv_tbc, convolution, embedding_renorm_,  # noqa: E402
                     grid_sampler, grid_sampler_2d, grid_sampler_3d,
                     native_batch_norm, native_channel_shuffle, native_dropout, native_group_norm, native_layer_norm,
                     norm_except_dim, segment_reduce)
from .ops.view_copies import (alias_copy, detach_copy, diagonal_copy, expand_copy, narrow_copy,  # noqa: E402
                              permute_copy, select_copy, slice_copy, split_copy, split_with_sizes_copy, squeeze_copy,
                              t_copy, transpose_copy, unbind_copy, unfold_copy, unsqueeze_copy, view_copy)
from .ops.linalg_lu import lu_legacy as lu, lu_solve_legacy as lu_solve, lu_unpack  # noqa: E402
from .ops.linalg_solvers import cholesky_inverse, cholesky_solve, matrix_exp, triangular_solve  # noqa: E402
from .ops.linalg_decomp import qr_legacy as qr  # noqa: E402
from .ops.linalg_decomp import svd_legacy as svd  # noqa: E402
from .ops import channel_shuffle, fill, get_device, gradient, histogram, histogramdd, pdist  # noqa: E402
from .ops.aliases import rsub  # noqa: E402
from .windows import bartlett_window, blackman_window, hamming_window, hann_window, kaiser_window  # noqa: E402
from .ops import inplace as _inplace  # noqa: E402
from .backend import get_default_device, set_default_device  # noqa: E402
from .config import (are_deterministic_algorithms_enabled, backends, compile,  # noqa: E402,A004
                     get_deterministic_debug_mode, get_device_module, get_float32_matmul_precision, get_num_interop_threads,
                     init_num_threads, is_deterministic_algorithms_warn_only_enabled, is_vulkan_available,
                     is_warn_always_enabled, set_default_tensor_type, set_deterministic_debug_mode,
                     set_flush_denormal, set_float32_matmul_precision, set_num_interop_threads, set_warn_always,
                     use_deterministic_algorithms)
from .printing import set_printoptions  # noqa: E402
from . import cpu, special  # noqa: E402
from .vmap import vmap  # noqa: E402
from . import autograd_functional as _autograd_functional  # noqa: E402

autograd.functional = _autograd_functional  # torch.autograd.functional
from .anomaly import is_anomaly_check_nan_enabled, is_anomaly_enabled, set_anomaly_enabled  # noqa: E402
from .keywords import wrap_namespace as _wrap_namespace  # noqa: E402
from .typed_tensors import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor,  # noqa: E402
                            HalfTensor, IntTensor, LongTensor, ShortTensor)

# torch.matmul(input=a, other=b, out=c): PyTorch's keywords on every operation of this namespace
_wrap_namespace(globals(), "layerforge.engine.ops")

from . import nn, optim, utils  # noqa: E402
from . import distributions  # noqa: E402
from . import onnx  # noqa: E402  (torch.onnx.export; the onnx package itself is imported only when exporting)
from .serialization import load, save  # noqa: E402
from .interchange import from_dlpack, frombuffer, to_dlpack  # noqa: E402
from .interchange import install_methods as _install_interchange  # noqa: E402
from .rnn_functional import (gru, gru_cell, lstm, lstm_cell, rnn_relu, rnn_relu_cell, rnn_tanh,  # noqa: E402
                             rnn_tanh_cell)
_install_interchange(Tensor)
from .legacy import (alpha_dropout, alpha_dropout_, batch_norm, binary_cross_entropy_with_logits,  # noqa: E402
                     binomial,
                     cosine_embedding_loss, ctc_loss, dropout, dropout_, feature_alpha_dropout,
                     feature_alpha_dropout_, feature_dropout, feature_dropout_, hinge_embedding_loss,
                     instance_norm, kl_div, margin_ranking_loss, nonzero_static, poisson, poisson_nll_loss,
                     triplet_margin_loss, unsafe_split_with_sizes)
Tensor.nonzero_static, Tensor.unsafe_split_with_sizes = nonzero_static, unsafe_split_with_sizes

# torch.conv2d, torch.selu, ...: the nn.functional forms PyTorch also offers at the top level, where
# their arguments are the same
for _name in ("conv1d", "conv2d", "conv_transpose2d", "max_pool1d", "max_pool2d", "avg_pool1d", "layer_norm",
              "bilinear", "pixel_shuffle", "pixel_unshuffle", "prelu", "selu", "celu",
              "rrelu", "hardshrink", "threshold", "cosine_similarity", "pairwise_distance", "group_norm", "rms_norm",
              "adaptive_avg_pool1d", "conv_transpose1d", "conv3d", "max_pool3d", "avg_pool3d", "conv_transpose3d"):
    globals()[_name] = getattr(nn.functional, _name)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):  # noqa: A002
    """torch.max_pool1d_with_indices: nn.functional.max_pool1d with return_indices=True."""
    return nn.functional.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def adaptive_max_pool1d(input, output_size):  # noqa: A002
    """torch.adaptive_max_pool1d: (values, indices), as nn.functional's form with return_indices=True."""
    return nn.functional.adaptive_max_pool1d(input, output_size, return_indices=True)


def _top_level_in_place(name):
    def op(input, *args, **kwargs):  # noqa: A002
        return getattr(input, name)(*args, **kwargs)

    op.__name__ = op.__qualname__ = name
    return op


def embedding(weight, input, padding_idx=-1, scale_grad_by_freq=False, sparse=False):  # noqa: A002
    """torch.embedding: the rows of weight picked by input (weight first, unlike F.embedding)."""
    return nn.functional.embedding(input, weight, None if padding_idx == -1 else padding_idx)


def put(input, index, source, accumulate=False):  # noqa: A002
    return input.put(index, source, accumulate)


def index_put(input, indices, values, accumulate=False):  # noqa: A002
    return input.index_put(indices, values, accumulate)


class layout:
    """The memory layout of a tensor: the engine's are all dense and strided (``torch.strided``)."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self):
        return f"layerforge.{self.name}"


strided = layout("strided")
Tensor.layout = property(lambda self: strided)
Tensor.hardshrink = lambda self, lambd=0.5: nn.functional.hardshrink(self, lambd)
Tensor.prelu = lambda self, weight: nn.functional.prelu(self, weight)
Tensor.svd, Tensor.qr, Tensor.cholesky, Tensor.pinverse = svd, qr, cholesky, pinverse
Tensor.matrix_exp, Tensor.cholesky_solve, Tensor.cholesky_inverse = matrix_exp, cholesky_solve, cholesky_inverse
Tensor.triangular_solve = triangular_solve
Tensor.lu, Tensor.lu_solve = lu, lu_solve
Tensor.geqrf, Tensor.orgqr, Tensor.ormqr = geqrf, orgqr, ormqr
Tensor.narrow_copy = narrow_copy


def adjoint(input):  # noqa: A002
    return input.transpose(-2, -1)


def is_inference(input) -> bool:  # noqa: A002
    return False


def _functional_in_place(name):
    fn = getattr(nn.functional, name)

    def op(input, *args, **kwargs):  # noqa: A002
        return _inplace(input, fn(input.detach(), *args, **kwargs), "copy")

    op.__name__ = op.__qualname__ = name + "_"
    return op


# torch.selu_(x), torch.celu_(x), ...: in place, as functions only (Tensor has no such methods)
for _name in ("selu", "celu", "rrelu", "threshold"):
    globals()[_name + "_"] = _functional_in_place(_name)

# torch.abs_(x), torch.relu_(x), ...: the in-place methods as functions
for _name in [n for n in dir(Tensor) if n.endswith("_") and not n.startswith("_")]:
    globals().setdefault(_name, _top_level_in_place(_name))
del _name
