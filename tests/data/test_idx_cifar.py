"""The IDX and CIFAR-10 readers, on files in the real formats and on hostile ones."""
import gzip
import io
import os
import pickle
import struct
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import dataset_server as ds  # noqa: E402

from layerforge.data import DataError, DataSource  # noqa: E402
from layerforge.data.cifar import read_cifar10_archive  # noqa: E402
from layerforge.data.idx import read_idx, write_idx  # noqa: E402
from layerforge.data.safe_pickle import read_plain_pickle  # noqa: E402


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("code,dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16),
                                        (0x0C, np.int32), (0x0D, np.float32), (0x0E, np.float64)])
@pytest.mark.parametrize("compressed", [False, True])
def test_idx_every_type_raw_and_gzipped(tmp_path, code, dtype, compressed):
    values = (np.arange(2 * 3 * 5) - 7).astype(dtype).reshape(2, 3, 5)
    data = ds.idx_bytes(values, code)
    path = _write(tmp_path, "v.idx.gz" if compressed else "v.idx", gzip.compress(data) if compressed else data)
    got = read_idx(path)
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, values)
    assert write_idx(values) == data


def test_idx_dims_larger_than_the_file_are_refused_before_allocating(tmp_path):
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 60000, 28, 28)
    raw = _write(tmp_path, "short.idx", header + b"\0" * 100)
    with pytest.raises(DataError, match=r"declares 60000 x 28 x 28 values .* holds 100 bytes"):
        read_idx(raw)
    packed = _write(tmp_path, "short.idx.gz", gzip.compress(header + b"\0" * 100))
    with pytest.raises(DataError, match="of uncompressed data"):
        read_idx(packed)
    huge = bytes([0, 0, 0x0E, 4]) + struct.pack(">4I", 2**31, 2**31, 2**31, 2**31)
    with pytest.raises(DataError, match="more than the 1.0 GiB"):
        read_idx(_write(tmp_path, "huge.idx", huge))


def test_idx_bad_magic_type_and_extra_bytes(tmp_path):
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(_write(tmp_path, "a", b"PK\x03\x04" + b"\0" * 20))
    with pytest.raises(DataError, match="unknown IDX value type 0x07"):
        read_idx(_write(tmp_path, "b", bytes([0, 0, 7, 1, 0, 0, 0, 1, 5])))
    with pytest.raises(DataError, match="declares 0 dimensions"):
        read_idx(_write(tmp_path, "c", bytes([0, 0, 8, 0])))
    with pytest.raises(DataError, match="bytes follow"):
        read_idx(_write(tmp_path, "d", ds.idx_bytes(np.zeros(3, np.uint8)) + b"xx"))
    with pytest.raises(DataError, match="ends inside the IDX"):
        read_idx(_write(tmp_path, "e", bytes([0, 0, 8])))
    packed = bytearray(gzip.compress(ds.idx_bytes(np.random.default_rng(0).integers(0, 255, 5000, np.uint8))))
    packed[40:60] = b"\xff" * 20   # the stream damaged, the trailer intact
    with pytest.raises(DataError, match="gzip data is damaged"):
        read_idx(_write(tmp_path, "f.gz", bytes(packed)))


def test_idx_refuses_a_folder_and_a_fifo(tmp_path):
    with pytest.raises(DataError, match="is a folder"):
        read_idx(tmp_path)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe"
        os.mkfifo(fifo)
        with pytest.raises(DataError, match="named pipe"):
            read_idx(fifo)


def test_idx_data_source_makes_an_image_dataset(tmp_path):
    files = ds.mnist_files()
    for name, data in files.items():
        _write(tmp_path, name, data)
    source = DataSource.from_dict({"kind": "idx", "path": "train-images-idx3-ubyte.gz",
                                   "targets_path": "train-labels-idx1-ubyte.gz"})
    dataset = source.load(tmp_path)
    assert dataset.kind == "images" and dataset.x.shape == (60, 1, 28, 28) and dataset.output_dim == 10
    assert dataset.x.max() <= 1.0
    with pytest.raises(DataError, match="one label per image"):
        DataSource.from_dict({"kind": "idx", "path": "train-images-idx3-ubyte.gz",
                              "targets_path": "t10k-labels-idx1-ubyte.gz"}).load(tmp_path)


@pytest.mark.parametrize("maker", [ds.cifar_binary_tar, ds.cifar_python_tar], ids=["binary", "python"])
def test_cifar_archives_both_formats(tmp_path, maker):
    batches = ds.cifar_arrays(per_batch=3)
    splits = read_cifar10_archive(_write(tmp_path, "c.tar.gz", maker(batches)))
    assert splits.train_x.shape == (15, 3, 32, 32) and splits.test_x.shape == (3, 3, 32, 32)
    np.testing.assert_array_equal(splits.train_x[3:6], batches[1][0])
    np.testing.assert_array_equal(splits.test_y, batches[5][1])
    assert splits.class_names[-1] == "truck"


def _tar(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.SYMTYPE
                info.linkname = "/etc/passwd"
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_cifar_hostile_archives(tmp_path):
    with pytest.raises(DataError, match="lacks data_batch_2"):
        read_cifar10_archive(_write(tmp_path, "a.tar.gz", _tar({"x/data_batch_1.bin": b"\0" * 3073})))
    members = {f"x/{n}.bin": b"\0" * 3073 for n in ds.BATCH_NAMES}
    members["x/test_batch.bin"] = b"\0" * 3000
    with pytest.raises(DataError, match="not a whole number of 3073-byte"):
        read_cifar10_archive(_write(tmp_path, "b.tar.gz", _tar(members)))
    members["x/test_batch.bin"] = None   # a symlink where a batch should be
    with pytest.raises(DataError, match="not a regular file inside the archive"):
        read_cifar10_archive(_write(tmp_path, "c.tar.gz", _tar(members)))
    with pytest.raises(DataError, match="not a readable .tar.gz"):
        read_cifar10_archive(_write(tmp_path, "d.tar.gz", b"\x1f\x8b garbage"))
    members = {f"x/{n}.bin": bytes([11]) + b"\0" * 3072 for n in ds.BATCH_NAMES}
    with pytest.raises(DataError, match=r"label lies outside 0..9"):
        read_cifar10_archive(_write(tmp_path, "e.tar.gz", _tar(members)))


class _Runs:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def test_python_batches_never_run_a_pickle(tmp_path):
    evil = pickle.dumps({b"data": _Runs(), b"labels": [0]}, protocol=2)
    members = {f"x/{n}": evil for n in ds.BATCH_NAMES}
    with pytest.raises(DataError, match="names the global (posix|nt).system"):
        read_cifar10_archive(_write(tmp_path, "evil.tar.gz", _tar(members)))
    with pytest.raises(DataError, match="an array of shape"):
        # an array whose shape claims more bytes than it carries
        read_plain_pickle(pickle.dumps(np.zeros(4, np.uint8), protocol=2).replace(b"K\x04", b"M\x00\x10", 1), "x")
    assert read_plain_pickle(pickle.dumps({"k": [1, (2.5, None)], "b": b"\x00\xff"}, protocol=4), "x") == \
        {"k": [1, (2.5, None)], "b": b"\x00\xff"}
