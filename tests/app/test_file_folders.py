"""File dialogs open in the last folder used, this session or the last (open, save, import, export,
predict share it), and Enter in the import dialog's path field reads that path instead of opening a
second dialog (issue #22)."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

from window_support import (boxes, click, close_window, files, isolated, app_window, open_window,  # noqa: F401
                            write_class_csv)


class Dialogs:
    """Answers file dialogs with ``answer`` and records the folder each one opened in."""

    def __init__(self):
        self.answer = ""
        self.opened_in: list[tuple[str, str]] = []   # (caption, directory)

    def reply(self, caption, directory):
        self.opened_in.append((caption, str(directory)))
        return self.answer

    def last(self, caption_part: str) -> str:
        return [d for c, d in self.opened_in if caption_part in c][-1]


@pytest.fixture
def dialogs(monkeypatch, app_window):
    record = Dialogs()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(
        lambda parent, caption="", directory="", *args, **kwargs: (record.reply(caption, directory), "")))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(
        lambda parent, caption="", directory="", *args, **kwargs: (record.reply(caption, directory), "")))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(
        lambda parent, caption="", directory="", *args, **kwargs: record.reply(caption, directory)))
    return record


def open_import_dialog(qtbot, window):
    click(qtbot, window.findChild(type(window.commands.import_button), "importDataButton"))
    dialog = window.commands.import_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def test_file_dialogs_open_in_the_last_folder_used(qtbot, app_window, dialogs, tmp_path):
    window = app_window
    data, projects = tmp_path / "data", tmp_path / "projects"
    data.mkdir()
    projects.mkdir()
    csv_path = write_class_csv(data / "flowers.csv")

    dialog = open_import_dialog(qtbot, window)
    dialogs.answer = str(csv_path)
    click(qtbot, dialog.csv_tab.path_row.button)
    assert dialog.csv_tab.path_row.path() == str(csv_path)
    dialog.reject()

    dialogs.answer = ""                              # cancelled: it only opened
    window.findChild(QAction, "actionOpen").trigger()
    assert dialogs.last("Open project") == str(data)  # where the CSV was chosen

    dialogs.answer = str(projects / "mine.lfproj")
    window.findChild(QAction, "actionSaveAs").trigger()
    assert dialogs.last("Save project as").startswith(str(data))
    assert (projects / "mine.lfproj").is_file()

    second = open_window(qtbot)                      # another session: the folder is remembered
    try:
        dialogs.answer = ""
        second.findChild(QAction, "actionOpen").trigger()
        assert dialogs.last("Open project") == str(projects)
        chooser = open_import_dialog(qtbot, second)
        click(qtbot, chooser.image_tab.path_row.button)
        assert dialogs.last("image folder") == str(projects)
        chooser.reject()
    finally:
        close_window(second)


def test_enter_in_the_import_path_field_reads_that_path(qtbot, app_window, dialogs, tmp_path):
    dialog = open_import_dialog(qtbot, app_window)
    path = tmp_path / "later.csv"
    edit = dialog.csv_tab.path_row.edit
    qtbot.keyClicks(edit, str(path))
    assert not dialog.import_button.isEnabled()      # no such file yet
    write_class_csv(path)                            # written meanwhile, e.g. by a script
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert dialogs.opened_in == []                   # no second dialog
    assert dialog.isVisible() and dialog.import_button.isEnabled()
    assert dialog.csv_tab.table.rowCount() > 0 and dialog.error_text == ""
    dialog.reject()
