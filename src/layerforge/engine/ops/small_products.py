"""Matrix products cut into row blocks that numpy's OpenBLAS runs with its small-matrix kernels.

numpy's OpenBLAS, on its AVX-512 kernel sets, runs a product of at most 10^6 multiply-adds with
"small-matrix" kernels that skip packing the operands (OpenBLAS's sgemm small-kernel permit; not for
a transposed-A, non-transposed-B product with a C of more than 1,200 entries, which the callers do
not use). Cut into row blocks under that size, a product runs 20-35 % faster with one thread:

- the LSTM's per-step products (forward 512x161 @ 161x32: 51 -> 38 us; backward 128x512 @ 512x32:
  41 -> 29 us), and the GRU's;
- the patch-row convolution's (conv_patches.py): 1792x144 @ 144x32 178 -> 139 us, 768x288 @ 288x16
  98 -> 72 us, and the weight gradient per half image.

Blocks under 32 rows measured slower, and with two threads the whole product, which OpenBLAS splits
over both, is faster than the blocks, which it does not.

A product with few rows cannot be cut by rows; a classifier head's is one (a batch of 32 flattened
16,384-value feature maps times a 16,384 x 10 weight). Its forward product, (32, 16,384) @ (16,384, 10),
is cut along the inner dimension instead (``inner_blocks``) and the pieces' small (32, 10) results
summed; its gradients, (32, 10) @ (10, 16,384) and (10, 32) @ (32, 16,384), along the result's columns
(``column_blocks``), each piece written in place. One thread, float32: 0.33 -> 0.14, 0.31 -> 0.12-0.15
and 0.23 -> 0.15 ms. They pay where the result (inner cut) or the rows times the inner dimension (column
cut) are small: up to ``SMALL_RESULT`` and ``SMALL_OPERAND`` values, measured over 16-256 rows, 512-16,384
inner values and 2-128 outputs, float32 and float64 (1.2-3.3x there; past those sizes 0.2-1.0x).
"""
from __future__ import annotations

import numpy as np

from ..threads import blas_core, get_num_threads

SMALL_KERNEL_CORES = frozenset({"SkylakeX", "Cooperlake", "SapphireRapids"})
SMALL_KERNEL_MNK = 1_000_000
FEWEST_ROWS = 32


SMALL_RESULT = 1024
SMALL_OPERAND = 2048


def row_blocks(xp, rows, inner, cols):
    """How many equal row blocks to cut a (rows, inner) @ (inner, cols) product into (1: none): the
    fewest (a power of two) whose blocks are small enough, where this BLAS has the kernels for them."""
    return _pieces(xp, rows, inner * cols)


def row_and_inner_blocks(xp, rows, inner, cols):
    """(row blocks, inner pieces) to cut a (rows, inner) @ (inner, cols) product into: ``row_blocks``'s
    cut, or where no row block of at least FEWEST_ROWS rows is small enough, row blocks of 2 or 4
    pieces of the inner dimension, the pieces' products summed (``cut_product``): a patch-row
    convolution's 448 x 576 @ 576 x 32 (the CIFAR-10 row's conv3 input gradient, a chunk) 0.133-0.139
    -> 0.105-0.109 ms as 8 x 2, its forward 896 x 288 @ 288 x 64 0.227-0.234 -> 0.202 as 16 x 2."""
    blocks = row_blocks(xp, rows, inner, cols)
    if blocks > 1 or rows * inner * cols <= SMALL_KERNEL_MNK:
        return blocks, 1
    for pieces in (2, 4):
        if inner % pieces:
            break
        blocks = _pieces(xp, rows, inner // pieces * cols)
        if blocks > 1:
            return blocks, pieces
    return 1, 1


def cut_product(a, b, out, cut, scratch=None):
    """``out`` (M, N) = ``a`` (M, K) @ ``b`` (K, N), C-contiguous ``a`` and ``out``, cut as
    ``row_and_inner_blocks`` says (``cut`` = (blocks, pieces)); with inner pieces, their products go to
    ``scratch`` (a flat buffer; a fresh one where it is missing or short) and are summed into ``out``."""
    blocks, pieces = cut
    (rows, inner), cols = a.shape, b.shape[1]
    if pieces == 1:
        np.matmul(a.reshape(blocks, rows // blocks, inner), b, out=out.reshape(blocks, rows // blocks, cols))
        return
    if scratch is None or scratch.size < pieces * rows * cols:
        scratch = np.empty(pieces * rows * cols, dtype=out.dtype)
    partial = scratch[:pieces * rows * cols].reshape(pieces, blocks, rows // blocks, cols)
    np.matmul(a.reshape(blocks, rows // blocks, pieces, inner // pieces).transpose(2, 0, 1, 3),
              b.reshape(pieces, 1, inner // pieces, cols), out=partial)
    np.add.reduce(partial.reshape(pieces, rows, cols), axis=0, out=out)


def inner_blocks(xp, rows, inner, cols):
    """How many equal pieces of the inner dimension to cut a (rows, inner) @ (inner, cols) product into,
    their products then summed (1: none): for a result of at most ``SMALL_RESULT`` values."""
    return _pieces(xp, inner, rows * cols) if rows * cols <= SMALL_RESULT else 1


def column_blocks(xp, rows, inner, cols):
    """How many equal pieces of the result's columns to cut a (rows, inner) @ (inner, cols) product into
    (1: none): for a left operand of at most ``SMALL_OPERAND`` values."""
    return _pieces(xp, cols, rows * inner) if rows * inner <= SMALL_OPERAND else 1


def _pieces(xp, length, per_unit):
    """The fewest equal pieces (a power of two, each at least FEWEST_ROWS long) to cut an axis of
    ``length`` into so that each piece's product has at most SMALL_KERNEL_MNK multiply-adds
    (``per_unit`` for each unit of the axis); 1 where the whole is that small already, where no cut
    does it, or where this BLAS has no small-matrix kernels or runs more than one thread."""
    if (xp is not np or length * per_unit <= SMALL_KERNEL_MNK or blas_core() not in SMALL_KERNEL_CORES
            or get_num_threads() != 1):
        return 1
    pieces = 2
    while length % pieces == 0 and length // pieces >= FEWEST_ROWS:
        if length // pieces * per_unit <= SMALL_KERNEL_MNK:
            return pieces
        pieces *= 2
    return 1
