"""Importing a folder of images with one subfolder per class."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from .dataset import ArrayDataset, DataError
from .images import IMAGE_MODES, NATIVE_SUFFIXES, PILLOW_SUFFIXES, decode_image, resize, to_mode

IMAGE_SUFFIXES = NATIVE_SUFFIXES + PILLOW_SUFFIXES
_MAX_SIDE = 4096


def _visible(entries):
    return sorted((e for e in entries if not e.name.startswith(".")), key=lambda e: e.name)


def _check_size(size) -> tuple[int, int]:
    try:
        height, width = (int(v) for v in size)
    except (TypeError, ValueError):
        raise DataError(f"image size must be (height, width), got {size!r}") from None
    if not (1 <= height <= _MAX_SIDE and 1 <= width <= _MAX_SIDE):
        raise DataError(f"image size must be between 1 and {_MAX_SIDE} pixels per side, "
                        f"got {height}x{width}")
    return height, width


def read_image_folder(path, size=(32, 32), mode: str = "L") -> ArrayDataset:
    """Load ``path/<class name>/<image>`` files as a classification dataset.

    Classes are the subfolder names, sorted. Every image is converted to ``mode`` ("L" gray or
    "RGB") and resized to ``size`` = (height, width); x has shape (N, channels, height, width)
    with values in [0, 1]. Files that are not images by their suffix are skipped (and noted); a
    damaged image raises DataError naming it.
    """
    root = Path(path)
    if mode not in IMAGE_MODES:
        raise DataError(f"image mode must be one of {IMAGE_MODES}, got {mode!r}")
    height, width = _check_size(size)
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist or is not a folder")
    class_dirs = [e for e in _visible(root.iterdir()) if e.is_dir()]
    if len(class_dirs) < 2:
        raise DataError(f"image folder {root} needs one subfolder per class (at least two); "
                        f"found {len(class_dirs)}")

    images, labels, skipped, original_sizes = [], [], [], Counter()
    for label, class_dir in enumerate(class_dirs):
        files = [e for e in _visible(class_dir.iterdir()) if e.is_file()]
        image_files = [f for f in files if f.suffix.lower() in IMAGE_SUFFIXES]
        skipped.extend(f for f in files if f.suffix.lower() not in IMAGE_SUFFIXES)
        if not image_files:
            raise DataError(f"class folder {class_dir} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        for file in image_files:
            decoded = decode_image(file)
            original_sizes[decoded.shape[:2]] += 1
            images.append(resize(to_mode(decoded, mode), (height, width)).transpose(2, 0, 1))
            labels.append(label)

    notes = []
    resized = sum(n for shape, n in original_sizes.items() if shape != (height, width))
    if resized:
        found = ", ".join(f"{w}x{h}" for h, w in sorted(original_sizes))
        notes.append(f"resized {resized} image(s) to {width}x{height} (sizes found: {found})")
    if skipped:
        names = ", ".join(f.name for f in skipped[:5])
        notes.append(f"skipped {len(skipped)} file(s) that are not images: {names}"
                     f"{', ...' if len(skipped) > 5 else ''}")
    return ArrayDataset(
        name=root.name, task="classification", x=np.stack(images), y=np.array(labels),
        class_names=[d.name for d in class_dirs], kind="images",
        description=f"{len(images)} images in {len(class_dirs)} classes from {root.name}, "
                    f"{width}x{height} {'grayscale' if mode == 'L' else 'RGB'}",
        source=f"image folder {root}", notes=notes)
