"""Help: the user guide, the keyboard shortcuts and About open from the Help menu; the examples page
shows every example with a picture and a line, opens one, and comes up once on the first start."""
from __future__ import annotations

import re
from importlib import resources

import numpy as np
import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog

import layerforge
from layerforge.training import example_project_path, example_projects, load_project
from window_support import boxes, close_window, files, isolated, open_window, app_window  # noqa: F401

GUIDE_SECTIONS = ["Your first run", "Building a model", "Data", "Training", "Runs: compare, restore, replay", "Reading the charts", "Predicting",
                  "Saving and projects", "Exporting", "The command line", "Keys", "When something goes wrong"]


def menu_texts(window, menu_title: str) -> list[str]:
    return [action.text().replace("&", "") for action in top_menu(window, menu_title).actions()
            if not action.isSeparator()]


def top_menu(window, menu_title: str):
    for top in window.menuBar().actions():
        if top.menu() is not None and top.text().replace("&", "") == menu_title:
            return top.menu()
    raise AssertionError(f"no {menu_title} menu: {[a.text() for a in window.menuBar().actions()]}")


def menu_action(window, menu_title: str, text: str) -> QAction:
    for action in top_menu(window, menu_title).actions():
        if action.text().replace("&", "") == text:
            return action
    raise AssertionError(f"{menu_title} has no {text!r}: {menu_texts(window, menu_title)}")


def shown_dialog(window, name: str) -> QDialog:
    """The dialog ``name`` that ``window`` shows now."""
    found = [dialog for dialog in window.findChildren(QDialog, name) if dialog.isVisible()]
    assert len(found) == 1, f"{len(found)} {name} shown"
    return found[0]


def test_help_menu_lists_the_guide_shortcuts_examples_and_about(window):
    assert menu_texts(window, "Help") == ["User guide", "Keyboard shortcuts", "Examples…", "About Layerforge"]
    assert "Examples…" in menu_texts(window, "File")


def test_f1_opens_the_user_guide_from_the_installed_package(window, qtbot):
    shipped = resources.files("layerforge.resources").joinpath("guide", "user-guide.html")
    assert shipped.is_file()
    qtbot.keyClick(window, Qt.Key.Key_F1)
    dialog = shown_dialog(window, "userGuideDialog")
    assert dialog.section_titles() == GUIDE_SECTIONS
    text = dialog.browser.toPlainText()
    for must in ("Press Train (or F5)", "layerforge train spiral --epochs 50", "confusion matrix", "ONNX",
                 "validation loss rises"):
        assert must in text, must
    # Its links jump within the guide, to anchors it has; nothing outside it is opened.
    html = shipped.read_text(encoding="utf-8")
    links = re.findall(r'href="([^"]*)"', html)
    assert len(links) == len(GUIDE_SECTIONS)
    assert all(link.startswith("#") and f'name="{link[1:]}"' in html for link in links)
    assert not dialog.browser.openExternalLinks()


def test_the_shortcut_list_is_read_from_the_windows_actions(window, qtbot):
    menu_action(window, "Help", "Keyboard shortcuts").trigger()
    dialog = shown_dialog(window, "shortcutsDialog")
    rows = dict(dialog.shown())
    assert rows["Train"] == "F5"
    assert rows["User guide"] == "F1"
    assert rows["Auto-layout"] == "Ctrl+L"
    assert rows["Undo"] == QKeySequence(QKeySequence.StandardKey.Undo).toString(QKeySequence.SequenceFormat.NativeText)
    qtbot.keyClicks(dialog.filter_box, "layout")
    assert dialog.shown() == [("Auto-layout", "Ctrl+L")]
    dialog.close()

    # An action added to the window later is listed the next time: the list is not written by hand.
    extra = QAction("Count the layers", window)
    extra.setShortcut(QKeySequence("Ctrl+Shift+K"))
    window.addAction(extra)
    qtbot.keyClick(window, Qt.Key.Key_Slash, Qt.KeyboardModifier.ControlModifier)
    assert ("Count the layers", "Ctrl+Shift+K") in shown_dialog(window, "shortcutsDialog").shown()


