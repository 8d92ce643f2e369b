"""Steering a run through the workspace (issue #15): live settings reach the Trainer and are recorded
with the run and its project; a run continues (from its last or its kept weights) with its curves
appended, also after the project is saved and reopened; what a run cannot change is refused."""
import numpy as np
import pytest

from layerforge.workspace import WorkspaceError
from layerforge.workspace import events as ev


def steer_once(workspace, at_step: int, **changes):
    """Change the settings when the run has trained ``at_step`` batches (the runner is synchronous)."""
    done = []

    def on_progress(event):
        if not done and event.steps[-1] >= at_step:
            done.append(True)
            workspace.set_settings(**changes)
    workspace.events.connect(on_progress, ev.RunProgress)


def test_a_learning_rate_set_while_training_is_taken_up_and_recorded(workspace, recorder):
    workspace.set_settings(learning_rate=0.01)
    steer_once(workspace, 4, learning_rate=0.002)
    run = workspace.start_run()
    assert run.status == "finished"
    assert run.step_lr[3] == 0.01 and run.step_lr[4] == 0.002
    assert [c["text"] for c in run.changes] == ["lr 0.01 -> 0.002"] and run.changes[0]["step"] == 4
    assert [e.change["text"] for e in recorder.of(ev.RunSteered)] == ["lr 0.01 -> 0.002"]
    assert workspace.settings.learning_rate == 0.002


def test_what_a_run_cannot_change_is_refused_with_the_reason(workspace):
    refused = []

    def on_progress(event):
        if not refused:
            with pytest.raises(WorkspaceError) as error:
                workspace.set_settings(loss="mse")
            refused.append(str(error.value))
    workspace.events.connect(on_progress, ev.RunProgress)
    workspace.start_run()
    assert "stop training first to change loss" in refused[0]
    assert workspace.settings.loss != "mse"


def test_continue_appends_to_the_curves_and_carries_the_optimizer_on(workspace):
    first = workspace.start_run()
    steps = len(first.history["step_loss"])
    moments = {k: v["exp_avg"].numpy().copy() for k, v in first.resume.optimizer["state"].items()}
    second = workspace.start_run(continue_from="last")
    assert second.continued_from == first.number and second.status == "finished"
    assert second.history["epoch"] == [1, 2, 3, 4, 5, 6]
    assert len(second.history["step_loss"]) == 2 * steps and second.history["step_loss"][:steps] == \
        first.history["step_loss"]
    assert second.step == 2 * first.step
    assert not all(np.array_equal(v["exp_avg"].numpy(), moments[k])
                   for k, v in second.resume.optimizer["state"].items()), "the moments moved on"


def test_restart_trains_afresh_and_continue_refuses_a_changed_model(workspace):
    first = workspace.start_run()
    fresh = workspace.start_run()
    assert fresh.history["epoch"] == [1, 2, 3] and fresh.continued_from == 0
    assert fresh.history["step_loss"][0] == pytest.approx(first.history["step_loss"][0])
    node = next(n for n, node in workspace.spec.nodes.items() if node.type == "Linear")
    workspace.edit_model("units", lambda spec: spec.set_param(node, "out_features", 7))
    with pytest.raises(WorkspaceError, match="restart"):
        workspace.start_run(continue_from="last")


def test_a_saved_project_continues_exactly_where_it_was(workspace, tmp_path):
    steer_once(workspace, 3, learning_rate=0.005)
    first = workspace.start_run()
    path = workspace.save_as(tmp_path / "steered.lfproj")
    expected = workspace.start_run(continue_from="last")   # continuing without closing

    workspace.open(path, discard=True)
    reopened = workspace.run
    assert [c["text"] for c in reopened.changes] == [c["text"] for c in first.changes]
    assert reopened.resume is not None and reopened.resume.step == first.step
    continued = workspace.start_run(continue_from="last")
    assert continued.history["epoch"] == expected.history["epoch"]
    np.testing.assert_allclose(continued.history["step_loss"], expected.history["step_loss"], rtol=1e-5)
    for key, value in expected.weights.items():
        np.testing.assert_allclose(continued.weights[key].numpy(), value.numpy(), rtol=1e-5, atol=1e-6)


def test_a_learning_rate_set_as_an_undo_step_is_undone_and_redone(workspace, recorder):
    before = workspace.settings.learning_rate
    workspace.set_settings_undoable("Use learning rate 0.0042", learning_rate=0.0042)
    assert workspace.settings.learning_rate == 0.0042 and workspace.can_undo and workspace.dirty
    assert workspace.undo() == "Use learning rate 0.0042"
    assert workspace.settings.learning_rate == before
    assert recorder.of(ev.SettingsChanged)[-1].settings.learning_rate == before
    workspace.redo()
    assert workspace.settings.learning_rate == 0.0042


def test_continue_from_the_kept_weights_starts_from_the_best_epoch(workspace, monkeypatch):
    from layerforge.workspace import run_operations
    started = []

    class Capturing(run_operations.Trainer):
        def prepare(self):   # the run's thread builds the model before its first batch
            super().prepare()
            started.append({k: v.numpy().copy() for k, v in self.state_dict().items()})
    monkeypatch.setattr(run_operations, "Trainer", Capturing)
    workspace.set_settings(epochs=12, learning_rate=0.3)   # too high: the best epoch is not the last
    first = workspace.start_run()
    assert first.kept_epoch != first.last_epoch
    workspace.start_run(continue_from="kept")
    for key, value in first.weights.items():
        np.testing.assert_array_equal(started[-1][key], value.numpy())
    assert not all(np.array_equal(started[-1][k], v.numpy()) for k, v in first.resume.weights.items())
