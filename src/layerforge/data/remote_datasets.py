"""The classic image datasets Layerforge downloads on request: what each is, where it is published,
the checksum of every file, and how the cached files become an :class:`ArrayDataset`.

Checksums are the ones published for these files (MNIST and Fashion-MNIST: sha256 and sizes as
listed by their distributors and by the projects that pin them; CIFAR-10: the authors' md5 and the
sha256 of the same archive; KMNIST: only md5 is published, so md5 is what is checked).
"""
from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cifar import ImageSplits, read_cifar10_archive
from .dataset import ArrayDataset, DataError
from .dataset_cache import dataset_folder
from .downloads import DownloadError, Progress, RemoteFile, fetch_file, make_folder, matches, mirror_overrides
from .files import check_regular_file
from .idx import read_idx

SUBSETS = ("train", "test", "all")


@dataclass(frozen=True)
class RemoteDataset:
    name: str
    title: str
    description: str
    files: tuple            # of RemoteFile, all needed
    mirrors: tuple          # folder URLs holding ``files``
    layout: str             # "idx" (MNIST-style four files) or "cifar10" (one archive)
    class_names: tuple
    input_shape: tuple
    n_train: int
    n_test: int
    source: str
    stand_ins: tuple = ()   # other published files that hold the same data (CIFAR's python archive)

    @property
    def download_bytes(self) -> int:
        return sum(f.size or 0 for f in self.files)

    @property
    def data_bytes(self) -> int:
        """Bytes of the images as float32, as training holds them."""
        return (self.n_train + self.n_test) * int(np.prod(self.input_shape)) * 4


def _idx_files(sizes_and_sums, md5=False) -> tuple:
    names = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
             "t10k-labels-idx1-ubyte.gz")
    if md5:
        return tuple(RemoteFile(n, size, md5=s) for n, (size, s) in zip(names, sizes_and_sums))
    return tuple(RemoteFile(n, size, sha256=s) for n, (size, s) in zip(names, sizes_and_sums))