def test_with_the_commands_installed_the_list_has_the_run_and_file_keys(app_window):
    app_window.help_menu.show_shortcuts()
    rows = dict(shown_dialog(app_window, "shortcutsDialog").shown())
    assert rows["Import data"] == "Ctrl+I"
    assert rows["Stop"] == "Shift+F5"
    assert rows["Pause / Resume"] == "F6"


def test_about_names_the_version_the_libraries_and_the_bundled_datas_licences(window):
    menu_action(window, "Help", "About Layerforge").trigger()
    text = shown_dialog(window, "aboutDialog").text
    assert f"Layerforge {layerforge.__version__}" in text
    for version in (qVersion(), PySide6.__version__, np.__version__):
        assert version in text
    for data in ("digits.npz", "iris.npz"):
        assert data in text
    assert text.count("Creative Commons Attribution 4.0 International (CC BY 4.0)") == 2
    assert "Alpaydin" in text and "Fisher" in text
    assert "MIT" in text


def test_a_bundled_file_without_a_recorded_licence_says_so(tmp_path, monkeypatch):
    from layerforge.app.dialogs import help_dialogs
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "README.md").write_text("## known.npz\n\n- Source: somewhere.\n- Licence: CC0.\n")
    (tmp_path / "datasets" / "known.npz").write_bytes(b"")
    (tmp_path / "datasets" / "stray.npz").write_bytes(b"")
    monkeypatch.setattr(help_dialogs, "_resource", lambda *parts: tmp_path.joinpath(*parts))
    entries = {entry["file"]: entry for entry in help_dialogs.bundled_data()}
    assert entries["known.npz"]["licence"] == "CC0."
    assert entries["stray.npz"]["licence"] == "not recorded"


def test_examples_page_shows_every_example_with_a_picture_and_opens_one(window, qtbot):
    menu_action(window, "File", "Examples…").trigger()
    page = shown_dialog(window, "startPage")
    assert page.examples() == example_projects()
    for row, name in enumerate(page.examples()):
        item = page.list.item(row)
        project, _ = load_project(example_project_path(name))
        assert item.text() and item.text() in " ".join(project.description.split())
        image = item.icon().pixmap(page.list.iconSize()).toImage()
        colours = {image.pixel(x, y) for x in range(0, image.width(), 3) for y in range(0, image.height(), 3)}
        assert len(colours) > 8, f"{name}'s picture is blank"
    sine = page.examples().index("sine")
    rect = page.list.visualItemRect(page.list.item(sine))
    qtbot.mouseClick(page.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(page.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.windowTitle() == "sine — Layerforge"
    assert not page.isVisible()
    assert window.training_panel.train_button.isEnabled()


def test_help_examples_opens_the_same_page_and_enter_opens_the_selection(window, qtbot):
    menu_action(window, "Help", "Examples…").trigger()
    page = shown_dialog(window, "startPage")
    assert page.list.currentItem().text().startswith("Spiral")   # the project open now
    page.list.setCurrentRow(page.examples().index("digits_cnn"))
    qtbot.keyClick(page.list, Qt.Key.Key_Return)
    assert window.windowTitle() == "digits_cnn — Layerforge"


def test_the_first_start_shows_the_examples_once_beside_a_ready_project(qtbot, isolated, boxes, files):
    window = open_window(qtbot)
    window.help_menu.offer_start_page()
    page = shown_dialog(window, "startPage")
    assert window.windowTitle() == "spiral — Layerforge" and window.training_panel.train_button.isEnabled()
    page.close()
    close_window(window)
    again = open_window(qtbot)
    again.help_menu.offer_start_page()
    assert not [page for page in again.findChildren(QDialog, "startPage") if page.isVisible()]
    close_window(again)
