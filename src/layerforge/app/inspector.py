"""The inspector [layerInspector]: the selected layer's parameters as editors generated from the catalog.

Each :class:`~layerforge.graph.Param` becomes a spin box (int/float, with its range), a combo box
(choices), a check box (bool) or a line edit (tuples such as "3, 3", text, optional values), with the
parameter's doc as tooltip. Line edits validate as the person types; every committed change is one
undoable edit of the document.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QFrame, QLabel, QLineEdit,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

from ..graph import Param, ParamError, get_layer
from ..graph.shape_rules import fmt
from .document import ModelDocument

BIG = 1_000_000_000
INVALID_STYLE = "border: 2px solid #d32f2f; background: #ffebee;"


class FloatSpinBox(QDoubleSpinBox):
    """A spin box that shows 1e-08 as 1e-08, not 0.000000 (epsilons, learning rates, decays)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setDecimals(15)  # keep tiny values exact; the text below stays short
        self.setKeyboardTracking(False)

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text, position):
        try:
            float(text)
            return QValidator.State.Acceptable, text, position
        except ValueError:
            return QValidator.State.Intermediate, text, position


def make_editor(param: Param, value: Any) -> QWidget:
    """A widget for one parameter, showing ``value``; ``editor.param`` holds the declaration."""
    if param.kind == "int" and not param.optional:
        editor = QSpinBox()
        editor.setRange(int(param.minimum) if param.minimum is not None else -BIG,
                        int(param.maximum) if param.maximum is not None else BIG)
        editor.setKeyboardTracking(False)
        editor.setValue(int(value))
    elif param.kind == "float":
        editor = FloatSpinBox()
        editor.setRange(param.minimum if param.minimum is not None else -1e9,
                        param.maximum if param.maximum is not None else 1e9)
        editor.setSingleStep(0.1 if (param.maximum or 10) <= 1 else 1.0)
        editor.setValue(float(value))
    elif param.kind == "bool":
        editor = QCheckBox()
        editor.setChecked(bool(value))
    elif param.kind == "choice":
        editor = QComboBox()
        editor.addItems(list(param.choices))
        editor.setCurrentText(str(value))
    else:
        editor = QLineEdit(format_value(value))
        editor.setPlaceholderText("none" if param.optional else param.describe())
    editor.setObjectName(f"param_{param.name}")
    editor.setToolTip(f"<b>{param.label}</b>: {param.doc}<br><i>{param.describe()}</i>")
    editor.param = param
    return editor


def editor_value(editor: QWidget) -> Any:
    if isinstance(editor, QCheckBox):
        return editor.isChecked()
    if isinstance(editor, QComboBox):
        return editor.currentText()
    if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
        return editor.value()
    return editor.text()


def set_editor_value(editor: QWidget, value: Any) -> None:
    editor.blockSignals(True)
    if isinstance(editor, QCheckBox):
        editor.setChecked(bool(value))
    elif isinstance(editor, QComboBox):
        editor.setCurrentText(str(value))
    elif isinstance(editor, QSpinBox):
        editor.setValue(int(value))
    elif isinstance(editor, QDoubleSpinBox):
        editor.setValue(float(value))
    elif not editor.hasFocus():
        editor.setText(format_value(value))
        editor.setStyleSheet("")
    editor.blockSignals(False)


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


