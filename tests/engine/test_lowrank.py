"""svd_lowrank and pca_lowrank against PyTorch: for matrices of rank at most q the singular values
equal PyTorch's and the singular vectors agree up to sign (the random sketches differ: the engine's
generator is its own); shapes (tall, wide, batched), centring, PyTorch's errors, and a float64 gradcheck
of the singular values."""
import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import torch


def _low_rank(shape, rank, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape[:-1] + (rank,)) @ rng.normal(size=shape[:-2] + (rank, shape[-1]))


@pytest.mark.parametrize("shape, rank, q", [((20, 9), 4, 6), ((7, 15), 3, 5), ((2, 12, 8), 2, 4)])
@pytest.mark.parametrize("kind", ["svd", "pca"])
def test_lowrank_matches_torch_up_to_signs(shape, rank, q, kind):
    a = _low_rank(shape, rank)
    if kind == "svd":
        ours, theirs = lf.svd_lowrank(lf.tensor(a), q=q), torch.svd_lowrank(torch.tensor(a), q=q)
    else:
        ours, theirs = lf.pca_lowrank(lf.tensor(a), q=q), torch.pca_lowrank(torch.tensor(a), q=q)
    for got, expected in zip(ours, theirs):
        assert tuple(got.shape) == tuple(expected.shape) and got.dtype == lf.float64
    np.testing.assert_allclose(ours[1].numpy()[..., :rank], theirs[1].numpy()[..., :rank], rtol=1e-10)
    assert np.abs(ours[1].numpy()[..., rank:]).max() < 1e-10
    for got, expected in ((ours[0], theirs[0]), (ours[2], theirs[2])):
        np.testing.assert_allclose(np.abs(got.numpy()[..., :rank]), np.abs(expected.numpy()[..., :rank]), atol=1e-10)
    centred = a - a.mean(-2, keepdims=True) if kind == "pca" else a
    u, s, v = (t.numpy() for t in ours)
    np.testing.assert_allclose(u @ (s[..., :, None] * np.swapaxes(v, -1, -2)), centred, atol=1e-10)


def test_pca_defaults_and_errors_as_torch():
    a = _low_rank((10, 4), 2)
    assert tuple(lf.pca_lowrank(lf.tensor(a))[0].shape) == tuple(torch.pca_lowrank(torch.tensor(a))[0].shape)
    for call in (lambda m: m.pca_lowrank(m.ones(3, 2), q=3), lambda m: m.pca_lowrank(m.ones(3, 2), niter=-1)):
        with pytest.raises(ValueError):
            call(torch)
        with pytest.raises(ValueError):
            call(lf)


def test_gradcheck_of_the_singular_values():
    rng = np.random.default_rng(2)
    a = lf.tensor(rng.normal(size=(5, 3)), dtype=lf.float64, requires_grad=True)
    assert lf.gradcheck(lambda a: lf.svd_lowrank(a, q=3)[1], [a])
