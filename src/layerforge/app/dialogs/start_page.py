"""The start page [startPage]: every shipped example with a picture of its data and model and one line
that says what it does. Double-click one (or select it and press Enter or Open) to open it.

Reached from File > Examples… and Help > Examples…, and shown once, beside the ready spiral project,
the first time Layerforge starts. Opening goes through the window's File > Open example, which asks
about unsaved changes first.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QLabel, QListView, QListWidget,
                               QListWidgetItem, QVBoxLayout)

from ...training import example_projects
from ..example_pictures import HEIGHT, WIDTH, example

NAME_ROLE = Qt.ItemDataRole.UserRole + 1


class StartPage(QDialog):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.setObjectName("startPage")
        self.setWindowTitle("Examples — Layerforge")
        intro = QLabel("<b>Start from an example.</b> Each one is a complete project: open it and press "
                       "<b>Train</b> (F5) to watch it learn. This page is also in the File and Help menus "
                       "(Examples…).")
        intro.setWordWrap(True)
        intro.setObjectName("startPageIntro")
        self.list = QListWidget()
        self.list.setObjectName("exampleList")
        self.list.setAccessibleName("Examples")
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(QSize(WIDTH, HEIGHT))
        self.list.setGridSize(QSize(WIDTH + 24, HEIGHT + 64))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setWordWrap(True)
        self.list.setSpacing(6)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        for name in example_projects():
            shown = example(name)
            item = QListWidgetItem(QIcon(shown.picture), shown.line)
            item.setData(NAME_ROLE, name)
            item.setToolTip(shown.description)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            self.list.addItem(item)
        current = getattr(window.workspace, "name", None)
        for row in range(self.list.count()):
            if self.list.item(row).data(NAME_ROLE) == current:
                self.list.setCurrentRow(row)
        if self.list.currentRow() < 0 and self.list.count():
            self.list.setCurrentRow(0)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Close)
        self.buttons.accepted.connect(self.open_selected)
        self.buttons.rejected.connect(self.reject)
        self.list.itemActivated.connect(lambda _item: self.open_selected())   # double-click and Enter
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.buttons)
        self.resize(3 * (WIDTH + 24) + 60, 2 * (HEIGHT + 64) + 120)

    def examples(self) -> list[str]:
        return [self.list.item(row).data(NAME_ROLE) for row in range(self.list.count())]

    def open_selected(self) -> bool:
        item = self.list.currentItem()
        if item is None:
            return False
        if self.window.open_example(item.data(NAME_ROLE)):
            self.accept()
            return True
        return False
