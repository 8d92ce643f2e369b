"""The menu bar's menus by title, so that each part of the window adds its actions to the same one."""
from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMenu


def menu_named(window, title: str) -> QMenu:
    """The menu-bar menu called ``title`` (ignoring '&'), made when missing."""
    bar = window.menuBar()
    for action in bar.actions():
        if action.menu() is not None and action.text().replace("&", "") == title.replace("&", ""):
            return action.menu()
    return bar.addMenu(title)


def mnemonic(text: str) -> str | None:
    """The Alt letter of a menu text ("Save &as…" -> "a"), lower case; None without one."""
    index = 0
    while True:
        index = text.find("&", index)
        if index < 0 or index + 1 >= len(text):
            return None
        if text[index + 1] != "&":
            return text[index + 1].lower()
        index += 2   # "&&" is a literal ampersand


def with_mnemonic(text: str, taken: set[str]) -> str:
    """``text`` with a letter not in ``taken`` marked: a word's first letter first, then any other."""
    words = [i for i, ch in enumerate(text) if ch.isalnum() and (i == 0 or not text[i - 1].isalnum())]
    others = [i for i, ch in enumerate(text) if ch.isalnum() and i not in words]
    for index in words + others:
        if text[index].lower() not in taken:
            return text[:index] + "&" + text[index:]
    return text


def ensure_mnemonics(menu: QMenu) -> None:
    """Give every item of ``menu`` (and of its submenus) that has no Alt letter one not used by the
    others, keeping the letters chosen by hand."""
    actions = [a for a in menu.actions() if not a.isSeparator() and a.text()]
    taken = {letter for letter in (mnemonic(a.text()) for a in actions) if letter}
    for action in actions:
        if mnemonic(action.text()) is None:
            action.setText(with_mnemonic(action.text(), taken))
            letter = mnemonic(action.text())
            if letter:
                taken.add(letter)
        if action.menu() is not None:
            ensure_mnemonics(action.menu())

def ensure_menu_bar_mnemonics(window) -> None:
    """``ensure_mnemonics`` for every menu of the window's menu bar, now and each time one opens."""
    keeper = window.findChild(_MnemonicKeeper) or _MnemonicKeeper(window)
    for action in window.menuBar().actions():
        if action.menu() is not None:
            ensure_mnemonics(action.menu())
            keeper.watch(action.menu())


class _MnemonicKeeper(QObject):
    """Gives the items a menu gained since (recent files) their letters as the menu opens. A slot of a
    QObject, not a lambda holding the menu: the window is still freed by reference counting."""

    def watch(self, menu: QMenu) -> None:
        if not menu.property("mnemonicsWatched"):
            menu.setProperty("mnemonicsWatched", True)
            menu.aboutToShow.connect(self._opening)
        for action in menu.actions():
            if action.menu() is not None:
                self.watch(action.menu())

    def _opening(self) -> None:
        menu = self.sender()
        if isinstance(menu, QMenu):
            ensure_mnemonics(menu)
            self.watch(menu)
