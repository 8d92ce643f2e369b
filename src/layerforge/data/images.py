"""Decoding image files to arrays with Pillow, colour-mode conversion, and resizing with numpy.

Image files are hostile input: a 400 KB PNG can declare 20000x20000 pixels. Only the header is
read until the declared size has been checked, so such a file is refused before a pixel buffer
exists. Pillow (a run-time dependency) decodes, because it is faster than the decoders Layerforge
used to carry (8-12x, tests/benchmarks/bench_images.py), reads JPEG, and bounds its own
decompression (PNG text chunks stop at ``PngImagePlugin.MAX_TEXT_CHUNK``, truncated files are
errors since ``ImageFile.LOAD_TRUNCATED_IMAGES`` stays False).
"""
from __future__ import annotations

import io
import re
import struct
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from .dataset import DataError
from .files import read_regular_file

IMAGE_MODES = ("L", "RGB")
IMAGE_SUFFIXES = (".png", ".bmp", ".pgm", ".ppm", ".pnm", ".jpg", ".jpeg", ".gif", ".tif", ".tiff",
                  ".webp")
# The formats decoded, by Pillow's names (PPM covers PGM and PNM). Pillow can read dozens more;
# each decoder is code that hostile bytes reach, so only the formats image folders hold are opened.
_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM")
_READABLE = "PNG, JPEG, BMP, GIF, TIFF, WebP or PGM/PPM"
# A 48-megapixel phone photo decodes; a declared 20000x20000 does not. At 50 MP the float32 RGB
# image is 600 MB before it is resized, about what one decode may take on a laptop.
MAX_PIXELS = 50_000_000
# An uncompressed 50 MP image with alpha and 16 bits per sample is 400 MB.
MAX_IMAGE_BYTES = 512 * 1024 ** 2
# ITU-R BT.601 luma weights, the ones Pillow's convert("L") uses.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_ORIENTATION = 0x0112


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:,.0f}" if pixels >= 100e6 else f"{pixels / 1e6:.1f}"


def _too_large(path, width: int, height: int) -> DataError:
    return DataError(f"{path}: declares {width}x{height} pixels ({_megapixels(width * height)} "
                     f"megapixels), more than the {MAX_PIXELS // 1_000_000} megapixels Layerforge "
                     "decodes; resize it")


def _open_header(data: bytes, path) -> Image.Image:
    """The image with only its header parsed, for the first format in ``_FORMATS`` that accepts it.

    Goes through Pillow's format registry instead of ``Image.open`` because ``Image.open`` refuses
    a huge declared size itself, in a message that gives neither the file nor its width and height.
    """
    Image.init()
    prefix = data[:16]
    for name in _FORMATS:
        factory, accept = Image.OPEN.get(name, (None, None))
        accepted = factory is not None and (accept is None or accept(prefix))
        if not accepted or isinstance(accepted, str):   # a str is Pillow's "almost, but no"
            continue
        try:
            return factory(io.BytesIO(data), "")   # no file name: Pillow would mmap the path itself
        except (SyntaxError, IndexError, TypeError, struct.error):
            continue   # not this format after all (how Image.open tries the next one)
    raise DataError(f"{path}: not a {_READABLE} image, or damaged before its header ends")


def _upright(image: Image.Image) -> Image.Image:
    """Apply a camera's EXIF orientation, so a portrait photo trains as the person sees it."""
    try:
        orientation = image.getexif().get(_ORIENTATION)
    except Exception:   # damaged EXIF says nothing reliable about orientation
        return image
    return ImageOps.exif_transpose(image) if orientation in range(2, 9) else image


def _to_array(image: Image.Image) -> np.ndarray:
    """float32 (H, W, C) in [0, 1]: 16-bit samples keep their precision, alpha stays last."""
    if image.mode in _SIXTEEN_BIT:
        values = np.asarray(image, dtype=np.float32) / 65535.0
        return np.clip(values, 0.0, 1.0)[:, :, None]
    if image.mode == "F":
        return np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)[:, :, None]
    if image.mode == "1":
        image = image.convert("L")
    elif image.mode in ("P", "PA"):
        image = image.convert("RGBA" if image.mode == "PA" or "transparency" in image.info else "RGB")
    elif image.mode not in ("L", "LA", "RGB", "RGBA"):   # CMYK, YCbCr, LAB, premultiplied, ...
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return pixels.astype(np.float32) / 255.0


