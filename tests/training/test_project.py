"""Project files: a lossless round trip, weights beside the JSON, and bad files refused harmlessly."""
import hashlib
import json

import numpy as np
import pytest

from layerforge.data import DataSource
from layerforge.graph import get_template
from layerforge.training import ProjectError, Trainer, TrainingSettings
from layerforge.training.examples import EXAMPLES, spec_for_dataset
from layerforge.training.project import (Project, example_project_path, example_projects, load_project,
                                         save_project, weights_path_for)


@pytest.fixture(scope="module")
def trained(spiral):
    template = get_template("mlp_classifier")
    settings = TrainingSettings.from_template(template, epochs=2, device="cpu", snapshot_every=0)
    trainer = Trainer(spec_for_dataset(template, spiral), spiral, settings)
    trainer.run()
    project = Project("spiral run", trainer.spec, DataSource.builtin("spiral").to_dict(), settings,
                      history=trainer.history, normalization=trainer.normalization, data_info=trainer.data_info)
    return project, trainer.state_dict()


def _saved(tmp_path, trained):
    project, weights = trained
    return save_project(project, tmp_path / "run.lfproj", weights)


def test_round_trip_keeps_everything_and_puts_weights_beside_the_project(tmp_path, trained):
    project, weights = trained
    path = _saved(tmp_path, trained)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.lfproj", "run.weights.safetensors"]
    assert weights_path_for(path) == tmp_path / "run.weights.safetensors"
    loaded, loaded_weights = load_project(path)
    assert loaded.spec == project.spec and loaded.settings == project.settings
    assert loaded.data_source == project.data_source and loaded.data_info == project.data_info
    assert loaded.normalization == project.normalization and loaded.name == "spiral run"
    assert loaded.history == project.history
    assert set(loaded_weights) == set(weights)
    assert all(np.array_equal(loaded_weights[k].numpy(), weights[k].numpy()) for k in weights)
    document = json.loads(path.read_text())
    assert (document["format"], document["version"], document["weights"]) == (
        "layerforge-project", 1, "run.weights.safetensors")
    weights_file = tmp_path / "run.weights.safetensors"
    assert document["weights_size"] == weights_file.stat().st_size
    assert document["weights_sha256"] == hashlib.sha256(weights_file.read_bytes()).hexdigest()


def test_weights_fall_back_to_npz_without_safetensors(tmp_path, trained, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "safetensors" else real(name, *a))
    path = _saved(tmp_path, trained)
    assert (tmp_path / "run.weights.npz").is_file() and not (tmp_path / "run.weights.safetensors").exists()
    _, weights = load_project(path)
    assert set(weights) == set(trained[1])


def test_data_paths_inside_the_project_folder_are_stored_relative(tmp_path, trained):
    (tmp_path / "data").mkdir()
    csv = tmp_path / "data" / "points.csv"
    csv.write_text("a,b,label\n0,1,x\n1,0,y\n")
    project = Project("csv", trained[0].spec, {"kind": "csv", "path": str(csv)})
    path = save_project(project, tmp_path / "csv.lfproj")
    assert json.loads(path.read_text())["data"]["path"] == "data/points.csv"


