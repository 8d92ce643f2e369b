"""Train a model a few Adam steps on one batch and return its parameters: the fusion tests compare
training with a fused node against training without it. Not a test module itself."""
from __future__ import annotations

import numpy as np

import layerforge.engine as lf
from layerforge.engine import nn


def trained_parameters(model, x, classes, steps, lr=0.05, seed=4):
    """``model``'s parameters (copies) after ``steps`` Adam steps of cross-entropy on ``x`` (an array)
    against random targets among ``classes``."""
    opt = lf.optim.Adam(model.parameters(), lr=lr)
    inputs = lf.tensor(x)
    targets = lf.tensor(np.random.default_rng(seed).integers(0, classes, x.shape[0]))
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(inputs), targets).backward()
        opt.step()
    return [p.detach().numpy().copy() for p in model.parameters()]
