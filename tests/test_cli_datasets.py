"""``layerforge datasets`` and ``layerforge datasets download|import``, against a local server."""
import pytest

import dataset_server as ds
from cli_support import run
from layerforge.data import list_datasets


@pytest.fixture
def served(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERFORGE_DATA_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LAYERFORGE_DATASET_MIRROR", raising=False)
    files = ds.mnist_files()
    server = ds.DatasetServer({f"/lab/mnist/{name}": data for name, data in files.items()})
    # the published mirror is dead; the lab's copy is named on the command line
    ds.register_test_dataset(monkeypatch, "mnist", files, ["http://127.0.0.1:9/dead/"], title="MNIST")
    server.source = files
    yield server
    server.close()


def test_datasets_lists_builtins_and_downloadables_with_their_state(capsys, served):
    code, out, _ = run(capsys, "datasets")
    assert code == 0
    assert all(d.name in out for d in list_datasets())
    mnist_line = next(line for line in out.splitlines() if line.startswith("mnist "))
    assert "not cached" in mnist_line
    assert "fashion-mnist" in out and "cifar10" in out


def test_download_with_a_mirror_prints_progress_then_lists_it_cached(capsys, served, tmp_path):
    code, out, err = run(capsys, "datasets", "download", "mnist", "--mirror", served.url + "/lab/{name}/")
    assert code == 0, err
    assert str(tmp_path / "cache" / "mnist") in out
    assert "train-images-idx3-ubyte.gz" in err and "%" in err and "MB" in err
    code, out, _ = run(capsys, "datasets")
    assert "cached" in next(line for line in out.splitlines() if line.startswith("mnist "))
    assert "not cached" not in next(line for line in out.splitlines() if line.startswith("mnist "))
    requests = len(served.requests)
    code, out, _ = run(capsys, "datasets", "download", "mnist")
    assert code == 0 and "already in the cache" in out and len(served.requests) == requests


def test_download_without_network_fails_with_one_clear_line(capsys, served):
    code, out, err = run(capsys, "datasets", "download", "mnist", "-q")
    assert code == 1
    assert err.startswith("layerforge: error: no network: could not reach any mirror for MNIST (tried ")
    assert "--mirror URL" in err


def test_unknown_dataset_names_the_choices(capsys, served):
    code, _, err = run(capsys, "datasets", "download", "imagenet")
    assert code == 1 and "unknown downloadable dataset 'imagenet'" in err and "mnist" in err


def test_import_files_already_downloaded(capsys, served, tmp_path):
    paths = []
    for name, data in served.source.items():
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(str(path))
    code, out, err = run(capsys, "datasets", "import", "mnist", *paths[:2])
    assert code == 0 and "still needs: t10k-images-idx3-ubyte.gz" in out
    code, out, err = run(capsys, "datasets", "import", "mnist", *paths[2:])
    assert code == 0 and "still needs" not in out
    assert served.requests == []


def test_a_cache_folder_that_cannot_be_made_says_what_to_do(capsys, served, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LAYERFORGE_DATA_CACHE", str(blocker / "cache"))
    code, _, err = run(capsys, "datasets", "download", "mnist", "--mirror", served.url + "/lab/{name}/")
    assert code == 1 and "cannot create the dataset cache folder" in err and "LAYERFORGE_DATA_CACHE" in err
