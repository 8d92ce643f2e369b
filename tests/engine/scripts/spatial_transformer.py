"""The "Spatial Transformer Networks" tutorial on small synthetic digits: a localisation network
predicts an affine theta (initialised to the identity), F.affine_grid and F.grid_sample warp the input,
then a small classifier; trained with SGD, with a learning-rate warm-up (LinearLR) and the model
evaluated under torch.inference_mode."""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, kernel_size=3)
        self.fc = nn.Linear(4 * 5 * 5, 3)
        self.localization = nn.Sequential(
            nn.Conv2d(1, 4, kernel_size=3),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
        )
        self.fc_loc = nn.Sequential(nn.Linear(4 * 3 * 3, 8), nn.ReLU(True), nn.Linear(8, 3 * 2))
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

    def stn(self, x):
        xs = self.localization(x)
        xs = xs.view(-1, 4 * 3 * 3)
        theta = self.fc_loc(xs)
        theta = theta.view(-1, 2, 3)
        grid = F.affine_grid(theta, x.size(), align_corners=False)
        return F.grid_sample(x, grid, align_corners=False)

    def forward(self, x):
        x = self.stn(x)
        x = F.max_pool2d(F.relu(self.conv(x)), 1)
        x = F.adaptive_avg_pool2d(x, 5).flatten(1)
        return F.log_softmax(self.fc(x), dim=1)


def make_data(n_samples=48):
    rng = np.random.default_rng(11)
    labels = np.arange(n_samples) % 3
    images = rng.normal(scale=0.2, size=(n_samples, 1, 8, 8))
    for k in range(3):  # a bar per class: horizontal, vertical, diagonal, shifted a little at random
        shift = rng.integers(-1, 2, size=(labels == k).sum())
        for i, s in zip(np.flatnonzero(labels == k), shift):
            if k == 0:
                images[i, 0, 3 + s, 1:7] += 1.0
            elif k == 1:
                images[i, 0, 1:7, 3 + s] += 1.0
            else:
                images[i, 0, np.arange(1, 7), np.clip(np.arange(1, 7) + s, 0, 7)] += 1.0
    return torch.tensor(images, dtype=torch.float32), torch.tensor(labels)


def build_model():
    return Net()


def train(model, data, epochs=6):
    images, labels = data
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
    scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.2, total_iters=4)
    losses = []
    for _ in range(epochs):
        model.train()
        for start in range(0, len(images), 16):
            optimizer.zero_grad()
            loss = F.nll_loss(model(images[start:start + 16]), labels[start:start + 16])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    model.eval()
    with torch.inference_mode():
        log_probs = model(images)
    return losses, log_probs
