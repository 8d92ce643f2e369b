"""The inspector [layerInspector]: the selected layer's parameters as editors generated from the catalog.

Each :class:`~layerforge.graph.Param` becomes a spin box (int/float, with its range), a combo box
(choices), a check box (bool) or a line edit (tuples such as "3, 3", text, optional values), with the
parameter's doc as tooltip (see param_fields). What is typed is never changed: an invalid value, or one
the model refuses, stays in its field, red, with the reason beside it, and the model keeps its last
valid value. Every committed change is one undoable edit of the document.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QFrame, QLabel, QLineEdit, QPushButton, QVBoxLayout,
                               QWidget)

from ..graph import get_layer
from ..graph.shape_rules import fmt
from ..workspace.events import Refused
from .document import ModelDocument
from . import theme
from .param_fields import INVALID_STYLE, make_editor, reason_style, set_editor_value, with_reason


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
        self._make_name_field()
        self._committing: QWidget | None = None   # the field whose value is being applied
        self.shape_label = QLabel()
        self.shape_label.setObjectName("inspectorOutputShape")
        self.params_label = QLabel()
        self.params_label.setObjectName("inspectorParamCount")
        self.error_label = QLabel()
        self.error_label.setObjectName("inspectorError")
        self.error_label.setWordWrap(True)
        theme.follow(self.error_label, lambda label: label.setStyleSheet(f"color: {theme.hex_color('error.text')};"))
        self.fix_button = QPushButton()
        self.fix_button.setObjectName("quickFixButton")
        self.fix_button.clicked.connect(self._apply_fix)
        self.read_only_label = QLabel("Training in progress: the model is read-only.")
        theme.follow(self.read_only_label, lambda label: label.setStyleSheet(
            f"color: {theme.hex_color('text.note')}; font-style: italic;"))
        # What the layer produces and what is wrong come first; the settings below may need scrolling.
        for widget in (self.title, self.description, self.shape_label, self.params_label, self.error_label,
                       self.fix_button, self.read_only_label, self.form_host):
            layout.addWidget(widget)
        layout.addStretch(1)
        document.changed.connect(self.refresh)
        document.workspace.events.connect(self._refused, Refused)
        self.show_nodes([])
        theme.follow(self, LayerInspector.refresh)   # its captions are written in the theme's colours

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
                           f" &nbsp;<span style='color:{theme.hex_color('text.caption')}'>{node.type} · {layer.category}</span>")
        self.description.setText(layer.description)
        refused_name = bool(self.name_reason.text()) and self._refused_over == node.name
        if not self.name_edit.hasFocus() and not refused_name:
            self.name_edit.setText(node.name)
            self._show_name_reason("")
        for name, editor in self.editors.items():
            set_editor_value(editor, node.params[name])
        report = self.document.report.nodes.get(self.node_id)
        shape = report.output_shape if report is not None else None
        self.shape_label.setText(f"Output shape: <b>{fmt(shape) if shape is not None else '?'}</b> "
                                 f"<span style='color:{theme.hex_color('text.caption')}'>(without the batch dimension)</span>")
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
            self.title.setText(f"<b style='font-size:14px'>Model</b> &nbsp;<span style='color:{theme.hex_color('text.caption')}'>"
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

    def _make_name_field(self) -> None:
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("layerName")
        self.name_edit.setToolTip("The layer's name; it becomes the prefix of its weights, e.g. fc1.weight")
        self.name_edit.editingFinished.connect(self._commit_name)
        self.name_reason = QLabel()
        self.name_reason.setObjectName("layerName_reason")
        self.name_reason.setWordWrap(True)
        self.name_reason.setStyleSheet(reason_style())
        self.name_reason.setVisible(False)
        self._refused_over = None   # the name kept in the model while a refused one is shown
        self._name_refusal = ""

    def _clear_form(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.editors = {}
        self._make_name_field()

    def _build_form(self, layer, params: dict) -> None:
        self._clear_form()
        name_host = QWidget()
        name_layout = QVBoxLayout(name_host)
        name_layout.setContentsMargins(0, 0, 0, 0)
        name_layout.setSpacing(1)
        name_layout.addWidget(self.name_edit)
        name_layout.addWidget(self.name_reason)
        self.form.addRow("name", name_host)
        for param in layer.params:
            editor = make_editor(param, params[param.name])
            self.editors[param.name] = editor
            label = QLabel(param.label)
            label.setToolTip(param.doc)
            self.form.addRow(label, with_reason(editor))
            self._connect(editor)

    def _connect(self, editor: QWidget) -> None:
        if isinstance(editor, QCheckBox):
            editor.toggled.connect(lambda checked, e=editor: self._commit(e, checked))
        elif isinstance(editor, QComboBox):
            editor.currentTextChanged.connect(lambda text, e=editor: self._commit(e, text))
        else:
            editor.valueChanged.connect(lambda value, e=editor: self._commit(e, value))

    def _commit(self, editor: QWidget, value: Any) -> None:
        if self.node_id is None:
            return
        node_id = self.node_id
        self._committing = editor
        try:
            applied = self.document.set_param(node_id, editor.param.name, value)
        finally:
            self._committing = None
        if not applied and not hasattr(editor, "refuse"):
            self.refresh()   # a box or a list: show the stored value again (the reason is in the status bar)

    def _refused(self, event: Refused) -> None:
        """The model refused the value being applied: it stays in its field, red, with the reason."""
        editor = self._committing
        if editor is self.name_edit:
            self._name_refusal = event.reason
            return
        if editor is not None and hasattr(editor, "refuse") and self.node_id in self.document.spec.nodes:
            editor.refuse(event.reason, self.document.spec.nodes[self.node_id].params[editor.param.name])

    def _commit_name(self) -> None:
        if self.node_id is None:
            return
        current = self.document.spec.nodes[self.node_id].name
        typed = self.name_edit.text().strip()
        if typed == current:
            self._show_name_reason("")
            return
        self._committing, self._name_refusal = self.name_edit, ""
        try:
            renamed = self.document.rename(self.node_id, typed)
        finally:
            self._committing = None
        if renamed:
            self._show_name_reason("")
        else:
            self._refused_over = current
            self._show_name_reason(self._name_refusal or f"{typed!r} cannot be used as a name")

    def _show_name_reason(self, reason: str) -> None:
        self.name_edit.setStyleSheet(INVALID_STYLE if reason else "")
        self.name_reason.setText(f"⚠ {reason}" if reason else "")
        self.name_reason.setVisible(bool(reason))