def decode_image(path) -> np.ndarray:
    """Decode one image file to float32 (H, W, C) in [0, 1], C = 1, 2, 3 or 4 (alpha last).

    Regular files only; a declared size above :data:`MAX_PIXELS` is refused before decoding.
    """
    path = Path(path)
    data = read_regular_file(path, what="image file", max_bytes=MAX_IMAGE_BYTES)
    try:
        with _open_header(data, path) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise _too_large(path, width, height)
            return _to_array(_upright(image))
    except DataError:
        raise
    except Image.DecompressionBombError as error:   # a GIF frame or TIFF tile larger than declared
        pixels = re.search(r"\((\d+) pixels\)", str(error))
        size = f" ({_megapixels(int(pixels.group(1)))} megapixels)" if pixels else ""
        raise DataError(f"{path}: holds a frame larger than it declares{size}, more than the "
                        f"{MAX_PIXELS // 1_000_000} megapixels Layerforge decodes") from None
    except MemoryError:
        raise DataError(f"{path}: not enough memory to decode this image; resize it") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, struct.error,
            IndexError, TypeError, KeyError, ZeroDivisionError) as error:
        if "MAX_TEXT" in str(error):   # Pillow stopped inflating a PNG text chunk at its limit
            raise DataError(f"{path}: holds a text chunk (metadata) that decompresses to more than "
                            f"{PngImagePlugin.MAX_TEXT_CHUNK // 1024 ** 2} MB; save the image again "
                            "without metadata") from None
        # Pillow reports a damaged file with any of these, depending on the format and the damage.
        raise DataError(f"{path}: damaged {_READABLE} image ({error})") from None


def to_mode(image: np.ndarray, mode: str) -> np.ndarray:
    """(H, W, C) with alpha dropped, as gray ("L", 1 channel) or "RGB" (3 channels)."""
    if mode not in IMAGE_MODES:
        raise DataError(f"image mode must be one of {IMAGE_MODES}, got {mode!r}")
    colour = image[:, :, :3] if image.shape[2] >= 3 else image[:, :, :1]
    if mode == "L":
        return colour if colour.shape[2] == 1 else (colour @ _LUMA)[:, :, None]
    return colour if colour.shape[2] == 3 else np.repeat(colour, 3, axis=2)


def _resize_matrix(size_in: int, size_out: int) -> np.ndarray:
    """(size_out, size_in) float32 weights along one axis: area averaging when shrinking (no
    aliasing), bilinear interpolation with pixel centres aligned when enlarging."""
    scale = size_in / size_out
    if size_out < size_in:
        starts = np.arange(size_out)[:, None] * scale
        pixels = np.arange(size_in)[None, :]
        overlap = np.minimum(starts + scale, pixels + 1) - np.maximum(starts, pixels)
        return (np.clip(overlap, 0.0, None) / scale).astype(np.float32)
    source = np.clip((np.arange(size_out) + 0.5) * scale - 0.5, 0.0, size_in - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, size_in - 1)
    weights = np.zeros((size_out, size_in))
    rows = np.arange(size_out)
    np.add.at(weights, (rows, low), 1.0 - (source - low))
    np.add.at(weights, (rows, high), source - low)
    return weights.astype(np.float32)


def resize(image: np.ndarray, size: tuple) -> np.ndarray:
    """Resize (H, W, C) to (h, w, C), float32.

    In float32 throughout: a float64 copy of a 50-megapixel photo would need 1.2 GB.
    """
    height, width = int(size[0]), int(size[1])
    image = image.astype(np.float32, copy=False)
    if image.shape[:2] == (height, width):
        return image
    rows = _resize_matrix(image.shape[0], height)
    columns = _resize_matrix(image.shape[1], width)
    return np.einsum("ij,jkc,lk->ilc", rows, image, columns, optimize=True).astype(np.float32)
