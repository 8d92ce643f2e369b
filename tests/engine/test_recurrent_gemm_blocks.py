"""The LSTM's and GRU's per-step products cut into row blocks that OpenBLAS runs with its AVX-512 small-matrix
kernels: when the cut is made (one BLAS thread, an AVX-512 OpenBLAS, a product above 10^6
multiply-adds, blocks of at least 32 rows), and that a cut LSTM or GRU still computes PyTorch's numbers.
The blocks are forced here on any machine (on one without those kernels they are merely not faster)."""
from __future__ import annotations

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.ops import small_products


def test_cut_into_blocks_under_a_million_multiply_adds(avx512_one_thread):
    assert small_products.row_blocks(np, 512, 161, 32) == 4     # the LSTM row's forward: 4 x 128 rows
    assert small_products.row_blocks(np, 128, 512, 32) == 4     # its backward: 4 x 32 rows
    assert small_products.row_blocks(np, 1024, 321, 32) == 16   # hidden 256, input 64
    assert small_products.row_blocks(np, 256, 97, 32) == 1      # already small: left whole
    assert small_products.row_blocks(np, 128, 512, 64) == 1     # would need blocks under 32 rows
    assert small_products.row_blocks(np, 96, 4096, 32) == 1     # no cut of 96 rows is small enough


@pytest.mark.parametrize("core, threads", [("Haswell", 1), ("Zen", 1), ("", 1), ("SkylakeX", 2)])
def test_left_whole_without_small_kernels_or_with_more_threads(monkeypatch, core, threads):
    monkeypatch.setattr(small_products, "blas_core", lambda: core)
    monkeypatch.setattr(small_products, "get_num_threads", lambda: threads)
    assert small_products.row_blocks(np, 512, 161, 32) == 1


@pytest.mark.parametrize("kind, blocks", [("LSTM", (4, 8)), ("GRU", (2, 8))])
def test_cut_layers_match_torch(avx512_one_thread, kind, blocks):
    torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(32, 128, num_layers=2, bidirectional=True).double()
    ours = getattr(lf.nn, kind)(32, 128, num_layers=2, bidirectional=True).double()
    ours.load_state_dict({k: lf.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    # both layers cut: the first layer's step product is G x 161 x 32, the second's G x 385 x 32
    gate_rows = 4 * 128 if kind == "LSTM" else 3 * 128
    assert (small_products.row_blocks(np, gate_rows, 161, 32), small_products.row_blocks(np, gate_rows, 385, 32)) == blocks
    x = np.random.default_rng(1).standard_normal((6, 32, 32))
    x_ours, x_theirs = lf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    h0 = np.random.default_rng(2).standard_normal((4, 32, 128))
    if kind == "LSTM":
        out_ours, states_ours = ours(x_ours, (lf.tensor(h0), lf.tensor(h0 * 0.5)))
        out_theirs, states_theirs = theirs(x_theirs, (torch.tensor(h0), torch.tensor(h0 * 0.5)))
    else:
        out_ours, h_ours = ours(x_ours, lf.tensor(h0))
        out_theirs, h_theirs = theirs(x_theirs, torch.tensor(h0))
        states_ours, states_theirs = (h_ours,), (h_theirs,)
    weight = np.random.default_rng(3).standard_normal(out_theirs.shape)
    ((out_ours * lf.tensor(weight)).sum() + sum(s.sum() for s in states_ours)).backward()
    ((out_theirs * torch.tensor(weight)).sum() + sum(s.sum() for s in states_theirs)).backward()
    close = dict(rtol=1e-9, atol=1e-10)
    pairs = [(out_ours, out_theirs), (x_ours.grad, x_theirs.grad)] + list(zip(states_ours, states_theirs))
    for mine, reference in pairs:
        np.testing.assert_allclose(mine.detach().numpy(), reference.detach().numpy(), **close)
    mine = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(mine[name].grad.numpy(), p.grad.numpy(), **close, err_msg=name)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_cut_float32_layer_equals_the_whole_products(avx512_one_thread, monkeypatch, kind):
    """The cut changes only which BLAS kernel runs: float32 results stay within rounding of the uncut."""
    lf.manual_seed(0)
    lstm = getattr(lf.nn, kind)(32, 128)
    x = np.random.default_rng(4).standard_normal((8, 32, 32)).astype(np.float32)

    def run():
        for p in lstm.parameters():
            p.grad = None
        out, _ = lstm(lf.tensor(x))
        (out * out).sum().backward()
        return out.detach().numpy(), [p.grad.numpy() for p in lstm.parameters()]

    cut = run()
    monkeypatch.setattr(small_products, "get_num_threads", lambda: 2)
    whole = run()
    np.testing.assert_allclose(cut[0], whole[0], rtol=1e-5, atol=1e-6)
    for a, b in zip(cut[1], whole[1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
