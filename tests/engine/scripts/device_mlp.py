"""The usual device idiom: train on the GPU when there is one, moving each batch there as it comes."""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def make_data(n_samples=96):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(n_samples, 3))
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 0.5)
    return TensorDataset(torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.long))


def build_model():
    return nn.Sequential(nn.Linear(3, 32), nn.ReLU(), nn.Dropout(0.0), nn.Linear(32, 3))


def train(model, dataset, epochs=5):
    model.to(device)
    loader = DataLoader(dataset, batch_size=16)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    loss_fn = nn.CrossEntropyLoss()
    losses, devices = [], set()
    for _ in range(epochs):
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            devices.add(str(next(model.parameters()).device))
        scheduler.step()
    model.to("cpu")
    return losses, devices
