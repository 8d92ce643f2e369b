"""New, open, save, autosave and recover, import, undo/redo and the dirty flag, refusals."""
import numpy as np
import pytest

from layerforge.workspace import (IDLE, FINISHED, SynchronousRunner, UnsavedChanges, Workspace, WorkspaceError,
                                  model_edits)
from layerforge.workspace import autosave, events as ev
from layerforge.workspace.events import Recorder


def test_new_project_is_an_input_alone_on_the_current_data(workspace, recorder):
    workspace.new(discard=True)
    assert [n.type for n in workspace.spec.nodes.values()] == ["Input"]
    assert list(next(iter(workspace.spec.nodes.values())).params["shape"]) == [2]
    assert workspace.name == "untitled" and workspace.path is None and not workspace.dirty
    assert workspace.dataset.name == "spiral"
    kinds = [type(e) for e in recorder.events]
    assert kinds[0] is ev.ProjectReplaced
    assert {ev.ModelChanged, ev.DataChanged, ev.SettingsChanged, ev.RunReplaced, ev.DirtyChanged} <= set(kinds)


def test_new_from_a_template_fits_the_data(workspace):
    workspace.new("mlp_classifier", discard=True)
    assert workspace.report.ok and workspace.fit_problem is None


def test_save_and_open_round_trip(workspace, tmp_path):
    path = workspace.save_as(tmp_path / "mine")
    assert path.name == "mine.lfproj" and workspace.name == "mine" and not workspace.dirty
    other = Workspace(SynchronousRunner())
    notes = other.open(path)
    assert notes == [] and other.name == "mine" and other.path == path
    assert other.spec == workspace.spec and other.settings == workspace.settings
    assert other.run is None and other.run_state == IDLE


def test_save_without_a_file_says_to_use_save_as(workspace):
    with pytest.raises(WorkspaceError, match="Save As"):
        workspace.save()


def test_undo_redo_and_the_dirty_flag(workspace, recorder, tmp_path):
    workspace.save_as(tmp_path / "spiral.lfproj")
    assert not workspace.dirty
    node = workspace.edit_model("Add ReLU", model_edits.add_layer("ReLU", (100.0, 0.0)))
    assert node in workspace.spec.nodes and workspace.dirty and workspace.can_undo
    assert recorder.of(ev.DirtyChanged)[-1].dirty
    assert recorder.of(ev.UndoChanged)[-1].undo_text == "Add ReLU"
    workspace.undo()
    assert node not in workspace.spec.nodes and not workspace.dirty and workspace.can_redo
    workspace.redo()
    assert node in workspace.spec.nodes and workspace.dirty
    linear = next(n.id for n in workspace.spec.nodes.values() if n.type == "Linear")
    for value in (20, 24, 28):
        workspace.edit_model("Set out_features", model_edits.set_param(linear, "out_features", value),
                             merge_key=(linear, "out_features"))
    workspace.undo()                          # the three spin-box steps are one undo step
    assert workspace.undo_history.undo_text == "Add ReLU"


def test_a_refused_edit_leaves_the_model_and_says_why(workspace, recorder):
    before = workspace.spec.to_dict()
    with pytest.raises(WorkspaceError, match="edit the model"):
        workspace.edit_model("Connect", model_edits.connect("n1", "nope"))
    assert workspace.spec.to_dict() == before and recorder.of(ev.Refused)


def test_replacing_unsaved_work_is_refused_until_discarded(workspace):
    workspace.set_settings(epochs=7)
    with pytest.raises(UnsavedChanges, match="unsaved changes"):
        workspace.open_example("sine")
    workspace.open_example("sine", discard=True)
    assert workspace.name == "sine"


def test_import_data_and_choose_builtin(workspace, tmp_path):
    rows = np.column_stack([np.linspace(0, 1, 60), np.linspace(0, 300, 60) ** 1.1])
    csv = tmp_path / "values.csv"
    np.savetxt(csv, rows, delimiter=",", header="x,y", comments="")
    workspace.import_data({"kind": "csv", "path": str(csv), "task": "regression"}, split={"val_fraction": 0.25})
    assert workspace.dataset.task == "regression" and workspace.settings.val_fraction == 0.25
    assert workspace.settings.loss == "mse" and workspace.settings.target == "auto"
    assert workspace.fit_problem is not None            # the spiral classifier does not fit
    workspace.use_matching_model()
    assert workspace.fit_problem is None
    workspace.choose_builtin("circles")
    assert workspace.dataset.name == "circles" and workspace.source["name"] == "circles"
    with pytest.raises(WorkspaceError, match="choose a dataset"):
        workspace.choose_builtin("no-such-data")


