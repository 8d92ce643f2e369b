"""Training through the workspace (synchronous and in a thread), pause/resume/stop, reopen, export,
predict, and the consistency rules of issue #14."""
import threading

import numpy as np
import pytest

from layerforge.workspace import FINISHED, IDLE, SynchronousRunner, ThreadRunner, Workspace, WorkspaceError, model_edits
from layerforge.workspace import events as ev
from layerforge.workspace.events import Recorder


def test_train_to_the_end_synchronously(workspace, recorder):
    run = workspace.start_run()
    assert run.status == "finished" and run.last_epoch == 3 and workspace.run_state == FINISHED
    assert len(run.history["step_loss"]) == 3 * run.steps_per_epoch and run.usable
    assert [e.epoch for e in recorder.of(ev.EpochEnded)] == [1, 2, 3]
    assert recorder.of(ev.RunProgress) and recorder.of(ev.RunBegan)[0].run.device == "cpu"
    assert recorder.of(ev.RunEnded)[-1].run is run and workspace.dirty


def test_train_in_a_thread_and_pause_resume_stop(workspace):
    workspace.set_settings(epochs=50)
    second_epoch = threading.Event()
    workspace.events.connect(lambda e: e.epoch >= 2 and second_epoch.set(), ev.EpochEnded)
    runner = ThreadRunner()
    workspace.start_run(runner)
    assert second_epoch.wait(30)
    workspace.pause()
    assert workspace.run_state == "paused"
    workspace.resume()
    workspace.stop()
    assert workspace.run_state == "stopping"
    assert workspace.wait_for_run(30)
    run = workspace.run
    assert run.status == "stopped" and workspace.run_state == FINISHED and run.usable
    assert 2 <= run.last_epoch < 50 and 1 <= run.kept_epoch <= run.last_epoch


def test_kept_and_last_epoch_are_both_recorded_and_metrics_name_their_epoch(workspace, recorder):
    workspace.set_settings(epochs=6, learning_rate=0.3)    # bouncy: the best epoch is rarely the last
    run = workspace.start_run()
    assert run.last_epoch == 6 and run.kept_epoch == run.best_epoch and run.kept_why == "best validation loss"
    kept = run.kept_metrics()
    assert kept["epoch"] == run.kept_epoch and "accuracy" in kept["val"]
    assert run.metrics_at(run.last_epoch)["epoch"] == 6
    assert f"epoch {run.kept_epoch}" in run.summary()
    kept_snapshots = [e.snapshot for e in recorder.of(ev.SnapshotReady) if e.kept]
    assert kept_snapshots[-1].epoch == run.kept_epoch and run.kept_snapshot.epoch == run.kept_epoch


def test_reopened_project_with_weights_has_a_finished_run_with_predictions(workspace, tmp_path):
    run = workspace.start_run()
    path = workspace.save_as(tmp_path / "trained.lfproj")
    other = Workspace(SynchronousRunner())
    recorder = Recorder(other.events)
    other.open(path)
    reopened = other.run
    assert other.run_state == FINISHED and reopened.status == "finished" and reopened.usable
    assert reopened.kept_epoch == run.kept_epoch and reopened.last_epoch == run.last_epoch
    assert reopened.kept_snapshot.kind == "boundary2d" and reopened.kept_snapshot.epoch == run.kept_epoch
    assert reopened.kept_confusion.sum() == round(0.2 * len(workspace.dataset))   # the validation split
    assert recorder.of(ev.RunReplaced)[-1].run is reopened
    assert other.predict(workspace.dataset.x[:4]).labels.shape == (4,)


def test_export_safetensors_and_onnx_and_predict(workspace, tmp_path):
    with pytest.raises(WorkspaceError, match="no trained weights"):
        workspace.export("onnx", tmp_path / "m.onnx")
    with pytest.raises(WorkspaceError, match="no trained weights"):
        workspace.predict(np.zeros((1, 2)))
    workspace.start_run()
    [weights] = workspace.export("safetensors", tmp_path / "m")
    [onnx] = workspace.export("onnx", tmp_path / "m.onnx")
    assert weights.suffix == ".safetensors" and weights.stat().st_size and onnx.stat().st_size
    predictions = workspace.predict(workspace.dataset.x[:5])
    assert predictions.probabilities.shape == (5, 3) and len(predictions.names) == 5


def test_new_after_a_run_leaves_no_run_progress_or_curves(workspace, recorder):
    workspace.start_run()
    workspace.new(discard=True)
    assert workspace.run is None and workspace.run_state == IDLE
    assert recorder.of(ev.RunReplaced)[-1].run is None
    assert recorder.of(ev.RunStateChanged)[-1].state == IDLE
    assert workspace.project()[0].history == {}


