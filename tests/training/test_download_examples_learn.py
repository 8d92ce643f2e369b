"""The examples that train on downloaded data (MNIST MLP, MNIST LeNet, CIFAR-10 CNN) learn, shown on
generated files in the real formats (no network here): a quick sanity bar on data whose class is
plainly visible, loaded through the same cache, readers and held-out split as the real datasets.
The real datasets' accuracies are in the issue's note where a machine could download them."""
import gzip
import sys
from pathlib import Path

import numpy as np
import pytest

from layerforge.workspace import SynchronousRunner, Workspace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import dataset_server as ds  # noqa: E402


def _cache_files(cache: Path, monkeypatch, name: str, files: dict, **kw) -> None:
    """Put ``files`` in the cache as if downloaded, and in the catalog with their checksums."""
    (cache / name).mkdir(parents=True)
    for file_name, data in files.items():
        (cache / name / file_name).write_bytes(data)
    ds.register_test_dataset(monkeypatch, name, files, ["http://127.0.0.1:9/never/"], **kw)


def _cifar_like(n: int, rng, palette) -> tuple[np.ndarray, np.ndarray]:
    """Photos whose class is their tint (cropping and flipping keep it): noise plus a class colour."""
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 96, (n, 3, 32, 32)) + palette[labels] * 0.6
    return np.clip(images, 0, 255).astype(np.uint8), labels


cache = ds.cache   # a fresh dataset cache folder per test


def _train(example: str, epochs: int) -> dict:
    workspace = Workspace(SynchronousRunner())
    assert workspace.open_example(example, discard=True) == [] or workspace.dataset is not None
    assert workspace.dataset is not None, workspace.data_unavailable
    workspace.set_settings(epochs=epochs, device="cpu")
    run = workspace.start_run()
    assert run.status == "finished", run.reason
    return run


@pytest.mark.parametrize("example, epochs, bar", [("mnist_mlp", 3, 0.95), ("mnist_lenet", 3, 0.9)])
def test_the_mnist_examples_learn_generated_idx_data(cache, monkeypatch, example, epochs, bar):
    (train_x, train_y), (test_x, test_y) = ds.mnist_like(1200, 300, seed=3)
    files = {"train-images-idx3-ubyte.gz": ds.idx_bytes(train_x), "train-labels-idx1-ubyte.gz": ds.idx_bytes(train_y),
             "t10k-images-idx3-ubyte.gz": ds.idx_bytes(test_x), "t10k-labels-idx1-ubyte.gz": ds.idx_bytes(test_y)}
    files = {name: gzip.compress(data, mtime=0) for name, data in files.items()}
    _cache_files(cache, monkeypatch, "mnist", files, title="MNIST", n_train=1200, n_test=300)
    run = _train(example, epochs)
    assert run.data_info["input_shape"] == [1, 28, 28]
    accuracy = run.history["val_accuracy"][-1]
    assert accuracy >= bar, f"{example}: validation accuracy {accuracy:.3f} on the 300 held-out images"
    assert run.confusion.sum() == 300, "validation is exactly the official test part"


def test_the_cifar_example_learns_generated_cifar_data_with_its_augmentation_on(cache, monkeypatch):
    rng = np.random.default_rng(5)
    palette = rng.integers(0, 256, (10, 3, 1, 1))
    batches = [_cifar_like(96, rng, palette) for _ in range(5)] + [_cifar_like(120, rng, palette)]
    files = {"cifar-10-binary.tar.gz": ds.cifar_binary_tar(batches)}
    _cache_files(cache, monkeypatch, "cifar10", files, layout="cifar10", title="CIFAR-10",
                 input_shape=(3, 32, 32), n_train=480, n_test=120)
    run = _train("cifar10_cnn", 3)
    accuracy = run.history["val_accuracy"][-1]
    assert accuracy >= 0.8, f"validation accuracy {accuracy:.3f} on the 120 held-out images"
    assert run.confusion.sum() == 120
