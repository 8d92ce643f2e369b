"""The Code panel [codeView]: the PyTorch code of the canvas and of its training, live.

It shows what File > Export > PyTorch would write (:mod:`~layerforge.app.code_text`), read-only,
syntax-coloured and copyable [codeText, copyAllButton], with the lines of the selected layer marked;
clicking a layer's line asks for that layer to be selected (``layerClicked``). It follows the
workspace's ModelChanged and SettingsChanged, but regenerates only while it is shown, once the edits
pause (``DEBOUNCE_MS``); changes made while it is hidden are taken up when it is shown again.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication, QKeySequence, QTextCursor, QTextFormat
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QTextEdit, QVBoxLayout, QWidget

from ..workspace import events as ev
from . import theme
from .code_highlighter import PythonHighlighter
from .code_text import PanelCode, panel_code

DEBOUNCE_MS = 150        # edits closer together than this regenerate once
COLUMNS_SHOWN = 84       # the panel asks for this many characters of width (model.py's lines are ~100)
HIGHLIGHT_SHARE = 0.28   # how far a marked line's background moves from the base colour to the highlight
CAPTION = "What File > Export > PyTorch writes for this model: click a line to select its layer."


class CodeView(QWidget):
    """``workspace``: the one it shows. ``show_nodes(ids)`` marks those layers' lines."""

    layerClicked = Signal(str)

    def __init__(self, workspace, parent=None):
        super().__init__(parent)
        self.setObjectName("codeView")
        self.workspace = workspace
        self.code = PanelCode("")
        self.regenerations = 0           # how often the text was made (tests: nothing while hidden)
        self._stale = True
        self._selected: list[str] = []

        self.caption = QLabel(CAPTION)
        self.caption.setObjectName("codeCaption")
        self.caption.setWordWrap(True)
        self.copy_button = QPushButton("Copy all")
        self.copy_button.setObjectName("copyAllButton")
        self.copy_button.setToolTip("Copy all of the code to the clipboard")
        self.copy_button.clicked.connect(self.copy_all)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("codeText")
        self.editor.setReadOnly(True)
        self.editor.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                            | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.editor.setAccessibleName("PyTorch code of the model")
        self.editor.viewport().installEventFilter(self)
        self.editor.installEventFilter(self)
        self.highlighter = PythonHighlighter(self.editor.document())

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.caption, 1)
        top.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.editor, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.refresh)
        workspace.events.connect(self._workspace_changed, ev.ModelChanged, ev.SettingsChanged)
        theme.follow(self, CodeView._mark_selected)

    def sizeHint(self) -> QSize:
        """Wide enough to read a layer's line without scrolling sideways (the dock opens this wide)."""
        hint = super().sizeHint()
        width = self.editor.fontMetrics().horizontalAdvance("x" * COLUMNS_SHOWN) + 40
        return QSize(max(hint.width(), width), hint.height())

    # -- following the workspace -----------------------------------------------------------------

    def _workspace_changed(self, event) -> None:
        if isinstance(event, ev.ModelChanged) and not event.structure_changed:
            return   # layers moved on the canvas: the code is the same
        self._stale = True
        if self.isVisible():
            self._timer.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        """Write the code for the workspace as it is now (called once edits pause, or when shown)."""
        self._timer.stop()
        workspace = self.workspace
        self.code = panel_code(workspace.spec, workspace.report, workspace.settings, workspace.name)
        self._stale = False
        self.regenerations += 1
        scroll = self.editor.verticalScrollBar().value()
        self.editor.setPlainText(self.code.text)
        self.editor.verticalScrollBar().setValue(scroll)
        self.caption.setText(f"No code: {self.code.problem}" if self.code.problem else CAPTION)
        self._mark_selected(scroll=False)

    # -- the selected layer ----------------------------------------------------------------------

    def show_nodes(self, node_ids: list[str]) -> None:
        """Mark the lines of ``node_ids`` (the canvas selection) and bring them into view."""
        self._selected = list(node_ids)
        self._mark_selected()

    def marked_lines(self) -> list[int]:
        """The lines (0-based) marked now, in order."""
        return sorted({selection.cursor.blockNumber() for selection in self.editor.extraSelections()})

    def _mark_selected(self, scroll: bool = True) -> None:
        lines = sorted({line for node_id in self._selected for line in self.code.node_lines.get(node_id, ())})
        background = theme.mix(theme.color("base"), theme.color("highlight"), HIGHLIGHT_SHARE)
        document = self.editor.document()
        selections = []
        for line in lines:
            block = document.findBlockByNumber(line)
            if not block.isValid():
                continue
            selection = QTextEdit.ExtraSelection()
            selection.format.setBackground(background)
            selection.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            selection.cursor = QTextCursor(block)
            selections.append(selection)
        self.editor.setExtraSelections(selections)
        if scroll and lines and not self._any_in_view(lines):
            cursor = QTextCursor(document.findBlockByNumber(lines[0]))
            self.editor.setTextCursor(cursor)
            self.editor.centerCursor()

    def _any_in_view(self, lines: list[int]) -> bool:
        first = self.editor.firstVisibleBlock().blockNumber()
        viewport = self.editor.viewport()
        last = self.editor.cursorForPosition(QPoint(0, max(viewport.height() - 1, 0))).blockNumber()
        return any(first <= line <= last for line in lines)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.editor and event.type() == QEvent.Type.ShortcutOverride and (
                event.matches(QKeySequence.StandardKey.Copy) or event.matches(QKeySequence.StandardKey.SelectAll)):
            # The panel's own Copy and Select all, not the canvas's window-wide ones (copy layers).
            event.accept()
            return True
        if (watched is self.editor.viewport() and event.type() == QEvent.Type.MouseButtonRelease
                and event.button() == Qt.MouseButton.LeftButton and not self.editor.textCursor().hasSelection()):
            line = self.editor.cursorForPosition(event.position().toPoint()).blockNumber()
            node_id = self.code.node_at(line)
            if node_id is not None and self._selected != [node_id]:
                self.layerClicked.emit(node_id)
        return super().eventFilter(watched, event)

    # -- copying ---------------------------------------------------------------------------------

    def text(self) -> str:
        return self.editor.toPlainText()

    def copy_all(self) -> None:
        QGuiApplication.clipboard().setText(self.editor.toPlainText())
