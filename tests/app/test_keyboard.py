"""The window by keyboard: Tab order without a trap, the canvas's focus, shortcuts from anywhere, Alt letters."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QCheckBox, QLineEdit, QWidget

from layerforge.app.menus import mnemonic
from window_support import close_window, isolated, open_window  # noqa: F401  (isolated is a fixture)

REGIONS = ("palette", "canvas", "inspector", "data", "training", "train", "results")


def region_of(window, widget: QWidget) -> str:
    train = window.training_panel.train_button
    for name, holder in (("palette", window.palette_panel), ("canvas", window.canvas),
                         ("inspector", window.inspector), ("data", window.dataset_panel),
                         ("training", window.training_panel), ("results", window.charts),
                         ("results", window.predictions)):
        if widget is train:
            return "train"
        if widget is holder or holder.isAncestorOf(widget):
            return name
    return "other:" + widget.objectName()


def activate(window, qtbot) -> None:
    """Keys go to the active window (as a person's do): shortcuts and focus changes need it."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)


def press(widget: QWidget, key, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(widget, key, modifiers)


def node_ids_by_name(window):
    return {node.name: node_id for node_id, node in window.document.spec.nodes.items()}


def select_on_canvas(window, qtbot, name: str) -> None:
    canvas = window.canvas
    item = canvas.model_scene.nodes[node_ids_by_name(window)[name]]
    point = canvas.mapFromScene(item.sceneBoundingRect().center())
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert item.isSelected()
    name_field = window.inspector.findChild(QLineEdit, "layerName")
    qtbot.waitUntil(lambda: name_field.isVisible() and name_field.text() == name)   # the inspector shows it


def tab_through(window, presses: int, key=Qt.Key.Key_Tab) -> list[QWidget]:
    seen = []
    for _ in range(presses):
        widget = QApplication.focusWidget()
        seen.append(widget)
        press(widget, key)
    return seen


def runs(names: list[str]) -> list[str]:
    """["a", "a", "b", "a"] -> ["a", "b", "a"]."""
    return [name for index, name in enumerate(names) if index == 0 or names[index - 1] != name]


def test_tab_runs_palette_canvas_inspector_data_training_train_results_and_round_again(window, qtbot):
    activate(window, qtbot)
    select_on_canvas(window, qtbot, "fc2")      # the inspector shows the layer's fields
    window.palette_panel.search_box.setFocus()
    seen = tab_through(window, 60)
    names = [region_of(window, widget) for widget in seen]
    order = runs([name for name in names if not name.startswith("other:")])
    # Each region once per round, in order, and round again: no widget keeps the focus.
    assert order[:len(REGIONS)] == list(REGIONS), names
    assert order[len(REGIONS):2 * len(REGIONS)] == list(REGIONS), names
    confusion = window.predictions.confusion.table
    assert confusion in seen
    index = seen.index(confusion)
    assert seen[index + 1] is not confusion            # Tab leaves the confusion matrix at once
    assert any(isinstance(w, QLineEdit) and w.objectName() == "layerName" for w in seen)
    # Shift+Tab walks back: from Train to the last training setting, from the canvas to the palette.
    window.training_panel.train_button.setFocus()
    press(window.training_panel.train_button, Qt.Key.Key_Backtab)
    assert region_of(window, QApplication.focusWidget()) == "training"
    window.canvas.setFocus()
    press(window.canvas, Qt.Key.Key_Backtab)
    assert region_of(window, QApplication.focusWidget()) == "palette"


def frame_color(widget: QWidget):
    image = widget.grab().toImage()
    return image.pixelColor(QPoint(image.width() // 2, 0))


def test_the_canvas_shows_when_it_has_the_keyboard(window, qtbot):
    activate(window, qtbot)
    window.palette_panel.tree.setFocus()
    without = frame_color(window.canvas)
    press(window.palette_panel.tree, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is window.canvas
    highlight = window.canvas.palette().color(QPalette.ColorRole.Highlight)
    assert frame_color(window.canvas) == highlight and without != highlight


def test_canvas_shortcuts_work_from_the_inspector_but_text_keeps_its_keys(window, qtbot):
    activate(window, qtbot)
    canvas, scene = window.canvas, window.canvas.model_scene
    select_on_canvas(window, qtbot, "fc2")
    bias = window.inspector.findChild(QCheckBox, "param_bias")
    bias.setFocus()
    assert QApplication.focusWidget() is bias
    canvas.zoom(0.5)
    zoomed_out = canvas.zoom_level
    press(bias, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)        # Fit to view
    assert canvas.zoom_level != zoomed_out
    ids = node_ids_by_name(window)
    window.document.move({ids["fc2"]: (400.0, 400.0)})                     # out of line
    press(bias, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)        # Auto-layout, one undo step
    spec = window.document.spec
    assert spec.nodes[ids["fc2"]].position[1] == spec.nodes[ids["tanh1"]].position[1]
    assert window.workspace.undo_history.undo_text == "Move"
    # Delete in the name field deletes a character of the name, not the layer.
    name = window.inspector.findChild(QLineEdit, "layerName")
    name.setFocus()
    name.setCursorPosition(0)
    press(name, Qt.Key.Key_Delete)
    assert name.text() == "c2" and "fc2" in node_ids_by_name(window)
    press(name, Qt.Key.Key_F)
    assert name.text() == "fc2"
    # Delete on the check box deletes the selected layer.
    bias.setFocus()
    press(bias, Qt.Key.Key_Delete)
    assert "fc2" not in node_ids_by_name(window) and len(scene.nodes) == 5


def test_ctrl_y_redoes_as_well_as_ctrl_shift_z(window, qtbot):
    activate(window, qtbot)
    window.canvas.setFocus()
    node_count = len(window.document.spec.nodes)
    window.add_layer_after_selection("ReLU")
    assert len(window.document.spec.nodes) == node_count + 1
    for redo in ((Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier),
                 (Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)):
        press(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert len(window.document.spec.nodes) == node_count
        press(window.canvas, *redo)
        assert len(window.document.spec.nodes) == node_count + 1


def menu_items(menu):
    return [action for action in menu.actions() if not action.isSeparator() and action.text()]


def check_unique_letters(title: str, actions: list[QAction]) -> None:
    letters = [mnemonic(action.text()) for action in actions]
    texts = [action.text() for action in actions]
    assert None not in letters, f"{title}: an item without an Alt letter: {texts}"
    assert len(set(letters)) == len(letters), f"{title}: Alt letters used twice: {texts}"
    for action in actions:
        if action.menu() is not None:
            action.menu().aboutToShow.emit()   # menus filled as they open (recent files) get theirs then
            check_unique_letters(action.text(), menu_items(action.menu()))


def test_every_menu_has_its_own_alt_letters(qtbot, isolated):  # noqa: F811
    window = open_window(qtbot)
    check_unique_letters("menu bar", menu_items(window.menuBar()))
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    assert sum(mnemonic(a.text()) == "e" for a in menu_items(file_menu)) == 1
    # Undo and Redo keep their letters when they name the edit.
    window.add_layer_after_selection("ReLU")
    assert window.action_undo.text() == "&Undo Add ReLU" and mnemonic(window.action_undo.text()) == "u"
    assert window.action_undo.iconText() == "Undo"   # the tool bar keeps its short label
    close_window(window)