def _write(tmp_path, text: str, name="bad.lfproj"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _refused(path, *words, blamed=None):
    before = path.read_bytes()
    with pytest.raises(ProjectError) as caught:
        load_project(path)
    assert path.read_bytes() == before                  # reading never writes
    message = str(caught.value)
    assert message.startswith(str(blamed or path))
    for word in words:
        assert word in message
    return caught.value


def test_a_truncated_project_names_line_and_column(tmp_path, trained):
    text = _saved(tmp_path, trained).read_text()
    path = _write(tmp_path, text[: len(text) // 2])
    error = _refused(path, "not valid JSON", "truncated")
    assert error.line is not None and error.line > 10 and error.column is not None
    assert f"line {error.line}, column {error.column}" in str(error)


def test_a_project_from_a_newer_version_asks_for_an_update(tmp_path, trained):
    document = json.loads(_saved(tmp_path, trained).read_text())
    document["version"] = 2
    _refused(_write(tmp_path, json.dumps(document)), "newer Layerforge", "version 2", "update Layerforge")


def test_an_unknown_layer_names_the_node_and_its_line(tmp_path, trained):
    text = _saved(tmp_path, trained).read_text().replace('"type": "Tanh"', '"type": "Swish"', 1)
    error = _refused(_write(tmp_path, text), "unknown layer type 'Swish'", "tanh1")
    node_line = next(i for i, line in enumerate(text.splitlines(), 1) if '"id": "n3"' in line)
    assert error.line == node_line


@pytest.mark.parametrize("change, words", [
    (lambda d: d.update(format="something-else"), ["not a Layerforge project"]),
    (lambda d: d["settings"].update(optimizer="lbfgs"), ["training settings", "unknown optimizer 'lbfgs'"]),
    (lambda d: d["data"].update(name="mnist"), ["data source", "unknown built-in dataset 'mnist'"]),
    (lambda d: d.pop("model"), ["no 'model' section"]),
    (lambda d: d.update(weights="../elsewhere.safetensors"), ["'weights' must be the name of a"]),
])
def test_other_bad_contents_are_named(tmp_path, trained, change, words):
    document = json.loads(_saved(tmp_path, trained).read_text())
    change(document)
    _refused(_write(tmp_path, json.dumps(document)), *words)


def test_empty_binary_and_non_object_files_are_refused(tmp_path):
    _refused(_write(tmp_path, "", "empty.lfproj"), "empty")
    _refused(_write(tmp_path, "[1, 2]", "list.lfproj"), "must be a JSON object")
    binary = tmp_path / "binary.lfproj"
    binary.write_bytes(b'{"a": "\xff\xfe"}')
    _refused(binary, "not UTF-8")


def test_weights_that_do_not_fit_the_model_are_refused(tmp_path, trained):
    project, weights = trained
    path = _saved(tmp_path, trained)
    bigger = project.spec.copy()
    bigger.set_param(bigger.node_by_name("fc1").id, "out_features", 32)
    document = json.loads(path.read_text())
    document["model"] = bigger.to_dict()
    _refused(_write(tmp_path, json.dumps(document), "run.lfproj"), "fc1.weight has shape (16, 2)", "(32, 2)",
             blamed=tmp_path / "run.weights.safetensors")


def test_missing_weights_open_the_project_untrained_with_a_warning(tmp_path, trained):
    path = _saved(tmp_path, trained)
    (tmp_path / "run.weights.safetensors").unlink()
    project, weights = load_project(path)
    assert weights is None and "missing" in project.warnings[0]


def test_a_failed_save_leaves_the_existing_file_untouched(tmp_path, trained):
    path = _saved(tmp_path, trained)
    before = path.read_bytes()
    broken = Project("broken", trained[0].spec, trained[0].data_source, history={"loss": [object()]})
    with pytest.raises(ProjectError, match="cannot save"):
        save_project(broken, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.lfproj", "run.weights.safetensors"]  # no temp files


def test_shipped_examples_load_and_are_ready_to_train():
    from layerforge.training.download_examples import DOWNLOAD_EXAMPLES
    assert set(example_projects()) == {example.name for example in EXAMPLES} | set(DOWNLOAD_EXAMPLES)
    for name in example_projects():
        project, weights = load_project(example_project_path(name))
        assert weights is None and not project.warnings
        if project.data_source.get("kind") == "download":
            continue   # its data is fetched on request: tests/data/test_dataset_examples.py covers these
        dataset = project.load_dataset()
        Trainer(project.spec, dataset, project.settings.replace(device="cpu"))   # fits: no TrainingError
    with pytest.raises(ProjectError, match="no example project named 'nope'.*spiral"):
        example_project_path("nope")


def test_training_and_the_cli_load_neither_qt_nor_torch():
    import subprocess
    import sys

    code = ("import sys, layerforge.training, layerforge.training.project, layerforge.training.inference, "
            "layerforge.cli; bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'torch')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_shipped_examples_match_their_templates():
    """Regenerate with `python -m layerforge.training.examples resources/examples` when this fails."""
    from layerforge.training.examples import build_example

    for example in EXAMPLES:
        shipped, _ = load_project(example_project_path(example.name))
        fresh = build_example(example)
        assert shipped.spec == fresh.spec, example.name
        assert shipped.settings == fresh.settings and shipped.data_source == fresh.data_source, example.name


def test_a_json_error_reads_as_a_sentence_with_its_place_first(tmp_path):
    # json says "Unterminated string starting at" and expects a position after it; ours comes first.
    path = _write(tmp_path, '{"format": "layerforge-project", "name": "half')
    message = str(_refused(path, "not valid JSON: Unterminated string"))
    assert "line 1, column 42" in message and message.endswith("Unterminated string")
