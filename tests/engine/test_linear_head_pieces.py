"""A Linear layer with a long input and few outputs (a CNN's classifier head: 32 flattened 16,384-value
feature maps to 10 classes) has its products cut where OpenBLAS runs the pieces with its small-matrix
kernels (``small_products.inner_blocks`` and ``column_blocks``): the forward product along its inner
dimension, the pieces summed; both gradients along their columns. Where the cut is made, and that a cut
layer still computes PyTorch's numbers. The cut is forced here on any machine."""
from __future__ import annotations

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.ops import small_products
from layerforge.engine.ops.dense import Linear


def test_where_the_products_are_cut(avx512_one_thread):
    inner, columns = small_products.inner_blocks, small_products.column_blocks
    assert inner(np, 32, 16384, 10) == 8        # (32, 2,048) @ (2,048, 10) pieces: 655,360 multiply-adds
    assert inner(np, 64, 4096, 10) == 4
    assert inner(np, 32, 8192, 32) == 16        # a result of 1,024 values: still cut
    assert inner(np, 64, 8192, 32) == 1         # 2,048 values: the pieces' sum costs more than they save
    assert inner(np, 32, 2048, 10) == 1         # small enough whole
    assert inner(np, 32, 16385, 10) == 1       # no equal cut
    assert columns(np, 10, 32, 16384) == 8      # the head's weight gradient (10, 32) @ (32, 16,384)
    assert columns(np, 32, 10, 16384) == 8      # and its input gradient (32, 10) @ (10, 16,384)
    assert columns(np, 64, 32, 8192) == 32      # a left operand of 2,048 values: cut
    assert columns(np, 64, 64, 8192) == 1       # of 4,096: left whole
    assert columns(np, 10, 32, 2048) == 1       # small enough whole


@pytest.mark.parametrize("core, threads", [("Haswell", 1), ("", 1), ("SkylakeX", 2)])
def test_left_whole_without_small_kernels_or_with_more_threads(monkeypatch, core, threads):
    monkeypatch.setattr(small_products, "blas_core", lambda: core)
    monkeypatch.setattr(small_products, "get_num_threads", lambda: threads)
    assert small_products.inner_blocks(np, 32, 16384, 10) == 1
    assert small_products.column_blocks(np, 32, 10, 16384) == 1


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batch, features, classes", [(32, 16384, 10), (16, 32768, 3), (8, 65536, 2)])
def test_cut_head_matches_torch(avx512_one_thread, monkeypatch, batch, features, classes, bias):
    torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
    cuts = []
    for name in ("inner_blocks", "column_blocks"):
        original = getattr(small_products, name)
        monkeypatch.setattr(f"layerforge.engine.ops.dense.{name}",
                            lambda *a, _f=original: cuts.append(_f(*a)) or cuts[-1])
    torch.manual_seed(0)
    theirs = torch.nn.Linear(features, classes, bias=bias).double()
    ours = lf.nn.Linear(features, classes, bias=bias).double()
    ours.load_state_dict({k: lf.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((batch, features))
    weight = np.random.default_rng(2).standard_normal((batch, classes))
    x_ours, x_theirs = lf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_ours, out_theirs = ours(x_ours), theirs(x_theirs)
    (out_ours * lf.tensor(weight)).sum().backward()
    (out_theirs * torch.tensor(weight)).sum().backward()
    assert len(cuts) == 3 and min(cuts) > 1       # all three products were cut
    close = dict(rtol=1e-10, atol=1e-11)
    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), **close)
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), **close)
    mine = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(mine[name].grad.numpy(), p.grad.numpy(), **close, err_msg=name)


def _run(x, w, b, g):
    node = Linear(True)
    out = node.forward(x, w, b).copy()
    grads = [a.copy() for a in node.backward(g)]
    return [out] + grads


def test_cut_float32_head_equals_the_whole_products(avx512_one_thread, monkeypatch):
    """The cut changes only which BLAS kernel runs (and, forward, the order the pieces are summed in):
    float32 results stay within rounding of the whole products, in their own C-contiguous arrays."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((32, 16384)).astype(np.float32)
    w = (rng.standard_normal((10, 16384)) * 0.01).astype(np.float32)
    b = rng.standard_normal(10).astype(np.float32)
    g = rng.standard_normal((32, 10)).astype(np.float32)
    cut = _run(x, w, b, g)
    monkeypatch.setattr(small_products, "get_num_threads", lambda: 2)
    whole = _run(x, w, b, g)
    for a, c in zip(cut, whole):
        assert a.dtype == np.float32 and a.shape == c.shape and a.flags.c_contiguous
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(cut[0], x.astype(np.float64) @ w.T.astype(np.float64) + b, rtol=1e-5,
                               atol=1e-5)


def test_cut_head_reads_a_non_contiguous_input(avx512_one_thread):
    """A flattened feature map that is a strided view (a slice of a wider batch) is read correctly."""
    rng = np.random.default_rng(4)
    wide = rng.standard_normal((32, 2 * 4096))
    x = wide[:, ::2]
    w = rng.standard_normal((10, 4096))
    g = rng.standard_normal((32, 10))
    out, gx, gw, gb = _run(x, w, np.zeros(10), g)
    np.testing.assert_allclose(out, x @ w.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gx, g @ w, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gw, g.T @ x, rtol=1e-12, atol=1e-12)
