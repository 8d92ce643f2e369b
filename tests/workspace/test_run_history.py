"""The project's record of runs (issue #16): every run kept with what it was; two runs compared in
words; an earlier run restored (undoable) with its exact weights; rename, note, delete; the weights
of the last few kept beside the project; save and reopen with the history; an old project opens."""
import json

import numpy as np
import pytest

from layerforge.workspace import WorkspaceError
from layerforge.workspace import events as ev
from layerforge.workspace import model_edits
from layerforge.workspace.run_record import MAX_STEP_POINTS, keep_snapshot, snapshot_at, thinned


def linear_named(workspace, name):
    return next(n for n, node in workspace.spec.nodes.items() if node.name == name)


def two_runs(workspace):
    """Run, widen fc1 and insert a Dropout after it, lower the learning rate, run again."""
    first = workspace.start_run()
    fc1 = linear_named(workspace, "fc1")
    workspace.edit_model("units", model_edits.set_param(fc1, "out_features", 32))
    workspace.edit_model("insert", model_edits.insert_after(fc1, "Dropout"))
    workspace.set_settings(learning_rate=workspace.settings.learning_rate / 2)
    second = workspace.start_run()
    return first, second


def test_every_run_is_recorded_and_two_runs_compare_in_words(workspace, recorder):
    lr = workspace.settings.learning_rate
    first, second = two_runs(workspace)
    assert workspace.runs == [first, second] and [r.name for r in workspace.runs] == ["Run 1", "Run 2"]
    assert first.duration_s > 0 and first.started_at <= second.started_at and first.device == "cpu"
    assert first.spec_data != second.spec_data and first.source == second.source
    diff = workspace.compare_runs(first.number, second.number)
    assert "fc1: units 16 -> 32" in diff
    assert any(line.startswith("inserted Dropout") and line.endswith("after fc1") for line in diff)
    assert f"lr {lr:g} -> {lr / 2:g}" in diff
    assert workspace.compare_runs(first.number, first.number) == []
    assert len(recorder.of(ev.RunsChanged)) >= 2


def test_restore_brings_back_the_model_settings_and_exact_weights_and_is_undoable(workspace):
    first, second = two_runs(workspace)
    weights = {k: v.numpy().copy() for k, v in first.weights.items()}
    workspace.restore_run(first.number)
    assert workspace.spec.to_dict() == first.spec_data
    assert workspace.settings.to_dict() == first.settings.to_dict()
    assert workspace.run is first and first.usable
    for key, value in workspace.project()[1].items():
        np.testing.assert_array_equal(value.numpy(), weights[key])
    workspace.undo()   # the model and the settings go back in one step
    assert workspace.spec.to_dict() == second.spec_data
    assert workspace.settings.learning_rate == second.settings.learning_rate
    assert first.stale, "the restored run no longer matches the model on the canvas"


def test_rename_note_and_delete(workspace):
    first, second = two_runs(workspace)
    workspace.rename_run(first.number, "  baseline  ")
    workspace.note_run(first.number, "16 units, no dropout")
    assert first.name == "baseline" and first.note == "16 units, no dropout"
    with pytest.raises(WorkspaceError, match="needs a name"):
        workspace.rename_run(first.number, "   ")
    workspace.delete_run(first.number)
    assert workspace.runs == [second]
    workspace.delete_run(second.number)   # the current one: no run is shown any more
    assert workspace.runs == [] and workspace.run is None


def test_only_the_newest_runs_keep_their_weights(workspace):
    workspace.set_keep_run_weights(2)
    runs = [workspace.start_run() for _ in range(4)]
    assert [r.weights is not None for r in runs] == [False, False, True, True]
    assert all(len(r.history["epoch"]) == 3 for r in runs), "their records and curves stay"
    with pytest.raises(WorkspaceError):
        workspace.set_keep_run_weights(0)


