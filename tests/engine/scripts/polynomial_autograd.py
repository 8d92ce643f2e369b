"""Fit a cubic to sin(x) with raw autograd: hand-made tensors, manual updates, a custom Function."""
import math

import numpy as np
import torch

DTYPE = torch.float64


class Cube(torch.autograd.Function):
    """x ** 3 with a hand-written gradient, to check ctx.save_for_backward and backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x ** 2


def make_data(n_samples=200):
    x = torch.linspace(-math.pi, math.pi, n_samples, dtype=DTYPE)
    return x, torch.sin(x)


def init_params():
    values = np.array([0.1, -0.2, 0.05, 0.02])
    return [torch.tensor(v, dtype=DTYPE, requires_grad=True) for v in values]


def predict(params, x, use_custom_function):
    a, b, c, d = params
    cube = Cube.apply(x) if use_custom_function else x.pow(3)
    return a + b * x + c * x ** 2 + d * cube


def train(params, data, use_custom_function, steps=400, lr=2e-5):
    x, y = data
    losses = []
    for _ in range(steps):
        loss = (predict(params, x, use_custom_function) - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
        losses.append(loss.item())
    return losses, [p.detach() for p in params]
