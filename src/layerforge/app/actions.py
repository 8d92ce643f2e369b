"""One way to make a window's commands: a QAction with a stable objectName, shortcut and status tip."""
from __future__ import annotations

from typing import Callable

from PySide6.QtGui import QAction, QKeySequence


def named_action(parent, name: str, text: str, slot: Callable[[], object], shortcut=None, tip: str = "",
                 tooltip: bool = False) -> QAction:
    """``name`` is the objectName tests and accessibility tools find it by; ``slot`` takes no argument
    (the ``checked`` flag of ``triggered`` is dropped). With ``tooltip`` the tip is the tooltip too."""
    action = QAction(text, parent)
    action.setObjectName(name)
    if shortcut is not None:
        action.setShortcut(shortcut if isinstance(shortcut, QKeySequence) else QKeySequence(shortcut))
    if tip:
        action.setStatusTip(tip)
        if tooltip:
            action.setToolTip(tip)
    action.triggered.connect(lambda _=False: slot())
    return action
