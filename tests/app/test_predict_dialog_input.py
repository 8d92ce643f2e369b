"""The Predict dialog's one input: what cannot be predicted on clears the last result and says why
beside the input; NaN and infinity are refused, typed or in a file (with where); the sketch pad
predicts as it is drawn on, in the polarity of the training images (issue #22)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from layerforge.data import load_dataset
from layerforge.graph import compile_spec, get_template
from layerforge.training import Project, TrainingSettings
from window_support import (boxes, click, files, isolated, open_predict, open_project, open_untrained_curve,  # noqa: F401
                            app_window)


@pytest.fixture
def curve_dialog(app_window):
    """A regression on the sine data (one input), with untrained weights."""
    dialog = open_untrained_curve(app_window)
    yield dialog
    dialog.close()


def type_input(qtbot, dialog, text: str) -> None:
    dialog.input_edit.clear()
    qtbot.keyClicks(dialog.input_edit, text)
    qtbot.keyClick(dialog.input_edit, Qt.Key.Key_Return)


def shown(label) -> str:
    return label.text() if not label.isHidden() else ""


def test_an_invalid_input_clears_the_last_result_and_says_why_beside_the_input(qtbot, curve_dialog):
    dialog = curve_dialog
    type_input(qtbot, dialog, "0.5")
    assert dialog.result_label.text() != "" and shown(dialog.input_error) == ""

    type_input(qtbot, dialog, "abc")
    assert dialog.result_label.text() == ""                     # no longer the answer for 0.5
    assert "value 1 ('abc') is not a number" in shown(dialog.input_error)
    assert dialog.input_error.parentWidget() is dialog.input_edit.parentWidget()   # beside the input
    assert "#d32f2f" in dialog.input_edit.styleSheet()

    type_input(qtbot, dialog, "0.25")
    assert dialog.result_label.text() != "" and shown(dialog.input_error) == ""
    assert dialog.input_edit.styleSheet() == ""


@pytest.mark.parametrize("typed", ["nan", "inf", "-inf", "1e999"])
def test_nan_and_infinity_typed_are_refused(qtbot, curve_dialog, typed):
    dialog = curve_dialog
    type_input(qtbot, dialog, "0.5")
    type_input(qtbot, dialog, typed)
    assert dialog.result_label.text() == ""
    assert f"value 1 ('{typed}') is not a finite number" in shown(dialog.input_error)


def test_nan_and_infinity_in_a_file_are_refused_with_where(qtbot, curve_dialog, files, tmp_path):
    dialog = curve_dialog
    table = tmp_path / "inputs.csv"
    table.write_text("x\n0.5\ninf\n", encoding="utf-8")
    files.open_path = str(table)
    click(qtbot, dialog.file_button)
    assert "inputs.csv, line 3, column 1" in shown(dialog.file_error) and "inf" in shown(dialog.file_error)
    assert dialog.file_error.parentWidget() is dialog.file_button.parentWidget()   # beside the file's buttons

    arrays = tmp_path / "inputs.npy"
    np.save(arrays, np.array([[0.5], [0.1], [np.nan]], np.float32))
    files.open_path = str(arrays)
    click(qtbot, dialog.file_button)
    assert "inputs.npy" in shown(dialog.file_error) and "index (2, 0)" in shown(dialog.file_error)
    assert dialog.table.rowCount() == 0 and not dialog.save_button.isEnabled()


def open_sketch(window, source: dict):
    spec = get_template("lenet").spec(input_shape=(1, 8, 8), num_classes=10)
    project = Project("sketch", spec, source, TrainingSettings(device="cpu"),
                      data_info={"target": "labels", "class_names": [str(i) for i in range(10)]})
    open_project(window, project, compile_spec(spec).state_dict())
    dialog = open_predict(window)
    assert dialog.sketch is not None
    return dialog, dialog.sketch


def stroke_points(pad):
    scale = pad.width() / 8
    return QPoint(int(1.5 * scale), int(4 * scale)), QPoint(int(6.5 * scale), int(4 * scale))


def test_the_sketch_pad_predicts_while_drawing_and_when_a_stroke_ends(qtbot, app_window):
    dialog, pad = open_sketch(app_window, {"kind": "builtin", "name": "digits", "options": {}})
    start, end = stroke_points(pad)
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(pad, end)
    qtbot.waitUntil(lambda: dialog.result_label.text() != "", timeout=5000)   # the button is still down
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=end)

    click(qtbot, dialog.findChild(type(dialog.predict_button), "sketchClearButton"))
    assert dialog.result_label.text() == ""                      # nothing drawn, nothing predicted
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(pad, end)
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=end)
    assert dialog.result_label.text() != ""                      # at once, when the stroke ends
    dialog.close()


def brightness(pad, x: int, y: int) -> int:
    return pad.grab().toImage().pixelColor(x, y).lightness()


def test_the_sketch_pad_draws_white_on_black_for_the_digits(qtbot, app_window):
    dialog, pad = open_sketch(app_window, {"kind": "builtin", "name": "digits", "options": {}})
    start, end = stroke_points(pad)
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(pad, end)
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=end)
    middle = (start + end) / 2
    assert brightness(pad, middle.x(), middle.y()) > 200 and brightness(pad, 5, 5) < 50
    assert pad.pixels()[0, 0] == 0.0 and pad.pixels()[4, 3] > 0.5
    dialog.close()


def test_the_sketch_pad_draws_as_the_training_images_are_drawn(qtbot, app_window, tmp_path):
    """Digits saved dark on light on a 0-16 scale: the pad draws dark strokes on light, in those values."""
    digits = load_dataset("digits")
    arrays = tmp_path / "dark_digits.npz"
    np.savez(arrays, x=16.0 * (1.0 - digits.x), y=digits.y)
    dialog, pad = open_sketch(app_window, {"kind": "arrays", "path": str(arrays)})
    start, end = stroke_points(pad)
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(pad, end)
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=end)
    middle = (start + end) / 2
    assert brightness(pad, middle.x(), middle.y()) < 50 and brightness(pad, 5, 5) > 200
    pixels = pad.pixels()
    assert pixels[0, 0] == pytest.approx(16.0) and pixels[4, 3] < 8.0
    dialog.close()
