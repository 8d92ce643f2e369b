"""An LSTM sequence classifier: is a noisy sequence rising or falling?"""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim


class SequenceClassifier(nn.Module):
    def __init__(self, hidden_size=12, n_classes=2):
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, n_classes)

    def forward(self, x):
        outputs, (h_n, c_n) = self.lstm(x)
        return self.head(h_n[-1])


def make_data(n_samples=32, length=10):
    rng = np.random.default_rng(4)
    y = np.arange(n_samples) % 2
    slope = np.where(y == 1, 1.0, -1.0)[:, None] * rng.uniform(0.05, 0.2, size=(n_samples, 1))
    x = slope * np.arange(length)[None, :] + 0.1 * rng.normal(size=(n_samples, length))
    return torch.tensor(x[..., None], dtype=torch.float32), torch.tensor(y, dtype=torch.int64)


def build_model():
    return SequenceClassifier()


def train(model, data, steps=30):
    x, y = data
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        logits = model(x)
    return losses, logits
