"""Importing data through the dialog as a person does: a CSV, an image folder, a .npz; then training
on it. Bad files get their message (file, line, column) in the dialog and nothing on disk changes."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage

from window_support import (boxes, click, files, isolated, app_window, snapshot_files, train,  # noqa: F401
                           write_class_csv)


def import_dialog(qtbot, window):
    click(qtbot, window.findChild(type(window.commands.import_button), "importDataButton"))
    dialog = window.commands.import_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def write_png(path, value: int, size=(6, 6), color=False) -> None:
    image = QImage(size[1], size[0], QImage.Format.Format_RGB32 if color else QImage.Format.Format_Grayscale8)
    image.fill(QColor(value, 255 - value, value // 2) if color else QColor(value, value, value))
    assert image.save(str(path), "PNG")


def make_image_folder(root, classes=("cats", "dogs"), per_class=3):
    for index, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            write_png(root / name / f"{i}.png", 40 + 160 * index + i, color=True)
    return root


def test_import_csv_through_the_dialog_then_train_on_it(app_window, qtbot, tmp_path):
    window = app_window
    csv_path = write_class_csv(tmp_path / "flowers.csv")
    dialog = import_dialog(qtbot, window)
    assert not dialog.import_button.isEnabled()   # nothing chosen yet
    dialog.csv_tab.path_row.edit.setText(str(csv_path))

    tab = dialog.csv_tab
    assert tab.header_check.isChecked()                       # the header was detected
    assert tab.table.rowCount() == 20 and tab.table.columnCount() == 3
    assert tab.table.horizontalHeaderItem(2).text() == "species"
    assert tab.table.item(0, 2).text() == "setosa"
    assert tab.target_combo.currentText() == "species"
    assert tab.features() == ["length", "width"]
    assert "none" in tab.missing_label.text()
    assert "3 classes" in tab.task_label.text() and "versicolor (30)" in tab.task_label.text()
    dialog.val_spin.setValue(0.25)
    dialog.standardize_check.setChecked(True)
    click(qtbot, dialog.import_button)

    panel = window.dataset_panel
    assert panel.dataset.name == "flowers" and panel.dataset.input_shape == (2,)
    assert "imported" in panel.combo.currentText()
    assert window.training_panel.settings().val_fraction == pytest.approx(0.25)
    assert window.workspace.source["path"] == str(csv_path.resolve())
    assert window.windowTitle().startswith("spiral*")

    train(qtbot, window, epochs=4)
    run = window.workspace.run
    assert run.data_info["dataset"] == "flowers" and run.sizes["val"] == pytest.approx(90 * 0.25, abs=1)
    assert len(window.charts.loss_points()[0]) > 0


def test_csv_without_header_and_with_missing_values(app_window, qtbot, tmp_path):
    csv_path = write_class_csv(tmp_path / "raw.csv", header=False, missing_line=7)
    dialog = import_dialog(qtbot, app_window)
    dialog.csv_tab.path_row.edit.setText(str(csv_path))
    tab = dialog.csv_tab
    assert not tab.header_check.isChecked()
    assert tab.target_combo.currentText() == "column 3"
    assert "'column 1': 1" in tab.missing_label.text()
    assert "line 7, column 1" in dialog.error_text and not dialog.import_button.isEnabled()

    tab.missing_combo.setCurrentIndex(tab.missing_combo.findData("drop"))
    assert dialog.error_text == "" and dialog.import_button.isEnabled()
    assert "skipped 1 row" in tab.task_label.text()
    # A regression on the first column instead: the task follows the target.
    tab.target_combo.setCurrentIndex(tab.target_combo.findData("column 1"))
    tab.feature_list.item(2).setCheckState(tab.feature_list.item(2).checkState())   # text column stays out
    assert tab.features() == ["column 2"]
    assert "Regression" in tab.task_label.text()


def test_import_an_image_folder_with_size_and_colour(app_window, qtbot, tmp_path):
    window = app_window
    root = make_image_folder(tmp_path / "pets")
    (root / "dogs" / "notes.txt").write_text("not an image")
    dialog = import_dialog(qtbot, window)
    dialog.tabs.setCurrentWidget(dialog.image_tab)
    tab = dialog.image_tab
    tab.width_spin.setValue(8)
    tab.height_spin.setValue(10)
    tab.mode_combo.setCurrentIndex(tab.mode_combo.findData("RGB"))
    tab.path_row.edit.setText(str(root))
    assert "6 images" in tab.counts_label.text() and "cats (3)" in tab.counts_label.text()
    assert "skipped 1 file" in tab.counts_label.text()
    assert tab.grid.count() == 2 * (1 + 3)                    # per class: caption + its images
    click(qtbot, dialog.import_button)

    dataset = window.dataset_panel.dataset
    assert dataset.kind == "images" and dataset.input_shape == (3, 10, 8)
    assert dataset.class_names == ["cats", "dogs"]
    assert window.workspace.source == {"kind": "image_folder", "path": str(root.resolve()),
                                                "size": [10, 8], "mode": "RGB"}
    # The spiral model does not take images: the window offers a matching one.
    assert window.banner.level == "warning"
    click(qtbot, window.banner.action_button)
    assert tuple(window.document.report.input_shape) == (3, 10, 8)


def test_import_a_npz_of_arrays(app_window, qtbot, tmp_path):
    path = tmp_path / "data.npz"
    rng = np.random.default_rng(1)
    np.savez(path, x=rng.normal(size=(40, 3)).astype(np.float32), y=rng.normal(size=(40, 1)).astype(np.float32))
    dialog = import_dialog(qtbot, app_window)
    dialog.tabs.setCurrentWidget(dialog.arrays_tab)
    dialog.arrays_tab.path_row.edit.setText(str(path))
    assert "40 samples of shape 3" in dialog.arrays_tab.summary.text()
    assert "Regression" in dialog.arrays_tab.summary.text()
    click(qtbot, dialog.import_button)
    assert app_window.dataset_panel.dataset.task == "regression"


def test_bad_files_are_reported_in_the_dialog_and_left_untouched(app_window, qtbot, tmp_path):
    window = app_window
    bad_csv = tmp_path / "broken.csv"
    bad_csv.write_text('a,b,label\n1,2,x\n3,"4,y\n5,6,z\n', encoding="utf-8")
    images = make_image_folder(tmp_path / "photos")
    (images / "dogs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 5)
    npz = tmp_path / "pickled.npy"
    np.save(npz, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    before = snapshot_files(tmp_path)
    dataset_before = window.dataset_panel.dataset

    dialog = import_dialog(qtbot, window)
    dialog.csv_tab.path_row.edit.setText(str(bad_csv))
    assert "broken.csv, line 4" in dialog.error_text and "quote" in dialog.error_text
    assert not dialog.import_button.isEnabled() and dialog.error_label.isVisible()

    dialog.tabs.setCurrentWidget(dialog.image_tab)
    dialog.image_tab.path_row.edit.setText(str(images))
    assert "broken.png" in dialog.error_text and not dialog.import_button.isEnabled()

    dialog.tabs.setCurrentWidget(dialog.arrays_tab)
    dialog.arrays_tab.path_row.edit.setText(str(npz))
    assert "pickle" in dialog.error_text.lower() and not dialog.import_button.isEnabled()
    assert "Traceback" not in dialog.error_text

    dialog.reject()
    assert window.dataset_panel.dataset is dataset_before
    assert snapshot_files(tmp_path) == before


def drop(window, path) -> None:
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    point = QPointF(200, 200)
    enter = QDragEnterEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(window, QDropEvent(point, Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                                              Qt.KeyboardModifier.NoModifier))


def test_dropping_files_on_the_window_opens_or_imports_them(app_window, qtbot, tmp_path):
    window = app_window
    root = make_image_folder(tmp_path / "pets")
    drop(window, root)
    dialog = window.commands.import_dialog
    assert dialog.tabs.currentWidget() is dialog.image_tab and "cats (3)" in dialog.image_tab.counts_label.text()
    dialog.reject()
    project = tmp_path / "dropped.lfproj"
    assert window.commands.projects.save_to(project)
    window.document.set_param("n2", "out_features", 20)
    window.commands.projects.ask_unsaved = lambda: "discard"
    drop(window, project)
    assert window.document.spec.nodes["n2"].params["out_features"] == 16 and window.project_name == "dropped"
