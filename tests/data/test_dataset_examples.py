"""The example projects on downloadable datasets: shipped as generated, valid models of the data's
shape, and a clear refusal (what to run) when their data is not in the cache."""
import sys
from pathlib import Path

import pytest

from layerforge.data import DataError, DataSource
from layerforge.graph import infer_shapes
from layerforge.training import example_project_path, example_projects, load_project
from layerforge.training.download_examples import DOWNLOAD_EXAMPLES


@pytest.mark.parametrize("name", sorted(DOWNLOAD_EXAMPLES))
def test_shipped_dataset_examples_match_their_definition(name, tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERFORGE_DATA_CACHE", str(tmp_path))   # nothing cached
    assert name in example_projects()
    shipped, weights = load_project(example_project_path(name))
    fresh = DOWNLOAD_EXAMPLES[name]()
    assert weights is None and not shipped.warnings
    assert shipped.spec == fresh.spec and shipped.settings == fresh.settings
    assert shipped.data_source == fresh.data_source and shipped.data_source["kind"] == "download"
    report = infer_shapes(shipped.spec)
    assert report.ok and report.output_shape == (10,)
    with pytest.raises(DataError, match=r"not downloaded yet: .*layerforge datasets download"):
        DataSource.from_dict(shipped.data_source).load()


def test_training_an_example_without_its_data_says_what_to_run(capsys, tmp_path, monkeypatch):
    from cli_support import run

    monkeypatch.setenv("LAYERFORGE_DATA_CACHE", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "train", "mnist_mlp", "--epochs", "1")
    assert code == 1 and "MNIST is not downloaded yet" in err and "layerforge datasets download mnist" in err


def test_mnist_examples_learn_generated_idx_data_of_mnists_shape(tmp_path, monkeypatch):
    """A sanity bar without the internet: IDX files of MNIST's shape and format (a class shows in
    where a bright patch sits) in the cache; both MNIST examples learn them within two epochs."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import dataset_server as ds
    from layerforge.training import Trainer

    monkeypatch.setenv("LAYERFORGE_DATA_CACHE", str(tmp_path))
    files = ds.mnist_files(n_train=1200, n_test=200, seed=3)
    ds.register_test_dataset(monkeypatch, "mnist", files, ["http://127.0.0.1:9/"], n_train=1200, n_test=200)
    (tmp_path / "mnist").mkdir()
    for name, data in files.items():
        (tmp_path / "mnist" / name).write_bytes(data)
    for name in ("mnist_mlp", "mnist_lenet"):
        project, _ = load_project(example_project_path(name))
        dataset = DataSource.from_dict(project.data_source).load()
        assert dataset.x.shape == (1400, 1, 28, 28) and dataset.held_out == 200   # validated on the test part
        settings = project.settings.replace(epochs=2, device="cpu", snapshot_every=0)
        result = Trainer(project.spec, dataset, settings, health=False).run()
        assert result.ok and result.final["val"]["accuracy"] >= 0.9, (name, result.final)
