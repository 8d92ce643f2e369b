"""Downloading datasets into the cache, against a local HTTP server: success, a wrong checksum,
a dropped connection resumed with Range, a dead first mirror, a cancelled slow server, the cache
reused, and loading what was cached."""
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import dataset_server as ds  # noqa: E402

from layerforge.data import DataError, DataSource, split_indices  # noqa: E402
from layerforge.data.dataset_cache import cache_root, platform_cache_root, set_cache_root  # noqa: E402
from layerforge.data.downloads import ChecksumError, DownloadCancelled, DownloadError  # noqa: E402
from layerforge.data import remote_datasets as remote_datasets_module  # noqa: E402
from layerforge.data.remote_datasets import (download, import_files, is_cached, load_remote,  # noqa: E402
                                             remote_datasets)


cache = ds.cache   # a fresh dataset cache folder per test


@pytest.fixture
def server():
    files = ds.mnist_files()
    srv = ds.DatasetServer({f"/a/{name}": data for name, data in files.items()}
                           | {f"/b/{name}": data for name, data in files.items()})
    srv.source = files
    yield srv
    srv.close()


def _register(monkeypatch, server, mirrors=("/a/",), **kw):
    return ds.register_test_dataset(monkeypatch, "mnist", server.source,
                                    [server.url + m for m in mirrors], **kw)


def test_download_checks_and_caches_then_loads(cache, server, monkeypatch):
    _register(monkeypatch, server)
    seen = []
    folder = download("mnist", progress=seen.append)
    for name, data in server.source.items():
        assert (folder / name).read_bytes() == data
    assert not list(folder.glob("*.part"))
    assert seen[-1].done == seen[-1].total == sum(map(len, server.source.values()))
    assert is_cached("mnist")
    dataset = DataSource.from_dict({"kind": "download", "name": "mnist", "subset": "train"}).load()
    (train_x, train_y), (test_x, test_y) = ds.mnist_like()
    assert dataset.x.shape == (60, 1, 28, 28) and dataset.x.dtype == np.float32
    np.testing.assert_allclose(dataset.x[:, 0], train_x / 255, atol=1e-6)
    np.testing.assert_array_equal(dataset.y, train_y)
    assert len(load_remote("mnist", "test")) == 20 and dataset.held_out == 0
    # By default both parts, the official test part held out: validation is exactly those images.
    both = DataSource.from_dict({"kind": "download", "name": "mnist"}).load()
    assert len(both) == 80 and both.held_out == 20
    train, val, test = split_indices(both, val_fraction=0.3, test_fraction=0.1, seed=1)
    np.testing.assert_array_equal(val, np.arange(60, 80))
    np.testing.assert_array_equal(both.y[val], test_y)
    assert len(test) == 6 and len(train) == 54 and not set(test) & set(train) and max(test) < 60


def test_second_request_uses_the_cache(cache, server, monkeypatch):
    _register(monkeypatch, server)
    download("mnist")
    count = len(server.requests)
    notes = []
    download("mnist", progress=lambda p: notes.append(p.note))
    assert len(server.requests) == count == 4
    assert notes == ["cached"]


def test_wrong_checksum_is_refused_and_nothing_is_kept(cache, server, monkeypatch):
    _register(monkeypatch, server, checksums={"train-labels-idx1-ubyte.gz": "0" * 64})
    with pytest.raises(ChecksumError, match="train-labels-idx1-ubyte.gz did not match its published checksum"):
        download("mnist")
    folder = cache / "mnist"
    assert not (folder / "train-labels-idx1-ubyte.gz").exists()
    assert not list(folder.glob("*.part"))
    assert not is_cached("mnist")
    with pytest.raises(DataError, match="not downloaded yet"):
        load_remote("mnist")


def test_dropped_connection_resumes_with_range(cache, server, monkeypatch):
    _register(monkeypatch, server)
    path = "/a/train-images-idx3-ubyte.gz"
    server.behaviour[path] = "drop"
    folder = download("mnist")
    assert (folder / "train-images-idx3-ubyte.gz").read_bytes() == server.source["train-images-idx3-ubyte.gz"]
    ranges = [r for p, r in server.requests if p == path]
    half = len(server.source["train-images-idx3-ubyte.gz"]) // 2
    assert ranges == [None, f"bytes={half}-"]


def test_server_that_ignores_range_gets_a_clean_restart(cache, server, monkeypatch):
    _register(monkeypatch, server)
    name = "train-images-idx3-ubyte.gz"
    (cache / "mnist").mkdir(parents=True)
    (cache / "mnist" / (name + ".part")).write_bytes(b"garbage from another file")
    server.behaviour[f"/a/{name}"] = "ignore_range"
    folder = download("mnist")
    assert (folder / name).read_bytes() == server.source[name]


def test_bad_partial_file_is_fetched_again_whole(cache, server, monkeypatch):
    _register(monkeypatch, server)
    name = "train-images-idx3-ubyte.gz"
    (cache / "mnist").mkdir(parents=True)
    (cache / "mnist" / (name + ".part")).write_bytes(b"\xff" * 100)   # wrong bytes, resumed onto
    folder = download("mnist")
    assert (folder / name).read_bytes() == server.source[name]
    ranges = [r for p, r in server.requests if p == f"/a/{name}"]
    assert ranges == ["bytes=100-", None]


def test_404_on_the_first_mirror_falls_back_to_the_second(cache, server, monkeypatch):
    _register(monkeypatch, server, mirrors=("/a/", "/b/"))
    for name in server.source:
        server.behaviour[f"/a/{name}"] = "404"
    download("mnist")
    assert is_cached("mnist")
    assert {p.split("/")[1] for p, _ in server.requests} == {"a", "b"}


