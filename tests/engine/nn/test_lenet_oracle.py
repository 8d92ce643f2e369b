"""A LeNet-style CNN with copied weights: forward, loss, backward and a few SGD steps against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine import nn as lf_nn

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")


def lenet(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Dropout(0.0),
        nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10), nn.LogSoftmax(dim=1))


def test_lenet_training_steps_match_torch():
    # PyTorch's initial weights from a fixed seed: with whatever weights the tests before left its
    # generator at, about one in a hundred sets puts two of a max-pool window's inputs within the
    # engines' rounding of each other, so the window's gradient goes to the other one (torch seed 73:
    # conv1's weight gradient 1.6 % off in one element at step 0), and the test failed at random
    torch.manual_seed(0)
    theirs, ours = lenet(torch.nn), lenet(lf_nn)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(0)
    lr = 0.05
    for step in range(3):
        x = rng.standard_normal((16, 1, 28, 28)).astype(np.float32)
        y = rng.integers(0, 10, size=16)
        t_loss = -theirs(torch.tensor(x))[torch.arange(16), torch.tensor(y)].mean()
        o_loss = -ours(lf.tensor(x))[lf.arange(16), lf.tensor(y)].mean()
        assert o_loss.item() == pytest.approx(t_loss.item(), rel=1e-4), f"loss at step {step}"
        theirs.zero_grad()
        ours.zero_grad()
        t_loss.backward()
        o_loss.backward()
        our_params = dict(ours.named_parameters())
        for name, param in theirs.named_parameters():
            np.testing.assert_allclose(our_params[name].grad.numpy(), param.grad.numpy(),
                                       rtol=2e-3, atol=2e-5, err_msg=f"{name} at step {step}")
        with torch.no_grad():
            for param in theirs.parameters():
                param -= lr * param.grad
        with lf.no_grad():
            for param in ours.parameters():
                param -= lr * param.grad
    theirs.eval()
    ours.eval()
    x = rng.standard_normal((4, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(ours(lf.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-3, atol=1e-4)
