"""File > Import model..., Qt-free: an ONNX file opens as a new untitled project with its weights, so
Predict, Export and Continue work at once; a refusal (bad file, busy run, unsaved changes) changes nothing."""
import numpy as np
import pytest

from layerforge.export import export_onnx
from layerforge.graph import compile_spec
from layerforge.training import example_project_path, load_project
from layerforge.workspace import FINISHED, SynchronousRunner, UnsavedChanges, Workspace, WorkspaceError
from layerforge.workspace.events import ProjectReplaced, Recorder, Refused
from layerforge.workspace.model_import import ImportedModelRun

pytest.importorskip("onnx", reason="ONNX import needs the onnx package (the 'export' extra)")


def trained_like_weights(spec, seed=0):
    """Weights unlike any fresh initialisation, so a prediction shows which weights were used."""
    rng = np.random.default_rng(seed)
    state = compile_spec(spec).state_dict()
    return {key: (rng.normal(size=tuple(value.shape)) * 0.4).astype(np.float32) if not key.endswith("tracked")
            else np.asarray(value) for key, value in state.items()}


@pytest.fixture
def digits_cnn_onnx(tmp_path):
    project, _ = load_project(example_project_path("digits_cnn"))
    weights = trained_like_weights(project.spec)
    path = export_onnx(project.spec, weights, tmp_path / "my_cnn.onnx")
    return path, project.spec, weights


@pytest.fixture
def ws():
    workspace = Workspace(SynchronousRunner())
    workspace.open_example("digits_cnn")
    workspace.set_settings(epochs=1, device="cpu", batch_size=256)
    return workspace


def predict_with(spec, weights, x):
    from layerforge import engine

    model = compile_spec(spec)
    model.load_state_dict({k: engine.from_numpy(np.ascontiguousarray(v)) for k, v in weights.items()})
    with engine.no_grad():
        return np.asarray(model.eval()(engine.tensor(x)))


def test_an_onnx_model_opens_as_an_untitled_trained_project(ws, digits_cnn_onnx):
    path, spec, weights = digits_cnn_onnx
    recorder = Recorder(ws.events)
    notes = ws.import_model(path, discard=True)
    assert notes[0].startswith("Imported my_cnn.onnx: 10 layers")
    assert ws.name == "my_cnn" and ws.path is None and not ws.dirty
    assert ws.spec == spec                           # the exporter's model, ids and positions included
    assert ws.run_state == FINISHED and isinstance(ws.run, ImportedModelRun) and ws.runs == [ws.run]
    assert "Model imported from my_cnn.onnx" in ws.run.summary()
    assert [e.how for e in recorder.of(ProjectReplaced)] == ["import"]
    assert not ws.can_undo                          # a project just opened: nothing to undo
    x = np.random.default_rng(0).random((4, 1, 8, 8)).astype(np.float32)
    # Predict uses the imported weights (the digits example standardises nothing here: the file has no
    # normalisation, so the project reads raw data like the ONNX model).
    assert not ws.settings.standardize
    expected = predict_with(spec, weights, x)
    got = ws.predict(x)
    np.testing.assert_array_equal(got.labels, expected.argmax(axis=1))


def test_export_and_continue_use_the_imported_weights(ws, digits_cnn_onnx, tmp_path):
    path, spec, weights = digits_cnn_onnx
    ws.import_model(path, discard=True)
    again = ws.export("onnx", tmp_path / "again.onnx")[0]
    onnxruntime = pytest.importorskip("onnxruntime", reason="runs the exported model")
    x = np.random.default_rng(1).random((3, 1, 8, 8)).astype(np.float32)
    session = onnxruntime.InferenceSession(str(again), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(["output"], {"input": x})[0], predict_with(spec, weights, x),
                               rtol=1e-5, atol=1e-5)
    ws.set_settings(epochs=1, batch_size=256)
    ws.start_run(continue_from="kept")              # trains on from the imported weights
    assert ws.run.continued_from == 1 and ws.run.status == "finished"
    assert len(ws.run.history["epoch"]) == 1


def test_a_refused_import_changes_nothing(ws, tmp_path):
    before = (ws.name, ws.spec.to_dict(), ws.run, ws.settings.to_dict(), ws.dirty)
    recorder = Recorder(ws.events)
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x08\x07garbage" * 10)
    with pytest.raises(WorkspaceError) as caught:
        ws.import_model(bad, discard=True)
    assert "not an ONNX model" in caught.value.reason and "unchanged" in caught.value.reason
    assert [e.operation for e in recorder.of(Refused)] == ["import a model"]
    assert (ws.name, ws.spec.to_dict(), ws.run, ws.settings.to_dict(), ws.dirty) == before
    assert recorder.of(ProjectReplaced) == []


def test_unsaved_changes_are_respected_as_open_does(ws, digits_cnn_onnx):
    path, _, _ = digits_cnn_onnx
    ws.edit_model("Rename", lambda spec: spec.rename(spec.node_by_name("fc1").id, "dense"))
    assert ws.dirty
    with pytest.raises(UnsavedChanges):
        ws.import_model(path)
    assert ws.spec.node_by_name("dense") and ws.name == "digits_cnn"
    ws.import_model(path, discard=True)
    assert ws.name == "my_cnn" and not ws.dirty


def test_refused_while_a_run_is_busy(ws, digits_cnn_onnx):
    path, _, _ = digits_cnn_onnx
    ws._machine.reset("running")   # a run in progress (the state machine is what busy reads)
    try:
        with pytest.raises(WorkspaceError) as caught:
            ws.import_model(path, discard=True)
        assert "training" in caught.value.reason and ws.name == "digits_cnn"
    finally:
        ws._machine.reset("idle")


def test_the_exported_input_standardisation_becomes_the_project_normalisation(ws, tmp_path):
    from layerforge.data import Normalization, Standardizer

    project, _ = load_project(example_project_path("digits_cnn"))
    weights = trained_like_weights(project.spec, seed=4)
    mean = np.full((1, 1, 1), 0.3, np.float32)
    std = np.full((1, 1, 1), 0.2, np.float32)
    path = export_onnx(project.spec, weights, tmp_path / "std.onnx",
                       normalization=Normalization(Standardizer(mean, std, per_channel=True), None))
    ws.import_model(path, discard=True)
    assert ws.settings.standardize and ws.run.normalization["inputs"]["per_channel"] is True
    x = np.random.default_rng(2).random((5, 1, 8, 8)).astype(np.float32)
    expected = predict_with(project.spec, weights, (x - 0.3) / 0.2).argmax(axis=1)
    np.testing.assert_array_equal(ws.predict(x).labels, expected)   # raw data in, as the ONNX model takes it


def test_a_model_that_does_not_fit_the_data_opens_with_a_note(ws, tmp_path):
    project, _ = load_project(example_project_path("waveforms_lstm"))
    path = export_onnx(project.spec, trained_like_weights(project.spec), tmp_path / "lstm.onnx")
    notes = ws.import_model(path, discard=True)
    assert any("does not fit the current data" in note for note in notes)
    assert ws.run.has_weights and ws.run.resume is None   # Predict and Export work; Train starts afresh