def test_save_and_reopen_keep_the_history_with_the_weights_beside_the_project(workspace, tmp_path):
    first, second = two_runs(workspace)
    workspace.rename_run(first.number, "baseline")
    path = workspace.save_as(tmp_path / "history.lfproj")
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["history.lfproj", "history.run-1.safetensors", "history.weights.safetensors"]
    data = json.loads(path.read_text())
    assert [r["name"] for r in data["runs"]] == ["baseline", "Run 2"]

    workspace.open_example("sine", discard=True)
    assert workspace.runs == []
    workspace.open(path, discard=True)
    names = [r.name for r in workspace.runs]
    assert names == ["baseline", "Run 2"] and workspace.run is workspace.runs[-1]
    reopened = workspace.runs[0]
    for key, value in first.weights.items():
        np.testing.assert_array_equal(reopened.weights[key].numpy(), value.numpy())
    assert reopened.history["epoch"] == first.history["epoch"]
    assert "fc1: units 16 -> 32" in workspace.compare_runs(reopened.number, workspace.run.number)
    workspace.start_run()
    assert workspace.run.number == 3, "numbers go on after the recorded ones"
    # A run the user no longer keeps loses its file at the next save.
    workspace.delete_run(reopened.number)
    workspace.save()
    assert not (tmp_path / "history.run-1.safetensors").exists()


def test_a_missing_run_weights_file_leaves_the_record_and_says_so(workspace, tmp_path):
    two_runs(workspace)
    path = workspace.save_as(tmp_path / "history.lfproj")
    (tmp_path / "history.run-1.safetensors").unlink()
    notes = workspace.open(path, discard=True)
    assert workspace.runs[0].weights is None and len(workspace.runs) == 2
    assert any("Run 1" in note and "not loaded" in note for note in notes)


def test_an_old_project_without_runs_opens_as_before(workspace, tmp_path):
    workspace.start_run()
    path = workspace.save_as(tmp_path / "old.lfproj")
    data = json.loads(path.read_text())
    del data["runs"], data["keep_run_weights"]
    path.write_text(json.dumps(data))
    workspace.open(path, discard=True)
    assert len(workspace.runs) == 1 and workspace.run.has_weights and workspace.run.name == "Run 1"


def test_long_curves_are_thinned_in_the_record_and_snapshots_stay_within_budget():
    history = {"epoch": [1, 2], "step_loss": list(range(10_000)), "step_x": [i / 5000 for i in range(1, 10_001)]}
    thin = thinned(history, 5000)
    assert len(thin["step_loss"]) == MAX_STEP_POINTS and thin["step_loss"][-1] == 9999
    assert thin["step_x"][-1] == 2.0 and thin["epoch"] == [1, 2]

    class Snap:
        def __init__(self, epoch):
            self.epoch, self.data = epoch, {"grid": np.zeros(1000, dtype=np.float64)}   # 8 kB each

    class FakeRun:
        snapshots, kept_epoch = {}, 7
    run = FakeRun()
    for epoch in range(0, 200):
        keep_snapshot(run, Snap(epoch), budget=400_000)
    kept = sorted(run.snapshots)
    assert len(kept) * 8000 <= 400_000 and kept[0] == 0 and kept[-1] == 199 and 7 in kept
    assert snapshot_at(run, 150).epoch <= 150


def test_a_damaged_record_of_runs_is_refused_or_left_out_with_a_note(workspace, tmp_path):
    two_runs(workspace)
    path = workspace.save_as(tmp_path / "history.lfproj")
    data = json.loads(path.read_text())
    data["runs"][0]["settings"] = {"optimizer": "no such optimizer"}
    data["runs"][0]["weights"] = "../../etc/passwd"
    path.write_text(json.dumps(data))
    notes = workspace.open(path, discard=True)
    assert [r.name for r in workspace.runs] == ["Run 2"]
    assert any("could not be read and was left out" in note for note in notes)
    data["runs"] = "every run"
    path.write_text(json.dumps(data))
    with pytest.raises(WorkspaceError, match="'runs' must be a list of objects"):
        workspace.open(path, discard=True)


def test_a_run_weights_file_name_that_points_elsewhere_is_not_read(workspace, tmp_path):
    two_runs(workspace)
    path = workspace.save_as(tmp_path / "history.lfproj")
    data = json.loads(path.read_text())
    data["runs"][0]["weights"] = "../outside.run-1.safetensors"
    path.write_text(json.dumps(data))
    notes = workspace.open(path, discard=True)
    assert workspace.runs[0].weights is None
    assert any("not one Layerforge writes" in note for note in notes)
