"""The learning-rate finder's dialog, driven as a person does: open it on the spiral example, watch the
sweep, Stop it, use the suggestion; and what it says when it cannot sweep."""
from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt

from layerforge.app.dialogs import lr_finder_dialog
from layerforge.app.dialogs.lr_finder_dialog import LrFinderDialog, open_lr_finder
from layerforge.training.lr_finder import LrFinder
from layerforge.workspace import model_edits
from window_support import train


def _points(curve) -> int:
    x, _ = curve.getData()
    return 0 if x is None else len(x)


@pytest.fixture
def gated(monkeypatch):
    """The dialog's sweeps pause after step GATE_STEP until stopped (or the test ends), so a test can
    act mid-sweep however fast the machine is. Each finder is listed, with what its run returned."""
    finders = []

    class GatedFinder(LrFinder):
        GATE_STEP = 20

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.release, self.outcome = threading.Event(), None
            finders.append(self)

        def stop(self):
            super().stop()
            self.release.set()

        def run(self, listener=None):
            def gate(progress):
                listener(progress)
                if progress.step == self.GATE_STEP:
                    self.release.wait(30)
            self.outcome = super().run(gate)
            return self.outcome

    monkeypatch.setattr(lr_finder_dialog, "LrFinder", GatedFinder)
    yield finders
    for finder in finders:
        finder.release.set()


def test_the_sweep_draws_its_curve_and_use_it_sets_the_learning_rate(window, qtbot):
    before = window.workspace.settings.learning_rate
    dialog = open_lr_finder(window)
    assert dialog is not None and dialog.objectName() == "lrFinderDialog" and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=30_000)
    result = dialog.result
    assert 80 <= len(result.lrs) <= 100 and not result.stopped
    assert _points(dialog.raw_curve) == _points(dialog.smooth_curve) == len(result.lrs)
    assert dialog.plot.getPlotItem().getAxis("bottom").logMode   # loss against a log learning-rate axis
    assert dialog.progress.value() == len(result.lrs)
    suggestion = result.suggestion
    assert 1e-4 <= suggestion <= 1.0
    assert dialog.marker.isVisible() and dialog.marker.value() == pytest.approx(math.log10(suggestion))
    assert f"{suggestion:.2g}" in dialog.suggestion_label.text()
    assert dialog.why_label.text().startswith(f"Steepest fall of the loss, at {suggestion:.2g}")
    assert not dialog.stop_button.isEnabled() and dialog.use_button.isEnabled()
    assert window.workspace.settings.learning_rate == before   # nothing changes until "Use it"
    qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    assert window.workspace.settings.learning_rate == pytest.approx(suggestion)
    assert window.training_panel.lr_spin.value() == pytest.approx(suggestion)
    qtbot.waitUntil(lambda: not window.findChildren(LrFinderDialog), timeout=5_000)   # closed and gone
    window.action_undo.trigger()   # "Use it" is one step of the undo history
    assert window.workspace.settings.learning_rate == before and window.training_panel.lr_spin.value() == before
    window.action_redo.trigger()
    assert window.workspace.settings.learning_rate == pytest.approx(suggestion)


def test_run_menu_find_learning_rate_opens_the_finder(qtbot, window):
    from layerforge.app.window_commands import install_commands
    from PySide6.QtGui import QAction
    install_commands(window)
    action = window.findChild(QAction, "actionFindLearningRate")
    assert action is not None and "Find" in action.text()
    action.trigger()
    dialogs = window.findChildren(LrFinderDialog)
    assert len(dialogs) == 1 and dialogs[0].isVisible()
    dialogs[0].close_button.click()


def test_stop_keeps_the_curve_swept_so_far(window, qtbot, gated):
    dialog = open_lr_finder(window)
    qtbot.waitUntil(lambda: _points(dialog.smooth_curve) == 20, timeout=30_000)   # drawn while it sweeps
    assert dialog.stop_button.isEnabled() and not dialog.use_button.isEnabled()
    assert dialog.progress.value() == 20
    qtbot.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=30_000)
    assert dialog.result.stopped and len(dialog.result.lrs) == 20
    assert _points(dialog.raw_curve) == _points(dialog.smooth_curve) == 20
    assert "Stopped after 20 of 100 steps" in dialog.status.text()
    before = window.workspace.settings.learning_rate
    dialog.close_button.click()
    assert window.workspace.settings.learning_rate == before   # Close uses nothing


def test_closing_mid_sweep_stops_the_sweep_and_waits_for_it(window, qtbot, gated):
    dialog = open_lr_finder(window)
    qtbot.waitUntil(lambda: _points(dialog.smooth_curve) == 20, timeout=30_000)
    assert dialog.sweeping
    dialog.close()
    assert not dialog.sweeping
    finder = gated[0]
    assert finder.outcome is not None and finder.outcome.stopped and len(finder.outcome.lrs) == 20


def test_the_sweep_starts_from_the_trained_weights_and_leaves_them_alone(window, qtbot):
    train(qtbot, window, epochs=40)
    workspace = window.workspace
    run = workspace.run
    weights = {key: value.numpy().copy() for key, value in run.weights.items()}
    dialog = open_lr_finder(window)
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=30_000)
    # The same first batch, on a fresh model and on the trained one: the sweep begins where training ended.
    fresh = LrFinder(workspace.spec, workspace.dataset, workspace.settings, steps=5).run()
    assert dialog.result.losses[0] < 0.7 * fresh.losses[0]
    assert all(np.array_equal(weights[key], value.numpy()) for key, value in run.weights.items())
    dialog.close_button.click()


def test_too_little_data_is_said_in_the_dialog(window, qtbot):
    workspace = window.workspace
    tiny = workspace.dataset.subset(np.arange(6))
    used = []
    dialog = LrFinderDialog(workspace.spec, tiny, workspace.settings, None, used.append, parent=window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.error_label.isVisible(), timeout=30_000)
    text = dialog.error_label.text()
    assert text.startswith("Cannot sweep the learning rate: too little data for a learning-rate sweep")
    assert "only 6 samples" in text and "Traceback" not in text
    assert not dialog.use_button.isEnabled() and not dialog.stop_button.isEnabled()
    assert _points(dialog.smooth_curve) == 0 and not dialog.marker.isVisible()
    dialog.close()
    assert used == []


def test_a_model_that_cannot_train_is_refused_in_the_status_bar(window, qtbot):
    workspace = window.workspace
    fc2 = workspace.spec.node_by_name("fc2").id
    workspace.edit_model("disconnect fc2", model_edits.disconnect_all(fc2))
    assert open_lr_finder(window) is None
    assert "Cannot find a learning rate: the model is not valid" in window.statusBar().currentMessage()
    assert not window.findChildren(LrFinderDialog)


def test_no_sweep_while_a_run_trains(window, qtbot):
    panel = window.training_panel
    panel.epochs_spin.setValue(5000)
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.pause_button.isEnabled(), timeout=30_000)
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.workspace.run_state == "paused", timeout=30_000)
    assert open_lr_finder(window) is None
    assert "while a run trains: stop it first" in window.statusBar().currentMessage()
    assert not window.findChildren(LrFinderDialog)
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.workspace.busy, timeout=30_000)
    dialog = open_lr_finder(window)   # once the run has stopped
    assert dialog is not None
    dialog.close()
