"""Issue #16, "Errors you can click": a person clicks a cell of the confusion matrix and gets exactly
the samples behind it, the model's surest first; a calibration view sits under the matrix."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from layerforge.app import create_main_window
from layerforge.app.cell_errors import CellErrors
from layerforge.app.dialogs import cell_samples_dialog
from layerforge.app.dialogs.cell_samples_dialog import MAX_SHOWN
from layerforge.data import split_indices
from window_support import train


def cell_errors(window) -> CellErrors:
    """The window's own wiring where MainWindow makes it, else one made here as MainWindow would."""
    return window.cell_errors


def click_cell(qtbot, window, true: int, predicted: int) -> None:
    view = window.predictions.confusion
    view.table.scrollToItem(view.table.item(true, predicted))   # as a person scrolls a small matrix
    rect = view.cell_rect(true, predicted)
    assert rect.isValid() and view.table.viewport().rect().contains(rect.center()), "the cell is on screen"
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def opened_dialog(qtbot, errors):
    qtbot.waitUntil(lambda: errors.dialog is not None and errors.dialog.isVisible() and errors.dialog.ready,
                    timeout=20_000)
    return errors.dialog


def busiest_mistake(matrix) -> tuple[int, int]:
    off = np.array(matrix, dtype=np.int64)
    np.fill_diagonal(off, -1)
    return tuple(int(i) for i in np.unravel_index(np.argmax(off), off.shape))


def validation_labels(window) -> np.ndarray:
    run, dataset = window.workspace.run, window.workspace.dataset
    settings = run.settings
    _, val, _ = split_indices(dataset, settings.val_fraction, settings.test_fraction, seed=settings.seed)
    return val


def test_clicking_a_cell_lists_exactly_its_samples_most_confident_first(qtbot, window):
    errors = cell_errors(window)
    train(qtbot, window, 2)
    matrix = window.predictions.confusion.matrix
    assert matrix is not None
    for true, predicted in (busiest_mistake(matrix), (1, 1)):
        click_cell(qtbot, window, true, predicted)
        dialog = opened_dialog(qtbot, errors)
        assert dialog.objectName() == "cellSamplesDialog"
        names = window.workspace.dataset.class_names
        count = int(matrix[true, predicted])
        assert dialog.total == len(dialog.records) == count
        assert dialog.title.text().startswith(f"true {names[true]}, predicted {names[predicted]}: {count} sample")
        assert all(r.true == true and r.predicted == predicted for r in dialog.records)
        assert set(r.index for r in dialog.records) <= set(validation_labels(window).tolist())
        confidences = [r.confidence for r in dialog.records]
        assert confidences == sorted(confidences, reverse=True)
        # The spiral's points are listed as a table: a row per sample with its two coordinates.
        assert dialog.current_view is dialog.table and dialog.table.rowCount() == count
        for row, record in enumerate(dialog.records[:5]):
            assert dialog.table.verticalHeaderItem(row).text() == f"#{record.index}"
            x = window.workspace.dataset.x[record.index]
            assert dialog.table.item(row, 3).text() == f"{x[0]:.4g}"
            assert dialog.table.item(row, 1).text() == f"{record.confidence:.1%}"
        dialog.close()

    # The calibration view, in the tab beside the matrix, counts every validation sample.
    tabs, calibration = window.predictions.classes_side, window.predictions.calibration
    qtbot.mouseClick(tabs.tabs, Qt.MouseButton.LeftButton, pos=tabs.tabs.tabRect(1).center())
    assert calibration.isVisible()
    assert sum(b.count for b in calibration.bins) == int(matrix.sum()) == len(validation_labels(window))
    right = sum(round(b.accuracy * b.count) for b in calibration.bins if b.count)
    assert right == int(np.trace(matrix))


def test_enter_on_the_focused_cell_opens_it_too(qtbot, window):
    errors = cell_errors(window)
    train(qtbot, window, 1)
    table = window.predictions.confusion.table
    table.setFocus()
    table.setCurrentCell(2, 0)
    qtbot.keyClick(table, Qt.Key.Key_Return)
    dialog = opened_dialog(qtbot, errors)
    assert dialog.cell == (2, 0)
    assert dialog.total == int(window.predictions.confusion.matrix[2, 0])


