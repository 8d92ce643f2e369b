"""torch.vmap (by a loop here) against PyTorch's: values and gradients for per-sample functions,
in_dims with None and other dims, out_dims, several outputs, and PyTorch's errors."""
import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import torch

rng = np.random.default_rng(0)
A, B, W = rng.normal(size=(5, 3)), rng.normal(size=(3, 5)), rng.normal(size=(3, 4))


CASES = [
    pytest.param(lambda m: (m.vmap(m.dot), (m.tensor(A), m.tensor(B.T))), id="dot"),
    pytest.param(lambda m: (m.vmap(lambda x, w: x @ w, in_dims=(0, None)), (m.tensor(A), m.tensor(W))),
                 id="in_dims_none"),
    pytest.param(lambda m: (m.vmap(lambda x: x.softmax(-1) * 2, in_dims=1, out_dims=1), (m.tensor(B),)),
                 id="in_and_out_dims"),
    pytest.param(lambda m: (m.vmap(lambda x, y: (x.sum(), x * y)), (m.tensor(A), m.tensor(B.T))),
                 id="two_outputs"),
    pytest.param(lambda m: (m.vmap(m.vmap(lambda a, b: a * b + 1)), (m.tensor(A), m.tensor(B.T))), id="nested"),
]


@pytest.mark.parametrize("build", CASES)
def test_vmap_matches_torch(build):
    results = []
    for m in (lf, torch):
        fn, inputs = build(m)
        inputs = tuple(x.requires_grad_() for x in inputs)
        out = fn(*inputs)
        outs = out if isinstance(out, tuple) else (out,)
        sum(((o * o).sum() for o in outs), m.tensor(0.0, dtype=m.float64)).backward()
        results.append(([o.detach().numpy() for o in outs], [x.grad.numpy() for x in inputs]))
    for ours, theirs in zip(*results):
        for a, b in zip(ours, theirs):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_vmap_errors_as_torch():
    for m in (lf, torch):
        with pytest.raises(ValueError):
            m.vmap(m.dot)(m.ones(3, 2), m.ones(4, 2))
        with pytest.raises(ValueError):
            m.vmap(lambda x, y: x, in_dims=(0,))(m.ones(3), m.ones(3))
