"""cross_entropy's usual call ((N, C) logits, valid class indices, no weights or smoothing, 'mean')
runs a lean kernel; it gives the general kernel's loss and gradient to the bit and PyTorch's within
float32 rounding, and every other call (an in-range ignore_index, a target equal to the default
ignore_index, weights, smoothing, other reductions, extra dimensions) still takes the general one."""
import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.nn import functional as F
from layerforge.engine.ops import loss as kernels

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")


def _loss_and_grad(logits, target, **options):
    x = lf.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, lf.tensor(target), **options)
    loss.backward()
    return loss, x.grad.numpy()


def test_the_usual_call_takes_the_lean_kernel_and_matches_the_general_one_bit_for_bit():
    rng = np.random.default_rng(0)
    logits = (rng.standard_normal((37, 10)) * 4).astype(np.float32)
    target = rng.integers(0, 10, 37)
    loss, grad = _loss_and_grad(logits, target)
    assert isinstance(loss.grad_fn, kernels.CrossEntropyMean)
    assert loss.grad_fn.name() == "ClassIndexLossBackward"  # what graph views and recorders look for
    general = kernels.ClassIndexLoss(target.astype(np.int64), None, -100, 0.0, "mean", False)
    expected = general.forward(logits)
    np.testing.assert_array_equal(loss.detach().numpy(), expected)
    np.testing.assert_array_equal(grad, general.backward(np.ones((), np.float32)))
    theirs = torch.tensor(logits, requires_grad=True)
    torch.nn.functional.cross_entropy(theirs, torch.tensor(target)).backward()
    np.testing.assert_allclose(grad, theirs.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("options, target_fix", [
    ({"ignore_index": 3}, None), ({}, -100), ({"weight": "w"}, None), ({"label_smoothing": 0.1}, None),
    ({"reduction": "sum"}, None)])
def test_other_calls_take_the_general_kernel_and_match_pytorch(options, target_fix):
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((12, 5)).astype(np.float32)
    target = rng.integers(0, 5, 12)
    target[0] = 3
    if target_fix is not None:
        target[1] = target_fix
    weights = rng.random(5).astype(np.float32)
    ours = {k: (lf.tensor(weights) if v == "w" else v) for k, v in options.items()}
    theirs_options = {k: (torch.tensor(weights) if v == "w" else v) for k, v in options.items()}
    loss, grad = _loss_and_grad(logits, target, **ours)
    assert type(loss.grad_fn) is kernels.ClassIndexLoss
    theirs = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(theirs, torch.tensor(target), **theirs_options)
    expected.backward()
    np.testing.assert_allclose(loss.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad, theirs.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_an_out_of_range_target_still_raises_the_general_error():
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        F.cross_entropy(lf.tensor(np.zeros((2, 5), np.float32)), lf.tensor(np.array([1, 7])))