class LayerInspector(QWidget):
    def __init__(self, document: ModelDocument, parent=None):
        super().__init__(parent)
        self.setObjectName("layerInspector")
        self.setAccessibleName("Layer inspector")
        self.document = document
        self.node_id: str | None = None
        self._node_type: str | None = None
        self.editors: dict[str, QWidget] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        self.title = QLabel()
        self.title.setObjectName("inspectorTitle")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setObjectName("inspectorDescription")
        self.form_host = QFrame()
        self.form = QFormLayout(self.form_host)
        self.form.setContentsMargins(0, 4, 0, 4)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("layerName")
        self.name_edit.setToolTip("The layer's name; it becomes the prefix of its weights, e.g. fc1.weight")
        self.name_edit.editingFinished.connect(self._commit_name)
        self.shape_label = QLabel()
        self.shape_label.setObjectName("inspectorOutputShape")
        self.params_label = QLabel()
        self.params_label.setObjectName("inspectorParamCount")
        self.error_label = QLabel()
        self.error_label.setObjectName("inspectorError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b71c1c;")
        self.fix_button = QPushButton()
        self.fix_button.setObjectName("quickFixButton")
        self.fix_button.clicked.connect(self._apply_fix)
        self.read_only_label = QLabel("Training in progress: the model is read-only.")
        self.read_only_label.setStyleSheet("color: #8d6e63; font-style: italic;")
        # What the layer produces and what is wrong come first; the settings below may need scrolling.
        for widget in (self.title, self.description, self.shape_label, self.params_label, self.error_label,
                       self.fix_button, self.read_only_label, self.form_host):
            layout.addWidget(widget)
        layout.addStretch(1)
        document.changed.connect(self.refresh)
        self.show_nodes([])

    # -- selection -------------------------------------------------------------------------------

    def show_nodes(self, node_ids: list[str]) -> None:
        node_id = node_ids[0] if len(node_ids) == 1 else None
        self._multi = len(node_ids) if len(node_ids) > 1 else 0
        if node_id != self.node_id:
            self.node_id = node_id
            self._node_type = None
        self.refresh()

    def refresh(self) -> None:
        spec = self.document.spec
        if self.node_id is not None and self.node_id not in spec.nodes:
            self.node_id = None
        self.form_host.setEnabled(not self.document.read_only)
        self.read_only_label.setVisible(self.document.read_only)
        if self.node_id is None:
            self._show_summary()
            return
        node = spec.nodes[self.node_id]
        layer = get_layer(node.type)
        if node.type != self._node_type:
            self._build_form(layer, node.params)
            self._node_type = node.type
        self.title.setText(f"<b style='font-size:14px'>{node.name}</b>"
                           f" &nbsp;<span style='color:#607d8b'>{node.type} · {layer.category}</span>")
        self.description.setText(layer.description)
        self.name_edit.blockSignals(True)
        if not self.name_edit.hasFocus():
            self.name_edit.setText(node.name)
        self.name_edit.blockSignals(False)
        for name, editor in self.editors.items():
            set_editor_value(editor, node.params[name])
        report = self.document.report.nodes.get(self.node_id)
        shape = report.output_shape if report is not None else None
        self.shape_label.setText(f"Output shape: <b>{fmt(shape) if shape is not None else '?'}</b> "
                                 f"<span style='color:#607d8b'>(without the batch dimension)</span>")
        self.params_label.setText(f"Trainable parameters: <b>{report.param_count:,}</b>" if report else "")
        self.shape_label.setVisible(True)
        self.params_label.setVisible(True)
        errors = self.document.report.errors_for(self.node_id)
        self._show_error(errors[0] if errors else None)

    def _show_summary(self) -> None:
        self._clear_form()
        self._node_type = None
        report = self.document.report
        count = len(self.document.spec.nodes)
        if self._multi:
            self.title.setText(f"<b>{self._multi} layers selected</b>")
        else:
            self.title.setText(f"<b style='font-size:14px'>Model</b> &nbsp;<span style='color:#607d8b'>"
                               f"{count} layers</span>")
        self.description.setText("Select a layer on the canvas to edit its settings. Add layers from the "
                                 "palette: drag them onto the canvas, or double-click to add after the "
                                 "selected layer.")
        self.shape_label.setText(f"Input {fmt(report.input_shape) if report.input_shape else '?'} → output "
                                 f"{fmt(report.output_shape) if report.output_shape else '?'}")
        self.params_label.setText(f"Trainable parameters: <b>{report.total_params:,}</b>")
        self._show_error(report.errors[0] if report.errors else None)

    def _show_error(self, error) -> None:
        self.error_label.setVisible(error is not None)
        self.error_label.setText("" if error is None else f"⚠ {error.message}")
        fix = None if error is None else error.quick_fix
        self._fix = fix
        self.fix_button.setVisible(fix is not None)
        self.fix_button.setEnabled(not self.document.read_only)
        if fix is not None:
            self.fix_button.setText(f"Quick fix: insert {fix.get('type')}")

    def _apply_fix(self) -> None:
        if self._fix is not None:
            self.document.apply_quick_fix(dict(self._fix))

    # -- editors ---------------------------------------------------------------------------------

    def _clear_form(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.editors = {}
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("layerName")
        self.name_edit.editingFinished.connect(self._commit_name)

    def _build_form(self, layer, params: dict) -> None:
        self._clear_form()
        self.form.addRow("name", self.name_edit)
        for param in layer.params:
            editor = make_editor(param, params[param.name])
            self.editors[param.name] = editor
            label = QLabel(param.label)
            label.setToolTip(param.doc)
            self.form.addRow(label, editor)
            self._connect(editor)

    def _connect(self, editor: QWidget) -> None:
        name = editor.param.name
        if isinstance(editor, QCheckBox):
            editor.toggled.connect(lambda checked, n=name: self._commit(n, checked))
        elif isinstance(editor, QComboBox):
            editor.currentTextChanged.connect(lambda text, n=name: self._commit(n, text))
        elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
            editor.valueChanged.connect(lambda value, n=name: self._commit(n, value))
        else:
            editor.textEdited.connect(lambda text, e=editor: self._validate_text(e, text))
            editor.editingFinished.connect(lambda e=editor: self._commit_text(e))

    def _validate_text(self, editor: QLineEdit, text: str) -> bool:
        try:
            editor.param.parse(text)
        except ParamError as error:
            editor.setStyleSheet(INVALID_STYLE)
            editor.setToolTip(str(error))
            self.error_label.setText(f"⚠ {error}")
            self.error_label.setVisible(True)
            return False
        editor.setStyleSheet("")
        editor.setToolTip(f"<b>{editor.param.label}</b>: {editor.param.doc}<br><i>{editor.param.describe()}</i>")
        return True

    def _commit_text(self, editor: QLineEdit) -> None:
        if self._validate_text(editor, editor.text()):
            self._commit(editor.param.name, editor.text())

    def _commit(self, name: str, value: Any) -> None:
        if self.node_id is None:
            return
        if not self.document.set_param(self.node_id, name, value):
            self.refresh()  # refused: show the stored value again (the reason goes to the status bar)

    def _commit_name(self) -> None:
        if self.node_id is not None and self.name_edit.text() != self.document.spec.nodes[self.node_id].name:
            if not self.document.rename(self.node_id, self.name_edit.text().strip()):
                self.name_edit.setText(self.document.spec.nodes[self.node_id].name)
