"""Hostile image files and folders: sizes declared in a header, metadata bombs, paths that are not
regular files, and class folders with folders (and loops) inside."""
import os
import struct
import subprocess
import sys
import tracemalloc
import zlib

import numpy as np
import pytest

from layerforge.data import DataError, decode_image, read_image_folder
from layerforge.data import image_folder
from deadline import call_with_deadline

BIG_MESSAGE = ("big.png: declares 20000x20000 pixels (400 megapixels), more than the 50 megapixels "
               "Layerforge decodes; resize it")


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def declared_png(width: int, height: int, extra_chunks=b"") -> bytes:
    """A valid 8-bit gray PNG of ``width`` x ``height`` zeros: 400 KB for 20000x20000, 400 MB once
    decoded. The pixels are compressed row by row so that writing it takes no memory."""
    compressor = zlib.compressobj(9)
    row = bytes(width + 1)   # filter byte 0, then black pixels
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + extra_chunks + _chunk(b"IDAT", idat)
            + _chunk(b"IEND", b""))


def test_a_png_declaring_400_megapixels_is_refused_before_decoding(tmp_path):
    path = tmp_path / "photos" / "cat" / "big.png"
    path.parent.mkdir(parents=True)
    path.write_bytes(declared_png(20000, 20000))
    assert path.stat().st_size < 1_000_000
    # In a fresh process, so that its peak memory is this decode's alone.
    # The peak is the process's own high-water mark (VmHWM): getrusage's ru_maxrss would carry over
    # the peak of the pytest process that started it, since Linux keeps it across exec.
    script = ("import sys\n"
              "from layerforge.data import DataError, decode_image\n"
              "try:\n"
              "    decode_image(sys.argv[1])\n"
              "except DataError as error:\n"
              "    print(error)\n"
              "status = open('/proc/self/status').read()\n"
              "print(next(line.split()[1] for line in status.splitlines() if line.startswith('VmHWM:')))\n")
    if not os.path.exists("/proc/self/status"):
        pytest.skip("the process's peak memory is read from /proc/self/status (Linux)")
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                            text=True, timeout=120, check=True)
    message, peak_kib = result.stdout.strip().splitlines()
    assert message.endswith(BIG_MESSAGE) and str(path.parent) in message
    assert int(peak_kib) * 1024 < 200 * 1024 ** 2   # the image alone would be 400 MB


def test_a_size_above_the_cap_but_below_pillows_own_is_refused_too(tmp_path):
    path = tmp_path / "wide.png"
    path.write_bytes(declared_png(10000, 5100))   # 51 MP: Pillow alone would decode it
    with pytest.raises(DataError, match=r"wide\.png: declares 10000x5100 pixels \(51\.0 megapixels\)"):
        decode_image(path)


def test_a_text_chunk_that_inflates_to_64_mb_is_not_inflated(tmp_path):
    bomb = zlib.compress(b"a" * (64 * 1024 ** 2), 9)   # 64 KB on disk
    path = tmp_path / "meta.png"
    path.write_bytes(declared_png(4, 4, _chunk(b"zTXt", b"comment\0\0" + bomb)))
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"meta\.png: holds a text chunk .* more than 1 MB"):
            decode_image(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 ** 2


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_an_image_that_is_a_named_pipe_is_refused_at_once(tmp_path):
    pipe = tmp_path / "cat.png"
    os.mkfifo(pipe)
    outcome = call_with_deadline(decode_image, pipe)
    assert isinstance(outcome.get("error"), DataError)
    assert "cat.png: is a named pipe (FIFO), not an image file" in str(outcome["error"])


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_an_image_that_is_a_device_is_refused_at_once(tmp_path):
    link = tmp_path / "zero.png"
    link.symlink_to("/dev/zero")
    outcome = call_with_deadline(decode_image, link)   # reading /dev/zero would never end
    assert isinstance(outcome.get("error"), DataError)
    assert "zero.png: is a character device" in str(outcome["error"])


def _png(path, png_bytes, value, shape=(6, 6)):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(np.full(shape, value)))


def test_images_in_folders_inside_a_class_folder_belong_to_that_class(tmp_path, png_bytes):
    root = tmp_path / "pets"
    _png(root / "cats" / "1.png", png_bytes, 200)
    _png(root / "cats" / "indoor" / "2.png", png_bytes, 200)
    _png(root / "cats" / "indoor" / "sofa" / "3.png", png_bytes, 200)
    _png(root / "dogs" / "park" / "1.png", png_bytes, 10)   # a class with images only below
    ds = read_image_folder(root, size=(6, 6))
    assert ds.class_counts() == {"cats": 3, "dogs": 1}
    np.testing.assert_allclose(ds.x[ds.y == 0], 200 / 255, atol=1e-5)
    nested = [note for note in ds.notes if "from folders inside the class folders" in note]
    assert nested and nested[0].startswith("read 3 image(s)")
    assert os.path.join("cats", "indoor", "2.png") in nested[0]


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges on Windows")
def test_a_link_loop_inside_a_class_folder_is_read_once(tmp_path, png_bytes):
    root = tmp_path / "pets"
    _png(root / "cats" / "1.png", png_bytes, 200)
    _png(root / "dogs" / "1.png", png_bytes, 10)
    (root / "cats" / "again").symlink_to(root / "cats", target_is_directory=True)
    (root / "dogs" / "gone.png").symlink_to(tmp_path / "missing.png")
    outcome = call_with_deadline(read_image_folder, root, (6, 6))
    ds = outcome["value"]
    assert ds.class_counts() == {"cats": 1, "dogs": 1}
    assert any(note.startswith("skipped 1 entry that is not a regular file") and "gone.png" in note
               for note in ds.notes)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_among_the_images_is_skipped_and_noted(tmp_path, png_bytes):
    root = tmp_path / "pets"
    _png(root / "cats" / "1.png", png_bytes, 200)
    _png(root / "dogs" / "1.png", png_bytes, 10)
    os.mkfifo(root / "dogs" / "2.png")
    outcome = call_with_deadline(read_image_folder, root, (6, 6))
    ds = outcome["value"]
    assert len(ds) == 2
    assert any("not a regular file" in note and os.path.join("dogs", "2.png") in note
               for note in ds.notes)


def test_files_outside_the_class_folders_are_noted(tmp_path, png_bytes):
    root = tmp_path / "pets"
    _png(root / "cats" / "1.png", png_bytes, 200)
    _png(root / "dogs" / "1.png", png_bytes, 10)
    _png(root / "stray.png", png_bytes, 99)
    ds = read_image_folder(root, size=(6, 6))
    assert any("ignored 1 file(s) directly in pets, outside any class folder: stray.png" in note
               for note in ds.notes)


def test_a_folder_too_large_for_memory_is_refused_before_decoding(tmp_path, png_bytes, monkeypatch):
    root = tmp_path / "pets"
    for name in ("cats", "dogs"):
        for i in range(3):
            _png(root / name / f"{i}.png", png_bytes, 50)
    monkeypatch.setattr(image_folder, "MAX_DATASET_BYTES", 6 * 3 * 64 * 64 * 4 - 1)
    decoded = []
    monkeypatch.setattr(image_folder, "decode_image", lambda path: decoded.append(path))
    with pytest.raises(DataError, match=r"pets: 6 images of 64x64x3 need .* GiB as float32"):
        read_image_folder(root, size=(64, 64), mode="RGB")
    assert decoded == []
