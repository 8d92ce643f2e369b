"""Image decoding (Pillow: PNG, JPEG, BMP, PGM/PPM, ...), resizing, and importing a folder of class
subfolders."""
import os

import numpy as np
import pytest

from layerforge.data import DataError, decode_image, read_image_folder, resize, to_mode

RNG = np.random.default_rng(0)


def _file(tmp_path, name, data):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_png_8_bit_every_colour_type_and_filter(tmp_path, png_bytes, channels):
    pixels = RNG.integers(0, 256, (9, 7, channels))   # 9 rows: every filter type, some twice
    decoded = decode_image(_file(tmp_path, "a.png", png_bytes(pixels)))
    assert decoded.dtype == np.float32 and decoded.shape == (9, 7, channels)
    np.testing.assert_allclose(decoded * 255, pixels, atol=1e-3)


def test_png_16_bit_and_1_bit_gray(tmp_path, png_bytes):
    deep = RNG.integers(0, 65536, (5, 6))
    decoded = decode_image(_file(tmp_path, "deep.png", png_bytes(deep, depth=16)))
    np.testing.assert_allclose(decoded[:, :, 0] * 65535, deep, atol=0.5)
    bits = RNG.integers(0, 2, (4, 11))   # width not a multiple of 8: rows are padded
    decoded = decode_image(_file(tmp_path, "bits.png", png_bytes(bits, depth=1)))
    np.testing.assert_array_equal(decoded[:, :, 0], bits)


def test_png_palette(tmp_path, png_bytes):
    palette = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8)
    indices = RNG.integers(0, 3, (4, 5))
    decoded = decode_image(_file(tmp_path, "p.png", png_bytes(indices, palette=palette)))
    np.testing.assert_allclose(decoded * 255, palette[indices], atol=1e-3)
    four_bit = decode_image(_file(tmp_path, "p4.png", png_bytes(indices, depth=4, palette=palette)))
    np.testing.assert_array_equal(four_bit, decoded)


def test_interlaced_png(tmp_path, png_bytes):
    pixels = RNG.integers(0, 256, (9, 7, 3))
    decoded = decode_image(_file(tmp_path, "i.png", png_bytes(pixels, interlace=1)))
    np.testing.assert_allclose(decoded * 255, pixels, atol=1e-3)


