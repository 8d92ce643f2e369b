"""Issue #15 in the window: settings changed while a run trains (or is paused) reach the optimizer at
the next batch and are marked on the curves, also after save and reopen; Train offers Continue after
a run (the optimizer's state carried on, the curves appended) and Restart beside it."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from layerforge.workspace import run_operations
from window_support import boxes, click, files, isolated, app_window  # noqa: F401


def type_into(qtbot, field, text: str) -> None:
    field.setFocus()
    field.lineEdit().selectAll()
    qtbot.keyClicks(field.lineEdit(), text)
    qtbot.keyClick(field.lineEdit(), Qt.Key.Key_Return)


def start_long_run(qtbot, window) -> None:
    panel = window.training_panel
    panel.epochs_spin.setValue(5000)
    click(qtbot, panel.train_button)
    qtbot.waitUntil(lambda: window.workspace.trainer_step > 5, timeout=10_000)


def stop(qtbot, window) -> None:
    click(qtbot, window.training_panel.stop_button)
    qtbot.waitUntil(lambda: not window.run.running, timeout=10_000)


def optimizer_lr(window) -> float:
    return window.workspace._trainer.optimizer.param_groups[0]["lr"]


def test_the_learning_rate_changed_while_training_and_while_paused_is_taken_up_and_marked(
        qtbot, app_window, files, tmp_path):
    window, panel = app_window, app_window.training_panel
    panel.lr_spin.show_value(0.01, force=True)
    window.commit_settings()
    start_long_run(qtbot, window)
    # The settings a run can take up stay editable; the rest say why they are not.
    assert panel.lr_spin.isEnabled() and panel.epochs_spin.isEnabled() and panel.schedule_combo.isEnabled()
    assert not panel.loss_combo.isEnabled() and "Fixed while the model trains" in panel.loss_combo.toolTip()
    type_into(qtbot, panel.lr_spin, "0.003")
    qtbot.waitUntil(lambda: window.charts.markers.texts == ["lr 0.01 -> 0.003"], timeout=5_000)
    assert optimizer_lr(window) == 0.003
    first_x = window.charts.markers.positions()[0]
    change = window.workspace.run.changes[0]
    assert first_x == change["x"] and window.workspace.run.history["step_x"][change["step"] - 1] <= first_x

    click(qtbot, panel.pause_button)
    qtbot.waitUntil(lambda: window.workspace.run_state == "paused", timeout=5_000)
    type_into(qtbot, panel.lr_spin, "0.001")
    qtbot.waitUntil(lambda: window.workspace.settings.learning_rate == 0.001, timeout=5_000)
    assert len(window.charts.markers.texts) == 1, "taken up at the next batch: after Resume"
    click(qtbot, panel.pause_button)
    qtbot.waitUntil(lambda: len(window.charts.markers.texts) == 2, timeout=5_000)
    assert window.charts.markers.texts[1] == "lr 0.003 -> 0.001" and optimizer_lr(window) == 0.001
    stop(qtbot, window)

    # Kept with the run, and drawn again when the project is reopened.
    path = window.workspace.save_as(tmp_path / "steered.lfproj")
    window.workspace.open_example("sine", discard=True)
    assert window.charts.markers.texts == []
    window.workspace.open(path, discard=True)
    assert window.charts.markers.texts == ["lr 0.01 -> 0.003", "lr 0.003 -> 0.001"]
    np.testing.assert_allclose(window.charts.markers.positions()[0], first_x)


class Capturing(run_operations.Trainer):
    """The Trainer, keeping a copy of its optimizer's state as it was built (before any step)."""
    built: list = []

    def prepare(self):   # in the run's thread, before the first batch
        super().prepare()
        Capturing.built.append({i: {k: np.array(v.numpy()) for k, v in st.items() if k.startswith("exp_avg")}
                                for i, st in self.optimizer.state_dict()["state"].items()})


def test_continue_carries_the_optimizer_on_and_appends_the_curves_and_restart_starts_over(
        qtbot, app_window, monkeypatch):
    window, panel = app_window, app_window.training_panel
    monkeypatch.setattr(run_operations, "Trainer", Capturing)
    Capturing.built.clear()
    panel.epochs_spin.setValue(3)
    click(qtbot, panel.train_button)
    qtbot.waitUntil(lambda: not window.run.running and window.workspace.run.ended, timeout=30_000)
    first = window.workspace.run
    assert panel.train_button.text() == "Continue" and panel.restart_button.isVisible()
    points = len(window.charts.loss_points()[0])
    stopped_moments = {i: {k: v.numpy() for k, v in st.items() if k.startswith("exp_avg")}
                       for i, st in first.resume.optimizer["state"].items()}

    click(qtbot, panel.train_button)   # Continue
    qtbot.waitUntil(lambda: not window.run.running and window.workspace.run.ended, timeout=30_000)
    second = window.workspace.run
    assert second.continued_from == first.number and second.history["epoch"] == [1, 2, 3, 4, 5, 6]
    for index, moments in stopped_moments.items():
        for name, value in moments.items():
            np.testing.assert_array_equal(Capturing.built[1][index][name], value)
    xs = window.charts.loss_points()[0]
    assert len(xs) == 2 * points and xs[-1] > 5.9, "the curves go on from epoch 3 to 6"

    click(qtbot, panel.restart_button)
    qtbot.waitUntil(lambda: not window.run.running and window.workspace.run.ended, timeout=30_000)
    third = window.workspace.run
    assert third.continued_from == 0 and third.history["epoch"] == [1, 2, 3]
    assert len(window.charts.loss_points()[0]) == points, "the curves start over"
    assert Capturing.built[2] == {}, "fresh: no optimizer state carried in"


def test_a_changed_model_only_restarts(qtbot, app_window):
    window, panel = app_window, app_window.training_panel
    panel.epochs_spin.setValue(2)
    click(qtbot, panel.train_button)
    qtbot.waitUntil(lambda: not window.run.running and window.workspace.run.ended, timeout=30_000)
    assert panel.train_button.text() == "Continue"
    node = next(n for n, node in window.document.spec.nodes.items() if node.type == "Linear")
    window.document.set_param(node, "out_features", 9)
    assert panel.train_button.text() == "Train" and not panel.restart_button.isVisible()
