"""Help's dialogs: the user guide [userGuideDialog], the keyboard shortcuts [shortcutsDialog] and About
[aboutDialog].

The guide is an HTML file shipped in the package (resources/guide/user-guide.html), shown in a
QTextBrowser that follows only its own anchors: nothing is fetched. The shortcut list is read from the
window's QActions when the dialog opens, so it names what the keys really do. About names the
versions Layerforge runs on and, for each file of bundled data, where it came from and its licence as
resources/datasets/README.md records them (or that the licence is not recorded).
"""
from __future__ import annotations

import html
import platform
import re
from importlib import resources

import numpy as np
import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QLineEdit, QTableWidget, QTableWidgetItem,
                               QTextBrowser, QVBoxLayout, QWidget)

import layerforge

from ...data import list_datasets

GUIDE_FILE = ("guide", "user-guide.html")
DATA_README = ("datasets", "README.md")


def _resource(*parts: str):
    return resources.files("layerforge.resources").joinpath(*parts)


def guide_html() -> str:
    """The shipped user guide (an explanation of what is missing if the file is not installed)."""
    try:
        return _resource(*GUIDE_FILE).read_text(encoding="utf-8")
    except OSError as error:
        return (f"<h1>Layerforge user guide</h1><p>The guide is not installed with this copy of Layerforge "
                f"({html.escape(str(error))}). Reinstall Layerforge to get it back.</p>")


def _close_buttons(dialog: QDialog) -> QDialogButtonBox:
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    return buttons


def _local_browser(name: str) -> QTextBrowser:
    browser = QTextBrowser()
    browser.setObjectName(name)
    browser.setOpenLinks(True)
    browser.setOpenExternalLinks(False)   # an address outside the guide is not followed
    return browser


class GuideDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("userGuideDialog")
        self.setWindowTitle("Layerforge user guide")
        self.browser = _local_browser("userGuideText")
        self.browser.setHtml(guide_html())
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addWidget(_close_buttons(self))
        self.resize(760, 680)

    def section_titles(self) -> list[str]:
        document = self.browser.document()
        block = document.begin()
        titles = []
        while block.isValid():
            if block.blockFormat().headingLevel() == 2:
                titles.append(block.text())
            block = block.next()
        return titles


# -- keyboard shortcuts --------------------------------------------------------------------------

def _plain(text: str) -> str:
    return re.sub(r"&(?!&)", "", text).replace("&&", "&").rstrip(".…").strip()


def _menu_paths(window) -> dict[QAction, str]:
    """Each action of the menu bar and the menu it sits in ("File > Export")."""
    paths: dict[QAction, str] = {}

    def walk(menu, path: str) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu(), f"{path} > {_plain(action.text())}")
            elif not action.isSeparator():
                paths.setdefault(action, path)

    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.menu(), _plain(top.text()))
    return paths


def window_shortcuts(window) -> list[tuple[str, str, str]]:
    """(where, command, keys) for every action of ``window`` that has a shortcut, by menu then name."""
    paths = _menu_paths(window)
    rows, seen = [], set()
    for action in window.findChildren(QAction):
        keys = [key for key in action.shortcuts() if not key.isEmpty()]
        if not keys or id(action) in seen:
            continue
        seen.add(id(action))
        text = _plain(action.iconText() if not action.text() else action.text())
        shown = ", ".join(key.toString(QKeySequence.SequenceFormat.NativeText) for key in keys)
        rows.append((paths.get(action, "Window"), text, shown))
    return sorted(rows, key=lambda row: (row[0] == "Window", row[0], row[1].lower()))


