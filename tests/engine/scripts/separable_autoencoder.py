"""A convolutional autoencoder in the MobileNet style: depthwise-separable convolutions (a 3x3 conv with
groups = channels, then a 1x1 conv) and a strided conv down, ConvTranspose2d back up (kernel 4,
stride 2, padding 1, as in DCGAN and U-Net decoders); a Conv3d over a stack of the reconstructions
scores their smoothness. Adam on an MSE loss, on smooth synthetic 32x32 images."""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def separable(channels_in, channels_out):
    return nn.Sequential(nn.Conv2d(channels_in, channels_in, 3, padding=1, groups=channels_in),
                         nn.Conv2d(channels_in, channels_out, 1), nn.ReLU())


class SeparableAutoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU())
        self.encode = nn.Sequential(separable(8, 16), nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.ReLU(),
                                    separable(16, 16))
        self.decode = nn.Sequential(nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1), nn.ReLU(),
                                    nn.Conv2d(8, 8, 3, padding=1, groups=4), nn.ReLU(), nn.Conv2d(8, 1, 1))
        self.smooth = nn.Conv3d(1, 1, (2, 3, 3), padding=(0, 1, 1), bias=False)

    def forward(self, x):
        return self.decode(self.encode(self.stem(x)))


def make_data(n_samples=12):
    rng = np.random.default_rng(5)
    grid = np.linspace(-1, 1, 32)
    images = np.empty((n_samples, 1, 32, 32))
    for i in range(n_samples):  # a few Gaussian blobs at random places
        a, b, w = rng.uniform(-0.6, 0.6, 3), rng.uniform(-0.6, 0.6, 3), rng.uniform(0.2, 0.4, 3)
        images[i, 0] = sum(np.exp(-((grid[:, None] - ai) ** 2 + (grid[None, :] - bi) ** 2) / wi ** 2)
                           for ai, bi, wi in zip(a, b, w))
    return torch.tensor(images, dtype=torch.float32)


def build_model():
    torch.manual_seed(0)
    return SeparableAutoencoder()


def train(model, images, steps=12):
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        reconstruction = model(images)
        volume = reconstruction.transpose(0, 1).unsqueeze(0)       # (1, 1, N, 32, 32): images as depth
        roughness = model.smooth(volume).pow(2).mean()
        loss = F.mse_loss(reconstruction, images) + 1e-3 * roughness
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, model(images[:2]).detach()
