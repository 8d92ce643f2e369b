"""Dense-layer kernels: the fused affine map of ``Linear`` and the row lookup of ``Embedding``."""
from __future__ import annotations

import numpy as np

from ..autograd import Node
from .buffer_pool import workspace
from .common import xp_of
from .small_products import SMALL_KERNEL_MNK, column_blocks, cut_product, inner_blocks


class Linear(Node):
    """x (..., in) @ weight(out, in).T + bias(out): one node, one GEMM each way."""

    def __init__(self, has_bias):
        self.has_bias = has_bias

    def forward(self, x, weight, bias=None):
        self.x, self.weight = x, weight
        if x.ndim > 2:  # one GEMM over all leading dims: matmul on a 3-D x runs one small GEMM per row
            rows = x.reshape(-1, x.shape[-1])
            out = _product(np.matmul if type(rows) is np.ndarray else _matmul, rows, weight.T)
            out = out.reshape(x.shape[:-1] + (weight.shape[0],))
        elif x.ndim == 2 and type(x) is np.ndarray:
            # np.dot: the same GEMM as @ (bit for bit, tested) without matmul's ufunc dispatch,
            # a quarter of a microsecond per product on a small model; many rows: see _tall
            if x.shape[0] >= _MATMUL_ROWS:
                return _tall(x, weight, bias)
            if x.size * weight.shape[0] > SMALL_KERNEL_MNK:
                out = _large(x, weight)
            else:
                out = np.dot(x, weight.T)
        else:
            out = x @ weight.T
        if bias is not None:
            out += bias
        return out

    def backward(self, g):
        x, weight = self.x, self.weight
        inputs = self.inputs
        flat = x.ndim == 2  # the usual (batch, in) input: no reshapes (each is a call on a small model)
        rows = g if flat else g.reshape(-1, g.shape[-1])
        product = np.dot if type(rows) is np.ndarray else _matmul  # see forward
        # a large product with a small operand (a CNN's head): cut by the result's columns
        by_columns = flat and product is np.dot and rows.size * weight.shape[1] > SMALL_KERNEL_MNK
        # A first layer's input (the batch) needs no gradient: skipping it saves a GEMM as large
        # as the forward one, which is most of a wide first layer's backward.
        grad_x = None
        if inputs is None or inputs[0].requires_grad:
            if by_columns:
                grad_x = _by_columns(rows, weight, np.dot, lent=True)
            elif flat:  # a small model's product straight: the helper's checks are a tenth of its time
                grad_x = (product(rows, weight) if rows.shape[0] * weight.shape[1] < _FEWEST_LENT
                          else _product(product, rows, weight))
            else:
                grad_x = _product(product, rows, weight).reshape(x.shape) if x.ndim else g @ weight
        grad_weight = None
        if inputs is None or inputs[1].requires_grad:
            # np.dot's rows^T x is ~4 % slower than matmul's once the weight is large (OpenBLAS sees
            # the transposed operand differently); below that np.dot's lighter call wins
            weight_product = product if weight.size < _DOT_MAX_WEIGHT else _matmul
            if by_columns:
                grad_weight = _by_columns(rows.T, x, weight_product, lent=False)
            else:
                grad_weight = weight_product(rows.T, x if flat else x.reshape(-1, x.shape[-1]))
        if self.has_bias:
            return grad_x, grad_weight, column_sums(rows)
        return grad_x, grad_weight


class LinearActivation(Linear):
    """activation(x @ weight.T + bias) as one node: a Linear layer whose output only an activation
    reads (``nn/fusion.py`` says where and which). ``activation`` is the activation's own node, which
    this one runs on the product and asks for its gradient before the Linear's backward: the two
    nodes' values and gradients to the bit, with one node's call, bookkeeping and backward-walk step
    fewer."""

    def __init__(self, has_bias, activation):
        self.has_bias, self.activation = has_bias, activation

    def name(self) -> str:
        return "Linear" + type(self.activation).__name__ + "Backward"   # LinearReluBackward

    def forward(self, x, weight, bias=None):
        return self.activation.forward(Linear.forward(self, x, weight, bias))

    def backward(self, g):
        return Linear.backward(self, self.activation.backward(g))


