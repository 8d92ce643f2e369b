"""Linear computes only the gradients that are needed, and those still equal PyTorch's."""
import numpy as np
import pytest

import layerforge.engine as lf

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")


@pytest.mark.parametrize("input_grad, weight_grad", [(False, True), (True, False), (True, True)])
def test_linear_gradients_with_a_frozen_input_or_weight_match_pytorch(input_grad, weight_grad):
    rng = np.random.default_rng(3)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((5, 7), (4, 7), (4,)))
    ours = [lf.tensor(a, requires_grad=r) for a, r in ((x, input_grad), (w, weight_grad), (b, True))]
    theirs = [torch.tensor(a, requires_grad=r) for a, r in ((x, input_grad), (w, weight_grad), (b, True))]
    (lf.nn.functional.linear(*ours) ** 2).sum().backward()
    (torch.nn.functional.linear(*theirs) ** 2).sum().backward()
    for mine, reference in zip(ours, theirs):
        if reference.grad is None:
            assert mine.grad is None
        else:
            np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-5, atol=1e-5)
