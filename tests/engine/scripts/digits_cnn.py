"""A small CNN for 8x8 handwritten digits: Adam with a cosine schedule on shuffled mini-batches."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import CosineAnnealingLR
from torch.utils.data import DataLoader, TensorDataset


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3, padding=1)
        self.fc1 = nn.Linear(16 * 2 * 2, 128)
        self.dropout = nn.Dropout(0.3)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)   # (N, 8, 4, 4)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)   # (N, 16, 2, 2)
        x = F.relu(self.fc1(x.view(x.size(0), -1)))
        return self.fc2(self.dropout(x))


def make_data(x_train, y_train, x_test, y_test):
    """numpy arrays in, (train dataset, test inputs, test labels) out."""
    train = TensorDataset(torch.from_numpy(x_train).float(), torch.from_numpy(y_train).long())
    return train, torch.from_numpy(x_test).float(), torch.from_numpy(y_test).long()


def build_model():
    torch.manual_seed(0)
    return DigitsCNN()


def train(model, data, epochs=20):
    train_set, _, _ = data
    torch.manual_seed(1)
    loader = DataLoader(train_set, batch_size=32, shuffle=True)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    scheduler = CosineAnnealingLR(optimizer, T_max=epochs)
    losses = []
    for _ in range(epochs):
        model.train()
        total = 0.0
        for images, labels in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(labels)
        scheduler.step()
        losses.append(total / len(train_set))
    return losses


def accuracy(model, data):
    _, x_test, y_test = data
    model.eval()
    with torch.no_grad():
        predicted = model(x_test).argmax(dim=1)
    return (predicted == y_test).float().mean().item()
