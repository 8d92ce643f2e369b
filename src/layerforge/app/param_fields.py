"""Editors for declared parameters (:class:`~layerforge.graph.Param`) that never change what was typed.

A spin box corrects as it goes: it drops the "-" of "-5", the comma of "11, 11", clamps 1.5 to 1 and
puts the old value back over a 0. These fields keep the text exactly as typed. On Enter or when focus
leaves, the text is parsed by the parameter's own declaration: a valid value becomes the field's
value (``valueChanged``); an invalid one stays in place, in red, with the declaration's reason in the
field's ``reason_label`` beside it, and the field keeps its last valid value until it is fixed.

- :class:`NumberField`: int and float parameters, with arrows, Up/Down keys and the wheel stepping
  within the declared range;
- :class:`TextField`: tuples ("3, 3"), text and other values typed as text;
- :func:`make_editor`: the editor a parameter's kind calls for (check box and combo box included);
- :func:`with_reason`: the field with its reason label under it, for a form row.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (QAbstractSpinBox, QCheckBox, QComboBox, QLabel, QLineEdit, QSizePolicy, QVBoxLayout,
                               QWidget)

from ..graph import Param, ParamError
from . import theme

INVALID_STYLE = "border: 1px solid #d32f2f; background: #ffebee; color: #b71c1c;"
# Text beside a field, on the panel: in the theme's colours when it is shown (theme.py).
def reason_style() -> str:
    return f"color: {theme.hex_color('error.text')};"


def note_style() -> str:
    return f"color: {theme.hex_color('text.caption')}; font-style: italic;"


def tooltip_of(param: Param) -> str:
    special = f"<br>{_num(param.minimum)}: {param.special}" if param.special and param.minimum is not None else ""
    return f"<b>{param.label}</b>: {param.doc}<br><i>{param.describe()}</i>{special}"


def reason_of(error: ParamError) -> str:
    """The error without its "parameter 'name': " prefix: the field it is shown beside names it."""
    text, prefix = str(error), f"parameter '{error.param}': "
    return text[len(prefix):] if text.startswith(prefix) else text


def _num(number) -> str:
    return str(int(number)) if float(number).is_integer() else repr(float(number))


class _Checked:
    """What both fields share: the declaration, the last valid value, the reason shown beside."""

    param: Param
    reason: str

    def _init_checked(self, param: Param) -> None:
        self.param = param
        self.reason = ""
        self.reason_label = QLabel()
        self.reason_label.setWordWrap(True)
        self.reason_label.setVisible(False)
        self.setToolTip(tooltip_of(param))

    def _typed(self) -> str:
        raise NotImplementedError

    def _set_typed(self, text: str) -> None:
        raise NotImplementedError

    def _style(self, style: str) -> None:
        raise NotImplementedError

    @property
    def valid(self) -> bool:
        return not self.reason

    def show_reason(self, reason: str) -> None:
        """Mark the field invalid with ``reason`` (the declaration's, or the model's refusal)."""
        self.reason = reason
        self._style(INVALID_STYLE if reason else "")
        self.setToolTip(f"<b style='color:{theme.hex_color('error.text')}'>{reason}</b><br>{tooltip_of(self.param)}" if reason
                        else tooltip_of(self.param))
        self._show_note()

    def _show_note(self) -> None:
        if self.reason:
            back = self.param.format(self._value) if self._value is not None else "empty"
            self.reason_label.setText(f"⚠ {self.reason} (Esc: back to {back})")
            self.reason_label.setStyleSheet(reason_style())
        elif self.param.special and self._value == self.param.minimum and self._value is not None:
            self.reason_label.setText(f"{self.param.format(self._value)}: {self.param.special}")
            self.reason_label.setStyleSheet(note_style())
        else:
            self.reason_label.setText("")
        self.reason_label.setVisible(bool(self.reason_label.text()))

    def check_typed(self) -> None:
        """Say, while typing, whether the text is valid (the value is taken only when it is committed)."""
        try:
            self.param.parse(self._typed())
        except ParamError as error:
            self.show_reason(reason_of(error))
        else:
            self.show_reason("")

    def commit_typed(self) -> None:
        """Take the typed text if it is valid; otherwise leave it in place, red, with its reason."""
        try:
            value = self.param.parse(self._typed())
        except ParamError as error:
            self.show_reason(reason_of(error))
            return
        self.show_reason("")
        changed = value != self._value
        self._value = value
        if changed:
            self._set_typed(self.param.format(value))
            self._show_note()
            self.valueChanged.emit(value)

    def _escape_wanted(self, event) -> bool:
        """Esc in a field showing an invalid text puts its last valid value back."""
        return self.reason and event.key() == Qt.Key.Key_Escape

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and self._escape_wanted(event):
            event.accept()   # the field's Esc, not a window shortcut's
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        if self._escape_wanted(event):
            self.show_value(self._value, force=True)
            event.accept()
            return
        super().keyPressEvent(event)

    def value(self) -> Any:
        """The last valid value (while the field shows an invalid text, the one before it)."""
        return self._value

    def setValue(self, value: Any) -> None:
        """Show ``value`` (checked by the declaration; ValueError if it is not valid) and announce it."""
        value = self.param.parse(value)
        changed = value != self._value
        self.show_value(value, force=True)
        if changed:
            self.valueChanged.emit(value)

    def show_value(self, value: Any, force: bool = False) -> None:
        """Show the model's ``value`` without announcing it. An invalid text typed over that same value
        stays in place (the person is still fixing it) unless ``force``."""
        if self.reason and value == self._value and not force:
            return
        self._value = value
        self._set_typed(self.param.format(value))
        self.show_reason("")

    def refuse(self, reason: str, value: Any) -> None:
        """The model refused the typed value: keep the text, say why, and go back to its ``value``."""
        self._value = value
        self.show_reason(reason)


class NumberField(_Checked, QAbstractSpinBox):
    """An int or float parameter (optional ones accept an empty field for None)."""

    valueChanged = Signal(object)

    def __init__(self, param: Param, value: Any = None, parent=None):
        QAbstractSpinBox.__init__(self, parent)
        self._init_checked(param)
        self._value = param.parse(param.default if value is None and not param.optional else value)
        self.single_step = 1 if param.kind == "int" else (0.1 if (param.maximum or 10) <= 1 else 1.0)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.lineEdit().setPlaceholderText("none" if param.optional else "")
        self.lineEdit().textEdited.connect(lambda _text: self.check_typed())
        self.editingFinished.connect(self.commit_typed)
        self._set_typed(param.format(self._value))
        self._show_note()

    def _typed(self) -> str:
        return self.lineEdit().text()

    def _set_typed(self, text: str) -> None:
        if self.lineEdit().text() != text:
            self.lineEdit().setText(text)

    def _style(self, style: str) -> None:
        # On the text, not the box: a style sheet on the box drops the native look of its arrows.
        self.lineEdit().setStyleSheet(style)

    def minimum(self):
        return self.param.minimum

    def maximum(self):
        return self.param.maximum

    # -- QAbstractSpinBox: every text may be typed; Enter and focus-out commit (editingFinished) ----

    def validate(self, text: str, position: int):
        return QValidator.State.Acceptable, text, position

    def fixup(self, text: str) -> str:
        return text

    def step_from(self) -> float:
        try:
            typed = self.param.parse(self._typed())
        except ParamError:
            typed = None
        base = typed if typed is not None else self._value
        return base if base is not None else (self.param.minimum or 0)

    def stepped(self, base: float, steps: int) -> float:
        return base + steps * self.single_step

    def stepBy(self, steps: int) -> None:
        value = self.stepped(self.step_from(), steps)
        if self.param.minimum is not None:
            value = max(value, self.param.minimum)
        if self.param.maximum is not None:
            value = min(value, self.param.maximum)
        value = int(round(value)) if self.param.kind == "int" else float(f"{value:.12g}")
        self.setValue(value)
        self.lineEdit().selectAll()

    def stepEnabled(self):
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        if self.isReadOnly():
            return flags
        value = self._value
        if value is None or self.param.maximum is None or value < self.param.maximum:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        if value is None or self.param.minimum is None or value > self.param.minimum:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        return flags

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        width = self.fontMetrics().horizontalAdvance("0.000001") + 40   # the text and the arrows
        return QSize(max(hint.width(), width), hint.height())

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(max(hint.width(), self.fontMetrics().horizontalAdvance("0000") + 30), hint.height())


class TextField(_Checked, QLineEdit):
    """A parameter typed as text: tuples such as "3, 3" (or "same"), names, and the like."""

    valueChanged = Signal(object)

    def __init__(self, param: Param, value: Any = None, parent=None):
        QLineEdit.__init__(self, parent)
        self._init_checked(param)
        self._value = param.parse(value) if value is not None or param.optional else param.parse(param.default)
        self.setPlaceholderText("none" if param.optional else param.describe())
        self.textEdited.connect(lambda _text: self.check_typed())
        self.editingFinished.connect(self.commit_typed)
        self._set_typed(param.format(self._value))

    def _typed(self) -> str:
        return QLineEdit.text(self)

    def _set_typed(self, text: str) -> None:
        if QLineEdit.text(self) != text:
            self.setText(text)

    def _style(self, style: str) -> None:
        self.setStyleSheet(style)


def make_editor(param: Param, value: Any) -> QWidget:
    """A widget for one parameter, showing ``value``; ``editor.param`` holds the declaration."""
    if param.kind in ("int", "float"):
        editor = NumberField(param, value)
    elif param.kind == "bool":
        editor = QCheckBox()
        editor.setChecked(bool(value))
        editor.setToolTip(tooltip_of(param))
    elif param.kind == "choice":
        editor = QComboBox()
        editor.addItems(list(param.choices))
        editor.setCurrentText(str(value))
        editor.setToolTip(tooltip_of(param))
    else:
        editor = TextField(param, value)
    editor.setObjectName(f"param_{param.name}")
    editor.param = param
    return editor


def with_reason(editor: QWidget) -> QWidget:
    """The editor for a form row: a checked field with its reason label under it; others as they are."""
    label = getattr(editor, "reason_label", None)
    if label is None:
        return editor
    host = QWidget()
    layout = QVBoxLayout(host)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(1)
    layout.addWidget(editor)
    layout.addWidget(label)
    label.setObjectName(f"{editor.objectName()}_reason")
    return host


def put_in_place(field: QWidget, old: QWidget | None = None) -> QWidget:
    """Put ``field`` with its reason label under it where ``old`` (a widget of a Designer form) is, or
    where ``field`` itself is; ``old`` is deleted and its object name kept."""
    where = old if old is not None else field
    parent = where.parentWidget()
    host = QWidget(parent)
    if parent is not None and parent.layout() is not None:
        parent.layout().replaceWidget(where, host)
    if old is not None:
        field.setObjectName(old.objectName())
        old.hide()
        old.deleteLater()
    layout = QVBoxLayout(host)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(1)
    layout.addWidget(field)
    layout.addWidget(field.reason_label)
    field.reason_label.setObjectName(f"{field.objectName()}_reason")
    return field


def editor_value(editor: QWidget) -> Any:
    if isinstance(editor, QCheckBox):
        return editor.isChecked()
    if isinstance(editor, QComboBox):
        return editor.currentText()
    return editor.value()


def set_editor_value(editor: QWidget, value: Any) -> None:
    """Show the model's ``value`` without announcing it as an edit."""
    editor.blockSignals(True)
    if isinstance(editor, QCheckBox):
        editor.setChecked(bool(value))
    elif isinstance(editor, QComboBox):
        editor.setCurrentText(str(value))
    else:
        editor.show_value(value)
    editor.blockSignals(False)
