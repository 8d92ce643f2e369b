"""Step through one layer on one sample [stepThroughDialog]: the layer as its engine operations, the
forward pass one operation at a time, then the backward pass, each value and gradient shown as numbers
beside one another as a teacher draws backpropagation by hand (inputs | operation | output).

The values come from :func:`layerforge.training.step_recorder.record_layer`: the engine's own nodes,
recorded in one forward and backward pass on the chosen sample; Step [stepNext] reveals them in the
order the engine computed them, Back [stepBack] goes back one.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QFrame, QHBoxLayout, QHeaderView, QLabel, QListWidget,
                               QPushButton, QScrollArea, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from ...training import TrainingError
from ...training.autograd_graph import FUSED_IN_TORCH
from ...training.step_recorder import LayerRecording, OpStep, RecordedTensor, record_layer
from .. import theme
from ..autograd_items import shape_text
from ..parameter_inspector import as_image

MAX_CELLS = 16          # rows and columns of numbers shown per tensor; more are summarised


def column_picture(values: np.ndarray) -> np.ndarray:
    """The numbers as a person writes them: a vector (or one sample's row) as a column, a matrix as
    it is, kernels and feature maps tiled (see parameter_inspector.as_image)."""
    a = np.asarray(values, dtype=np.float64)
    if a.ndim <= 1 or (a.ndim == 2 and a.shape[0] == 1):
        return a.reshape(-1, 1)
    if a.ndim == 3 and a.shape[0] == 1:
        return a[0]
    if a.ndim == 4 and a.shape[0] == 1 and a.shape[1] == 1:
        return a[0, 0]
    return as_image(a)


def _cell_color(value: float, limit: float) -> QColor:
    base = theme.color("base")
    if not np.isfinite(value) or limit <= 0:
        return base
    strength = min(1.0, abs(value) / limit) * 0.55
    return theme.mix(base, QColor("#b2182b" if value > 0 else "#2166ac"), strength)


class TensorCard(QFrame):
    """One tensor as a small table of numbers, titled, with its shape."""

    def __init__(self, title: str, values: np.ndarray | None, caption: str = ""):
        super().__init__()
        self.setObjectName("tensorCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        heading = QLabel(f"<b>{title}</b>")
        heading.setObjectName("tensorCardTitle")
        heading.setWordWrap(True)
        layout.addWidget(heading)
        if values is None:
            layout.addWidget(QLabel("no gradient (it does not depend on a weight)"))
            return
        picture = column_picture(values)
        rows, cols = min(picture.shape[0], MAX_CELLS), min(picture.shape[1], MAX_CELLS)
        note = f"{shape_text(tuple(np.shape(values)))}"
        if (rows, cols) != picture.shape:
            note += f" · first {rows}×{cols} of {picture.shape[0]}×{picture.shape[1]}"
        label = QLabel(note + (f" · {caption}" if caption else ""))
        label.setObjectName("tensorCardShape")
        label.setWordWrap(True)
        layout.addWidget(label)
        self.table = QTableWidget(rows, cols)
        self.table.setObjectName("tensorCardTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setVisible(cols > 1)
        self.table.verticalHeader().setVisible(rows > 1)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setDefaultSectionSize(20)
        shown = picture[:rows, :cols]
        limit = float(np.nanmax(np.abs(shown))) if shown.size and np.isfinite(shown).any() else 0.0
        for r in range(rows):
            for c in range(cols):
                value = float(shown[r, c]) + 0.0   # + 0.0: a negative zero reads "0", not "-0"
                item = QTableWidgetItem(f"{value:.3g}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setBackground(QBrush(_cell_color(value, limit)))
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        width = sum(self.table.columnWidth(c) for c in range(cols)) + (self.table.verticalHeader().width() + 6
                                                                       if rows > 1 else 6)
        height = sum(self.table.rowHeight(r) for r in range(rows)) + (self.table.horizontalHeader().height() + 6
                                                                      if cols > 1 else 6)
        self.table.setFixedWidth(min(width + 2, 560))
        self.table.setFixedHeight(min(height + 2, 360))
        layout.addWidget(self.table)
        # As wide as its numbers (the words wrap above them): the cards sit side by side like a sum.
        self.setFixedWidth(max(self.table.width() + 14, 150))
        layout.addStretch(1)

    def numbers(self) -> list[str]:
        return [self.table.item(r, c).text() for r in range(self.table.rowCount())
                for c in range(self.table.columnCount())]


class StepThroughDialog(QDialog):
    """See the module docstring. ``probe``: the graph view's GraphProbe (its model and data)."""

    def __init__(self, probe, layer: str, parent=None):
        super().__init__(parent)
        self.setObjectName("stepThroughDialog")
        self.probe, self.layer = probe, layer
        self.recording: LayerRecording | None = None
        self.position = -1               # the step shown (-1: none yet)
        self.setWindowTitle(f"Step through {layer}")
        self.sample = QSpinBox()
        self.sample.setObjectName("stepSample")
        self.sample.setRange(0, max(0, len(probe.problem.train) - 1))
        self.sample.setToolTip("Which training sample to send through the model")
        self.sample.valueChanged.connect(self.record)
        self.sample_text = QLabel("")
        self.sample_text.setObjectName("stepSampleText")
        self.back_button = QPushButton("◀ Back")
        self.back_button.setObjectName("stepBack")
        self.back_button.clicked.connect(self.back)
        self.next_button = QPushButton("Step ▶")
        self.next_button.setObjectName("stepNext")
        self.next_button.setDefault(True)
        self.next_button.clicked.connect(self.step)
        self.restart_button = QPushButton("Restart")
        self.restart_button.setObjectName("stepRestart")
        self.restart_button.clicked.connect(lambda: self.show_step(-1))
        top = QHBoxLayout()
        top.addWidget(QLabel("Sample"))
        top.addWidget(self.sample)
        top.addWidget(self.sample_text, 1)
        top.addWidget(self.restart_button)
        top.addWidget(self.back_button)
        top.addWidget(self.next_button)

        self.steps = QListWidget()
        self.steps.setObjectName("stepList")
        self.steps.currentRowChanged.connect(self._picked)
        self.heading = QLabel("")
        self.heading.setObjectName("stepHeading")
        self.heading.setWordWrap(True)
        self.formula = QLabel("")
        self.formula.setObjectName("stepFormula")
        self.formula.setWordWrap(True)
        self.cards = QWidget()
        self.cards_layout = QHBoxLayout(self.cards)
        self.cards_layout.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()
        scroll.setObjectName("stepCards")
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.cards)
        detail = QVBoxLayout()
        detail.addWidget(self.heading)
        detail.addWidget(self.formula)
        detail.addWidget(scroll, 1)
        body = QHBoxLayout()
        body.addWidget(self.steps)
        body.addLayout(detail, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(body, 1)
        self.resize(1000, 560)
        self.record()

    # -- recording and stepping ----------------------------------------------------------------------

    def record(self) -> None:
        """Record the layer on the chosen sample (one forward and backward pass) and start at the top."""
        try:
            self.recording = record_layer(self.probe, self.layer, self.sample.value())
        except TrainingError as error:
            self.recording = None
            self.heading.setText(f"Cannot step through {self.layer}: {error}")
            self.steps.clear()
            self._update_buttons()
            return
        rec = self.recording
        self.setWindowTitle(f"Step through {rec.layer} ({rec.layer_type}) — sample {rec.sample}")
        x = self.probe.problem.train.raw.x[rec.sample]
        flat = np.asarray(x, dtype=np.float64).ravel()
        shown = ", ".join(f"{v + 0.0:.3g}" for v in flat[:6]) + (", …" if flat.size > 6 else "")
        self.sample_text.setText(f"x = [{shown}]" + (f" · target: {rec.label}" if rec.label else "")
                                 + f" · loss on this sample {rec.loss:.4g}")
        self.steps.blockSignals(True)
        self.steps.clear()
        for number, step in enumerate(rec.forward, start=1):
            self.steps.addItem(f"Forward {number}: {step.name}")
        for number, step in enumerate(rec.backward, start=1):
            self.steps.addItem(f"Backward {number}: {step.name}")
        self.steps.blockSignals(False)
        widest = max((self.steps.fontMetrics().horizontalAdvance(self.steps.item(i).text())
                      for i in range(self.steps.count())), default=120)
        self.steps.setFixedWidth(min(320, widest + 30))
        self.show_step(-1)

    def step(self) -> None:
        if self.recording is not None and self.position + 1 < len(self.recording.steps):
            self.show_step(self.position + 1)

    def back(self) -> None:
        if self.position >= 0:
            self.show_step(self.position - 1)

    def _picked(self, row: int) -> None:
        if row != self.position and 0 <= row <= self.position:   # only what has been computed so far
            self.show_step(row)
        elif row != self.position:
            self.steps.setCurrentRow(self.position)

    def show_step(self, position: int) -> None:
        self.position = position
        rec = self.recording
        for row in range(self.steps.count()):
            item = self.steps.item(row)
            item.setForeground(theme.color("text") if row <= position else theme.color("text.disabled"))
        self.steps.blockSignals(True)
        self.steps.setCurrentRow(position)
        self.steps.blockSignals(False)
        self._clear_cards()
        if rec is None:
            return
        if position < 0:
            self.heading.setText(f"{rec.layer} ({rec.layer_type}) runs as {len(rec.forward)} engine operation"
                                 f"{'s' if len(rec.forward) != 1 else ''}. Press Step to run the forward pass "
                                 f"one operation at a time, then the backward pass.")
            self.formula.setText("")
        else:
            self._show(rec.steps[position], position)
        self._update_buttons()

    def _update_buttons(self) -> None:
        total = len(self.recording.steps) if self.recording is not None else 0
        self.next_button.setEnabled(self.position + 1 < total)
        self.back_button.setEnabled(self.position >= 0)

    def _show(self, step: OpStep, position: int) -> None:
        rec = self.recording
        forward = step.phase == "forward"
        number = position + 1 if forward else position - len(rec.forward) + 1
        total = len(rec.forward) if forward else len(rec.backward)
        torch = FUSED_IN_TORCH.get(step.name)
        fused = f" (PyTorch builds {' → '.join(torch)} here)" if torch else ""
        if forward:
            self.heading.setText(f"<b>Forward {number} of {total}: {step.name}</b>{fused} — computes its output "
                                 f"from its inputs")
        else:
            self.heading.setText(f"<b>Backward {number} of {total}: {step.name}</b> — receives g = ∂loss/∂output "
                                 f"and hands each input its gradient")
        self.formula.setText(step.formula)
        if forward:
            for tensor in step.inputs:
                self._add_card(tensor.label, tensor.value, _role(tensor))
            self._add_arrow("→")
            self._add_card(step.output.label, step.output.value, "output")
        else:
            if step.output.kind == "op" and self.layer == "loss" and step is rec.backward[0]:
                where = "∂loss/∂loss: where backpropagation starts"
            else:
                where = f"of {step.output.label}, from the layers after"
            self._add_card("g = ∂loss/∂output", step.output.grad, where)
            self._add_arrow("→")
            for tensor in step.inputs:
                self._add_card(f"∂loss/∂{tensor.label}", tensor.grad, _grad_role(tensor))

    def _add_card(self, title: str, values, caption: str) -> None:
        self.cards_layout.addWidget(TensorCard(title, values, caption))

    def _add_arrow(self, text: str) -> None:
        arrow = QLabel(text)
        font = arrow.font()
        font.setPointSizeF(font.pointSizeF() * 2)
        arrow.setFont(font)
        arrow.setAlignment(Qt.AlignmentFlag.AlignCenter)
        arrow.setFixedWidth(40)
        self.cards_layout.addWidget(arrow)

    def _clear_cards(self) -> None:
        while self.cards_layout.count():
            item = self.cards_layout.takeAt(0)
            widget = item.widget()
            if widget is not None:   # gone at once, not only once the event loop deletes it
                widget.hide()
                widget.setParent(None)
                widget.deleteLater()

    def cards_shown(self) -> list[TensorCard]:
        return [self.cards_layout.itemAt(i).widget() for i in range(self.cards_layout.count())
                if isinstance(self.cards_layout.itemAt(i).widget(), TensorCard)]


def _role(tensor: RecordedTensor) -> str:
    return {"param": "weight", "input": "input"}.get(tensor.kind, "from the step before")


def _grad_role(tensor: RecordedTensor) -> str:
    if tensor.kind == "param":
        return "into .grad, for the optimizer"
    return "handed on backward" if tensor.grad is not None else ""
