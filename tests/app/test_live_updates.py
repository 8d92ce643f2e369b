"""How training events reach the views: queued by the worker, taken when the window draws a frame,
and drawn at a rate that leaves the training thread its interpreter lock."""
from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtWidgets import QWidget

import layerforge.engine as lf
from layerforge.app import theme
from layerforge.app.charts import MAX_EPOCH_DOTS, TrainingCharts
from layerforge.app.confusion import ConfusionMatrixView
from layerforge.app.frames import IDLE_INTERVAL_MS, MIN_INTERVAL_MS, FrameClock
from layerforge.app.image_grid import ImageGrid
from layerforge.app.workspace_runner import QtRunner
from layerforge.engine.threads import available_cpus, blas_threads_controllable
from layerforge.training import BatchEnd, EpochEnd, RunFinished, RunStarted


def started() -> RunStarted:
    return RunStarted(total_epochs=2, steps_per_epoch=2, device="cpu", device_reason="", n_train=4, n_val=2)


def epoch_end(epoch: int) -> EpochEnd:
    return EpochEnd(epoch, {"loss": 1.0 / epoch}, {"loss": 1.0 / epoch}, 0.01, 0.1 * epoch, 0.0)


def test_the_runner_wakes_the_gui_only_for_the_start_and_the_end_and_hands_over_one_list(qtbot):
    runner = QtRunner()
    received = []

    def on_events(events):
        received.append(list(events))

    def on_done(outcome):
        received.append(outcome)

    runner._on_done = on_done
    first = [started()] + [BatchEnd(1, step, 0.5, 0.01) for step in range(1, 201)] + [epoch_end(1)]
    for event in first:
        runner._post(on_events, [event])
    assert runner._announced   # the start: the GUI thread's timer takes it at its next tick
    runner._deliver_if_urgent()
    assert received == [first] and not runner._announced   # one list: one RunProgress in the workspace
    more = [BatchEnd(2, step, 0.4, 0.01) for step in range(201, 301)]
    for event in more:
        runner._post(on_events, [event])
    assert not runner._announced   # batch ends wait for the next frame
    runner._deliver_if_urgent()
    assert received == [first]
    finished = RunFinished(reason="completed", epochs_run=1, best_epoch=1, final={})
    runner._post(on_events, [finished])
    runner._post(on_done, "outcome")
    assert runner._announced
    runner._deliver_if_urgent()
    assert received == [first, more + [finished], "outcome"] and runner.deliver() is False


def test_the_frame_clock_feeds_the_views_first_and_slows_down_when_nothing_changes(qtbot):
    widget = QWidget()
    qtbot.addWidget(widget)
    clock = FrameClock(budget=1.0)  # no CPU budget to respect here: only the idle rule acts
    order, news = [], []
    clock.add_feed(lambda: order.append("feed"))
    clock.add(lambda: order.append("draw") or bool(news), widget)
    news.append(True)
    clock.frame()
    assert order == ["feed", "draw"]
    assert clock.drawn_frames == 1 and clock._timer.interval() < IDLE_INTERVAL_MS
    news.clear()
    clock.frame()
    assert clock.drawn_frames == 1 and clock._timer.interval() >= IDLE_INTERVAL_MS
    news.append(True)
    clock.frame()
    assert clock.drawn_frames == 2 and MIN_INTERVAL_MS <= clock._timer.interval() < IDLE_INTERVAL_MS
    clock._timer.stop()


def test_per_epoch_curves_drop_their_dots_once_there_are_many_epochs(qtbot):
    charts = TrainingCharts()
    qtbot.addWidget(charts)
    charts.begin_run(10, "classification", 200)
    for epoch in range(1, MAX_EPOCH_DOTS + 1):
        charts.add_epoch(epoch, {"loss": 1.0, "accuracy": 0.5}, {"loss": 1.0, "accuracy": 0.5})
    charts.redraw_if_dirty()
    assert charts.val_curve.opts["symbol"] == "o" and charts.val_metric_curve.opts["symbol"] == "o"
    charts.add_epoch(MAX_EPOCH_DOTS + 1, {"loss": 1.0, "accuracy": 0.5}, {"loss": 1.0, "accuracy": 0.5})
    charts.redraw_if_dirty()
    assert charts.val_curve.opts["symbol"] is None and charts.val_metric_curve.opts["symbol"] is None
    assert len(charts.val_curve.xData) == MAX_EPOCH_DOTS + 1  # the line keeps every epoch
    charts.begin_run(10, "classification", 200)
    charts.add_epoch(1, {"loss": 1.0, "accuracy": 0.5}, {"loss": 1.0, "accuracy": 0.5})
    charts.redraw_if_dirty()
    assert charts.val_curve.opts["symbol"] == "o"  # a new run starts dotted again


