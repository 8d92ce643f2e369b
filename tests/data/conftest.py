"""Tiny image encoders, written independently of the decoders under test, so that tests can make
PNG / BMP / PGM / PPM files of known pixels without Pillow."""
import struct
import zlib

import numpy as np
import pytest

_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}   # channels -> PNG colour type


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _filter_row(kind: int, row: np.ndarray, above: np.ndarray, bpp: int) -> np.ndarray:
    row, above = row.astype(np.int64), above.astype(np.int64)
    left = np.concatenate([np.zeros(bpp, np.int64), row[:-bpp]])
    upper_left = np.concatenate([np.zeros(bpp, np.int64), above[:-bpp]])
    if kind == 0:
        predictor = np.zeros_like(row)
    elif kind == 1:
        predictor = left
    elif kind == 2:
        predictor = above
    elif kind == 3:
        predictor = (left + above) // 2
    else:
        p = left + above - upper_left
        pa, pb, pc = np.abs(p - left), np.abs(p - above), np.abs(p - upper_left)
        predictor = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, above, upper_left))
    return ((row - predictor) % 256).astype(np.uint8)


_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
          (0, 1, 1, 2))   # (x start, y start, x step, y step) of the seven passes


def _adam7(pixels, depth) -> bytearray:
    """Interlaced image data (8-bit samples only): each pass a small image, rows unfiltered."""
    assert depth == 8, "the test encoder interlaces 8-bit images only"
    raw = bytearray()
    for x0, y0, dx, dy in _ADAM7:
        sub = pixels[y0::dy, x0::dx]
        if sub.size:
            for row in sub.astype(np.uint8).reshape(sub.shape[0], -1):
                raw += b"\0" + row.tobytes()
    return raw


def encode_png(pixels, depth=8, palette=None, interlace=0, filters=(0, 1, 2, 3, 4)) -> bytes:
    """pixels: (H, W) or (H, W, C) integers. With ``palette`` ((K, 3) uint8) pixels are indices.
    Rows cycle through ``filters`` so every PNG filter type is exercised."""
    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    height, width, channels = pixels.shape
    color = 3 if palette is not None else _COLOR_TYPES[channels]
    if depth == 16:
        rows = pixels.astype(">u2").reshape(height, -1).view(np.uint8)
    elif depth == 8:
        rows = pixels.astype(np.uint8).reshape(height, -1)
    else:   # 1, 2 or 4 bits per sample, one channel, packed most significant bits first
        per_byte = 8 // depth
        padded = np.zeros((height, -(-width // per_byte) * per_byte), np.uint8)
        padded[:, :width] = pixels[:, :, 0]
        groups = padded.reshape(height, -1, per_byte)
        shifts = np.arange(8 - depth, -1, -depth)
        rows = (groups << shifts).sum(axis=2).astype(np.uint8)
    bpp = max(1, channels * depth // 8)
    if interlace:
        raw = _adam7(pixels, depth)
    else:
        raw, above = bytearray(), np.zeros(rows.shape[1], np.uint8)
        for y in range(height):
            kind = filters[y % len(filters)]
            raw.append(kind)
            raw += _filter_row(kind, rows[y], above, bpp).tobytes()
            above = rows[y]
    header = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace)
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
    if palette is not None:
        data += _chunk(b"PLTE", np.asarray(palette, np.uint8).tobytes())
    compressed = zlib.compress(bytes(raw))
    half = len(compressed) // 2   # two IDAT chunks: decoders must join them
    data += _chunk(b"IDAT", compressed[:half]) + _chunk(b"IDAT", compressed[half:])
    return data + _chunk(b"IEND", b"")


def encode_bmp(rgb, bits=24, top_down=False) -> bytes:
    """rgb: (H, W, 3) uint8. bits 24 or 32 (BGRX), or 8 (gray palette, rgb must be gray)."""
    rgb = np.asarray(rgb, np.uint8)
    height, width, _ = rgb.shape
    if bits == 8:
        table = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 4, axis=1)
        table[:, 3] = 0
        body = rgb[:, :, 0]
        extra = table.tobytes()
    else:
        body = rgb[:, :, ::-1]
        if bits == 32:
            body = np.concatenate([body, np.zeros((height, width, 1), np.uint8)], axis=2)
        body = body.reshape(height, -1)
        extra = b""
    stride = (width * bits + 31) // 32 * 4
    rows = np.zeros((height, stride), np.uint8)
    rows[:, :body.shape[1]] = body
    if not top_down:
        rows = rows[::-1]
    offset = 14 + 40 + len(extra)
    info = struct.pack("<IiiHHIIiiII", 40, width, -height if top_down else height, 1, bits, 0,
                       rows.size, 2835, 2835, 256 if bits == 8 else 0, 0)
    header = b"BM" + struct.pack("<IHHI", offset + rows.size, 0, 0, offset)
    return header + info + extra + rows.tobytes()


def encode_pnm(pixels, maxval=255, binary=True) -> bytes:
    """(H, W) -> PGM, (H, W, 3) -> PPM; with a comment line in the header."""
    pixels = np.asarray(pixels)
    channels = 1 if pixels.ndim == 2 else 3
    magic = {(1, True): b"P5", (3, True): b"P6", (1, False): b"P2", (3, False): b"P3"}[
        (channels, binary)]
    height, width = pixels.shape[:2]
    header = magic + b"\n# written by a test\n" + f"{width} {height}\n{maxval}\n".encode()
    if not binary:
        return header + " ".join(str(int(v)) for v in pixels.reshape(-1)).encode() + b"\n"
    dtype = ">u2" if maxval > 255 else np.uint8
    return header + pixels.astype(dtype).tobytes()


@pytest.fixture
def png_bytes():
    return encode_png


@pytest.fixture
def bmp_bytes():
    return encode_bmp


@pytest.fixture
def pnm_bytes():
    return encode_pnm
