"""A 2-32-32-3 MLP that separates interleaved spiral arms, trained with Adam."""
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset


def make_data(x_train, y_train, x_test, y_test):
    """numpy arrays in, (train dataset, test inputs, test labels) out."""
    train = TensorDataset(torch.tensor(x_train, dtype=torch.float32), torch.tensor(y_train))
    return train, torch.tensor(x_test, dtype=torch.float32), torch.tensor(y_test)


def build_model():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(2, 32), nn.ReLU(),
        nn.Linear(32, 32), nn.ReLU(),
        nn.Linear(32, 3),
    )


def train(model, data, epochs=150):
    train_set, _, _ = data
    torch.manual_seed(1)
    loader = DataLoader(train_set, batch_size=32, shuffle=True)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(epochs):
        model.train()
        total = 0.0
        for points, labels in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(points), labels)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(labels)
        losses.append(total / len(train_set))
    return losses


def accuracy(model, data):
    _, x_test, y_test = data
    model.eval()
    with torch.no_grad():
        predicted = torch.argmax(model(x_test), dim=1)
    return (predicted == y_test).float().mean().item()
