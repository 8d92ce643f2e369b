"""PReLU as one node: max(x, w x) for weights in (0, 1], min for weights of 1 and up, a select for the
rest (a zero weight, negative ones, channels on both sides of 1); PyTorch's outputs and gradients, the weight's
included, for per-channel and shared weights on 2-d to 4-d inputs."""
import numpy as np
import pytest

import layerforge.engine as lf

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")

WEIGHTS = {"in_0_1": [0.25, 0.5, 1.0], "from_1": [1.0, 2.0, 3.5], "mixed": [-0.5, 0.0, 2.0],
           "zero": [0.0, 0.0, 0.0], "around_1": [0.6, 0.8, 2.0]}


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # inf * 0 in the summed loss
@pytest.mark.parametrize("weights", list(WEIGHTS), ids=list(WEIGHTS))
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 7), (2, 3, 4, 5)], ids=["2d", "3d", "4d"])
def test_prelu_matches_pytorch(weights, shape):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    x.reshape(-1)[:5] = [np.inf, -np.inf, -0.0, 0.0, np.nan]
    w = np.array(WEIGHTS[weights], np.float32)
    ours_x, ours_w = lf.tensor(x, requires_grad=True), lf.tensor(w, requires_grad=True)
    theirs_x, theirs_w = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    out = lf.nn.functional.prelu(ours_x, ours_w)
    expected = torch.nn.functional.prelu(theirs_x, theirs_w)
    upstream = rng.standard_normal(shape).astype(np.float32)
    (out * lf.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours_w.grad.numpy(), theirs_w.grad.numpy(), rtol=1e-5)


@pytest.mark.parametrize("weight", [0.25, 3.0, -1.0])
def test_a_shared_prelu_weight_matches_pytorch(weight):
    x = np.random.default_rng(1).standard_normal((4, 6, 5)).astype(np.float32)
    ours, theirs = lf.nn.PReLU(1, init=weight), torch.nn.PReLU(1, init=weight)
    ours_x, theirs_x = lf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (ours(ours_x) ** 2).sum().backward()
    (theirs(theirs_x) ** 2).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-5)


def test_a_frozen_prelu_weight_gets_no_gradient():
    layer = lf.nn.PReLU(3)
    layer.weight.requires_grad_(False)
    x = lf.tensor(np.random.default_rng(2).standard_normal((2, 3, 4)).astype(np.float32), requires_grad=True)
    layer(x).sum().backward()
    assert layer.weight.grad is None
    np.testing.assert_array_equal(x.grad.numpy(), np.where(x.detach().numpy() > 0, 1.0, 0.25))
