"""No silent edits: what a person types into a number field stays as typed. An invalid value is shown
in place, red, with the reason beside the field, and the model keeps its last valid value until the
field holds a valid one (issue #22). The ranges come from the declarations (layer catalog, training
choices), so every layer's and every setting's field behaves the same."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QWidget

from layerforge.workspace import BUSY


def line_of(field: QWidget) -> QLineEdit:
    """The line edit a person types into (a spin box's own, or the field itself)."""
    return field if isinstance(field, QLineEdit) else field.findChild(QLineEdit)


def type_into(qtbot, field: QWidget, text: str, finish: str = "enter") -> None:
    line = line_of(field)
    line.setFocus()
    line.selectAll()
    qtbot.keyClicks(line, text)
    if finish == "enter":
        qtbot.keyClick(line, Qt.Key.Key_Return)
    else:   # focus leaves the field (Tab to the next one)
        qtbot.keyClick(line, Qt.Key.Key_Tab)


def reason_of(host: QWidget, field: QWidget) -> str:
    """The reason shown beside ``field`` ("" when none is shown)."""
    label = host.findChild(QLabel, f"{field.objectName()}_reason")
    return label.text() if label is not None and not label.isHidden() else ""


def is_red(field: QWidget) -> bool:
    return "#d32f2f" in line_of(field).styleSheet()


def select_new_layer(window, layer_type: str) -> str:
    node_id = window.document.add_layer(layer_type, (600.0, 500.0))
    window.canvas.model_scene.select_nodes([node_id])
    return node_id


def param_field(window, name: str) -> QWidget:
    field = window.inspector.findChild(QWidget, f"param_{name}")
    assert field is not None, f"no field for {name}"
    return field


# One row per invalid value the issue lists: what was typed, why it is refused, then a valid entry.
INVALID_VALUES = [
    ("LSTM", "hidden_size", "-5", "out of range", "12", 12, "enter"),
    ("Conv2d", "out_channels", "11, 11", "not an integer", "11", 11, "enter"),
    ("Linear", "out_features", "0", "out of range", "7", 7, "focus"),
    ("Dropout", "p", "1.5", "out of range", "0.25", 0.25, "enter"),
    ("BatchNorm1d", "eps", "-1", "out of range", "0.001", 0.001, "focus"),
]


@pytest.mark.parametrize("layer, name, typed, why, valid, applied, finish", INVALID_VALUES,
                         ids=[f"{row[0]}.{row[1]}={row[2]}" for row in INVALID_VALUES])
def test_an_invalid_number_stays_as_typed_in_red_and_the_model_keeps_its_value(
        window, qtbot, layer, name, typed, why, valid, applied, finish):
    node_id = select_new_layer(window, layer)
    before = window.document.spec.nodes[node_id].params[name]
    field = param_field(window, name)

    type_into(qtbot, field, typed, finish)
    assert line_of(field).text() == typed                      # not "5", "1111", "1" or "0"
    assert is_red(field)
    assert why in reason_of(window.inspector, field)
    assert window.document.spec.nodes[node_id].params[name] == before

    type_into(qtbot, field, valid, finish)
    assert window.document.spec.nodes[node_id].params[name] == applied
    assert not is_red(field) and reason_of(window.inspector, field) == ""
    window.action_undo.trigger()                               # one undoable edit, back to the value kept
    assert window.document.spec.nodes[node_id].params[name] == before


def test_a_value_the_model_refuses_stays_in_its_field_with_the_models_reason(window, qtbot):
    node_id = select_new_layer(window, "Conv2d")              # 8 output channels
    field = param_field(window, "groups")
    type_into(qtbot, field, "3")
    assert line_of(field).text() == "3" and is_red(field)
    assert "not divisible" in reason_of(window.inspector, field)
    assert window.document.spec.nodes[node_id].params["groups"] == 1
    type_into(qtbot, field, "2")
    assert window.document.spec.nodes[node_id].params["groups"] == 2 and not is_red(field)


def test_an_invalid_text_survives_an_edit_of_another_field(window, qtbot):
    node_id = select_new_layer(window, "LSTM")
    hidden = param_field(window, "hidden_size")
    type_into(qtbot, hidden, "-5")
    type_into(qtbot, param_field(window, "num_layers"), "2")
    assert window.document.spec.nodes[node_id].params["num_layers"] == 2
    assert line_of(hidden).text() == "-5" and is_red(hidden)   # still there to fix, not replaced by 32


def test_a_rename_error_shows_beside_the_name_field(window, qtbot):
    ids = {node.name: node_id for node_id, node in window.document.spec.nodes.items()}
    window.canvas.model_scene.select_nodes([ids["fc1"]])
    name = window.inspector.findChild(QLineEdit, "layerName")
    type_into(qtbot, name, "fc2")
    assert name.text() == "fc2" and is_red(name)
    assert "already used" in reason_of(window.inspector, name)
    assert window.document.spec.nodes[ids["fc1"]].name == "fc1"

    type_into(qtbot, name, "encoder")
    assert window.document.spec.nodes[ids["fc1"]].name == "encoder"
    assert not is_red(name) and reason_of(window.inspector, name) == ""


def choose(combo, data) -> None:
    combo.setCurrentIndex(combo.findData(data))


def settings_field(panel, which: str) -> QWidget:
    if which.startswith("optimizer."):
        choose(panel.optimizer_combo, "sgd")
        panel.optimizer_toggle.setChecked(True)
        return panel.optimizer_editors[which.split(".")[1]]
    if which.startswith("schedule."):
        choose(panel.schedule_combo, "step")
        return panel.schedule_editors[which.split(".")[1]]
    return {"lr": panel.lr_spin, "epochs": panel.epochs_spin, "batch": panel.batch_spin}[which]


def setting_of(settings, which: str):
    if which.startswith("optimizer."):
        return settings.optimizer_params[which.split(".")[1]]
    if which.startswith("schedule."):
        return settings.schedule[which.split(".")[1]]
    return {"lr": settings.learning_rate, "epochs": settings.epochs, "batch": settings.batch_size}[which]


TRAINING_VALUES = [
    ("lr", "-0.1", "out of range", "0.003", 0.003),
    ("epochs", "0", "out of range", "12", 12),
    ("batch", "16, 16", "not an integer", "16", 16),
    ("optimizer.momentum", "1.5", "out of range", "0.9", 0.9),
    ("schedule.gamma", "2", "out of range", "0.25", 0.25),
    ("schedule.step_size", "ten", "not an integer", "10", 10),
]


@pytest.mark.parametrize("which, typed, why, valid, applied", TRAINING_VALUES,
                         ids=[f"{row[0]}={row[1]}" for row in TRAINING_VALUES])
def test_training_settings_keep_what_was_typed_and_their_last_valid_value(
        window, qtbot, which, typed, why, valid, applied):
    panel = window.training_panel
    field = settings_field(panel, which)
    before = setting_of(panel.settings(), which)

    type_into(qtbot, field, typed)
    assert line_of(field).text() == typed
    assert is_red(field) and why in reason_of(panel, field)
    assert setting_of(panel.settings(), which) == before
    assert setting_of(window.workspace.settings, which) == before

    type_into(qtbot, field, valid)
    assert setting_of(panel.settings(), which) == applied
    assert not is_red(field) and reason_of(panel, field) == ""


def test_cosine_annealings_t_max_0_says_what_0_means(window, qtbot):
    panel = window.training_panel
    choose(panel.schedule_combo, "cosine")
    t_max = panel.schedule_editors["T_max"]
    assert line_of(t_max).text() == "0"
    assert "whole run" in reason_of(panel, t_max) and "whole run" in t_max.toolTip()
    type_into(qtbot, t_max, "20")
    assert reason_of(panel, t_max) == "" and panel.settings().schedule["T_max"] == 20
    type_into(qtbot, t_max, "0")
    assert "whole run" in reason_of(panel, t_max) and not is_red(t_max)


def test_train_waits_while_a_setting_shows_an_invalid_value(window, qtbot):
    panel = window.training_panel
    type_into(qtbot, panel.epochs_spin, "0")
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    started = window.workspace.run_state in BUSY
    if started:   # (as the window did before) stop it, so that the test ends
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not window.run.running, timeout=30_000)
    assert not started                                                 # not trained with the hidden 50
    assert line_of(panel.epochs_spin).hasFocus() and is_red(panel.epochs_spin)
    # F5 (Run > Train) waits too, and the status bar says why
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_F5)
    started = window.workspace.run_state in BUSY
    if started:
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not window.run.running, timeout=30_000)
    assert not started
    assert "Cannot train yet" in window.statusBar().currentMessage() and line_of(panel.epochs_spin).hasFocus()


def test_escape_puts_the_last_valid_value_back(window, qtbot):
    node_id = select_new_layer(window, "LSTM")
    field = param_field(window, "hidden_size")
    type_into(qtbot, field, "-5")
    assert "Esc: back to 32" in reason_of(window.inspector, field)
    qtbot.keyClick(line_of(field), Qt.Key.Key_Escape)
    assert line_of(field).text() == "32" and not is_red(field) and reason_of(window.inspector, field) == ""
    assert window.document.spec.nodes[node_id].params["hidden_size"] == 32
