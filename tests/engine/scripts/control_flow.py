"""A model whose forward uses Python loops and branches and reuses one layer and one parameter."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


class DynamicNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(4, 16)
        self.hidden = nn.Linear(16, 16)
        self.out = nn.Linear(16, 1)
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x, repeats):
        h = torch.tanh(self.inp(x)) * self.scale
        for _ in range(repeats):  # the same weights applied a step-dependent number of times
            h = F.relu(self.hidden(h)) + h
        if repeats % 2 == 0:
            h = h * self.scale  # the parameter is used a second time on even steps
        return self.out(h)


def make_data(n_samples=48):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n_samples, 4)).astype(np.float32)
    y = (np.sin(x[:, :1]) + x[:, 1:2] * x[:, 2:3]).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y)


def build_model():
    return DynamicNet()


def train(model, data, steps=40):
    x, y = data
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    losses = []
    for step in range(steps):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x, repeats=step % 3 + 1), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        predictions = model(x, repeats=2)
    return losses, predictions
