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
"""
from __future__ import annotations

import numpy as np

from ..threads import blas_core, get_num_threads

SMALL_KERNEL_CORES = frozenset({"SkylakeX", "Cooperlake", "SapphireRapids"})
SMALL_KERNEL_MNK = 1_000_000
FEWEST_ROWS = 32


def row_blocks(xp, rows, inner, cols):
    """How many equal row blocks to cut a (rows, inner) @ (inner, cols) product into (1: none): the
    fewest (a power of two) whose blocks are small enough, where this BLAS has the kernels for them."""
    if (xp is not np or rows * inner * cols <= SMALL_KERNEL_MNK or blas_core() not in SMALL_KERNEL_CORES
            or get_num_threads() != 1):
        return 1
    blocks = 2
    while rows % blocks == 0 and rows // blocks >= FEWEST_ROWS:
        if rows // blocks * inner * cols <= SMALL_KERNEL_MNK:
            return blocks
        blocks *= 2
    return 1