def test_opening_another_example_resets_run_progress_and_task(workspace, recorder):
    workspace.start_run()
    workspace.open_example("sine", discard=True)
    assert workspace.run is None and workspace.run_state == IDLE and workspace.dataset.task == "regression"
    assert recorder.of(ev.RunReplaced)[-1].run is None
    workspace.set_settings(epochs=2)
    assert workspace.start_run().task == "regression"


def test_importing_regression_after_a_classification_run_drops_the_old_curves(workspace, recorder, tmp_path):
    workspace.start_run()
    csv = tmp_path / "values.csv"
    np.savetxt(csv, np.column_stack([np.linspace(0, 1, 80), np.linspace(0, 580, 80)]), delimiter=",")
    workspace.import_data({"kind": "csv", "path": str(csv), "task": "regression"})
    assert workspace.run is None and recorder.of(ev.RunReplaced)[-1].run is None
    workspace.use_matching_model()
    workspace.set_settings(epochs=2)
    run = workspace.start_run()
    assert run.task == "regression" and "val_r2" in run.history and "val_accuracy" not in run.history


def test_editing_or_breaking_the_model_marks_the_results_stale(workspace, recorder):
    run = workspace.start_run()
    linear = next(n.id for n in workspace.spec.nodes.values() if n.type == "Linear")
    workspace.edit_model("Move", model_edits.move({linear: (1.0, 2.0)}))
    assert not run.stale                                    # moving a layer keeps the weights
    workspace.edit_model("Set out_features", model_edits.set_param(linear, "out_features", 7))
    assert run.stale and recorder.of(ev.ResultsStale)[-1].stale and "stale" not in run.stale_reason
    assert "edited after training" in run.summary()
    with pytest.raises(WorkspaceError, match="edited after training"):
        workspace.predict(workspace.dataset.x[:1])
    assert workspace.project()[1] is None                   # a save would not pair old weights with it
    workspace.undo()
    assert not run.stale and not recorder.of(ev.ResultsStale)[-1].stale
    workspace.edit_model("Delete layer", model_edits.remove([linear]))   # broken: no path to the output
    assert run.stale and not workspace.report.ok


def test_a_reopened_project_keeps_the_epoch_its_weights_are_of_even_when_the_curves_disagree(workspace, tmp_path):
    workspace.set_settings(epochs=4, keep_best=False)
    run = workspace.start_run()
    path = workspace.save_as(tmp_path / "last.lfproj")
    other = Workspace(SynchronousRunner())
    other.open(path)
    assert other.run.kept_epoch == run.kept_epoch == 4 and other.run.kept_why == "last epoch"
    # The stored epoch wins over a guess from the curves (keep_best was switched on after training).
    other.set_settings(keep_best=True)
    other.save()
    third = Workspace(SynchronousRunner())
    third.open(path)
    assert third.run.kept_epoch == 4


def test_an_unrecorded_edit_is_neither_an_undo_step_nor_unsaved_work():
    workspace = Workspace(SynchronousRunner())
    workspace.open_example("spiral")
    first = next(iter(workspace.spec.nodes))
    workspace.edit_model("Arrange", model_edits.move({first: (500.0, 40.0)}), record=False)
    assert workspace.spec.nodes[first].position == (500.0, 40.0)
    assert not workspace.can_undo and not workspace.dirty


def test_train_builds_the_data_in_the_run_thread_and_a_failure_there_ends_the_run_with_its_reason(
        workspace, monkeypatch):
    """Train returns at once: splitting and standardising (seconds at MNIST's size) happen in the run's
    thread. What fails there is the run's failure, with the reason, and the next Train works."""
    from layerforge.data import Normalization
    from layerforge.data.dataset import DataError
    threads, fit = [], Normalization.fit.__func__

    def failing_fit(cls, *args, **kwargs):
        threads.append(threading.current_thread())
        raise DataError("feature 1 of dataset 'spiral' is not finite")
    monkeypatch.setattr(Normalization, "fit", classmethod(failing_fit))
    run = workspace.start_run(ThreadRunner())
    assert workspace.wait_for_run(30)
    assert threads and threads[0] is not threading.main_thread()
    assert run.status == "failed" and workspace.run_state == "failed"
    assert run.reason == "cannot standardise the data: feature 1 of dataset 'spiral' is not finite"
    assert run.weights is None and not run.usable

    monkeypatch.setattr(Normalization, "fit", classmethod(fit))
    again = workspace.start_run(ThreadRunner())
    assert workspace.wait_for_run(30) and again.status == "finished" and again.usable
