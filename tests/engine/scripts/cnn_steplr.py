"""A small CNN trained with momentum SGD and a StepLR schedule."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


class SmallCNN(nn.Module):
    def __init__(self, n_classes=3):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(4, 8, kernel_size=3)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8 * 2 * 2, n_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))   # (N, 4, 4, 4)
        x = F.relu(self.conv2(x))              # (N, 8, 2, 2)
        return self.fc(torch.flatten(x, 1))


def make_data(n_samples=48):
    # Three classes: a horizontal bar, a vertical bar, or a diagonal, plus noise.
    rng = np.random.default_rng(3)
    y = np.arange(n_samples) % 3
    images = 0.2 * rng.normal(size=(n_samples, 1, 8, 8))
    for i, label in enumerate(y):
        k = rng.integers(1, 7)
        if label == 0:
            images[i, 0, k, :] += 1.0
        elif label == 1:
            images[i, 0, :, k] += 1.0
        else:
            images[i, 0, np.arange(8), np.arange(8)] += 1.0
    return TensorDataset(torch.tensor(images, dtype=torch.float32), torch.tensor(y))


def build_model():
    return SmallCNN()


def train(model, dataset, epochs=8):
    loader = DataLoader(dataset, batch_size=12)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = StepLR(optimizer, step_size=3, gamma=0.5)
    losses, learning_rates = [], []
    for _ in range(epochs):
        for images, labels in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
        learning_rates.append(scheduler.get_last_lr()[0])
    with torch.no_grad():
        logits = model(dataset.tensors[0])
    return losses, logits, learning_rates