_DIGITS = tuple(str(d) for d in range(10))
CATALOG = (
    RemoteDataset(
        "mnist", "MNIST", "Handwritten digits 0-9, 28x28 grayscale.",
        _idx_files([(9_912_422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
                    (28_881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
                    (1_648_877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
                    (4_542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6")]),
        ("https://ossci-datasets.s3.amazonaws.com/mnist/",
         "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        "idx", _DIGITS, (1, 28, 28), 60_000, 10_000,
        "Y. LeCun, C. Cortes, C. J. C. Burges, The MNIST database of handwritten digits"),
    RemoteDataset(
        "fashion-mnist", "Fashion-MNIST", "Zalando's clothing pictures, 10 kinds, 28x28 grayscale.",
        _idx_files([(26_421_880, "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
                    (29_515, "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
                    (4_422_102, "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
                    (5_148, "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5")]),
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        "idx", ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                "Bag", "Ankle boot"), (1, 28, 28), 60_000, 10_000,
        "H. Xiao, K. Rasul, R. Vollgraf (2017), Fashion-MNIST, MIT licence"),
    RemoteDataset(
        "kmnist", "Kuzushiji-MNIST", "Cursive Japanese (Kuzushiji) characters, 10 classes, 28x28.",
        _idx_files([(None, "bdb82020997e1d708af4cf47b453dcf7"), (None, "e144d726b3acfaa3e44228e80efcd344"),
                    (None, "5c965bf0a639b31b8f53240b1b52f4d7"), (None, "7320c461ea6c1c855c0b718fb2a4b134")],
                   md5=True),
        ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        "idx", ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"), (1, 28, 28), 60_000, 10_000,
        "T. Clanuwat et al. (2018), KMNIST, CC BY-SA 4.0"),
    RemoteDataset(
        "cifar10", "CIFAR-10", "Small colour photos of 10 kinds of object, 32x32 RGB.",
        (RemoteFile("cifar-10-binary.tar.gz", 170_052_171,
                    sha256="c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"),),
        ("https://www.cs.toronto.edu/~kriz/",),
        "cifar10", ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                    "truck"), (3, 32, 32), 50_000, 10_000,
        "A. Krizhevsky (2009), Learning Multiple Layers of Features from Tiny Images",
        stand_ins=(RemoteFile("cifar-10-python.tar.gz", None,
                              sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"),)),
)
_BY_NAME = {d.name: d for d in CATALOG}


def remote_datasets() -> list[RemoteDataset]:
    return list(_BY_NAME.values())


def is_remote_dataset(name) -> bool:
    return name in _BY_NAME


def remote_dataset(name: str) -> RemoteDataset:
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise DataError(f"unknown downloadable dataset {name!r}; choose one of: "
                        f"{', '.join(_BY_NAME)}") from None


def _present(folder: Path, remote: RemoteFile) -> Path | None:
    path = folder / remote.name
    if path.is_file() and (remote.size is None or path.stat().st_size == remote.size):
        return path
    return None


def cached_files(name: str) -> list[Path] | None:
    """The dataset's verified files in the cache, or None when it is not (all) there."""
    info = remote_dataset(name)
    folder = dataset_folder(name)
    found = [_present(folder, f) for f in info.files]
    if all(found):
        return found
    if len(info.files) == 1:
        for stand_in in info.stand_ins:
            path = _present(folder, stand_in)
            if path is not None:
                return [path]
    return None


def is_cached(name: str) -> bool:
    return cached_files(name) is not None


def download(name: str, mirror=None, progress=None, cancel: threading.Event | None = None,
             timeout: float = 30.0) -> Path:
    """Download ``name`` into the cache (files already there are kept); its folder.

    ``progress`` gets :class:`Progress` as bytes arrive; ``cancel`` is checked between chunks
    (DownloadCancelled). Mirrors: ``mirror`` and LAYERFORGE_DATASET_MIRROR first, then the
    published ones.
    """
    info = remote_dataset(name)
    if is_cached(name):
        if progress is not None:
            total = info.download_bytes or None
            progress(Progress(name, "", 0, None, total or 0, total, "", "cached"))
        return dataset_folder(name)
    mirrors = mirror_overrides(mirror) + list(info.mirrors)
    folder = dataset_folder(name)
    total = info.download_bytes if all(f.size for f in info.files) else None
    base = 0
    for remote in info.files:
        def report(done, note, url, remote=remote, base=base):
            if progress is not None:
                progress(Progress(name, remote.name, done, remote.size, base + done, total, url, note))
        fetch_file(name, info.title, remote, mirrors, folder, progress=report, cancel=cancel, timeout=timeout)
        base += remote.size or 0
    return folder


def import_files(name: str, paths, cancel=None) -> list[str]:
    """Copy files a person already has (e.g. downloaded elsewhere) into the cache, each matched to
    the dataset's published files by checksum; the names it took. DataError when one matches none."""
    info = remote_dataset(name)
    folder = dataset_folder(name)
    candidates = list(info.files) + list(info.stand_ins)
    taken = []
    for path in paths:
        path = Path(path)
        check_regular_file(path, what=f"{info.title} file", max_bytes=1024 ** 3)
        match = next((f for f in candidates if (f.size is None or path.stat().st_size == f.size)
                      and matches(path, f, cancel)), None)
        if match is None:
            expected = ", ".join(f.name for f in candidates)
            raise DataError(f"{path}: not one of the published {info.title} files ({expected}): its "
                            "checksum matches none of them")
        make_folder(folder)
        part = folder / (match.name + ".part")
        try:
            shutil.copyfile(path, part)
            part.replace(folder / match.name)
        except OSError as error:
            part.unlink(missing_ok=True)
            raise DataError(f"cannot copy {path} into {folder} ({error.strerror or error})") from None
        taken.append(match.name)
    return taken


def _idx_splits(info: RemoteDataset, folder: Path) -> ImageSplits:
    def read(filename, what):
        array = read_idx(folder / filename)
        if what == "images" and (array.ndim != 3 or array.dtype != np.uint8
                                 or array.shape[1:] != info.input_shape[1:]):
            raise DataError(f"{folder / filename}: expected uint8 images of "
                            f"{info.input_shape[1]}x{info.input_shape[2]}, got {array.dtype} {array.shape}")
        if what == "labels" and (array.ndim != 1 or array.dtype != np.uint8):
            raise DataError(f"{folder / filename}: expected one uint8 label per image, got "
                            f"{array.dtype} {array.shape}")
        return array

    train_x, train_y = read("train-images-idx3-ubyte.gz", "images"), read("train-labels-idx1-ubyte.gz", "labels")
    test_x, test_y = read("t10k-images-idx3-ubyte.gz", "images"), read("t10k-labels-idx1-ubyte.gz", "labels")
    for x, y, part in ((train_x, train_y, "train"), (test_x, test_y, "test")):
        if len(x) != len(y):
            raise DataError(f"{folder}: {len(x)} {part} images but {len(y)} labels")
    return ImageSplits(train_x[:, None], train_y.astype(np.int64), test_x[:, None], test_y.astype(np.int64),
                       info.class_names)


def load_splits(name: str) -> ImageSplits:
    """The cached dataset's official train and test parts (uint8); DataError when not cached."""
    info = remote_dataset(name)
    files = cached_files(name)
    if files is None:
        raise DataError(f"{info.title} is not downloaded yet: use Data > Get dataset… in the window, "
                        f"or run: layerforge datasets download {name}")
    if info.layout == "cifar10":
        return read_cifar10_archive(files[0])
    return _idx_splits(info, dataset_folder(name))


def to_float_images(parts) -> np.ndarray:
    """uint8 images (one array or several, joined) as float32 in [0, 1], written once."""
    parts = [parts] if isinstance(parts, np.ndarray) else list(parts)
    out = np.empty((sum(len(p) for p in parts),) + parts[0].shape[1:], dtype=np.float32)
    start = 0
    for part in parts:
        np.multiply(part, np.float32(1 / 255), out=out[start:start + len(part)], dtype=np.float32)
        start += len(part)
    return out


def load_remote(name: str, subset: str = "all") -> ArrayDataset:
    """The cached dataset as an ArrayDataset: ``all`` (train then test, the test part held out:
    every run validates on exactly the official test images), or only its ``train`` or ``test``
    part (split at random by the project's fractions). Pixels are float32 in [0, 1]."""
    if subset not in SUBSETS:
        raise DataError(f"dataset '{name}': subset must be one of {', '.join(SUBSETS)}, got {subset!r}")
    info = remote_dataset(name)
    splits = load_splits(name)
    if subset == "train":
        xs, ys = [splits.train_x], [splits.train_y]
    elif subset == "test":
        xs, ys = [splits.test_x], [splits.test_y]
    else:
        xs, ys = [splits.train_x, splits.test_x], [splits.train_y, splits.test_y]
    x = to_float_images(xs)
    del splits, xs
    y = ys[0] if len(ys) == 1 else np.concatenate(ys)
    part = {"train": "The training part", "test": "The test part",
            "all": f"The training and test parts (the {len(ys[-1]):,} test images validate)"}[subset]
    return ArrayDataset(
        name=name if subset == "all" else f"{name} ({subset})", task="classification", x=x, y=y,
        class_names=list(info.class_names), kind="images",
        description=f"{info.description} {part}, {len(y):,} images, pixels scaled to [0, 1].",
        source=info.source, held_out=len(ys[-1]) if subset == "all" else 0)


__all__ = ["CATALOG", "DownloadError", "RemoteDataset", "SUBSETS", "cached_files",
           "download", "import_files", "is_cached", "is_remote_dataset", "load_remote", "load_splits",
           "remote_dataset", "remote_datasets", "to_float_images"]
