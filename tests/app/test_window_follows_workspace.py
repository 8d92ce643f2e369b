"""Issue #14: what the window shows after each thing a person does is what the project really has.

Each test drives the window through its menus, buttons and dialogs (pytest-qt, offscreen) and checks
the views a person reads: the progress bar, the charts' titles and axes, the predictions and the
confusion matrix, the banner and the status bar.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from window_support import (boxes, click, close_window, files, isolated, open_window, app_window,  # noqa: F401
                           write_class_csv)


def trigger(window, name: str) -> None:
    action = window.findChild(QAction, name)
    assert action is not None, name
    action.trigger()


def run_to_the_end(qtbot, window, epochs: int, timeout: int = 30_000) -> None:
    window.training_panel.epochs_spin.setValue(epochs)
    click(qtbot, window.training_panel.train_button)
    qtbot.waitUntil(lambda: window.run.running, timeout=5_000)
    qtbot.waitUntil(lambda: not window.run.running, timeout=timeout)
    qtbot.wait(50)   # the frame after the end


def run_then_stop(qtbot, window) -> None:
    """A fresh run (Restart, where the last run could be continued), stopped after 50 steps."""
    panel = window.training_panel
    panel.epochs_spin.setValue(3000)
    click(qtbot, panel.restart_button if panel.restart_button.isVisible() else panel.train_button)
    qtbot.waitUntil(lambda: len(window.charts.loss_points()[0]) > 50, timeout=10_000)
    click(qtbot, window.training_panel.stop_button)
    qtbot.waitUntil(lambda: not window.run.running, timeout=10_000)
    qtbot.wait(50)


def x_range(plot) -> tuple[float, float]:
    return tuple(plot.viewRange()[0])


def epochs_named(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"epoch (\d+)", text)}


def test_file_new_after_a_run_resets_progress_axes_legend_and_the_hint(qtbot, app_window):
    window = app_window
    window.commands.projects.ask_unsaved = lambda: "discard"
    run_to_the_end(qtbot, window, 3)
    run_then_stop(qtbot, window)
    charts = window.charts
    assert "Stopped at epoch" in window.training_panel.progress.text()
    assert "previous run" in charts.loss_plot.titleLabel.text

    window.device_label.setText("Device: cuda:1")   # as a run on the second GPU would have left it
    trigger(window, "actionNew")
    qtbot.wait(50)
    assert window.device_label.text() == "Device: CPU"   # where the next run goes: the new project's CPU
    progress = window.training_panel.progress.text()
    assert "Stopped" not in progress and "epoch" not in progress.lower(), progress
    assert "previous run" not in charts.loss_plot.titleLabel.text
    assert len(charts.loss_points()[0]) == 0
    low, high = x_range(charts.lr_plot)
    assert high <= 1.5, (low, high)                                   # not the stopped run's epochs
    assert charts.hint.isVisible()
    # The hint is centred on (0.5, 0.5): in the middle of the emptied axes, not at the left edge of the
    # stopped run's 0-260 epochs, where half of it is cut off ("atch the loss fall").
    (x0, x1), (y0, y1) = charts.loss_plot.viewRange()
    assert 0.3 <= (0.5 - x0) / (x1 - x0) <= 0.7 and 0.3 <= (0.5 - y0) / (y1 - y0) <= 0.7, ((x0, x1), (y0, y1))
    text_width = charts.hint.textItem.boundingRect().width()
    assert text_width < charts.loss_plot.getViewBox().width(), text_width


def test_a_reopened_project_with_weights_shows_its_boundary_confusion_and_state(qtbot, app_window, files,
                                                                               tmp_path):
    window = app_window
    run_to_the_end(qtbot, window, 4)
    files.save_path = str(tmp_path / "trained_spiral.lfproj")
    trigger(window, "actionSaveAs")
    assert Path(files.save_path).is_file()

    again = open_window(qtbot)
    files.open_path = files.save_path
    trigger(again, "actionOpen")
    qtbot.wait(50)
    title = again.predictions.title.text()
    assert "Decision boundary" in title and "press Train" not in title, title
    assert again.predictions.last_kind == "boundary2d"
    table = again.predictions.confusion.table
    counts = [table.item(r, c).text() for r in range(table.rowCount()) for c in range(table.columnCount())]
    assert counts and all(text.isdigit() for text in counts), counts
    progress = again.training_panel.progress.text()
    assert "Ready to train" not in progress and "Not trained" not in progress, progress
    assert "Ready to train" not in again.statusBar().currentMessage()
    assert again.banner.isVisible() and "epoch" in again.banner.text
    # Every view names the same epoch: the kept one.
    kept = epochs_named(again.banner.text)
    assert epochs_named(title) <= kept and epochs_named(again.predictions.confusion.caption.text()) <= kept
    close_window(again)


def write_regression_csv(path: Path, rows: int = 120) -> Path:
    rng = np.random.default_rng(1)
    lines = ["size,price"]
    for _ in range(rows):
        x = rng.uniform(0, 300)
        lines.append(f"{x:.2f},{2.0 * x + rng.normal(0, 5):.2f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_regression_csv_after_a_classification_run_has_its_own_charts_and_prediction_range(
        qtbot, app_window, tmp_path):
    window = app_window
    run_to_the_end(qtbot, window, 3)
    click(qtbot, window.commands.import_button)
    dialog = window.commands.import_dialog
    dialog.csv_tab.path_row.edit.setText(str(write_regression_csv(tmp_path / "prices.csv")))
    assert dialog.csv_tab.target_combo.currentText() == "price"
    click(qtbot, dialog.import_button)
    qtbot.waitUntil(lambda: window.dataset_panel.dataset is not None
                    and window.dataset_panel.dataset.task == "regression", timeout=5_000)
    assert window.banner.level == "warning"              # the spiral model cannot take it
    click(qtbot, window.banner.action_button)            # Use a matching model
    run_to_the_end(qtbot, window, 30)
    charts = window.charts
    assert "R²" in charts.metric_plot.titleLabel.text
    assert "previous run" not in charts.loss_plot.titleLabel.text     # the classifier's curves mean nothing here
    assert len(charts.previous_metric.xData if charts.previous_metric.xData is not None else []) == 0
    # The prediction plot shows every prediction (up to ~600), not the data preview's range.
    (x0, x1), (y0, y1) = window.predictions.plot.viewRange()
    x, y = window.predictions.fit_curve.getData()
    assert x is not None and len(y)
    assert y0 <= float(np.min(y)) and float(np.max(y)) <= y1, ((y0, y1), float(np.max(y)))
    assert x0 <= float(np.min(x)) and float(np.max(x)) <= x1


def test_the_banner_the_boundary_and_the_confusion_matrix_name_the_same_kept_epoch(qtbot, app_window):
    window = app_window
    window.training_panel.lr_spin.setValue(0.3)     # a bouncy run: the best epoch is rarely the last
    run_to_the_end(qtbot, window, 12)
    banner = window.banner.text
    kept = epochs_named(banner.split("kept the weights of ")[-1])
    assert len(kept) == 1, banner
    assert epochs_named(window.predictions.title.text()) == kept, (window.predictions.title.text(), banner)
    assert epochs_named(window.predictions.confusion.caption.text()) == kept
    assert "kept" in window.predictions.title.text()


def test_opening_another_example_resets_progress_chart_titles_and_the_lr_axis(qtbot, app_window):
    window = app_window
    window.commands.projects.ask_unsaved = lambda: "discard"
    window.open_example("sine")
    run_to_the_end(qtbot, window, 40)
    assert "Done" in window.training_panel.progress.text()
    assert "R²" in window.charts.metric_plot.titleLabel.text
    sine_axis = x_range(window.charts.lr_plot)
    assert sine_axis[1] > 5

    menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "File")
    examples = next(a.menu() for a in menu.actions() if a.menu() is not None and "example" in a.text().replace("&", "").lower())
    next(a for a in examples.actions() if a.text().replace("&", "") == "spiral").trigger()
    qtbot.wait(50)
    assert window.project_name == "spiral"
    progress = window.training_panel.progress.text()
    assert "Done" not in progress and "150" not in progress, progress
    assert "Accuracy" in window.charts.metric_plot.titleLabel.text
    assert x_range(window.charts.lr_plot)[1] <= 1.5


def test_editing_the_trained_model_marks_its_predictions_and_banner_stale(qtbot, app_window):
    window = app_window
    run_to_the_end(qtbot, window, 3)
    assert window.banner.level == "success" and "%" in window.banner.text
    assert window.predictions.last_kind == "boundary2d"
    ids = {n.name: i for i, n in window.document.spec.nodes.items()}
    window.canvas.model_scene.select_nodes([ids["fc1"]])
    editor = window.inspector.editors["out_features"]
    editor.setValue(editor.value() + 8)                  # as the spin box's arrow does
    qtbot.wait(50)
    assert window.banner.level != "success"
    assert "edited" in window.banner.text
    assert "cleared" in window.predictions.title.text().lower() or "edited" in window.predictions.title.text()
    assert window.predictions.confusion.table.item(0, 0).text() == ""
    trigger(window, "actionUndo")                        # the trained model again: its results come back
    qtbot.wait(50)
    assert window.banner.level == "success"


def test_the_red_cannot_train_banner_goes_once_its_quick_fix_is_applied(qtbot, app_window):
    window = app_window
    window.commands.projects.ask_unsaved = lambda: "discard"
    window.open_example("digits_cnn")
    ids = {n.name: i for i, n in window.document.spec.nodes.items()}
    window.document.remove([ids["flatten1"]])            # the CNN without its Flatten: fc1 gets (C, H, W)
    window.document.connect(ids["pool2"], ids["fc1"])
    assert not window.document.report.ok
    click(qtbot, window.training_panel.train_button)
    assert not window.run.running
    assert window.banner.level == "error" and window.banner.text.startswith("Cannot train"), window.banner.text
    window.canvas.model_scene.select_nodes([ids["fc1"]])
    click(qtbot, window.inspector.fix_button)            # "Quick fix: insert Flatten"
    assert window.document.report.ok
    assert not (window.banner.isVisible() and window.banner.level == "error"), window.banner.text


def leave_autosave_of(folder: Path, name: str) -> None:
    """What a crashed Layerforge leaves: the 'sine' example, autosaved under another process's id."""
    from layerforge.training import example_project_path, load_project, save_project
    project, _ = load_project(example_project_path("sine"))
    project.settings = project.settings.replace(epochs=30)
    folder.mkdir(parents=True, exist_ok=True)
    save_project(project, folder / "autosave-777777.lfproj")
    (folder / "autosave-777777.json").write_text(
        '{"name": "%s", "original_path": null, "saved_at": %f, "pid": 777777}' % (name, time.time()),
        encoding="utf-8")


