"""Image decoding speed, our PNG decoder against Pillow, in the same run:
``python tests/benchmarks/bench_images.py``.

Decided whether Layerforge keeps its own decoders: issue 13 moved decoding to Pillow (which caps
declared sizes and reads JPEG) because ours were 8-12x slower. Each number is the median of
repeats, decoding the same PNG files (random pixels and smooth gradients, written by Pillow with
its default filters) to float32 RGB in [0, 1]: Pillow alone, Layerforge's ``decode_image``, and
the PNG decoder issue 13 removed (``layerforge.data.png``; run with ``PYTHONPATH`` at an older
checkout's ``src`` to time it, its column is skipped otherwise). Ratio ours/Pillow above 1:
Pillow is faster. Not a test: nothing here asserts.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from layerforge.data import decode_image

CASES = [("500 PNGs of 32x32", 500, 32), ("50 PNGs of 512x512", 50, 512)]


def write_pngs(folder: Path, count: int, side: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    paths = []
    ramp = np.linspace(0, 255, side, dtype=np.float32)
    for i in range(count):
        if i % 2:   # noise: filters do nothing, zlib does little
            pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        else:       # a photo-like gradient: Paeth/average filters do the work
            pixels = np.stack([ramp[None, :] + 0 * ramp[:, None], ramp[:, None] + 0 * ramp[None, :],
                               (ramp[None, :] + ramp[:, None]) / 2], axis=2).astype(np.uint8)
        path = folder / f"{i}.png"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


def ours_decoder():
    try:
        from layerforge.data.png import decode_png   # removed by issue 13; present in older checkouts
    except ImportError:
        return None
    return lambda path: decode_png(path.read_bytes())


def pillow_decode(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def median_seconds(decode, paths, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for path in paths:
            decode(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    ours = ours_decoder()
    print("| case | Pillow s | decode_image s | our PNG decoder s | ours / Pillow |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name, count, side in CASES:
            case_folder = Path(folder) / str(side)
            case_folder.mkdir()
            paths = write_pngs(case_folder, count, side)
            pillow = median_seconds(pillow_decode, paths, args.repeats)
            layerforge = median_seconds(decode_image, paths, args.repeats)
            if ours is None:
                print(f"| {name} | {pillow:.3f} | {layerforge:.3f} | (not in this checkout) | - |")
                continue
            own = median_seconds(ours, paths, args.repeats)
            print(f"| {name} | {pillow:.3f} | {layerforge:.3f} | {own:.3f} | {own / pillow:.1f} |")


if __name__ == "__main__":
    main()