class ShortcutsDialog(QDialog):
    def __init__(self, window):
        super().__init__(window)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.rows = window_shortcuts(window)
        self.filter_box = QLineEdit()
        self.filter_box.setObjectName("shortcutFilter")
        self.filter_box.setPlaceholderText("Find a command or a key…")
        self.filter_box.setClearButtonEnabled(True)
        self.table = QTableWidget(len(self.rows), 3)
        self.table.setObjectName("shortcutTable")
        self.table.setHorizontalHeaderLabels(["Command", "Keys", "Menu"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        for row, (where, command, keys) in enumerate(self.rows):
            for column, text in enumerate((command, keys, where)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.filter_box.textChanged.connect(self._filter)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_box)
        layout.addWidget(self.table, 1)
        layout.addWidget(_close_buttons(self))
        self.resize(560, 560)

    def shown(self) -> list[tuple[str, str]]:
        """(command, keys) of the rows listed now."""
        return [(self.table.item(row, 0).text(), self.table.item(row, 1).text())
                for row in range(self.table.rowCount()) if not self.table.isRowHidden(row)]

    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        for row, (where, command, keys) in enumerate(self.rows):
            self.table.setRowHidden(row, bool(needle) and needle not in f"{command} {keys} {where}".lower())


# -- about ---------------------------------------------------------------------------------------

def bundled_data() -> list[dict[str, str]]:
    """Each data file shipped in resources/datasets with the source and licence that its README gives
    ("not recorded" where the README says nothing: a licence is never guessed)."""
    folder = _resource("datasets")
    try:
        readme = folder.joinpath(DATA_README[1]).read_text(encoding="utf-8")
    except OSError:
        readme = ""
    sections = {}
    for chunk in re.split(r"^## ", readme, flags=re.MULTILINE)[1:]:
        title, _, body = chunk.partition("\n")
        sections[title.strip()] = body
    entries = []
    files = sorted(entry.name for entry in folder.iterdir()
                   if entry.is_file() and entry.name not in ("README.md", "__init__.py"))
    for filename in files:
        body = sections.get(filename, "")
        entries.append({"file": filename, "source": _field(body, "Source"), "licence": _field(body, "Licence"),
                        "made": _field(body, "How this file was made")})
    return entries


def _field(body: str, name: str) -> str:
    """The text of the bullet "- Name: ..." (over several lines) in a README section, or "not recorded"."""
    match = re.search(rf"^- {name}:(.*?)(?=^- |^#|\Z)", body, flags=re.MULTILINE | re.DOTALL)
    return " ".join(match.group(1).replace("`", "").split()) if match else "not recorded"


def versions() -> list[tuple[str, str]]:
    import pyqtgraph
    return [("Layerforge", layerforge.__version__), ("Python", platform.python_version()),
            ("Qt", qVersion()), ("PySide6", PySide6.__version__), ("numpy", np.__version__),
            ("pyqtgraph", pyqtgraph.__version__)]


def about_html() -> str:
    rows = "".join(f"<tr><td>{html.escape(name)}&nbsp;&nbsp;</td><td>{html.escape(value)}</td></tr>"
                   for name, value in versions())
    shipped = bundled_data()
    data = "".join(f"<li><b>{html.escape(entry['file'])}</b>: {html.escape(entry['source'])}<br>"
                   f"<i>Licence:</i> {html.escape(entry['licence'])}<br><i>This copy:</i> {html.escape(entry['made'])}</li>"
                   for entry in shipped)
    files = {entry["file"] for entry in shipped}
    generated = ", ".join(info.name for info in list_datasets() if f"{info.name}.npz" not in files)
    return (f"<h2>Layerforge {html.escape(layerforge.__version__)}</h2>"
            "<p>Build neural networks visually and train them on Layerforge's own tensor and autograd engine."
            "</p><p>Layerforge is free software under the MIT licence. Its example projects and icons are part "
            "of it, under the same licence.</p>"
            f"<h3>Running on</h3><table>{rows}</table>"
            "<h3>Bundled data</h3>"
            f"<ul>{data}</ul>"
            f"<p>The other built-in datasets ({html.escape(generated)}) are generated by Layerforge when they "
            "are used; no data is downloaded.</p>")


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About Layerforge")
        self.browser = _local_browser("aboutText")
        self.browser.setHtml(about_html())
        self.browser.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser, 1)
        layout.addWidget(_close_buttons(self))
        self.resize(620, 560)

    @property
    def text(self) -> str:
        return self.browser.toPlainText()
