"""Save the screenshot of an MNIST run for the docs (issue #19): the mnist_mlp example after a few
epochs, its image grid and confusion matrix drawn from the 10,000 validation images, dark theme.

    python tests/app/mnist_run_screenshot.py [output file, default docs/mnist-run.png] [--real]

With the real MNIST in the cache (``layerforge datasets download mnist``) and ``--real``, it trains on
that. Otherwise (no internet where the docs were made) it writes MNIST-shaped data into a temporary
cache: the 1,797 shipped 8x8 handwritten digits, each drawn at 20x20 in a 28x28 frame at a random
offset with a little noise, 70,000 in all, as gzipped IDX files with their own checksums, so the run
goes through the same download source, loader and views as MNIST itself.
"""
from __future__ import annotations

import gzip
import os
import sys
from dataclasses import replace
from pathlib import Path

from screenshot_support import SCRATCH, pump, screenshot_app, train_fresh  # noqa: E402  (first: Qt setup)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import dataset_server as ds  # noqa: E402

from layerforge.app import create_main_window  # noqa: E402
from layerforge.app.window_commands import install_commands  # noqa: E402
from layerforge.data import load_dataset, remote_datasets  # noqa: E402
from layerforge.data.downloads import RemoteFile  # noqa: E402


def digits_like_mnist(count: int, seed: int):
    """(images uint8 (count, 28, 28), labels uint8) from the shipped 8x8 digits, enlarged."""
    from PIL import Image
    digits = load_dataset("digits")
    rng = np.random.default_rng(seed)
    big = np.stack([np.asarray(Image.fromarray((d[0] * 255).astype(np.uint8)).resize((20, 20), Image.BILINEAR))
                    for d in digits.x])
    pick = rng.integers(0, len(big), count)
    images = np.zeros((count, 28, 28), np.float32)
    for i, (dy, dx) in enumerate(rng.integers(2, 7, (count, 2))):
        images[i, dy:dy + 20, dx:dx + 20] = big[pick[i]]
    images += rng.normal(0, 8, images.shape)
    return np.clip(images, 0, 255).astype(np.uint8), digits.y[pick].astype(np.uint8)


def stand_in_mnist() -> None:
    os.environ["LAYERFORGE_DATA_CACHE"] = str(SCRATCH / "cache")
    train_x, train_y = digits_like_mnist(60_000, 0)
    test_x, test_y = digits_like_mnist(10_000, 1)
    folder = SCRATCH / "cache" / "mnist"
    folder.mkdir(parents=True)
    published = []
    for name, array in (("train-images-idx3-ubyte.gz", train_x), ("train-labels-idx1-ubyte.gz", train_y),
                        ("t10k-images-idx3-ubyte.gz", test_x), ("t10k-labels-idx1-ubyte.gz", test_y)):
        data = gzip.compress(ds.idx_bytes(array), mtime=0)
        (folder / name).write_bytes(data)
        published.append(RemoteFile(name, len(data), sha256=ds.sha256(data)))
    remote_datasets._BY_NAME["mnist"] = replace(remote_datasets.remote_dataset("mnist"), files=tuple(published))


def main(path: Path, real: bool) -> None:
    app = screenshot_app(path.parent)
    if not (real and remote_datasets.is_cached("mnist")):
        stand_in_mnist()
    window = create_main_window("mnist_mlp")
    commands = install_commands(window)
    commands.appearance.set_theme("dark")
    commands.projects.ask_unsaved = lambda: "discard"   # closing after the run: nothing to keep
    window.resize(1600, 1000)
    window.show()
    pump(app, 0.5)
    if window.workspace.dataset is None:
        raise SystemExit(window.workspace.data_unavailable)
    train_fresh(app, window, 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(path))
    run = window.workspace.run
    print(f"{path}: {len(window.workspace.dataset):,} images, validation accuracy "
          f"{run.history['val_accuracy'][-1] if 'val_accuracy' in run.history else '?'}")
    window.close()
    pump(app, 0.2)


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--real"]
    main(Path(arguments[0]) if arguments else Path(__file__).resolve().parents[2] / "docs" / "mnist-run.png",
         "--real" in sys.argv)
