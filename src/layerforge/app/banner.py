"""A coloured message strip [trainingBanner] for what a person must see: a failed run, a model that
does not fit the data, a run that finished. Optional action button; closable."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton

from . import theme

LEVELS = ("error", "warning", "info", "success")   # each has its colours in theme.py: banner.<level>[.border|.text]


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
        theme.follow(self, Banner._apply_style)

    @property
    def text(self) -> str:
        return self.label.text()

    def show_message(self, level: str, text: str, action_text: str = "",
                     action: Callable[[], None] | None = None) -> None:
        if level not in LEVELS:
            raise ValueError(f"unknown banner level {level!r}; one of {', '.join(LEVELS)}")
        self.level = level
        self._apply_style()
        self.label.setText(text)
        self._action = action
        self.action_button.setText(action_text)
        self.action_button.setVisible(action is not None)
        self.show()

    def _apply_style(self) -> None:
        if not self.level:
            return
        background, border, color = (theme.hex_color(f"banner.{self.level}{part}") for part in ("", ".border", ".text"))
        self.setStyleSheet(f"QFrame#trainingBanner {{ background: {background}; border: 1px solid {border}; "
                           f"border-left: 5px solid {border}; border-radius: 3px; }} "
                           f"QLabel#bannerText {{ color: {color}; }}")

    def clear(self) -> None:
        self.level = ""
        self.label.clear()
        self._action = None
        self.hide()

    def _run_action(self) -> None:
        action = self._action
        if action is not None:
            action()
