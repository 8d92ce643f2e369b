"""Linear regression trained with plain SGD on MSE, in float64."""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

DTYPE = torch.float64


def make_data(n_samples=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n_samples, 3))
    true_weight = np.array([[1.5], [-2.0], [0.5]])
    y = x @ true_weight + 0.3 + 0.05 * rng.normal(size=(n_samples, 1))
    return torch.tensor(x, dtype=DTYPE), torch.tensor(y, dtype=DTYPE)


def build_model():
    return nn.Linear(3, 1).to(DTYPE)


def train(model, data, steps=60):
    x, y = data
    optimizer = optim.SGD(model.parameters(), lr=0.05)
    loss_fn = nn.MSELoss()
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        predictions = model(x)
    return losses, predictions
