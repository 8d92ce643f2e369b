"""The quickstart's model, optimization and save/load pages on small synthetic "clothing" images:
a NeuralNetwork of Flatten/Linear/ReLU on the accelerator when there is one, a train_loop and a
test_loop over DataLoaders, SGD, then torch.save(model.state_dict(), "model.pth") and back."""
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(8 * 8, 32),
            nn.ReLU(),
            nn.Linear(32, 32),
            nn.ReLU(),
            nn.Linear(32, 4),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


def make_data(n_samples=96):
    rng = np.random.default_rng(5)
    labels = np.arange(n_samples) % 4
    images = rng.normal(scale=0.3, size=(n_samples, 1, 8, 8))
    for k in range(4):  # each class lights up its own quarter of the image
        rows, cols = divmod(k, 2)
        images[labels == k, :, rows * 4:rows * 4 + 4, cols * 4:cols * 4 + 4] += 1.0
    return TensorDataset(torch.tensor(images, dtype=torch.float32), torch.tensor(labels))


def build_model():
    return NeuralNetwork()


def train_loop(dataloader, model, loss_fn, optimizer, losses):
    model.train()
    for X, y in dataloader:
        X, y = X.to(device), y.to(device)
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())


def test_loop(dataloader, model, loss_fn):
    model.eval()
    num_batches = len(dataloader)
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    return test_loss / num_batches, correct / len(dataloader.dataset)


def train(model, dataset, epochs=5):
    model.to(device)
    loader = DataLoader(dataset, batch_size=16)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    losses, scores = [], []
    for _ in range(epochs):
        train_loop(loader, model, loss_fn, optimizer, losses)
        scores.append(test_loop(loader, model, loss_fn))
    model.to("cpu")
    return losses, scores


def save_and_load(model, path):
    torch.save(model.state_dict(), path)
    restored = NeuralNetwork()
    restored.load_state_dict(torch.load(path, weights_only=True))
    restored.eval()
    return restored
