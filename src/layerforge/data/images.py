"""Decoding image files to arrays (PNG, BMP, PGM/PPM without extra packages; anything Pillow reads
when Pillow happens to be installed), colour-mode conversion, and resizing with numpy."""
from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import numpy as np

from .dataset import DataError
from .png import PNG_SIGNATURE, UnsupportedImageError, decode_png

IMAGE_MODES = ("L", "RGB")
NATIVE_SUFFIXES = (".png", ".bmp", ".pgm", ".ppm", ".pnm")
PILLOW_SUFFIXES = (".jpg", ".jpeg", ".gif", ".tif", ".tiff", ".webp")
# ITU-R BT.601 luma weights, the ones Pillow's convert("L") uses.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _pillow():
    try:
        from PIL import Image   # optional: only for formats the built-in decoders do not read
    except ImportError:
        return None
    return Image


def decode_bmp(data: bytes) -> np.ndarray:
    """Uncompressed 8-bit (palette), 24-bit and 32-bit BMP, as float32 (H, W, 3) in [0, 1]."""
    if len(data) < 54 or not data.startswith(b"BM"):
        raise DataError("not a BMP file, or truncated before its header ends")
    (offset,) = struct.unpack_from("<I", data, 10)
    (header_size,) = struct.unpack_from("<I", data, 14)
    if header_size < 40:
        raise UnsupportedImageError("OS/2-style BMP headers are not supported")
    width, height, _, bits, compression = struct.unpack_from("<iiHHI", data, 18)
    (colours_used,) = struct.unpack_from("<I", data, 46)
    if width <= 0 or height == 0:
        raise DataError(f"BMP has an invalid size {width}x{height}")
    if bits not in (8, 24, 32) or compression not in (0, 3) or (compression == 3 and bits != 32):
        raise UnsupportedImageError(f"{bits}-bit BMP with compression {compression} is not "
                                    "supported; save it as uncompressed 8, 24 or 32-bit BMP, or PNG")
    top_down, rows = height < 0, abs(height)
    stride = (width * bits + 31) // 32 * 4
    if offset + stride * rows > len(data):
        raise DataError(f"BMP is truncated: its pixels need {stride * rows} bytes after offset "
                        f"{offset}, the file has {len(data) - offset}")
    pixels = np.frombuffer(data, dtype=np.uint8, count=stride * rows, offset=offset)
    pixels = pixels.reshape(rows, stride)
    if not top_down:
        pixels = pixels[::-1]
    if bits == 8:
        count = colours_used or 256
        table_start = 14 + header_size
        table = np.frombuffer(data, dtype=np.uint8, count=count * 4, offset=table_start)
        indices = pixels[:, :width]
        if indices.max() >= count:
            raise DataError("BMP uses a colour index beyond its palette (damaged file)")
        rgb = table.reshape(count, 4)[indices][:, :, 2::-1]
    elif compression == 3:
        # The red, green, blue masks sit right after the 40-byte fields, in every header version.
        masks = struct.unpack_from("<III", data, 54)
        words = pixels[:, :width * 4].copy().view("<u4").reshape(rows, width)
        channels = []
        for mask in masks:
            if mask == 0:
                raise DataError("BMP bit-field mask is zero (damaged file)")
            shift = (mask & -mask).bit_length() - 1
            channels.append(((words & mask) >> shift).astype(np.float32) / (mask >> shift))
        return np.stack(channels, axis=2)
    else:
        rgb = pixels[:, :width * bits // 8].reshape(rows, width, bits // 8)[:, :, 2::-1]
    return rgb.astype(np.float32) / 255.0


_PNM_HEADER = re.compile(rb"\A(P[2356])((?:\s+(?:#[^\n]*\n\s*)*\d+){3})\s")


def decode_pnm(data: bytes) -> np.ndarray:
    """PGM (P2, P5) and PPM (P3, P6) at any maxval, as float32 (H, W, 1 or 3) in [0, 1]."""
    match = _PNM_HEADER.match(data)
    if not match:
        if data[:2] in (b"P1", b"P4", b"P7"):
            raise UnsupportedImageError(f"{data[:2].decode()} (PBM/PAM) files are not supported; "
                                        "use PGM (P5) or PPM (P6)")
        raise DataError("not a PGM/PPM file, or its header is damaged")
    magic = match.group(1)
    numbers = re.sub(rb"#[^\n]*", b" ", match.group(2)).split()
    width, height, maxval = (int(n) for n in numbers)
    if width == 0 or height == 0 or not 0 < maxval < 65536:
        raise DataError(f"PGM/PPM header is invalid: size {width}x{height}, maxval {maxval}")
    channels = 3 if magic in (b"P3", b"P6") else 1
    count = width * height * channels
    if magic in (b"P5", b"P6"):
        dtype = np.dtype(">u2") if maxval > 255 else np.dtype(np.uint8)
        start = match.end()
        if start + count * dtype.itemsize > len(data):
            raise DataError(f"PGM/PPM is truncated: {width}x{height}x{channels} samples need "
                            f"{count * dtype.itemsize} bytes, it has {len(data) - start}")
        values = np.frombuffer(data, dtype=dtype, count=count, offset=start)
    else:
        text = re.sub(rb"#[^\n]*", b" ", data[match.end():]).split()
        if len(text) < count:
            raise DataError(f"PGM/PPM is truncated: {count} samples expected, {len(text)} found")
        try:
            values = np.array([int(v) for v in text[:count]])
        except ValueError:
            raise DataError("PGM/PPM holds a sample that is not a whole number") from None
    if values.max(initial=0) > maxval:
        raise DataError(f"PGM/PPM sample exceeds its maxval {maxval} (damaged file)")
    return values.reshape(height, width, channels).astype(np.float32) / maxval


def _decode_with_pillow(image_module, path: Path) -> np.ndarray:
    try:
        with image_module.open(path) as image:
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
            return np.asarray(image, dtype=np.float32) / 255.0
    except Exception as error:   # Pillow raises many types for a damaged file
        raise DataError(f"{path}: cannot decode image ({error})") from None


def decode_image(path) -> np.ndarray:
    """Decode one image file to float32 (H, W, C) in [0, 1], C = 1, 2, 3 or 4 (alpha last)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror or error})") from None
    if data.startswith(PNG_SIGNATURE):
        decoder = decode_png
    elif data.startswith(b"BM"):
        decoder = decode_bmp
    elif data[:2] in (b"P1", b"P2", b"P3", b"P4", b"P5", b"P6", b"P7"):
        decoder = decode_pnm
    else:
        decoder = None
    pillow = _pillow()
    if decoder is None:
        if pillow is not None:
            return _decode_with_pillow(pillow, path)
        known = "PNG, BMP or PGM/PPM" if path.suffix.lower() in NATIVE_SUFFIXES else None
        reason = (f"is not a valid {known} file (damaged?)" if known else
                  "is not an image format Layerforge reads without extra packages (PNG, BMP, "
                  "PGM/PPM); convert it, or install Pillow for JPEG, GIF, TIFF and WebP")
        raise DataError(f"{path}: {reason}")
    try:
        return decoder(data)
    except UnsupportedImageError as error:
        if pillow is not None:
            return _decode_with_pillow(pillow, path)
        raise DataError(f"{path}: {error}") from None
    except DataError as error:
        raise DataError(f"{path}: {error}") from None
    except (struct.error, ValueError, IndexError, zlib.error) as error:
        raise DataError(f"{path}: damaged image file ({error})") from None


def to_mode(image: np.ndarray, mode: str) -> np.ndarray:
    """(H, W, C) with alpha dropped, as gray ("L", 1 channel) or "RGB" (3 channels)."""
    if mode not in IMAGE_MODES:
        raise DataError(f"image mode must be one of {IMAGE_MODES}, got {mode!r}")
    colour = image[:, :, :3] if image.shape[2] >= 3 else image[:, :, :1]
    if mode == "L":
        return colour if colour.shape[2] == 1 else (colour @ _LUMA)[:, :, None]
    return colour if colour.shape[2] == 3 else np.repeat(colour, 3, axis=2)


def _resize_matrix(size_in: int, size_out: int) -> np.ndarray:
    """(size_out, size_in) weights along one axis: area averaging when shrinking (no aliasing),
    bilinear interpolation with pixel centres aligned when enlarging."""
    scale = size_in / size_out
    if size_out < size_in:
        starts = np.arange(size_out)[:, None] * scale
        pixels = np.arange(size_in)[None, :]
        overlap = np.minimum(starts + scale, pixels + 1) - np.maximum(starts, pixels)
        return np.clip(overlap, 0.0, None) / scale
    source = np.clip((np.arange(size_out) + 0.5) * scale - 0.5, 0.0, size_in - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, size_in - 1)
    weights = np.zeros((size_out, size_in))
    rows = np.arange(size_out)
    np.add.at(weights, (rows, low), 1.0 - (source - low))
    np.add.at(weights, (rows, high), source - low)
    return weights


def resize(image: np.ndarray, size: tuple) -> np.ndarray:
    """Resize (H, W, C) to (h, w, C), float32."""
    height, width = int(size[0]), int(size[1])
    if image.shape[:2] == (height, width):
        return image.astype(np.float32, copy=False)
    rows = _resize_matrix(image.shape[0], height)
    columns = _resize_matrix(image.shape[1], width)
    resized = np.einsum("ij,jkc,lk->ilc", rows, image.astype(np.float64), columns, optimize=True)
    return resized.astype(np.float32)