def test_mirror_override_is_tried_first(cache, server, monkeypatch):
    _register(monkeypatch, server, mirrors=("/a/",))
    monkeypatch.setenv("LAYERFORGE_DATASET_MIRROR", server.url + "/b/")
    download("mnist")
    assert all(p.startswith("/b/") for p, _ in server.requests)


def test_slow_server_is_cancelled(cache, server, monkeypatch):
    _register(monkeypatch, server)
    for name in server.source:
        server.behaviour[f"/a/{name}"] = "slow"
    cancel = threading.Event()

    def progress(p):
        if p.file_done:
            cancel.set()

    with pytest.raises(DownloadCancelled):
        download("mnist", progress=progress, cancel=cancel)
    assert not is_cached("mnist")
    assert not (cache / "mnist" / "train-images-idx3-ubyte.gz").exists()


def test_no_network_says_so_and_names_the_mirrors(cache, monkeypatch):
    files = ds.mnist_files()
    ds.register_test_dataset(monkeypatch, "mnist", files, ["http://127.0.0.1:9/x/"], title="MNIST")
    with pytest.raises(DownloadError, match=r"no network: could not reach any mirror for MNIST \(tried "
                                            r"http://127.0.0.1:9/x/train-images"):
        download("mnist", timeout=2)


def test_import_from_file_matches_by_checksum(cache, server, monkeypatch, tmp_path):
    _register(monkeypatch, server)
    paths = []
    for name, data in server.source.items():
        path = tmp_path / ("copy-of-" + name)
        path.write_bytes(data)
        paths.append(path)
    assert sorted(import_files("mnist", paths)) == sorted(server.source)
    assert is_cached("mnist") and server.requests == []
    stranger = tmp_path / "other.gz"
    stranger.write_bytes(b"not mnist")
    with pytest.raises(DataError, match="not one of the published MNIST files"):
        import_files("mnist", [stranger])


def test_cifar_binary_download_and_python_archive_import(cache, monkeypatch, tmp_path):
    batches = ds.cifar_arrays()
    binary = ds.cifar_binary_tar(batches)
    srv = ds.DatasetServer({"/c/cifar-10-binary.tar.gz": binary})
    try:
        ds.register_test_dataset(monkeypatch, "cifar10", {"cifar-10-binary.tar.gz": binary},
                                 [srv.url + "/c/"], layout="cifar10", input_shape=(3, 32, 32))
        download("cifar10")
        data = load_remote("cifar10", "test")
    finally:
        srv.close()
    assert data.x.shape == (4, 3, 32, 32) and data.class_names[0] == "airplane"
    np.testing.assert_allclose(data.x, batches[5][0] / 255, atol=1e-6)



def test_cifar_python_archive_imported_in_place_of_the_binary_one(cache, monkeypatch, tmp_path):
    from dataclasses import replace

    from layerforge.data.downloads import RemoteFile
    batches = ds.cifar_arrays()
    binary, python = ds.cifar_binary_tar(batches), ds.cifar_python_tar(batches)
    info = ds.register_test_dataset(monkeypatch, "cifar10", {"cifar-10-binary.tar.gz": binary},
                                    ["http://127.0.0.1:9/"], layout="cifar10", input_shape=(3, 32, 32))
    monkeypatch.setitem(remote_datasets_module._BY_NAME, "cifar10", replace(info, stand_ins=(
        RemoteFile("cifar-10-python.tar.gz", None, sha256=ds.sha256(python)),)))
    archive = tmp_path / "downloaded-earlier.tar.gz"
    archive.write_bytes(python)
    assert import_files("cifar10", [archive]) == ["cifar-10-python.tar.gz"]
    assert is_cached("cifar10")
    data = load_remote("cifar10", "all")
    assert data.x.shape == (24, 3, 32, 32)
    np.testing.assert_allclose(data.x[:4], batches[0][0] / 255, atol=1e-6)


def test_cache_folder_follows_the_platform_and_the_app(monkeypatch, tmp_path):
    monkeypatch.delenv("LAYERFORGE_DATA_CACHE", raising=False)
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert platform_cache_root() == tmp_path / "xdg" / "layerforge" / "datasets"
    set_cache_root(tmp_path / "qt")
    try:
        assert cache_root() == tmp_path / "qt" / "datasets"
        monkeypatch.setenv("LAYERFORGE_DATA_CACHE", str(tmp_path / "env"))
        assert cache_root() == tmp_path / "env"
    finally:
        set_cache_root(None)


def test_catalog_records_a_checksum_for_every_file():
    names = [d.name for d in remote_datasets()]
    assert {"mnist", "fashion-mnist", "cifar10"} <= set(names)
    for info in remote_datasets():
        for remote in info.files:
            digest = remote.sha256 or remote.md5
            assert digest and len(digest) == (64 if remote.sha256 else 32), (info.name, remote.name)
        assert info.mirrors and all(m.startswith(("http://", "https://")) for m in info.mirrors)


def test_download_source_validates_its_name():
    with pytest.raises(DataError, match="downloadable dataset"):
        DataSource.from_dict({"kind": "download", "name": "imagenet"})
    source = DataSource.from_dict({"kind": "download", "name": "mnist"})
    assert source.to_dict() == {"kind": "download", "name": "mnist", "subset": "all"}
    assert source.describe() == "MNIST (downloaded)"
