"""Projects from the File menu: save, close, reopen and find everything as it was; recent files;
files that cannot be opened change nothing in the window and nothing on disk."""
from __future__ import annotations

import json

import numpy as np
import pytest

from layerforge.app.project_actions import recent_files
from window_support import (boxes, click, close_window, files, isolated, open_window, app_window,  # noqa: F401
                           snapshot_files, train, write_class_csv)


def trigger(window, name: str) -> None:
    from PySide6.QtGui import QAction
    action = window.findChild(QAction, name)
    assert action is not None, name
    assert not action.shortcut().isEmpty(), f"{name} has no keyboard shortcut"
    action.trigger()


def import_csv(qtbot, window, path) -> None:
    window.commands.import_button.click()
    dialog = window.commands.import_dialog
    dialog.csv_tab.path_row.edit.setText(str(path))
    click(qtbot, dialog.import_button)


def test_save_close_reopen_finds_everything_as_it_was(qtbot, isolated, boxes, files, tmp_path):
    window = open_window(qtbot)
    import_csv(qtbot, window, write_class_csv(tmp_path / "flowers.csv"))
    panel = window.training_panel
    panel.lr_spin.setValue(0.03)
    panel.batch_spin.setValue(16)
    window.document.move({"n2": (200.0, 60.0)})   # an edit on the canvas
    train(qtbot, window, epochs=3)
    spec = window.document.spec.to_dict()
    settings = panel.settings().to_dict()
    weights = {k: v.numpy().copy() for k, v in window.workspace.project()[1].items()}
    loss_x, loss_y = (a.copy() for a in window.charts.loss_points())
    assert window.is_dirty and "*" in window.windowTitle()

    files.save_path = str(tmp_path / "work" / "flowers_model")   # the .lfproj suffix is added
    (tmp_path / "work").mkdir()
    trigger(window, "actionSave")
    saved = tmp_path / "work" / "flowers_model.lfproj"
    assert saved.is_file() and (tmp_path / "work" / "flowers_model.weights.safetensors").is_file()
    assert not window.is_dirty and window.windowTitle().startswith("flowers_model —")
    assert json.loads(saved.read_text())["data"]["kind"] == "csv"
    close_window(window)
    assert str(saved.resolve()) in recent_files()

    again = open_window(qtbot)
    assert again.project_name == "spiral"
    files.open_path = str(saved)
    trigger(again, "actionOpen")
    assert again.project_name == "flowers_model" and not again.is_dirty
    assert again.document.spec.to_dict() == spec
    assert again.document.spec.nodes["n2"].position == (200.0, 60.0)
    assert len(again.canvas.model_scene.nodes) == len(spec["nodes"])
    assert again.dataset_panel.dataset.name == "flowers" and "imported" in again.dataset_panel.combo.currentText()
    assert again.training_panel.settings().to_dict() == settings
    restored = again.workspace.project()[1]
    assert restored is not None and set(restored) == set(weights)
    for key, value in weights.items():
        np.testing.assert_array_equal(restored[key].numpy(), value)
    x, y = again.charts.loss_points()
    np.testing.assert_allclose(x, loss_x)
    np.testing.assert_allclose(y, loss_y, rtol=1e-6)
    assert again.commands.projects.recent_menu.actions()[0].data() == str(saved.resolve())
    close_window(again)


def test_new_project_asks_about_unsaved_changes(app_window, boxes):
    window = app_window
    window.training_panel.lr_spin.setValue(0.5)
    window.training_panel.settingsEdited.emit()
    assert window.is_dirty
    boxes.answer = boxes.answer.Cancel
    trigger(window, "actionNew")
    assert window.project_name == "spiral" and len(window.document.spec.nodes) > 1
    assert boxes.shown[-1][1] == "Unsaved changes"
    boxes.answer = boxes.answer.Discard
    trigger(window, "actionNew")
    assert window.project_name == "untitled" and [n.type for n in window.document.spec.nodes.values()] == ["Input"]
    assert not window.is_dirty


def project_file(tmp_path, name: str, change) -> tuple:
    from layerforge.training import example_project_path
    data = json.loads(example_project_path("spiral").read_text())
    text = change(data)
    path = tmp_path / name
    path.write_text(text if isinstance(text, str) else json.dumps(data, indent=2), encoding="utf-8")
    return path


@pytest.mark.parametrize("name, change, reason", [
    ("truncated.lfproj", lambda d: json.dumps(d, indent=2)[:700], "truncated"),
    ("newer.lfproj", lambda d: d.update(version=99), "newer Layerforge"),
    ("unknown_layer.lfproj", lambda d: d["model"]["nodes"][2].update(type="Teleporter"), "Teleporter"),
    ("not_a_project.lfproj", lambda d: "just some text", "not valid JSON"),
])
def test_a_project_that_cannot_be_opened_changes_nothing(app_window, boxes, files, tmp_path, name, change, reason):
    window = app_window
    path = project_file(tmp_path, name, change)
    before_disk = snapshot_files(tmp_path)
    before_spec = window.document.spec.to_dict()
    before_title = window.windowTitle()
    files.open_path = str(path)
    trigger(window, "actionOpen")
    warnings = boxes.texts("warning")
    assert warnings and reason in warnings[-1] and name in warnings[-1], warnings
    assert "Nothing was opened" in warnings[-1]
    assert reason in window.statusBar().currentMessage()
    assert window.document.spec.to_dict() == before_spec and window.windowTitle() == before_title
    assert window.workspace.path is None
    assert snapshot_files(tmp_path) == before_disk
    assert str(path.resolve()) not in recent_files()


def test_a_recent_file_that_vanished_is_dropped_with_a_message(app_window, boxes, tmp_path):
    window = app_window
    path = tmp_path / "gone.lfproj"
    assert window.commands.projects.save_to(path)
    path.unlink()
    menu = window.commands.projects.recent_menu
    menu.aboutToShow.emit()
    menu.actions()[0].trigger()
    assert "no longer there" in boxes.texts("warning")[-1]
    assert str(path.resolve()) not in recent_files()


def test_opening_an_example_forgets_the_file_it_replaces(app_window, boxes, tmp_path):
    window = app_window
    path = tmp_path / "mine.lfproj"
    assert window.commands.projects.save_to(path)
    window.document.set_param("n2", "out_features", 20)
    boxes.answer = boxes.answer.Cancel
    assert not window.open_example("sine")                     # File > Open example asks first
    assert window.project_name == "mine"
    boxes.answer = boxes.answer.Discard
    assert window.open_example("sine")
    assert window.project_name == "sine" and window.workspace.path is None
    before = path.read_bytes()
    window.commands.projects.save_to(tmp_path / "sine.lfproj")
    assert path.read_bytes() == before                          # the replaced file is never overwritten


def test_a_project_whose_data_moved_opens_and_keeps_its_data_choice(app_window, boxes, files, tmp_path):
    window = app_window
    csv_path = write_class_csv(tmp_path / "flowers.csv")
    import_csv_source = {"kind": "csv", "path": str(csv_path), "target_column": "species"}
    from layerforge.training import load_project, save_project
    project, _ = window.workspace.project()
    project.data_source = import_csv_source
    saved = save_project(project, tmp_path / "moved.lfproj")
    csv_path.rename(tmp_path / "renamed.csv")

    files.open_path = str(saved)
    trigger(window, "actionOpen")
    assert window.banner.level == "warning" and "flowers.csv" in window.banner.label.text()
    assert window.workspace.source["path"] == str(csv_path)
    trigger(window, "actionSave")
    assert load_project(saved)[0].data_source["path"] == "flowers.csv"   # stored relative to the project
