"""A coloured message strip [trainingBanner] for what a person must see: a failed run, a model that
does not fit the data, a run that finished. Optional action button; closable.

The window floats it over the top of the canvas (:meth:`Banner.float_over`) instead of giving it a
row of its own: coming and going, it moves nothing on the canvas under the person's cursor."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from . import theme

MARGIN = 8   # px between the floating banner and the edges of what it floats over

LEVELS = ("error", "warning", "info", "success")   # each has its colours in theme.py: banner.<level>[.border|.text]


class Banner(QFrame):
    def __init__(self, parent=None, name: str = "trainingBanner"):
        super().__init__(parent)
        self.setObjectName(name)
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
        self._host: QWidget | None = None
        self._bottom = False
        self.level = ""
        self.hide()
        theme.follow(self, Banner._apply_style)

    def float_over(self, host: QWidget, bottom: bool = False) -> None:
        """Float over the top (or ``bottom``) edge of ``host``, across its width, taking no room in
        any layout."""
        self._bottom = bottom
        if self._host is not None:
            self._host.removeEventFilter(self)
        self.setParent(host)
        self._host = host
        host.installEventFilter(self)
        self.setAutoFillBackground(True)   # opaque where the style sheet paints no background
        self._place()

    def _place(self) -> None:
        host = self._host
        if host is None:
            return
        self.ensurePolished()   # the style sheet's borders narrow the text: they must be known first
        width = max(120, host.width() - 2 * MARGIN)
        limit = max(40, host.height() - 2 * MARGIN)
        layout = self.layout()
        height = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else -1
        height = max(height, self.minimumSizeHint().height())
        self._set_height(width, min(height, limit))
        layout.activate()
        # The label's own width is known only once laid out (borders, buttons): grow to its wrapped text.
        missing = self.label.heightForWidth(self.label.width()) - self.label.height()
        if missing > 0:
            self._set_height(width, min(height + missing, limit))
        self.raise_()

    def _set_height(self, width: int, height: int) -> None:
        top = self._host.height() - MARGIN - height if self._bottom else MARGIN
        self.setGeometry(MARGIN, top, width, height)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._host and event.type() == QEvent.Type.Resize:
            self._place()
        return False

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
        self._place()   # the text's height at the host's width

    def _apply_style(self) -> None:
        if not self.level:
            return
        background, border, color = (theme.hex_color(f"banner.{self.level}{part}") for part in ("", ".border", ".text"))
        self.setStyleSheet(f"QFrame#{self.objectName()} {{ background: {background}; border: 1px solid {border}; "
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
