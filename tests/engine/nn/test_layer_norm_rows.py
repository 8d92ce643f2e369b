"""LayerNorm on the CPU runs its rows a cache-sized block at a time with BLAS sums: PyTorch's values and
gradients (weight and bias included) whatever the affine options, however many blocks, for one or
several normalised axes, float32 and float64, and a non-contiguous input."""
import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.ops import normalization

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")


def _check(x, normalized, affine=(True, True), tolerance=2e-5):
    weight, bias = affine
    ours = lf.nn.LayerNorm(normalized, elementwise_affine=weight or bias, bias=bias)
    theirs = torch.nn.LayerNorm(normalized, elementwise_affine=weight or bias, bias=bias).to(
        dtype=torch.float64 if x.dtype == np.float64 else torch.float32)
    rng = np.random.default_rng(7)
    with torch.no_grad():
        for name, parameter in theirs.named_parameters():
            parameter.copy_(torch.tensor(rng.standard_normal(tuple(parameter.shape))))
    if x.dtype == np.float64:
        ours = ours.double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours_x, theirs_x = lf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    upstream = rng.standard_normal(x.shape).astype(x.dtype)
    out, expected = ours(ours_x), theirs(theirs_x)
    (out * lf.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=tolerance, atol=tolerance)
    for name, parameter in theirs.named_parameters():
        np.testing.assert_allclose(dict(ours.named_parameters())[name].grad.numpy(), parameter.grad.numpy(),
                                   rtol=tolerance, atol=10 * tolerance)


@pytest.mark.parametrize("affine", [(True, True), (True, False), (False, False)], ids=["both", "weight", "none"])
@pytest.mark.parametrize("block_bytes", [64, 1000, 512 << 10], ids=["row_a_block", "uneven_blocks", "one_block"])
def test_layer_norm_rows_match_pytorch(affine, block_bytes, monkeypatch):
    monkeypatch.setattr(normalization.LayerNorm, "ROW_BLOCK_BYTES", block_bytes)
    x = (np.random.default_rng(0).standard_normal((3, 7, 64)) * 3 + 2).astype(np.float32)
    _check(x, 64, affine)


@pytest.mark.parametrize("shape, normalized", [((4, 6, 5, 5), [6, 5, 5]), ((5, 4, 3, 8), [3, 8]), ((9, 33), [33])])
def test_layer_norm_over_several_axes_and_odd_sizes(shape, normalized, monkeypatch):
    monkeypatch.setattr(normalization.LayerNorm, "ROW_BLOCK_BYTES", 700)
    _check(np.random.default_rng(1).standard_normal(shape).astype(np.float32), normalized)


def test_layer_norm_in_float64_and_on_a_transposed_input():
    _check(np.random.default_rng(2).standard_normal((4, 5, 16)), 16, tolerance=1e-10)
    x = np.random.default_rng(3).standard_normal((16, 5, 4)).astype(np.float32).transpose(2, 1, 0)
    _check(x, 16)
