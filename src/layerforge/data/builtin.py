"""The registry of built-in datasets: what each one is, its options, and how to load it."""
from __future__ import annotations

import io
from dataclasses import dataclass
from importlib import resources
from typing import Callable

import numpy as np

from . import synthetic
from .dataset import ArrayDataset, DataError
from .files import read_regular_file


@dataclass(frozen=True)
class OptionSpec:
    """One setting of a built-in dataset, declared once for the CLI, the GUI and validation."""

    name: str
    type: type          # int or float
    default: object
    minimum: float
    maximum: float
    doc: str

    def check(self, dataset: str, value):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise DataError(f"dataset '{dataset}': option '{self.name}' must be a number, "
                            f"got {value!r}")
        if self.type is int and float(value) != int(value):
            raise DataError(f"dataset '{dataset}': option '{self.name}' must be a whole number, "
                            f"got {value!r}")
        value = self.type(value)
        if not self.minimum <= value <= self.maximum:
            raise DataError(f"dataset '{dataset}': option '{self.name}' must lie in "
                            f"[{self.minimum:g}, {self.maximum:g}], got {value!r}")
        return value


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    task: str
    kind: str
    description: str
    options: tuple          # of OptionSpec
    loader: Callable

    def defaults(self) -> dict:
        return {option.name: option.default for option in self.options}


def _n_samples(default, maximum=100_000):
    return OptionSpec("n_samples", int, default, 4, maximum, "number of samples")


def _noise(default, maximum=2.0):
    return OptionSpec("noise", float, default, 0.0, maximum, "standard deviation of the Gaussian noise")


def _n_classes(default, maximum=10):
    return OptionSpec("n_classes", int, default, 2, maximum, "number of classes")


SEED = OptionSpec("seed", int, 0, 0, 2**32 - 1, "random seed; the same seed gives the same data")


# The shipped files are a few hundred KB; anything far larger is not what was shipped.
_SHIPPED_MAX_BYTES = 64 * 1024 ** 2


def _shipped_file(filename: str):
    # One name per joinpath: Python 3.11's MultiplexedPath (what a PyInstaller bundle hands back) takes one.
    path = resources.files("layerforge.resources").joinpath("datasets").joinpath(filename)
    try:
        # as_file: a real path even from a zipped install, so it is checked like a user's file.
        with resources.as_file(path) as real_path:
            data = read_regular_file(real_path, what="shipped dataset file",
                                     max_bytes=_SHIPPED_MAX_BYTES)
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError) as error:   # DataError included
        raise DataError(f"the shipped dataset file resources/datasets/{filename} cannot be read "
                        f"({error}); reinstall Layerforge") from error


_UCI_LICENCE = "UCI Machine Learning Repository, CC BY 4.0 (see resources/datasets/README.md)"


def load_iris() -> ArrayDataset:
    arrays = _shipped_file("iris.npz")
    return ArrayDataset(
        name="iris", task="classification", x=arrays["x"], y=arrays["y"],
        class_names=[str(c) for c in arrays["class_names"]],
        feature_names=[str(c) for c in arrays["feature_names"]], kind="table",
        description="Fisher's iris flowers: 4 measurements in cm, 3 species, 50 of each.",
        source=f"R. A. Fisher (1936), {_UCI_LICENCE}")


def load_digits() -> ArrayDataset:
    arrays = _shipped_file("digits.npz")
    images = arrays["x"].astype(np.float32)[:, None, :, :] / 16.0
    return ArrayDataset(
        name="digits", task="classification", x=images, y=arrays["y"],
        class_names=[str(d) for d in range(10)], kind="images",
        description="8x8 handwritten digits (1797 images, 1 channel, pixels scaled to [0, 1]).",
        source=f"E. Alpaydin, C. Kaynak (1998), Optical Recognition of Handwritten Digits, "
               f"{_UCI_LICENCE}")


