"""Products cut into row blocks and pieces of their inner dimension (``small_products.row_and_inner_blocks``
and ``cut_product``): where no row block alone is small enough for OpenBLAS's small-matrix kernels
(a patch-row convolution's chunk with many output channels), each block's product is also cut along
its inner dimension and the pieces summed. Where the cut is made, that the cut product is the product,
and that a convolution whose products are cut still gives PyTorch's numbers. Forced on any machine."""
from __future__ import annotations

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.ops import conv_patches, small_products
from layerforge.engine.ops.small_products import cut_product, row_and_inner_blocks


def test_where_the_cut_is_made(avx512_one_thread):
    assert row_and_inner_blocks(np, 448, 576, 32) == (8, 2)     # the CIFAR-10 row's conv3 input gradient
    assert row_and_inner_blocks(np, 896, 288, 64) == (16, 2)    # and its forward, a chunk each
    assert row_and_inner_blocks(np, 1792, 144, 32) == (16, 1)   # row blocks alone suffice (conv2)
    assert row_and_inner_blocks(np, 256, 97, 32) == (1, 1)      # small enough whole
    assert row_and_inner_blocks(np, 448, 1152, 64) == (1, 1)    # needs more than 4 inner pieces
    assert row_and_inner_blocks(np, 448, 577, 32) == (1, 1)     # an inner dimension that will not halve


def test_left_whole_with_more_threads(monkeypatch):
    monkeypatch.setattr(small_products, "blas_core", lambda: "SkylakeX")
    monkeypatch.setattr(small_products, "get_num_threads", lambda: 2)
    assert row_and_inner_blocks(np, 448, 576, 32) == (1, 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, cut", [((448, 576, 32), (8, 2)), ((96, 64, 10), (4, 4)),
                                        ((64, 32, 8), (2, 1)), ((30, 20, 5), (1, 1))])
@pytest.mark.parametrize("scratch", [True, False])
def test_cut_product_is_the_product(dtype, shape, cut, scratch):
    rows, inner, cols = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((rows, inner)).astype(dtype)
    b = rng.standard_normal((inner, cols)).astype(dtype)
    out = np.full((rows, cols), np.nan, dtype=dtype)
    buffer = np.full(cut[1] * rows * cols + 3, np.nan, dtype=dtype) if scratch else None
    cut_product(a, b, out, cut, buffer)
    close = dict(rtol=1e-5, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out, a.astype(np.float64) @ b.astype(np.float64), **close)


def test_a_convolution_cut_both_ways_matches_pytorch(avx512_one_thread, monkeypatch):
    """32 -> 64 channels on 8x8 planes (the CIFAR-10 row's conv3), a batch of 14 in float64 with chunks
    of float32's images: the forward chunk's product and the input gradient's are cut into row blocks
    and inner pieces."""
    torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
    cuts = []

    def spy(*args):
        cuts.append(row_and_inner_blocks(*args))
        return cuts[-1]
    monkeypatch.setattr(conv_patches, "row_and_inner_blocks", spy)
    monkeypatch.setattr(conv_patches, "CHUNK_BYTES", 2 << 20)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((14, 32, 8, 8))
    w = rng.standard_normal((64, 32, 3, 3)) * 0.1
    b = rng.standard_normal(64)
    xs = lf.tensor(x, requires_grad=True)
    ws, bs = lf.tensor(w, requires_grad=True), lf.tensor(b, requires_grad=True)
    out = lf.nn.functional.conv2d(xs, ws, bs, padding=1)
    weight = rng.standard_normal(out.shape)
    (out * lf.tensor(weight)).sum().backward()
    assert cuts == [(16, 2), (8, 2)]      # forward and input gradient, each cut in two along K
    xt = torch.tensor(x, requires_grad=True)
    wt, bt = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
    expected = torch.nn.functional.conv2d(xt, wt, bt, padding=1)
    (expected * torch.tensor(weight)).sum().backward()
    close = dict(rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **close)
    for mine, theirs in ((xs, xt), (ws, wt), (bs, bt)):
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), **close)
