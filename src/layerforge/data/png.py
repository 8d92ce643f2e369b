"""A PNG decoder on the standard library's zlib and numpy (no Pillow needed).

Reads every non-interlaced PNG: grayscale, RGB, palette, grayscale+alpha and RGBA, at every bit
depth the format allows. Chunk checksums are verified, so a damaged file is reported, not guessed.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

from .dataset import DataError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}


class UnsupportedImageError(DataError):
    """A valid file in a variant this decoder does not read (another decoder may)."""


def _chunks(data: bytes):
    position = len(PNG_SIGNATURE)
    while True:
        if position + 8 > len(data):
            raise DataError("PNG is truncated (it ends before its IEND chunk)")
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body_end = position + 8 + length
        if body_end + 4 > len(data):
            raise DataError(f"PNG is truncated inside its {kind!r} chunk")
        body = data[position + 8:body_end]
        (crc,) = struct.unpack(">I", data[body_end:body_end + 4])
        if zlib.crc32(kind + body) != crc:
            raise DataError(f"PNG {kind.decode('latin-1')} chunk fails its checksum (damaged file)")
        yield kind, body
        if kind == b"IEND":
            return
        position = body_end + 4


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(raw: np.ndarray, height: int, stride: int, bpp: int) -> np.ndarray:
    """Undo the per-row filters (PNG spec, section 9) into a (height, stride) uint8 array."""
    rows = raw.reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:]
        if kind == 0:
            current = line.copy()
        elif kind == 1:   # Sub: a running sum along the row, pixel by pixel (wraps at 256)
            current = np.cumsum(line.reshape(-1, bpp), axis=0, dtype=np.uint8).reshape(-1)
        elif kind == 2:   # Up
            current = line + previous
        elif kind in (3, 4):   # Average and Paeth depend on the byte just decoded: a plain loop
            filtered, above = line.tolist(), previous.tolist()
            decoded = [0] * stride
            for i in range(stride):
                left = decoded[i - bpp] if i >= bpp else 0
                if kind == 3:
                    predictor = (left + above[i]) >> 1
                else:
                    predictor = _paeth(left, above[i], above[i - bpp] if i >= bpp else 0)
                decoded[i] = (filtered[i] + predictor) & 0xFF
            current = np.array(decoded, dtype=np.uint8)
        else:
            raise DataError(f"PNG row {y} has an unknown filter type {kind} (damaged file)")
        out[y] = current
        previous = current
    return out


def _samples(rows: np.ndarray, width: int, channels: int, depth: int) -> np.ndarray:
    height = rows.shape[0]
    if depth == 8:
        return rows[:, :width * channels].reshape(height, width, channels).astype(np.uint16)
    if depth == 16:
        wide = rows[:, :width * channels * 2].reshape(height, -1).view(">u2")
        return wide.reshape(height, width, channels).astype(np.uint16)
    shifts = np.arange(8 - depth, -1, -depth, dtype=np.uint8)
    unpacked = (rows[:, :, None] >> shifts) & ((1 << depth) - 1)
    return unpacked.reshape(height, -1)[:, :width].reshape(height, width, 1).astype(np.uint16)


def decode_png(data: bytes) -> np.ndarray:
    """float32 (H, W, C) in [0, 1]; C is 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA)."""
    if not data.startswith(PNG_SIGNATURE):
        raise DataError("not a PNG file (wrong signature)")
    header = palette = transparency = None
    compressed = []
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            if len(body) != 13:
                raise DataError("PNG header chunk has the wrong length (damaged file)")
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = np.frombuffer(body, dtype=np.uint8).reshape(-1, 3)
        elif kind == b"tRNS":
            transparency = np.frombuffer(body, dtype=np.uint8)
        elif kind == b"IDAT":
            compressed.append(body)
    if header is None:
        raise DataError("PNG has no header chunk (damaged file)")
    width, height, depth, color, compression, filtering, interlace = header
    if color not in _CHANNELS or depth not in _DEPTHS[color] or compression or filtering:
        raise DataError(f"PNG has an invalid colour type {color} / bit depth {depth} combination")
    if interlace:
        raise UnsupportedImageError("interlaced (Adam7) PNGs are not supported; save the image "
                                    "without interlacing, or install Pillow")
    if width == 0 or height == 0:
        raise DataError("PNG has zero width or height")
    channels = _CHANNELS[color]
    stride = (width * channels * depth + 7) // 8
    try:
        raw = zlib.decompress(b"".join(compressed))
    except zlib.error as error:
        raise DataError(f"PNG image data cannot be decompressed ({error}; damaged file)") from None
    if len(raw) != height * (stride + 1):
        raise DataError(f"PNG image data has {len(raw)} bytes where a {width}x{height} image needs "
                        f"{height * (stride + 1)} (damaged file)")
    rows = _unfilter(np.frombuffer(raw, dtype=np.uint8), height, stride,
                     max(1, channels * depth // 8))
    samples = _samples(rows, width, channels, depth)
    if color == 3:
        if palette is None:
            raise DataError("palette PNG has no PLTE chunk (damaged file)")
        indices = samples[:, :, 0]
        if indices.max() >= len(palette):
            raise DataError("palette PNG uses a colour index beyond its palette (damaged file)")
        if transparency is not None:
            alpha = np.full(len(palette), 255, dtype=np.uint8)
            alpha[:min(len(transparency), len(palette))] = transparency[:len(palette)]
            palette = np.concatenate([palette, alpha[:, None]], axis=1)
        return palette[indices].astype(np.float32) / 255.0
    return samples.astype(np.float32) / float((1 << depth) - 1)
