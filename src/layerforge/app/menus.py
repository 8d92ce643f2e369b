"""The menu bar's menus by title, so that each part of the window adds its actions to the same one."""
from __future__ import annotations

from PySide6.QtWidgets import QMenu


def menu_named(window, title: str) -> QMenu:
    """The menu-bar menu called ``title`` (ignoring '&'), made when missing."""
    bar = window.menuBar()
    for action in bar.actions():
        if action.menu() is not None and action.text().replace("&", "") == title.replace("&", ""):
            return action.menu()
    return bar.addMenu(title)
