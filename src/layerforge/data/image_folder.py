"""Importing a folder of images with one subfolder per class."""
from __future__ import annotations

import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .dataset import ArrayDataset, DataError
from .files import DEFAULT_MAX_BYTES
from .images import IMAGE_MODES, IMAGE_SUFFIXES, decode_image, resize, to_mode

_MAX_SIDE = 4096
# Walking stops here: a class folder that holds this many entries is a home folder or a disk
# chosen by mistake, not a dataset, and walking it would take minutes before anything is said.
MAX_ENTRIES = 1_000_000
# The decoded dataset, float32, must fit this; checked from the file count before decoding.
MAX_DATASET_BYTES = DEFAULT_MAX_BYTES


@dataclass
class _ClassFiles:
    images: list = field(default_factory=list)        # paths, in a stable order
    nested: int = 0                                    # how many of them sit in subfolders
    not_images: list = field(default_factory=list)     # regular files without an image suffix
    not_files: list = field(default_factory=list)      # pipes, devices, sockets, broken links


def _visible(entries):
    return sorted((e for e in entries if not e.name.startswith(".")), key=lambda e: e.name)


def _list_folder(folder: Path, root: Path):
    try:
        return _visible(folder.iterdir())
    except OSError as error:
        raise DataError(f"{folder}: cannot list the folder ({error.strerror or error})") from None


def _class_files(class_dir: Path, root: Path, budget: list) -> _ClassFiles:
    """Every image under ``class_dir``, subfolders included. Linked folders are followed once:
    a link back to a folder already read (a loop) is not entered again."""
    found = _ClassFiles()
    seen = set()
    pending = [class_dir]
    while pending:
        folder = pending.pop()
        info = folder.stat()
        if (info.st_dev, info.st_ino) in seen:
            continue
        seen.add((info.st_dev, info.st_ino))
        subfolders = []
        for entry in _list_folder(folder, root):
            budget[0] -= 1
            if budget[0] < 0:
                raise DataError(f"image folder {root} holds more than {MAX_ENTRIES:,} files and "
                                "folders; choose a folder that holds only the images, one "
                                "subfolder per class")
            try:
                mode = entry.stat().st_mode   # follows links, so a link to an image counts
            except OSError:
                found.not_files.append(entry)
                continue
            if stat.S_ISDIR(mode):
                subfolders.append(entry)
            elif not stat.S_ISREG(mode):
                found.not_files.append(entry)
            elif entry.suffix.lower() in IMAGE_SUFFIXES:
                found.images.append(entry)
                found.nested += folder != class_dir
            else:
                found.not_images.append(entry)
        pending.extend(reversed(subfolders))
    found.images.sort(key=lambda p: p.relative_to(class_dir).parts)
    return found


def _check_size(size) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in size)
    except (TypeError, ValueError):
        raise DataError(f"image size must be (height, width), got {size!r}") from None
    if not (1 <= height <= _MAX_SIDE and 1 <= width <= _MAX_SIDE):
        raise DataError(f"image size must be between 1 and {_MAX_SIDE} pixels per side, "
                        f"got {height}x{width}")
    return height, width


def _names(paths, root: Path, limit: int = 5) -> str:
    shown = ", ".join(os.path.relpath(p, root) for p in paths[:limit])
    return shown + (", ..." if len(paths) > limit else "")


def read_image_folder(path, size=(32, 32), mode: str = "L") -> ArrayDataset:
    """Load ``path/<class name>/.../<image>`` files as a classification dataset.

    Classes are the subfolder names, sorted; images in folders inside a class folder belong to
    that class. Every image is converted to ``mode`` ("L" gray or "RGB") and resized to ``size``
    = (height, width); x has shape (N, channels, height, width) with values in [0, 1]. Files
    that are not images by their suffix, and entries that are not regular files, are skipped
    (and noted); a damaged image raises DataError naming it.
    """
    root = Path(path)
    if mode not in IMAGE_MODES:
        raise DataError(f"image mode must be one of {IMAGE_MODES}, got {mode!r}")
    height, width = _check_size(size)
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist or is not a folder")
    top = _list_folder(root, root)
    class_dirs = [e for e in top if e.is_dir()]
    loose = [e for e in top if not e.is_dir()]
    if len(class_dirs) < 2:
        raise DataError(f"image folder {root} needs one subfolder per class (at least two); "
                        f"found {len(class_dirs)}")

    budget = [MAX_ENTRIES]
    per_class = [_class_files(class_dir, root, budget) for class_dir in class_dirs]
    for class_dir, found in zip(class_dirs, per_class):
        if not found.images:
            raise DataError(f"class folder {class_dir} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    channels = 1 if mode == "L" else 3
    count = sum(len(found.images) for found in per_class)
    needed = count * channels * height * width * 4
    if needed > MAX_DATASET_BYTES:
        raise DataError(f"image folder {root}: {count:,} images of {width}x{height}x{channels} need "
                        f"{needed / 1024 ** 3:.1f} GiB as float32, more than the "
                        f"{MAX_DATASET_BYTES / 1024 ** 3:.0f} GiB Layerforge holds in memory; "
                        "choose a smaller image size, grayscale, or fewer images")

    x = np.empty((count, channels, height, width), dtype=np.float32)
    labels = np.empty(count, dtype=np.int64)
    original_sizes = Counter()
    sample = 0
    for label, found in enumerate(per_class):
        for file in found.images:
            decoded = decode_image(file)
            original_sizes[decoded.shape[:2]] += 1
            x[sample] = resize(to_mode(decoded, mode), (height, width)).transpose(2, 0, 1)
            labels[sample] = label
            sample += 1

    notes = []
    resized = sum(n for shape, n in original_sizes.items() if shape != (height, width))
    if resized:
        found_sizes = ", ".join(f"{w}x{h}" for h, w in sorted(original_sizes))
        notes.append(f"resized {resized} image(s) to {width}x{height} (sizes found: {found_sizes})")
    nested = sum(found.nested for found in per_class)
    if nested:
        example = next(p for found, d in zip(per_class, class_dirs) for p in found.images
                       if p.parent != d)
        notes.append(f"read {nested} image(s) from folders inside the class folders (e.g. "
                     f"{os.path.relpath(example, root)}); each counts as its top-level class")
    skipped = [p for found in per_class for p in found.not_images]
    if skipped:
        notes.append(f"skipped {len(skipped)} file(s) that are not images: "
                     f"{_names(skipped, root)}")
    odd = [p for found in per_class for p in found.not_files]
    if odd:
        what = "entry that is not a regular file" if len(odd) == 1 else "entries that are not regular files"
        notes.append(f"skipped {len(odd)} {what} (named pipes, devices, broken links): "
                     f"{_names(odd, root)}")
    if loose:
        notes.append(f"ignored {len(loose)} file(s) directly in {root.name}, outside any class "
                     f"folder: {_names(loose, root)}")
    return ArrayDataset(
        name=root.name, task="classification", x=x, y=labels,
        class_names=[d.name for d in class_dirs], kind="images",
        description=f"{count} images in {len(class_dirs)} classes from {root.name}, "
                    f"{width}x{height} {'grayscale' if mode == 'L' else 'RGB'}",
        source=f"image folder {root}", notes=notes)
