"""A coloured message strip [trainingBanner] for what a person must see: a failed run, a model that
does not fit the data, a run that finished. Optional action button; closable."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton

STYLES = {
    "error": ("#ffebee", "#c62828", "#b71c1c"),
    "warning": ("#fff8e1", "#f9a825", "#5d4037"),
    "info": ("#e3f2fd", "#1e88e5", "#0d47a1"),
    "success": ("#e8f5e9", "#43a047", "#1b5e20"),
}


class Banner(QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("trainingBanner")
        self.setAccessibleName("Message")
        self.label = QLabel()
        self.label.setObjectName("bannerText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action_button = QPushButton()
        self.action_button.setObjectName("bannerAction")
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Hide this message")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action_button)
        layout.addWidget(self.close_button)
        self.close_button.clicked.connect(self.clear)
        self.action_button.clicked.connect(self._run_action)
        self._action: Callable[[], None] | None = None
        self.level = ""
        self.hide()

    @property
    def text(self) -> str:
        return self.label.text()

    def show_message(self, level: str, text: str, action_text: str = "",
                     action: Callable[[], None] | None = None) -> None:
        background, border, color = STYLES[level]
        self.setStyleSheet(f"QFrame#trainingBanner {{ background: {background}; border: 1px solid {border}; "
                           f"border-left: 5px solid {border}; border-radius: 3px; }} "
                           f"QLabel#bannerText {{ color: {color}; }}")
        self.level = level
        self.label.setText(text)
        self._action = action
        self.action_button.setText(action_text)
        self.action_button.setVisible(action is not None)
        self.show()

    def clear(self) -> None:
        self.level = ""
        self.label.clear()
        self._action = None
        self.hide()

    def _run_action(self) -> None:
        action = self._action
        if action is not None:
            action()
