"""Issue #16 in the window: the Runs panel lists every run; two selected overlay their curves with a
legend and list what changed; Restore brings a run back (undoable); the epoch slider replays the
predictions of an earlier epoch, of the current run or of a run picked in the panel."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from window_support import boxes, click, files, isolated, app_window  # noqa: F401


def train(qtbot, window, epochs: int = 4) -> None:
    panel = window.training_panel
    panel.epochs_spin.setValue(epochs)
    click(qtbot, panel.restart_button if panel.restart_button.isVisible() else panel.train_button)
    qtbot.waitUntil(lambda: not window.run.running and window.workspace.run.ended, timeout=30_000)


def node_named(window, name):
    return next(n for n, node in window.document.spec.nodes.items() if node.name == name)


def test_runs_are_listed_compared_with_their_diff_and_restored(qtbot, app_window):
    window = app_window
    train(qtbot, window)
    assert not window.runs_dock.isVisible()
    window.document.set_param(node_named(window, "fc1"), "out_features", 32)
    window.training_panel.lr_spin.show_value(0.003, force=True)
    window.commit_settings()
    train(qtbot, window)
    panel = window.runs_panel
    assert window.runs_dock.isVisible(), "a second run opens the Runs panel"
    rows = [panel.list.topLevelItem(i).text(0) for i in range(panel.list.topLevelItemCount())]
    assert rows == ["Run 1", "Run 2"] and panel.list.topLevelItem(1).font(0).bold(), "the current run in bold"
    assert panel.list.topLevelItem(0).text(1).startswith("val acc ") and panel.list.topLevelItem(0).text(2) == "4"

    # Select both, as a person does with Ctrl+click.
    first_rect = panel.list.visualItemRect(panel.list.topLevelItem(0))
    second_rect = panel.list.visualItemRect(panel.list.topLevelItem(1))
    qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, pos=first_rect.center())
    qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                     second_rect.center())
    assert panel.selected_numbers() == [1, 2]
    assert window.charts.overlay.names == ["Run 1", "Run 2"] and window.charts.overlay.legend.isVisible()
    curves = [item for plot, item in window.charts.overlay.items if plot is window.charts.loss_plot]
    assert len({item.opts["pen"].color().name() for item in curves}) == 2, "each run in its own colour"
    diff = panel.diff.text()
    assert "fc1: units 16 -&gt; 32" in diff and "lr 0.01 -&gt; 0.003" in diff

    # Restore the first run: its model, settings and weights; Undo takes the model and settings back.
    qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, pos=first_rect.center())
    assert window.charts.overlay.names == []
    click(qtbot, panel.buttons["restore"])
    first = window.workspace.run_by_number(1)
    assert window.document.spec.nodes[node_named(window, "fc1")].params["out_features"] == 16
    assert window.training_panel.lr_spin.value() == first.settings.learning_rate
    assert window.workspace.run is first and window.workspace.project()[1] is not None
    window.action_undo.trigger()
    assert window.document.spec.nodes[node_named(window, "fc1")].params["out_features"] == 32


def test_rename_note_and_delete_from_the_panel(qtbot, app_window):
    window = app_window
    train(qtbot, window, 2)
    train(qtbot, window, 2)
    panel = window.runs_panel
    panel.select([1])
    panel.ask_text = lambda title, label, text: ("baseline", True)
    click(qtbot, panel.buttons["rename"])
    panel.ask_text = lambda title, label, text: ("tanh, 16 units", True)
    click(qtbot, panel.buttons["note"])
    assert panel.list.topLevelItem(0).text(0) == "baseline"
    assert "tanh, 16 units" in panel.list.topLevelItem(0).toolTip(0)
    panel.select([1])
    click(qtbot, panel.buttons["delete"])
    assert [r.name for r in window.workspace.runs] == ["Run 2"] and panel.list.topLevelItemCount() == 1


def test_the_epoch_slider_shows_an_earlier_epoch_and_live_comes_back(qtbot, app_window):
    window = app_window
    train(qtbot, window, 6)
    run, replay = window.workspace.run, window.replay
    assert replay.epochs == sorted(run.snapshots) and replay.epochs[0] == 0 and replay.epochs[-1] == 6
    replay.slider.setValue(replay.epochs.index(2))   # as the person drags it
    window.predictions.draw_pending()
    assert "after epoch 2" in window.predictions.title.text() and not replay.following
    drawn = window.predictions.plot_widget.image_item.image
    window.predictions.draw_snapshot(run.snapshots[2])
    np.testing.assert_array_equal(window.predictions.plot_widget.image_item.image, drawn)
    assert "2 / 6" in replay.label.text() and replay.live_button.isVisible()
    click(qtbot, replay.live_button)
    window.predictions.draw_pending()
    assert replay.following and f"after epoch {run.kept_epoch}" in window.predictions.title.text()


def test_a_run_picked_in_the_panel_is_replayed(qtbot, app_window):
    window = app_window
    train(qtbot, window, 3)
    train(qtbot, window, 5)
    window.runs_panel.select([1])
    replay = window.replay
    assert replay.run is window.workspace.run_by_number(1) and replay.epochs[-1] == 3
    assert "Run 1:" in replay.label.text()
    replay.slider.setValue(1)
    window.predictions.draw_pending()
    assert "after epoch 1" in window.predictions.title.text()
    window.runs_panel.select([])
    assert replay.run is window.workspace.run and replay.following
