"""An MLP in the manner of Dive into Deep Learning: lazy layers sized by a dry run, weights
re-initialised with net.apply, softmax regression data, minibatch SGD, and evaluation accuracy."""
import numpy as np
import torch
from torch import nn


def init_weights(module):
    if type(module) is nn.Linear:
        nn.init.normal_(module.weight, std=0.01)
        nn.init.zeros_(module.bias)


def build_model():
    net = nn.Sequential(nn.Flatten(), nn.LazyLinear(32), nn.ReLU(), nn.LazyLinear(3))
    net(torch.zeros(1, 4, 2))  # the dry run that gives the lazy layers their sizes
    net.apply(init_weights)
    return net


def make_data(n_samples=150):
    rng = np.random.default_rng(7)
    labels = np.arange(n_samples) % 3
    centres = np.array([[1.0, 0.0, -1.0, 0.5, 0.0, 1.0, -0.5, 0.0],
                        [-1.0, 1.0, 0.0, 0.0, 1.0, -1.0, 0.0, 0.5],
                        [0.0, -1.0, 1.0, -0.5, -1.0, 0.0, 0.5, -0.5]])
    features = centres[labels] + rng.normal(scale=0.5, size=(n_samples, 8))
    return (torch.tensor(features, dtype=torch.float32).reshape(-1, 4, 2),
            torch.tensor(labels, dtype=torch.long))


def accuracy(y_hat, y):
    return float((y_hat.argmax(dim=1).type(y.dtype) == y).float().mean())


def train(net, data, num_epochs=6, batch_size=30, lr=0.5):
    features, labels = data
    loss = nn.CrossEntropyLoss(reduction="none")
    trainer = torch.optim.SGD(net.parameters(), lr=lr)
    losses, accuracies = [], []
    for _ in range(num_epochs):
        net.train()
        for start in range(0, len(labels), batch_size):
            X, y = features[start:start + batch_size], labels[start:start + batch_size]
            trainer.zero_grad()
            l = loss(net(X), y)
            l.mean().backward()
            trainer.step()
            losses.append(l.mean().item())
        net.eval()
        with torch.no_grad():
            accuracies.append(accuracy(net(features), labels))
    return losses, accuracies
