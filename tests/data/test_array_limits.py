"""Hostile .npz / .npy files: labels that would mean a billion classes, headers that declare more
than the file holds, no samples, complex numbers, and paths that are not regular files."""
import io
import os
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

from layerforge.data import ArrayDataset, DataError, read_arrays, read_inputs
from layerforge.data import npy_files
from deadline import call_with_deadline


def test_a_label_of_a_billion_is_refused_before_building_classes(tmp_path):
    path = tmp_path / "sparse.npz"
    np.savez(path, x=np.zeros((3, 2)), y=np.array([0, 1, 1_000_000_000]))
    error = call_with_deadline(read_arrays, path)["error"]
    assert isinstance(error, DataError)
    assert (f"{path}, array 'y': the largest label is 1,000,000,000, which means 1,000,000,001 "
            "classes, more than the 3 samples") in str(error)
    assert "relabel" in str(error) and "np.unique(y, return_inverse=True)" in str(error)


def test_more_classes_than_samples_is_refused_unless_the_file_names_them(tmp_path):
    np.savez(tmp_path / "gaps.npz", x=np.zeros((4, 2)), y=np.array([0, 1, 7, 1]))
    with pytest.raises(DataError, match="largest label is 7, which means 8 classes, more than "
                                        "the 4 samples"):
        read_arrays(tmp_path / "gaps.npz")
    names = np.array([f"c{i}" for i in range(8)])
    np.savez(tmp_path / "named.npz", x=np.zeros((4, 2)), y=np.array([0, 1, 7, 1]), class_names=names)
    assert read_arrays(tmp_path / "named.npz").output_dim == 8


def test_a_dataset_cannot_be_built_with_a_billion_classes():
    error = call_with_deadline(ArrayDataset, "d", "classification", np.zeros((2, 1)),
                    np.array([0, 10 ** 9]))["error"]
    assert isinstance(error, DataError) and "largest class index is 1,000,000,000" in str(error)


def test_fractional_labels_for_classification_name_the_value(tmp_path):
    np.savez(tmp_path / "f.npz", x=np.zeros((3, 1)), y=np.array([0.0, 1.0, 2.5]))
    with pytest.raises(DataError, match=r"f\.npz, array 'y': targets hold 2\.5 at index 2, not a "
                                        "whole number"):
        read_arrays(tmp_path / "f.npz", task="classification")
    assert read_arrays(tmp_path / "f.npz").task == "regression"   # detected, not refused


def test_an_npz_without_samples_says_so(tmp_path):
    path = tmp_path / "empty.npz"
    np.savez(path, x=np.zeros((0, 2)), y=np.zeros(0, int))
    with pytest.raises(DataError, match=r"empty\.npz, array 'x': has no samples \(inputs of shape "
                                        r"\(0, 2\)\)"):
        read_arrays(path)
    np.save(tmp_path / "none.npy", np.zeros((0, 2)))
    with pytest.raises(DataError, match="none.npy: has no samples to predict on"):
        read_inputs(tmp_path / "none.npy")


