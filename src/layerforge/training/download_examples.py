"""The example projects on downloadable datasets (issue #19): an MNIST MLP, an MNIST LeNet and a small
CIFAR-10 CNN with light augmentation. Their data is {"kind": "download", ...}: opened without it in
the cache, the window offers the download and Train says why it waits.

They are built here from code (their data is not at hand to size a template with, as
:mod:`.examples` does); ``python -m layerforge.training.examples resources/examples`` writes them with
the others.
"""
from __future__ import annotations

from pathlib import Path

from layerforge.graph import ModelSpec

from .project import Project, save_project
from .settings import TrainingSettings

STEP_X = 170.0
# The data is each dataset's training and test parts together, the test part held out
# (ArrayDataset.held_out): every epoch validates on exactly the official test images (MNIST's
# 10,000, which the confusion matrix and the image grid show), so accuracies compare with
# published ones. The validation fraction is then unused; it stays what it would be without.
MNIST_VAL = 1 / 6


def _chain(layers) -> ModelSpec:
    spec, previous = ModelSpec(), None
    for i, (layer_type, params) in enumerate(layers):
        node = spec.add_node(layer_type, params, position=(i * STEP_X, 0.0))
        if previous is not None:
            spec.connect(previous.id, node.id)
        previous = node
    return spec


def mnist_mlp() -> Project:
    spec = _chain([("Input", {"shape": (1, 28, 28)}), ("Flatten", {}), ("Linear", {"out_features": 256}),
                   ("ReLU", {}), ("Linear", {"out_features": 128}), ("ReLU", {}), ("Linear", {"out_features": 10})])
    settings = TrainingSettings(optimizer="adam", learning_rate=1e-3, epochs=10, batch_size=128, device="auto",
                                val_fraction=MNIST_VAL, target="labels")
    return Project("mnist_mlp", spec, {"kind": "download", "name": "mnist", "subset": "all"}, settings,
                   description="MNIST: an MLP (784-256-128-10) reads handwritten digits. The 60,000 training "
                               "images download once (11 MB) from Data > Get dataset…; the official 10,000 test images validate.")


def mnist_lenet() -> Project:
    spec = _chain([("Input", {"shape": (1, 28, 28)}),
                   ("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
                   ("MaxPool2d", {"kernel_size": 2}),
                   ("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}), ("ReLU", {}),
                   ("MaxPool2d", {"kernel_size": 2}),
                   ("Flatten", {}), ("Linear", {"out_features": 64}), ("ReLU", {}),
                   ("Linear", {"out_features": 10})])
    settings = TrainingSettings(optimizer="adam", learning_rate=1e-3, epochs=5, batch_size=64, device="auto",
                                val_fraction=MNIST_VAL, target="labels")
    return Project("mnist_lenet", spec, {"kind": "download", "name": "mnist", "subset": "all"}, settings,
                   description="MNIST: a LeNet-style CNN (two convolution + max-pool stages, two dense layers) "
                               "reads 28x28 handwritten digits. The data downloads once from Data > Get dataset….")


def cifar10_cnn() -> Project:
    def stage(channels):
        return [("Conv2d", {"out_channels": channels, "kernel_size": 3, "padding": 1}), ("BatchNorm2d", {}),
                ("ReLU", {}), ("MaxPool2d", {"kernel_size": 2})]

    spec = _chain([("Input", {"shape": (3, 32, 32)}), *stage(16), *stage(32), *stage(64),
                   ("Flatten", {}), ("Linear", {"out_features": 128}), ("ReLU", {}), ("Dropout", {"p": 0.25}),
                   ("Linear", {"out_features": 10})])
    settings = TrainingSettings(optimizer="adam", learning_rate=1e-3, epochs=15, batch_size=64, device="auto",
                                val_fraction=0.1, target="labels")
    return Project("cifar10_cnn", spec, {"kind": "download", "name": "cifar10", "subset": "all",
                                         "augment": {"crop_padding": 4, "hflip": True}}, settings,
                   description="CIFAR-10: a small CNN (three convolution stages with batch norm) tells ten kinds "
                               "of photo apart; training batches are cropped at random after 4 px of padding and "
                               "flipped (Data panel). The data downloads once (170 MB) from Data > Get dataset….")


DOWNLOAD_EXAMPLES = {"mnist_mlp": mnist_mlp, "mnist_lenet": mnist_lenet, "cifar10_cnn": cifar10_cnn}


def write_download_examples(folder) -> list[Path]:
    folder = Path(folder)
    return [save_project(make(), folder / f"{name}.lfproj") for name, make in DOWNLOAD_EXAMPLES.items()]