def test_clicking_with_no_trained_run_says_why(qtbot, window):
    errors = cell_errors(window)
    click_cell(qtbot, window, 0, 1)
    assert errors.dialog is None
    assert "no trained model yet" in window.statusBar().currentMessage()
    assert not window.predictions.classes_side.isTabEnabled(1), "no calibration to show"


def test_clicking_during_a_run_says_to_wait_for_its_end(qtbot, window):
    errors = cell_errors(window)
    window.training_panel.epochs_spin.setValue(500)
    window.training_panel.train_button.click()
    qtbot.waitUntil(lambda: window.run.running and window.predictions.confusion.matrix is not None, timeout=20_000)
    click_cell(qtbot, window, 0, 0)
    assert errors.dialog is None
    assert "the model is training" in window.statusBar().currentMessage()
    window.run.stop()
    qtbot.waitUntil(lambda: not window.run.running, timeout=20_000)


def test_a_stale_run_says_why_instead_of_listing_old_predictions(qtbot, window):
    errors = cell_errors(window)
    train(qtbot, window, 1)
    qtbot.waitUntil(lambda: window.predictions.classes_side.isTabEnabled(1), timeout=20_000)
    hidden = next(n for n in window.workspace.spec.nodes.values() if n.type == "Linear")   # fc1, not the output
    window.workspace.edit_model("wider", lambda spec: spec.nodes[hidden.id].params.update(
        out_features=hidden.params["out_features"] + 1))
    assert window.workspace.run.stale
    click_cell(qtbot, window, 0, 0)
    assert errors.dialog is None
    assert "edited" in window.statusBar().currentMessage()
    assert not window.predictions.classes_side.isTabEnabled(1), "the calibration of the model before the edit"


def test_an_image_dataset_shows_its_samples_as_a_gallery(qtbot, monkeypatch):
    window = create_main_window("digits_cnn")
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    try:
        errors = cell_errors(window)
        train(qtbot, window, 1, timeout=120_000)
        matrix = window.predictions.confusion.matrix
        true, predicted = busiest_mistake(matrix)
        click_cell(qtbot, window, true, predicted)
        dialog = opened_dialog(qtbot, errors)
        assert dialog.current_view is dialog.gallery
        count = int(matrix[true, predicted])
        assert len(dialog.gallery.tiles) == min(count, MAX_SHOWN) == dialog.total
        first = dialog.records[0]
        assert dialog.gallery.captions()[0] == f"predicted {predicted}, {first.confidence:.0%} / true {true} · #{first.index}"
        assert not dialog.gallery.tiles[0].findChildren(type(dialog.title))[0].pixmap().isNull()
        assert dialog.more.text() == ""

        # A large cell lists its most confident samples and says how many more it holds.
        monkeypatch.setattr(cell_samples_dialog, "MAX_SHOWN", 5)
        dialog.close()
        click_cell(qtbot, window, 4, 4)
        dialog = opened_dialog(qtbot, errors)
        count = int(matrix[4, 4])
        assert count > 5 and dialog.total == count
        assert len(dialog.gallery.tiles) == len(dialog.records) == 5
        assert dialog.more.text().startswith(f"… and {count - 5:,} more in this cell")
        confidences = [r.confidence for r in dialog.records]
        assert confidences == sorted(confidences, reverse=True)
        assert confidences[-1] >= max(r.confidence for r in errors.samples.samples_in_cell(4, 4)[5:])

        # An empty cell says so.
        dialog.close()
        true, predicted = (int(v) for v in np.argwhere(matrix == 0)[0])
        click_cell(qtbot, window, true, predicted)
        dialog = opened_dialog(qtbot, errors)
        assert dialog.total == 0 and dialog.gallery.tiles == []
        assert dialog.title.text() == f"true {true}, predicted {predicted}: no samples"
    finally:
        window.confirm_close_during_training = lambda: True
        window.run.shutdown(10)