@pytest.mark.parametrize("key", ["x", "y"])
def test_complex_numbers_are_refused_not_truncated(tmp_path, key):
    arrays = {"x": np.ones((4, 2)), "y": np.array([0.5, 1.0, 1.5, 2.0])}
    arrays[key] = arrays[key] * (1 + 2j)
    np.savez(tmp_path / "c.npz", **arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # numpy's ComplexWarning would fail the test
        with pytest.raises(DataError, match=f"c.npz, array '{key}': .* are complex numbers "
                                            r"\(complex128\)"):
            read_arrays(tmp_path / "c.npz")


def test_values_beyond_float32_are_refused_with_their_place(tmp_path):
    np.savez(tmp_path / "big.npz", x=np.array([[1.0, 2.0], [1e300, 0.0]]), y=np.array([0.0, 1.0]))
    with pytest.raises(DataError, match=r"big\.npz, array 'x': inputs hold 1 value\(s\) beyond "
                                        r"float32's range .* at index \(1, 0\)"):
        read_arrays(tmp_path / "big.npz")


def _npy_header(shape, descr="<f8") -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header


def test_a_npy_declaring_a_trillion_values_is_refused_before_allocating(tmp_path):
    path = tmp_path / "liar.npy"
    path.write_bytes(_npy_header((10 ** 6, 10 ** 6)) + bytes(64))
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"liar\.npy: declares 1,000,000,000,000 values "
                                            r"\(shape 1000000x1000000\)"):
            read_inputs(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024 ** 2


def test_a_header_declaring_more_than_the_file_holds_is_refused(tmp_path):
    path = tmp_path / "short.npy"
    path.write_bytes(_npy_header((1000, 1000)) + bytes(800))   # 8 MB declared, 800 bytes held
    with pytest.raises(DataError, match=r"short\.npy: declares an array of shape 1000x1000 "
                                        r"\(7\.6 MiB\), but only 800 bytes of data follow"):
        read_inputs(path)
    archive = tmp_path / "short.npz"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.npy", _npy_header((1000, 1000)) + bytes(800))
        zf.writestr("y.npy", _npy_header((1000,), "<i8") + bytes(8000))
    with pytest.raises(DataError, match=r"short\.npz, array 'x': declares an array of shape"):
        read_arrays(archive)


def test_an_npz_that_unpacks_past_the_cap_is_refused_before_unpacking(tmp_path, monkeypatch):
    path = tmp_path / "zeros.npz"
    np.savez_compressed(path, x=np.zeros((1000, 100)), y=np.zeros(1000, int))   # 800 KB unpacked
    assert path.stat().st_size < 20_000
    monkeypatch.setattr(npy_files, "MAX_DECODED_BYTES", 100_000)
    with pytest.raises(DataError, match=r"zeros\.npz: its arrays need 781\.2 KiB or more once "
                                        "unpacked, more than the 97.7 KiB Layerforge reads"):
        read_arrays(path)


def test_an_npz_holding_other_files_is_refused(tmp_path):
    path = tmp_path / "mixed.npz"
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((2, 2)))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("x.npy", buffer.getvalue())
        zf.writestr("notes.txt", "hello")
    with pytest.raises(DataError, match=r"mixed\.npz: holds 'notes\.txt', which is not a \.npy array"):
        read_arrays(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@pytest.mark.parametrize("reader", [read_arrays, read_inputs])
def test_a_named_pipe_is_refused_at_once(tmp_path, reader):
    pipe = tmp_path / "data.npz"
    os.mkfifo(pipe)
    error = call_with_deadline(reader, pipe)["error"]
    assert isinstance(error, DataError)
    assert str(error) == f"{pipe}: is a named pipe (FIFO), not an array file; choose a regular file"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_is_refused_at_once(tmp_path):
    link = tmp_path / "zero.npy"
    link.symlink_to("/dev/zero")
    error = call_with_deadline(read_inputs, link)["error"]
    assert isinstance(error, DataError) and "zero.npy: is a character device" in str(error)
    np.save(tmp_path / "x.npy", np.zeros((2, 2)))
    error = call_with_deadline(read_arrays, tmp_path / "x.npy", "/dev/zero")["error"]
    assert isinstance(error, DataError) and "/dev/zero: is a character device" in str(error)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_shipped_dataset_replaced_by_a_pipe_is_refused_at_once(tmp_path, monkeypatch):
    from layerforge.data import builtin, load_dataset

    (tmp_path / "datasets").mkdir()
    os.mkfifo(tmp_path / "datasets" / "iris.npz")
    monkeypatch.setattr(builtin.resources, "files", lambda package: tmp_path)
    error = call_with_deadline(load_dataset, "iris")["error"]
    assert isinstance(error, DataError)
    assert "resources/datasets/iris.npz cannot be read" in str(error)
    assert "is a named pipe (FIFO)" in str(error) and "reinstall Layerforge" in str(error)
