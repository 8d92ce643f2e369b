"""Training from the window as a person does: choose, press Train, watch, pause, resume, stop; and
the ways a run can go wrong (invalid model, diverging run, closing the window mid-run)."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel

from layerforge.engine import cuda


def choose(combo, data) -> None:
    index = combo.findData(data)
    assert index >= 0, f"{combo.objectName()} has no entry {data!r}"
    combo.setCurrentIndex(index)


def click(qtbot, button) -> None:
    assert button.isEnabled(), f"{button.objectName()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def steps_drawn(window) -> int:
    return len(window.charts.loss_points()[0])


def test_train_watch_pause_resume_stop(window, qtbot):
    panel, charts, predictions = window.training_panel, window.charts, window.predictions
    ids = {n.name: i for i, n in window.document.spec.nodes.items()}
    window.document.set_param(ids["fc1"], "out_features", 24)  # something to undo later
    choose(window.dataset_panel.combo, "spiral")
    choose(panel.loss_combo, "cross_entropy")
    choose(panel.optimizer_combo, "adamw")
    panel.lr_spin.setValue(0.02)
    panel.epochs_spin.setValue(3000)  # far more than the test waits for: it ends with Stop
    panel.batch_spin.setValue(16)
    choose(panel.device_combo, "cpu")
    click(qtbot, panel.train_button)
    assert window.run.running and not panel.train_button.isEnabled()

    qtbot.waitUntil(lambda: steps_drawn(window) > 200 and predictions.last_epoch not in (None, 0), timeout=20_000)
    first_image = None
    qtbot.waitUntil(lambda: predictions.last_kind == "boundary2d", timeout=5_000)
    first_image = predictions.image_item.image.copy()
    _, losses = charts.loss_points()
    start = float(np.mean(losses[:10]))
    qtbot.waitUntil(lambda: float(np.mean(charts.loss_points()[1][-20:])) < 0.7 * start, timeout=20_000)
    qtbot.waitUntil(lambda: not np.array_equal(predictions.image_item.image, first_image), timeout=5_000)
    assert "Epoch" in panel.progress.text() and "left" in panel.progress.text()

    # Editing is refused politely while the run goes on; the run's model is untouched.
    before = window.document.spec.to_dict()
    window.add_layer_after_selection("Dropout")
    assert window.document.spec.to_dict() == before
    assert not window.action_undo.isEnabled() and not window.action_redo.isEnabled()
    assert "training" in window.statusBar().currentMessage().lower()
    assert not window.inspector.form_host.isEnabled()

    click(qtbot, panel.pause_button)
    assert panel.pause_button.text() == "Resume"
    trainer = window.workspace.run   # its step is the last batch the window has heard of
    qtbot.wait(200)  # the batch in flight finishes
    paused_at = trainer.step
    qtbot.wait(300)
    assert trainer.step == paused_at
    click(qtbot, panel.pause_button)
    assert panel.pause_button.text() == "Pause"
    qtbot.waitUntil(lambda: trainer.step > paused_at + 5, timeout=5_000)

    click(qtbot, panel.stop_button)
    qtbot.waitUntil(lambda: not window.run.running, timeout=5_000)
    assert "stopped" in window.banner.text.lower() and window.banner.isVisible()
    assert panel.train_button.isEnabled() and not window.document.read_only
    assert window.action_undo.isEnabled()
    assert window.add_layer_after_selection("Dropout") is not None  # editable again


def test_a_diverging_run_stops_with_its_reason_and_keeps_finite_weights(window, qtbot):
    choose(window.dataset_panel.combo, "sine")
    click(qtbot, window.banner.action_button)  # a regression model: its error can grow without bound
    panel = window.training_panel
    choose(panel.optimizer_combo, "sgd")
    panel.lr_spin.setValue(50.0)
    panel.epochs_spin.setValue(50)
    click(qtbot, panel.train_button)
    qtbot.waitUntil(lambda: not window.run.running, timeout=20_000)
    assert window.banner.level == "error"
    text = window.banner.text.lower()
    assert "failed" in text and ("nan" in text or "inf" in text or "diverg" in text)
    assert "learning rate" in text and "weights restored" in text
    assert "failed" in window.statusBar().currentMessage().lower()
    weights = window.workspace.run.weights
    assert weights and all(np.isfinite(np.asarray(value)).all() for value in weights.values())


def test_an_invalid_model_blocks_train_with_the_reason(window, qtbot):
    ids = {n.name: i for i, n in window.document.spec.nodes.items()}
    window.document.remove([ids["tanh1"]])
    click(qtbot, window.training_panel.train_button)
    assert not window.run.running
    text = window.banner.text
    assert window.banner.level == "error" and text.startswith("Cannot train yet")
    assert "2 outputs ('fc1', 'fc3')" in text and "1 more problem" in text
    assert window.canvas.model_scene.selected_node_ids() == [ids["fc1"]]  # the layer at fault, selected
    assert window.canvas.model_scene.nodes[ids["fc2"]].error is not None  # and fc2 (no input) is red too


def test_closing_during_training_asks_then_stops_and_joins_the_worker(window, qtbot):
    panel = window.training_panel
    panel.epochs_spin.setValue(5000)
    click(qtbot, panel.train_button)
    qtbot.waitUntil(lambda: steps_drawn(window) > 20, timeout=10_000)
    asked = []
    window.confirm_close_during_training = lambda: asked.append(True) or False
    assert not window.close()
    assert asked and window.run.running and window.isVisible()
    window.confirm_close_during_training = lambda: True
    assert window.close()
    assert not window.run.running
    assert window.workspace.run.status == "stopped"


def test_device_box_offers_cpu_and_explains_a_missing_gpu(window):
    combo = window.training_panel.device_combo
    assert combo.itemData(0) == "cpu"
    model = combo.model()
    assert isinstance(model, QStandardItemModel)
    if cuda.is_available():
        labels = [combo.itemData(i, Qt.ItemDataRole.DisplayRole) for i in range(combo.count())]
        assert all(label.startswith("GPU") for label in labels[1:-1]) and len(labels) == cuda.device_count() + 2
        assert combo.itemData(combo.count() - 1) == "auto" and labels[-1].startswith("Auto")
    else:
        last = combo.count() - 1
        assert not model.item(last).isEnabled()
        assert combo.itemData(last, Qt.ItemDataRole.ToolTipRole) == cuda.unavailable_reason()


def test_regression_shows_the_fitted_curve_and_r2(window, qtbot):
    choose(window.dataset_panel.combo, "sine")
    assert window.banner.level == "warning" and "(1,)" in window.banner.text
    click(qtbot, window.training_panel.train_button)  # the spiral model cannot take sine's inputs
    assert not window.run.running and window.banner.level == "error"
    assert "Input 'input1' has shape (2,)" in window.banner.text and "(1,)" in window.banner.text
    click(qtbot, window.banner.action_button)  # "Use a matching model"
    assert window.document.report.input_shape == (1,)
    panel = window.training_panel
    assert panel.loss_combo.currentData() == "mse"
    panel.epochs_spin.setValue(40)
    click(qtbot, panel.train_button)
    qtbot.waitUntil(lambda: not window.run.running, timeout=30_000)
    qtbot.waitUntil(lambda: window.predictions.last_kind == "curve1d", timeout=3_000)
    x, y = window.predictions.fit_curve.getData()
    assert len(x) > 10 and np.all(np.isfinite(y))
    assert window.banner.level == "success" and "R²" in window.banner.text
    assert "R²" in window.charts.metric_plot.titleLabel.text


def test_images_show_predicted_and_true_labels_and_a_confusion_matrix(window, qtbot):
    choose(window.dataset_panel.combo, "digits")
    click(qtbot, window.banner.action_button)
    assert window.document.report.output_shape == (10,)
    panel = window.training_panel
    panel.epochs_spin.setValue(1)
    click(qtbot, panel.train_button)
    qtbot.waitUntil(lambda: not window.run.running, timeout=30_000)
    qtbot.waitUntil(lambda: window.predictions.last_kind == "images", timeout=3_000)
    captions = window.predictions.image_grid.captions()
    assert len(captions) >= 8
    matrix = window.predictions.confusion.matrix
    assert matrix.shape == (10, 10) and matrix.sum() == window.workspace.run.sizes["val"]
    assert window.predictions.confusion.table.item(3, 3).text() == str(matrix[3, 3])


def test_charts_keep_100k_steps_smooth_and_fade_the_previous_run(window):
    charts = window.charts
    charts.begin_run(1000, "classification")
    for step in range(1, 100_001):
        charts.add_batch(step, 1.0 / math.sqrt(step), 0.01)
    charts.redraw_if_dirty()
    x, y = charts.loss_points()
    assert len(x) == 100_000
    assert charts.raw_curve.opts["autoDownsample"] and charts.raw_curve.opts["clipToView"]
    charts.begin_run(1000, "classification")
    assert len(charts.previous_loss.xData) == 100_000
    assert charts.has_previous


def test_an_autoencoder_example_trains_against_its_input_and_shows_reconstructions(window, qtbot):
    window.open_example("digits_autoencoder")
    panel = window.training_panel
    assert panel.loss_combo.currentData() == "mse" and panel.settings().target == "input"
    assert not window.banner.isVisible()  # output (1, 8, 8) fits: it rebuilds its input
    panel.epochs_spin.setValue(1)
    click(qtbot, panel.train_button)
    qtbot.waitUntil(lambda: not window.run.running, timeout=30_000)
    qtbot.waitUntil(lambda: window.predictions.last_kind == "reconstruction", timeout=3_000)
    assert window.banner.level == "success"
    assert window.predictions.image_grid.captions()[:2] == ["input", "rebuilt"]
    assert not window.predictions.confusion.isVisible()


def test_a_long_gpu_name_keeps_the_training_buttons_inside_the_window(qtbot, monkeypatch):
    # A laptop GPU's name is long; the device box must not widen the panel past the window's edge.
    from layerforge.app import create_main_window, training_panel

    name = "GPU 0: NVIDIA GeForce RTX 4090 Laptop GPU (16 GiB, driver 580.65)"
    monkeypatch.setattr(training_panel, "device_choices", lambda: [
        ("CPU", "cpu", True, "Train on the processor"), (name, "cuda:0", True, f"Train on {name}")])
    win = create_main_window("spiral")
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    panel = win.training_panel
    choose(panel.device_combo, "cuda:0")
    qtbot.wait(50)
    for widget in (panel.train_button, panel.pause_button, panel.stop_button, panel.device_combo):
        right = widget.mapTo(win, widget.rect().topRight()).x()
        assert right < win.width(), f"{widget.objectName()} ends at x={right}, past the window's {win.width()}"
    assert panel.device_combo.view().minimumWidth() >= panel.device_combo.fontMetrics().horizontalAdvance(name)
    assert name in panel.device_combo.itemData(1, Qt.ItemDataRole.ToolTipRole)