def test_open_keeps_data_that_cannot_be_loaded(tmp_path):
    csv = tmp_path / "d.csv"
    np.savetxt(csv, np.column_stack([np.arange(40.0), np.arange(40.0) * 2]), delimiter=",")
    ws = Workspace(SynchronousRunner())
    ws.import_data({"kind": "csv", "path": str(csv), "task": "regression"})
    path = ws.save_as(tmp_path / "p.lfproj")
    csv.unlink()
    other = Workspace(SynchronousRunner())
    notes = other.open(path)
    assert other.dataset is None and "does not exist" in other.data_unavailable and notes
    assert other.source["kind"] == "csv"
    other.save()                                          # the source survives a save
    assert Workspace(SynchronousRunner()).open(path) and other.source["kind"] == "csv"
    with pytest.raises(WorkspaceError, match="does not exist"):
        other.start_run()


def test_autosave_and_recover(workspace, tmp_path, monkeypatch):
    folder = tmp_path / "autosave"
    workspace.open_example("spiral", discard=True)
    assert workspace.autosave_to(folder) is None          # nothing unsaved, nothing written
    workspace.set_settings(epochs=2)
    workspace.start_run()
    # As if written by a Layerforge that crashed: the files carry another session's name.
    crashed = "autosave-999999"
    monkeypatch.setattr(autosave, "autosave_stem", lambda pid=None: crashed)
    written = workspace.autosave_to(folder)
    monkeypatch.undo()
    assert written.exists() and written.stem == crashed and workspace.dirty
    fresh = Workspace(SynchronousRunner())
    pending = fresh.pending_autosaves(folder)
    assert [p.stem for p in pending] == [crashed] and pending[0].name == "spiral"
    assert "'spiral'" in pending[0].describe()
    recorder = Recorder(fresh.events)
    fresh.recover(pending[0])
    replaced = recorder.of(ev.ProjectReplaced)[-1]
    assert replaced.name == "spiral" and replaced.how == "recover"     # it names what it recovers
    assert fresh.dirty and fresh.run is not None and fresh.run.usable
    assert not list(folder.glob(f"{crashed}*"))           # this session's autosave holds it now


def test_damaged_autosave_is_moved_aside_and_said(tmp_path):
    folder = tmp_path / "autosave"
    folder.mkdir()
    (folder / "autosave-999998.lfproj").write_text("{not json")
    ws = Workspace(SynchronousRunner())
    recorder = Recorder(ws.events)
    [pending] = ws.pending_autosaves(folder)
    with pytest.raises(WorkspaceError, match="moved aside"):
        ws.recover(pending)
    assert recorder.of(ev.Refused) and ws.name == "untitled"
    assert ws.pending_autosaves(folder) == []
    ws.discard_autosave(folder)


def test_refusals_while_a_run_is_in_progress_say_why(workspace):
    refusals = []

    def at_first_epoch(event):
        if isinstance(event, ev.EpochEnded) and not refusals:
            for operation in (lambda: workspace.open_example("sine", discard=True),
                              lambda: workspace.new(discard=True),
                              lambda: workspace.edit_model("Move", model_edits.move({"n1": (5.0, 5.0)})),
                              lambda: workspace.choose_builtin("circles"),
                              lambda: workspace.set_settings(loss="mse"),   # a learning rate is live (#15)
                              lambda: workspace.start_run(),
                              lambda: workspace.export("onnx", "x.onnx"),
                              lambda: workspace.resume()):
                with pytest.raises(WorkspaceError) as caught:
                    operation()
                refusals.append(caught.value.reason)
    workspace.events.connect(at_first_epoch)
    workspace.start_run()
    assert len(refusals) == 8
    assert all(r.startswith("the model is training") or "no run is paused" in r for r in refusals), refusals
    assert workspace.run_state == FINISHED
    with pytest.raises(WorkspaceError, match="no run is training"):
        workspace.stop()