def test_the_confusion_table_is_rebuilt_only_when_its_counts_change(qtbot):
    view = ConfusionMatrixView()
    qtbot.addWidget(view)
    counts = np.array([[5, 1], [0, 6]])
    view.set_matrix(counts, ["a", "b"])
    first = view.table.item(0, 1)
    view.set_matrix(counts.copy(), ["a", "b"])
    assert view.table.item(0, 1) is first
    view.set_matrix(np.array([[6, 0], [0, 6]]), ["a", "b"])
    assert view.table.item(0, 1) is not first and view.table.item(0, 1).text() == "0"


def test_the_image_grid_redraws_only_the_cells_whose_prediction_changed(qtbot):
    grid = ImageGrid()
    qtbot.addWidget(grid)
    images = np.random.default_rng(0).random((3, 1, 8, 8)).astype(np.float32)
    grid.set_images(images, ["1", "2", "3"], [True, True, True])
    kept = grid.cells[0][0].pixmap().cacheKey()
    grid.set_images(images.copy(), ["1", "7 (is 2)", "3"], [True, False, True])
    assert grid.cells[0][0].pixmap().cacheKey() == kept  # same sample: its picture is not made again
    assert grid.captions() == ["1", "7 (is 2)", "3"]
    wrong, right = theme.hex_color("label.wrong"), theme.hex_color("label.right")
    assert wrong in grid.cells[1][1].styleSheet() and right in grid.cells[0][1].styleSheet()
    grid.set_images(images[:1], ["1"], [True])
    assert grid.captions() == ["1"] and grid.cells[1][0].pixmap().isNull()
    grid.set_images(images, ["1", "2", "3"], [True, True, True])
    assert grid.captions() == ["1", "2", "3"] and not grid.cells[1][0].pixmap().isNull()


def test_a_cpu_run_leaves_one_cpu_for_the_window_and_gives_it_back(window, qtbot):
    if not blas_threads_controllable():
        pytest.skip("this numpy's BLAS is not OpenBLAS: its thread pool cannot be asked")
    before = lf.get_num_threads()
    panel = window.training_panel
    panel.epochs_spin.setValue(2000)  # ended with Stop below
    panel.train_button.click()
    assert window.run.running
    # Set as the run begins in its thread (at RunStarted), a moment after the click returns.
    qtbot.waitUntil(lambda: lf.get_num_threads() == max(1, min(before, available_cpus() - 1)), timeout=5_000)
    qtbot.waitUntil(lambda: window.workspace.run.step > 20, timeout=10_000)
    panel.stop_button.click()
    qtbot.waitUntil(lambda: not window.run.running, timeout=5_000)
    assert lf.get_num_threads() == before


def test_a_run_whose_matrix_products_are_large_keeps_every_blas_thread(window, qtbot):
    """Leaving a core to the window pays for a small model and costs a large one (the MNIST MLP ran
    at 82% of headless with one BLAS thread beside the window, 94% with two): from a batch's forward
    pass of BIG_STEP_FLOPS on, a run keeps them all."""
    from layerforge.training.cpu_share import BIG_STEP_FLOPS, leave_a_core_for_the_window, step_flops

    if not blas_threads_controllable():
        pytest.skip("this numpy's BLAS is not OpenBLAS: its thread pool cannot be asked")
    before = lf.get_num_threads()
    if min(before, available_cpus()) < 2:
        pytest.skip("one BLAS thread or one CPU: there is no core to leave")
    assert leave_a_core_for_the_window("cpu", BIG_STEP_FLOPS) is None and lf.get_num_threads() == before
    assert step_flops(window.workspace.spec, 32) < BIG_STEP_FLOPS   # the spiral MLP: small
    window.training_panel.batch_spin.setValue(1024)
    window.document.set_param(window.workspace.spec.node_by_name("fc1").id, "out_features", 4096)
    window.document.set_param(window.workspace.spec.node_by_name("fc2").id, "out_features", 2048)
    assert step_flops(window.workspace.spec, 1024) >= BIG_STEP_FLOPS
    window.training_panel.epochs_spin.setValue(2000)
    window.training_panel.train_button.click()
    qtbot.waitUntil(lambda: window.workspace.run.step > 2, timeout=20_000)
    assert lf.get_num_threads() == before
    window.training_panel.stop_button.click()
    qtbot.waitUntil(lambda: not window.run.running, timeout=20_000)
    assert lf.get_num_threads() == before