@pytest.mark.parametrize("damage, expected", [
    (lambda d: d[:len(d) // 2], "truncated"),
    (lambda d: d[:40] + bytes([d[40] ^ 0xFF]) + d[41:], "damaged"),
    (lambda d: b"\x89PNG\r\n\x1a\n" + b"garbage" * 5, "damaged"),
])
def test_damaged_png_is_named(tmp_path, png_bytes, damage, expected):
    path = _file(tmp_path, "broken.png", damage(png_bytes(RNG.integers(0, 256, (8, 8)))))
    with pytest.raises(DataError, match=f"broken.png: .*({expected})"):
        decode_image(path)


@pytest.mark.parametrize("bits", [24, 32])
@pytest.mark.parametrize("top_down", [False, True])
def test_bmp_colour(tmp_path, bmp_bytes, bits, top_down):
    rgb = RNG.integers(0, 256, (5, 3, 3))   # width 3: 24-bit rows need padding
    decoded = decode_image(_file(tmp_path, "c.bmp", bmp_bytes(rgb, bits=bits, top_down=top_down)))
    np.testing.assert_allclose(decoded * 255, rgb, atol=1e-3)


def test_bmp_8_bit_palette(tmp_path, bmp_bytes):
    gray = np.repeat(RNG.integers(0, 256, (6, 5, 1)), 3, axis=2)
    decoded = decode_image(_file(tmp_path, "g.bmp", bmp_bytes(gray, bits=8)))
    np.testing.assert_allclose(to_mode(decoded, "RGB") * 255, gray, atol=1e-3)


def test_truncated_bmp_is_named(tmp_path, bmp_bytes):
    data = bmp_bytes(RNG.integers(0, 256, (8, 8, 3)))
    with pytest.raises(DataError, match="cut.bmp: damaged .*truncated"):
        decode_image(_file(tmp_path, "cut.bmp", data[:-20]))


@pytest.mark.parametrize("binary", [True, False])
def test_pgm_and_ppm(tmp_path, pnm_bytes, binary):
    gray = RNG.integers(0, 256, (4, 6))
    decoded = decode_image(_file(tmp_path, "g.pgm", pnm_bytes(gray, binary=binary)))
    np.testing.assert_allclose(decoded[:, :, 0] * 255, gray, atol=1e-3)
    deep = RNG.integers(0, 1024, (4, 6))   # gray above 8 bits keeps its precision
    decoded = decode_image(_file(tmp_path, "d.pgm", pnm_bytes(deep, maxval=1023, binary=binary)))
    np.testing.assert_allclose(decoded[:, :, 0] * 1023, deep, atol=0.05)
    colour = RNG.integers(0, 1024, (3, 2, 3))   # Pillow reads deep colour as 8 bits per channel
    decoded = decode_image(_file(tmp_path, "c.ppm", pnm_bytes(colour, maxval=1023, binary=binary)))
    np.testing.assert_allclose(decoded * 1023, colour, atol=1023 / 255)


def test_jpeg_is_read_and_turned_upright(tmp_path):
    from PIL import Image

    wide = np.zeros((16, 32, 3), np.uint8)
    wide[:, :16] = 255   # left half white
    path = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6   # the camera was turned: show the picture rotated 90 degrees clockwise
    Image.fromarray(wide).save(path, quality=95, exif=exif)
    decoded = decode_image(path)
    assert decoded.shape == (32, 16, 3)   # portrait, as a photo viewer shows it
    assert decoded[:12].mean() > 0.9 and decoded[20:].mean() < 0.1   # the white half is on top


def test_unreadable_content_says_what_is_readable(tmp_path):
    with pytest.raises(DataError, match=r"photo\.jpg: damaged .*JPEG"):
        decode_image(_file(tmp_path, "photo.jpg", b"\xff\xd8\xff\xe0 not really a jpeg"))
    with pytest.raises(DataError, match=r"notes\.png: not a PNG, JPEG, BMP, GIF, TIFF, WebP or PGM/PPM"):
        decode_image(_file(tmp_path, "notes.png", b"plain text"))


def test_mode_conversion_uses_luma_and_drops_alpha():
    rgba = np.array([[[1.0, 0.0, 0.0, 0.5], [0.0, 1.0, 0.0, 1.0]]], np.float32)
    np.testing.assert_allclose(to_mode(rgba, "L")[0, :, 0], [0.299, 0.587], atol=1e-6)
    assert to_mode(rgba, "RGB").shape == (1, 2, 3)
    assert to_mode(np.zeros((2, 2, 1), np.float32), "RGB").shape == (2, 2, 3)


def test_resize_down_averages_areas_and_up_interpolates():
    image = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
    half = resize(image, (2, 2))
    np.testing.assert_allclose(half[:, :, 0], [[2.5, 4.5], [10.5, 12.5]])   # 2x2 block means
    third = resize(np.ones((7, 5, 3), np.float32), (3, 2))   # uneven ratios keep flat images flat
    np.testing.assert_allclose(third, 1.0, atol=1e-6)
    ramp = np.array([[0.0, 1.0]], np.float32).reshape(1, 2, 1)
    up = resize(ramp, (1, 4))[0, :, 0]
    np.testing.assert_allclose(up, [0.0, 0.25, 0.75, 1.0])
    same = resize(image, (4, 4))   # same size: unchanged
    assert same.dtype == np.float32
    np.testing.assert_array_equal(same, image)


def _make_folder(tmp_path, png_bytes, bmp_bytes):
    root = tmp_path / "shapes"
    for i in range(3):   # bright squares of mixed sizes
        _file(root, f"bright/{i}.png", png_bytes(np.full((8 + 2 * i, 6 + i), 230)))
    _file(root, "dark/a.bmp", bmp_bytes(np.full((10, 10, 3), 20)))
    _file(root, "dark/b.png", png_bytes(np.full((8, 6, 3), 20)))
    _file(root, "dark/notes.txt", b"not an image")
    _file(root, "dark/.hidden.png", b"ignored")
    return root


def test_image_folder_resizes_mixed_sizes(tmp_path, png_bytes, bmp_bytes):
    ds = read_image_folder(_make_folder(tmp_path, png_bytes, bmp_bytes), size=(8, 6), mode="L")
    assert ds.task == "classification" and ds.kind == "images" and ds.name == "shapes"
    assert ds.x.shape == (5, 1, 8, 6) and ds.input_shape == (1, 8, 6)
    assert ds.class_names == ["bright", "dark"]
    assert ds.class_counts() == {"bright": 3, "dark": 2}
    np.testing.assert_allclose(ds.x[ds.y == 0], 230 / 255, atol=1e-5)
    np.testing.assert_allclose(ds.x[ds.y == 1], 20 / 255, atol=1e-5)
    assert any("resized 3 image(s) to 6x8" in note for note in ds.notes)
    notes_file = os.path.join("dark", "notes.txt")
    assert any(f"skipped 1 file(s) that are not images: {notes_file}" in note for note in ds.notes)


def test_image_folder_in_rgb(tmp_path, png_bytes, bmp_bytes):
    ds = read_image_folder(_make_folder(tmp_path, png_bytes, bmp_bytes), size=(4, 4), mode="RGB")
    assert ds.x.shape == (5, 3, 4, 4) and ds.x.dtype == np.float32


def test_corrupt_image_in_folder_names_the_file(tmp_path, png_bytes, bmp_bytes):
    root = _make_folder(tmp_path, png_bytes, bmp_bytes)
    good = png_bytes(np.zeros((4, 4)))
    (root / "dark" / "broken.png").write_bytes(good[:30])
    with pytest.raises(DataError, match=r"dark[/\\]broken\.png: "):
        read_image_folder(root, size=(8, 8))


@pytest.mark.parametrize("setup, expected", [
    (lambda root: None, "does not exist"),
    (lambda root: (root / "only").mkdir(parents=True), "one subfolder per class"),
    (lambda root: [(root / c).mkdir(parents=True) for c in "ab"], "holds no images"),
])
def test_bad_folder_layouts(tmp_path, setup, expected):
    root = tmp_path / "images"
    setup(root)
    with pytest.raises(DataError, match=expected):
        read_image_folder(root)


def test_bad_size_or_mode(tmp_path):
    with pytest.raises(DataError, match="image mode"):
        read_image_folder(tmp_path, mode="CMYK")
    with pytest.raises(DataError, match="between 1 and"):
        read_image_folder(tmp_path, size=(0, 8))