_BUILTINS = [
    DatasetInfo("spiral", "classification", "points2d", "Interleaved spiral arms in the plane.",
                (_n_samples(300), _n_classes(3), _noise(0.03),
                 OptionSpec("turns", float, 1.0, 0.25, 4.0, "turns of each arm"), SEED),
                synthetic.spiral),
    DatasetInfo("moons", "classification", "points2d", "Two interleaving half circles.",
                (_n_samples(200), _noise(0.1), SEED), synthetic.moons),
    DatasetInfo("circles", "classification", "points2d", "Concentric rings, one class per ring.",
                (_n_samples(200), _n_classes(2), _noise(0.05), SEED), synthetic.circles),
    DatasetInfo("xor", "classification", "points2d",
                "Points labelled by whether their coordinates share a sign.",
                (_n_samples(200), _noise(0.05), SEED), synthetic.xor),
    DatasetInfo("blobs", "classification", "points2d", "Gaussian blobs around the unit circle.",
                (_n_samples(300), _n_classes(3), _noise(0.25), SEED), synthetic.blobs),
    DatasetInfo("sine", "regression", "curve1d", "A noisy sine wave over one input.",
                (_n_samples(200), _noise(0.05),
                 OptionSpec("frequency", float, 1.0, 0.1, 10.0, "angular frequency"), SEED),
                synthetic.sine),
    DatasetInfo("polynomial", "regression", "curve1d", "A noisy Chebyshev polynomial on [-1, 1].",
                (_n_samples(200), _noise(0.05),
                 OptionSpec("degree", int, 3, 1, 8, "degree of the polynomial"), SEED),
                synthetic.polynomial),
    DatasetInfo("step", "regression", "curve1d", "A noisy staircase on [-1, 1].",
                (_n_samples(200), _noise(0.05),
                 OptionSpec("levels", int, 2, 2, 10, "number of levels"), SEED),
                synthetic.step),
    DatasetInfo("waveforms", "classification", "sequence",
                "Classify noisy waves (sine, square, rising or falling sawtooth); a sequence task.",
                (_n_samples(1000), OptionSpec("seq_len", int, 32, 8, 512, "time steps per sample"),
                 _noise(0.1), SEED), synthetic.waveforms),
    DatasetInfo("repeated_token", "classification", "table",
                "Token sequences: does the first token appear again later? A task for attention.",
                (_n_samples(3000), OptionSpec("seq_len", int, 12, 2, 256, "tokens per sequence"),
                 OptionSpec("vocab", int, 16, 2, 1000, "number of distinct tokens"), SEED),
                synthetic.repeated_token),
    DatasetInfo("iris", "classification", "table",
                "Fisher's iris flowers: 4 measurements, 3 species (150 samples).", (), load_iris),
    DatasetInfo("digits", "classification", "images",
                "8x8 grayscale handwritten digits, 10 classes (1797 images).", (), load_digits),
]
_REGISTRY = {info.name: info for info in _BUILTINS}


def list_datasets() -> list[DatasetInfo]:
    """Every built-in dataset, in a stable order suitable for a menu."""
    return list(_BUILTINS)


def dataset_info(name: str) -> DatasetInfo:
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise DataError(f"unknown built-in dataset {name!r}; choose one of: "
                        f"{', '.join(_REGISTRY)}") from None


def check_options(name: str, options: dict) -> dict:
    """The full option set for ``name``: defaults filled in, every given value checked."""
    info = dataset_info(name)
    specs = {option.name: option for option in info.options}
    unknown = sorted(set(options) - set(specs))
    if unknown:
        known = ", ".join(specs) if specs else "none"
        raise DataError(f"dataset '{name}' has no option {', '.join(map(repr, unknown))}; "
                        f"its options are: {known}")
    checked = info.defaults()
    for key, value in options.items():
        checked[key] = specs[key].check(name, value)
    return checked


def load_dataset(name: str, **options) -> ArrayDataset:
    """Load or generate a built-in dataset, e.g. ``load_dataset("spiral", noise=0.1, seed=3)``."""
    checked = check_options(name, options)
    if checked.get("n_samples", 0) < 2 * checked.get("n_classes", 0):
        raise DataError(f"dataset '{name}': n_samples={checked['n_samples']} is too few for "
                        f"{checked['n_classes']} classes; give at least 2 samples per class")
    return dataset_info(name).loader(**checked)