def _tall(x, weight, bias):
    """``x @ weight.T + bias`` for _MATMUL_ROWS rows and more (an evaluation's batches, a boundary
    grid's 10,000 points), with the bits of the usual path (tested):
    - by matmul, which OpenBLAS splits over its threads where np.dot's call does not (two threads:
      10,000 x 16 @ 16 x 16 87 -> 47 us, 1,024 x 64 @ 64 x 192 155 -> 112 us);
    - with up to _FEW_INPUTS input features (a 2-D point's first layer) against a contiguous copy of
      the transposed weight, which OpenBLAS runs 2-3x faster there (10,000 x 2 @ 2 x 16: 38 -> 14 us);
    - with fewer than _FEW_OUTPUTS outputs, the bias added to blocks of rows seen as one long row
      (``_add_to_rows``)."""
    weight_t = weight.T if x.shape[1] > _FEW_INPUTS else np.ascontiguousarray(weight.T)
    out = _product(np.matmul, x, weight_t)
    if bias is not None:   # (out is matmul's or a lent buffer: C-contiguous)
        if out.shape[1] < _FEW_OUTPUTS:
            _add_to_rows(out, bias)
        else:
            out += bias
    return out


def _add_to_rows(out, vector):
    """``out += vector`` for a C-contiguous (M, N) ``out`` with few columns: blocks of rows as rows of
    _ROW_BLOCK values, plus a repeated ``vector`` as long. numpy's broadcast add loops once per row of
    N values ((10,000, 3): 49 -> 9 us, (10,000, 16): 58 -> 32 us); each value gets the same addition."""
    rows, n = out.shape
    per = max(1, _ROW_BLOCK // n)
    whole = rows // per * per
    if whole:
        blocks = out[:whole].reshape(-1, per * n)
        np.add(blocks, np.tile(vector, per), out=blocks)
    if whole < rows:
        out[whole:] += vector


def _large(x, weight):
    """``x @ weight.T`` of more than SMALL_KERNEL_MNK multiply-adds from fewer than _MATMUL_ROWS rows:
    - a small result ((32, 10): a classifier head's logits) from a long inner dimension: the sum of
      the products of equal slices of it, which OpenBLAS runs with its small-matrix kernels
      (``small_products.inner_blocks``; (32, 16,384) @ (16,384, 10): 0.33 -> 0.14 ms, one thread),
      summed in another order than the whole product (float rounding);
    - at most _FLIPPED_ROWS rows and at least twice as many outputs (a CNN's first fully connected
      layer, 64 x 1,024 -> 128): ``(weight @ x.T).T`` (the same bits with OpenBLAS's SkylakeX
      kernels; its Haswell kernels sum in another order), which OpenBLAS runs 1.1-1.5x faster there
      (SkylakeX) with one or two threads, its transposing copy included (with 128 rows and more
      0.8-1.1x, with fewer outputs than rows 0.6-0.9x)."""
    rows, inner = x.shape
    outs = weight.shape[0]
    pieces = inner_blocks(np, rows, inner, outs)
    if pieces > 1 and x.dtype == weight.dtype:
        out = np.empty((rows, outs), dtype=x.dtype)
        cut_product(x, weight.T, out, (1, pieces))
        return out
    if rows <= _FLIPPED_ROWS and outs >= 2 * rows:
        return np.ascontiguousarray(np.dot(weight, x.T).T)
    return np.dot(x, weight.T)


def _by_columns(a, b, product, lent):
    """``a @ b`` for a wide result from a small ``a`` (a classifier head's input gradient (32, 10) @ (10,
    16,384), its weight gradient (10, 32) @ (32, 16,384)): cut into equal pieces of the result's columns
    where OpenBLAS runs them with its small-matrix kernels (``small_products.column_blocks``: 0.31 ->
    0.12-0.15 and 0.23 -> 0.15 ms, one thread), each written in place; uncut, by ``product``; ``lent``:
    into a lent buffer where the result is large (an activation's gradient), as ``_product`` does."""
    pieces = column_blocks(np, a.shape[0], a.shape[1], b.shape[1])
    if pieces == 1 or a.dtype != b.dtype:
        return _product(product, a, b) if lent else product(a, b)
    rows, (inner, cols) = a.shape[0], b.shape
    big = lent and rows * cols * a.itemsize >= workspace.result_bytes
    out = workspace.lend((rows, cols), a.dtype) if big else np.empty((rows, cols), dtype=a.dtype)
    width = cols // pieces
    np.matmul(a, b.reshape(inner, pieces, width).transpose(1, 0, 2),
              out=out.reshape(rows, pieces, width).transpose(1, 0, 2))
    return out


def _matmul(a, b):
    return a @ b


def column_sums(rows):
    """(N, K) -> (K,): the sum down each column (a bias's gradient). On the CPU in float32 or float64,
    a vector of ones times the rows, one BLAS call: (32, 16) 1.38 -> 0.54 us, (128, 256) 4.6 -> 1.8
    us against numpy's reduction (summed in another order: float rounding)."""
    if type(rows) is not np.ndarray:
        return rows.sum(axis=0)
    if rows.dtype.char not in "fd":
        return np.add.reduce(rows, axis=0)
    key = (rows.shape[0], rows.dtype.char)
    ones = _ONES.get(key)
    if ones is None:
        if len(_ONES) > 64:
            _ONES.clear()
        ones = _ONES[key] = np.ones(rows.shape[0], dtype=rows.dtype)
        ones.flags.writeable = False
    return np.dot(ones, rows)


_ONES: dict = {}  # read-only vectors of ones by (length, dtype), for column_sums


def _product(product, a, b):
    """``a @ b`` (2-D) by ``product`` (np.dot, np.matmul, or ``_matmul`` off the CPU); a large CPU result
    (a transformer's activations, a CNN head's input gradient) in a lent buffer, as the other layers'
    activations and gradients are."""
    if (a.shape[0] * b.shape[1] * a.itemsize >= workspace.result_bytes and product is not _matmul
            and a.dtype == b.dtype):
        return product(a, b, out=workspace.lend((a.shape[0], b.shape[1]), a.dtype))
    return product(a, b)


# No product with fewer values than this is lent, whatever its dtype (``_product`` checks the rest).
_FEWEST_LENT = workspace.result_bytes // 8


# Embedding gradients of this many values and more are scattered with one flat index per value (see
# Embedding.backward; below it the index arithmetic costs more than it saves: 32 rows of 4, 2.6 ->
# 3.8 us).
_FLAT_SCATTER_MIN = 1024

# Weights of this many elements and more get their gradient from matmul (see Linear.backward).
_DOT_MAX_WEIGHT = 1 << 14
# Inputs of this many rows and more go through matmul in Linear.forward (see _tall), with the
# weight's transpose copied for at most _FEW_INPUTS input features and the bias added in blocks of
# _ROW_BLOCK values for fewer than _FEW_OUTPUTS outputs (measured faster there; not beyond).
_MATMUL_ROWS = 1024
# Linear's forward product as (W @ x.T).T for at most this many rows (see _large).
_FLIPPED_ROWS = 64
_FEW_INPUTS = 4
_FEW_OUTPUTS = 32
_ROW_BLOCK = 4096


class Embedding(Node):
    """Rows of ``weight`` picked by integer ``indices``; the padding row gets no gradient."""

    def __init__(self, indices, padding_idx):
        self.indices, self.padding_idx = indices, padding_idx

    def forward(self, weight):
        self.weight_shape, self.dtype = weight.shape, weight.dtype
        return weight[self.indices]

    def backward(self, g):
        xp = xp_of(g)
        grad = xp.zeros(self.weight_shape, dtype=g.dtype)
        dim = self.weight_shape[1]
        indices, rows = self.indices.reshape(-1), g.reshape(-1, dim)
        if xp is np and rows.size >= _FLAT_SCATTER_MIN:
            # numpy's add.at is several times faster on one flat index per element than on rows
            # (3,200 rows of 64: 1.46 -> 0.46 ms), with the same additions in the same order
            flat = (indices[:, None] * dim + np.arange(dim)).reshape(-1)
            np.add.at(grad.reshape(-1), flat, rows.reshape(-1))
        else:
            xp.add.at(grad, indices, rows)
        if self.padding_idx is not None:
            grad[self.padding_idx] = 0
        return grad
