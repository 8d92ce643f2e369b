"""An MLP classifier fed by a DataLoader over a TensorDataset, trained with Adam."""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset


def make_data(n_samples=120):
    rng = np.random.default_rng(2)
    centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    y = np.arange(n_samples) % 3
    x = centers[y] + rng.normal(scale=0.8, size=(n_samples, 2))
    return TensorDataset(torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.long))


def build_model():
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))


def train(model, dataset, epochs=4, shuffle=False):
    loader = DataLoader(dataset, batch_size=16, shuffle=shuffle)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    model.train()
    for _ in range(epochs):
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits = model(dataset.tensors[0])
    return losses, logits


def save_and_reload(model, path):
    """Checkpoint the weights with torch.save and read them into a fresh model with torch.load."""
    torch.save({"model": model.state_dict(), "epochs": 4}, path)
    checkpoint = torch.load(path)
    restored = build_model()
    restored.load_state_dict(checkpoint["model"])
    restored.eval()
    return restored, checkpoint["epochs"]