def test_after_discard_on_recovery_f5_trains_with_the_settings_shown(qtbot, isolated, boxes, files):
    from layerforge.app.autosave import autosave_location
    leave_autosave_of(autosave_location(), "sine")
    window = open_window(qtbot)
    boxes.answer = QMessageBox.StandardButton.Discard
    window.commands.start()
    (question,) = boxes.texts("question")
    assert "'sine'" in question                          # recovery names the project it recovers
    assert window.project_name == "spiral"
    window.training_panel.epochs_spin.setValue(7)
    trigger(window, "actionTrain")                       # F5
    assert window.run.running or "Done" in window.training_panel.progress.text(), \
        window.statusBar().currentMessage()              # it ran, or says why not
    qtbot.waitUntil(lambda: not window.run.running, timeout=30_000)
    qtbot.wait(50)
    assert "7 epochs" in window.training_panel.progress.text(), window.training_panel.progress.text()
    close_window(window)


def test_an_action_that_cannot_run_now_says_why(qtbot, app_window, boxes):
    window = app_window
    window.training_panel.epochs_spin.setValue(3000)
    click(qtbot, window.training_panel.train_button)
    qtbot.waitUntil(lambda: len(window.charts.loss_points()[0]) > 20, timeout=10_000)
    window.statusBar().clearMessage()
    window.open_example("sine")
    assert window.project_name == "spiral"
    assert "training" in window.statusBar().currentMessage().lower()
    window.statusBar().clearMessage()
    trigger(window, "actionPredict")
    assert boxes.texts() or window.statusBar().currentMessage()
    click(qtbot, window.training_panel.stop_button)
    qtbot.waitUntil(lambda: not window.run.running, timeout=10_000)


def test_the_status_bar_names_devices_as_the_device_box_does():
    from layerforge.app.run_views import device_label
    assert [device_label(d) for d in ("cpu", "cuda", "cuda:0", "cuda:1", "auto")] == [
        "CPU", "GPU 0", "GPU 0", "GPU 1", "Auto"]
