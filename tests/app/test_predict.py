"""Using the trained weights: one input typed in or drawn on the sketch pad, and a file of inputs,
with results shown and saved."""
from __future__ import annotations

import csv

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction

from layerforge.graph import compile_spec, get_template
from layerforge.training import Project, TrainingSettings
from layerforge.training.inference import Predictor
from window_support import (boxes, click, files, isolated, open_predict, open_project, open_untrained_curve,  # noqa: F401
                            app_window, snapshot_files, train)


def test_predict_before_training_says_to_train_first(app_window, boxes):
    app_window.findChild(QAction, "actionPredict").trigger()
    assert "Train" in boxes.texts("information")[-1]


def test_predict_typed_input_and_a_file_then_save(qtbot, app_window, boxes, files, tmp_path):
    window = app_window
    train(qtbot, window, epochs=3)
    dialog = open_predict(window)
    assert dialog.isVisible() and dialog.sketch is None
    project, weights = window.workspace.project()
    predictor = Predictor(project, weights)

    qtbot.keyClicks(dialog.input_edit, "0.5, -0.25")
    click(qtbot, dialog.predict_button)
    expected = predictor.predict(np.array([[0.5, -0.25]], np.float32))
    assert dialog.result_label.text().startswith(f"{expected.names[0]} (")
    assert dialog.input_error.text() == ""

    dialog.input_edit.setText("0.5, abc")
    click(qtbot, dialog.predict_button)
    assert "value 2 ('abc') is not a number" in dialog.input_error.text()
    dialog.input_edit.setText("1")
    click(qtbot, dialog.predict_button)
    assert "takes 2 value(s)" in dialog.input_error.text()

    inputs = tmp_path / "points.csv"
    inputs.write_text("x,y\n0.1,0.2\n-0.5,0.9\n1.0,-1.0\n", encoding="utf-8")
    files.open_path = str(inputs)
    click(qtbot, dialog.file_button)
    assert dialog.table.rowCount() == 3 and dialog.file_error.text() == ""
    header = [dialog.table.horizontalHeaderItem(c).text() for c in range(dialog.table.columnCount())]
    assert header[:3] == ["x1", "x2", "prediction"]
    names = predictor.predict(np.array([[0.1, 0.2], [-0.5, 0.9], [1.0, -1.0]], np.float32)).names
    assert [dialog.table.item(r, 2).text() for r in range(3)] == names

    files.save_path = str(tmp_path / "out")
    click(qtbot, dialog.save_button)
    with open(tmp_path / "out.csv", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == header and [r[2] for r in rows[1:]] == names

    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n0.1,oops\n", encoding="utf-8")
    before = snapshot_files(tmp_path)
    files.open_path = str(bad)
    click(qtbot, dialog.file_button)
    assert "bad.csv, line 2, column 2" in dialog.file_error.text()
    assert dialog.table.rowCount() == 3                     # the earlier results stay
    assert snapshot_files(tmp_path) == before
    dialog.close()


def test_draw_on_the_sketch_pad_for_an_image_model(qtbot, app_window):
    window = app_window
    spec = get_template("lenet").spec(input_shape=(1, 8, 8), num_classes=3)
    weights = compile_spec(spec).state_dict()
    project = Project("sketch", spec, {"kind": "builtin", "name": "digits", "options": {}},
                      TrainingSettings(device="cpu"), data_info={"target": "labels", "class_names": ["a", "b", "c"]})
    open_project(window, project, weights)
    dialog = open_predict(window)
    pad = dialog.sketch
    assert pad is not None and not dialog.input_edit.isVisible()
    assert pad.pixels().sum() == 0
    scale = pad.width() / 8
    start, end = QPoint(int(1.5 * scale), int(4 * scale)), QPoint(int(6.5 * scale), int(4 * scale))
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(pad, end)
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=end)
    drawn = pad.pixels()
    assert drawn[4, 2:6].min() > 0.5 and drawn[0, 0] == 0.0   # a horizontal stroke across row 4
    click(qtbot, dialog.predict_button)
    expected = Predictor(*window.workspace.project()).predict(drawn[None, None]).names[0]
    assert dialog.result_label.text().startswith(expected + " (")
    click(qtbot, dialog.findChild(type(dialog.predict_button), "sketchClearButton"))
    assert pad.pixels().sum() == 0
    dialog.close()


def test_regression_prediction_reads_the_trained_columns_by_name(qtbot, app_window, files, tmp_path):
    window = app_window
    dialog = open_untrained_curve(window)
    predictor = Predictor(*window.workspace.project())
    assert dialog.input_edit.placeholderText() == "x"            # the data's own column name
    dialog.input_edit.setText("0.5")
    click(qtbot, dialog.predict_button)
    assert dialog.result_label.text() == f"{predictor.outputs(np.array([[0.5]], np.float32))[0, 0]:.6g}"

    table = tmp_path / "more_columns.csv"
    table.write_text("id,x,note\n1,0.25,a\n2,-1.5,b\n", encoding="utf-8")   # x picked by name
    files.open_path = str(table)
    click(qtbot, dialog.file_button)
    expected = predictor.outputs(np.array([[0.25], [-1.5]], np.float32))[:, 0]
    assert [float(dialog.table.item(r, 1).text()) for r in range(2)] == [float(f"{v:.6g}") for v in expected]
    dialog.close()
