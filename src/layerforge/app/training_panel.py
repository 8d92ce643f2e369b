"""The training panel: loss [lossCombo], optimizer [optimizerCombo] and its settings, learning rate
[learningRateSpin], schedule [scheduleCombo], epochs [epochsSpin], batch size [batchSizeSpin], device
[deviceCombo], the Train [trainButton] / Pause-Resume [pauseButton] / Stop [stopButton] buttons and the
progress bar [trainingProgress]. Choices and their extra settings come from the training registries."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QProgressBar,
                               QPushButton, QSizePolicy, QSpinBox, QToolButton, QVBoxLayout, QWidget)

from ..training import LOSSES, OPTIMIZERS, SCHEDULES, TrainingSettings, losses_for
from .inspector import FloatSpinBox, editor_value, make_editor
from .session import IDLE, PAUSED, RUNNING


class LearningRateSpinBox(FloatSpinBox):
    """The learning rate; the arrows halve and double it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setRange(1e-7, 1e4)

    def stepBy(self, steps: int) -> None:
        self.setValue(self.value() * (2.0 ** steps))


def device_choices() -> list[tuple[str, str | None, bool, str]]:
    """(label, device string, enabled, tooltip) for the device box: CPU, then each GPU or why none."""
    choices = [("CPU", "cpu", True, "Train on the processor (always available)")]
    try:
        from ..engine import cuda
        available = cuda.is_available()
        if available:
            for index in range(cuda.device_count()):
                choices.append((f"GPU {index}: {cuda.get_device_name(index)}", f"cuda:{index}", True,
                                "Train on this NVIDIA GPU (CUDA, through CuPy)"))
            return choices
        reason = cuda.unavailable_reason() or "no CUDA GPU was found"
    except Exception as error:  # a broken GPU stack must never stop the app from opening
        reason = f"CUDA could not be checked: {error}"
    choices.append(("CUDA (unavailable)", None, False, reason))
    return choices


class TrainingPanel(QGroupBox):
    trainRequested = Signal()
    pauseToggled = Signal()
    stopRequested = Signal()
    settingsEdited = Signal()

    def __init__(self, parent=None):
        super().__init__("Training", parent)
        self.setObjectName("trainingPanel")
        self._base = TrainingSettings()
        self.loss_combo = self._combo("lossCombo", "Loss: what training minimises")
        self.optimizer_combo = self._combo("optimizerCombo", "Optimizer: how the weights are updated")
        for name, choice in OPTIMIZERS.items():
            self.optimizer_combo.addItem(choice.label, name)
            self.optimizer_combo.setItemData(self.optimizer_combo.count() - 1, choice.doc, Qt.ItemDataRole.ToolTipRole)
        self.optimizer_toggle = QToolButton()
        self.optimizer_toggle.setObjectName("optimizerSettingsToggle")
        self.optimizer_toggle.setText("settings")
        self.optimizer_toggle.setCheckable(True)
        self.optimizer_toggle.setToolTip("Show the optimizer's own settings (momentum, betas, weight decay, ...)")
        self.optimizer_box = QWidget()
        self.optimizer_box.setObjectName("optimizerSettings")
        self.optimizer_form = QFormLayout(self.optimizer_box)
        self.optimizer_form.setContentsMargins(12, 0, 0, 0)
        self.optimizer_box.setVisible(False)
        self.optimizer_toggle.toggled.connect(self.optimizer_box.setVisible)
        self.optimizer_editors: dict = {}
        self.lr_spin = LearningRateSpinBox()
        self.lr_spin.setObjectName("learningRateSpin")
        self.lr_spin.setToolTip("Learning rate: the step size of each update. Too high diverges, too low crawls.")
        self.schedule_combo = self._combo("scheduleCombo", "How the learning rate changes during the run")
        for name, choice in SCHEDULES.items():
            self.schedule_combo.addItem(choice.label, name)
            self.schedule_combo.setItemData(self.schedule_combo.count() - 1, choice.doc, Qt.ItemDataRole.ToolTipRole)
        self.schedule_box = QWidget()
        self.schedule_form = QFormLayout(self.schedule_box)
        self.schedule_form.setContentsMargins(12, 0, 0, 0)
        self.schedule_editors: dict = {}
        self.epochs_spin = self._spin("epochsSpin", 1, 100_000, "Epochs: passes over the training data")
        self.batch_spin = self._spin("batchSizeSpin", 1, 65_536, "Batch size: samples per weight update")
        self.device_combo = self._combo("deviceCombo", "Where to train")
        self._fill_devices()
        self.train_button = self._button("trainButton", "Train", "Train the model on the data (F5)")
        self.train_button.setDefault(True)
        self.pause_button = self._button("pauseButton", "Pause", "Pause training; press again to resume")
        self.stop_button = self._button("stopButton", "Stop", "Stop training after the current batch; "
                                                              "the weights learned so far are kept")
        self.progress = QProgressBar()
        self.progress.setObjectName("trainingProgress")
        self.progress.setTextVisible(True)
        self.progress.setFormat("Ready to train")
        # Long texts ("Epoch 40 / 200 · 0:03 left · accuracy 96.7%") must not widen the whole column.
        self.progress.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.progress.setValue(0)
        self._layout()
        self.optimizer_combo.currentIndexChanged.connect(self._optimizer_changed)
        self.schedule_combo.currentIndexChanged.connect(self._schedule_changed)
        for widget in (self.loss_combo, self.device_combo):
            widget.currentIndexChanged.connect(self.settingsEdited)
        for spin in (self.lr_spin, self.epochs_spin, self.batch_spin):
            spin.valueChanged.connect(self.settingsEdited)
        self.train_button.clicked.connect(self.trainRequested)
        self.pause_button.clicked.connect(self.pauseToggled)
        self.stop_button.clicked.connect(self.stopRequested)
        self.set_task("classification")
        self.set_settings(self._base)
        self.set_state(IDLE)

    # -- construction ----------------------------------------------------------------------------

    def _combo(self, name: str, tip: str) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(name)
        combo.setToolTip(tip)
        return combo

    def _spin(self, name: str, low: int, high: int, tip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setObjectName(name)
        spin.setRange(low, high)
        spin.setToolTip(tip)
        spin.setKeyboardTracking(False)
        return spin

    def _button(self, name: str, text: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setToolTip(tip)
        return button

    def _layout(self) -> None:
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Loss", self.loss_combo)
        optimizer_row = QHBoxLayout()
        optimizer_row.addWidget(self.optimizer_combo, 1)
        optimizer_row.addWidget(self.optimizer_toggle)
        form.addRow("Optimizer", optimizer_row)
        form.addRow(self.optimizer_box)
        form.addRow("Learning rate", self.lr_spin)
        form.addRow("Schedule", self.schedule_combo)
        form.addRow(self.schedule_box)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Batch size", self.batch_spin)
        form.addRow("Device", self.device_combo)
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button, 2)
        buttons.addWidget(self.pause_button, 1)
        buttons.addWidget(self.stop_button, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        self.settings_widgets = [self.loss_combo, self.optimizer_combo, self.optimizer_box, self.lr_spin,
                                 self.schedule_combo, self.schedule_box, self.epochs_spin, self.batch_spin,
                                 self.device_combo]

    def _fill_devices(self) -> None:
        model = self.device_combo.model()
        for label, device, enabled, tip in device_choices():
            self.device_combo.addItem(label, device)
            index = self.device_combo.count() - 1
            self.device_combo.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
            if not enabled and isinstance(model, QStandardItemModel):
                model.item(index).setEnabled(False)

    def _fill_params(self, form: QFormLayout, editors: dict, choice, values: dict) -> None:
        while form.rowCount():
            form.removeRow(0)
        editors.clear()
        for param in choice.params:
            editor = make_editor(param, values.get(param.name, param.default))
            editor.setObjectName(f"{choice.name}_{param.name}")
            editors[param.name] = editor
            form.addRow(param.label, editor)

    # -- reading and writing settings ------------------------------------------------------------

    def set_task(self, task: str) -> None:
        """List the losses that suit ``task`` (the usual one first); keep the current one if it fits."""
        current = self.loss_combo.currentData()
        self.loss_combo.blockSignals(True)
        self.loss_combo.clear()
        for name in losses_for(task):
            self.loss_combo.addItem(LOSSES[name].label, name)
            self.loss_combo.setItemData(self.loss_combo.count() - 1, LOSSES[name].doc, Qt.ItemDataRole.ToolTipRole)
        index = self.loss_combo.findData(current)
        self.loss_combo.setCurrentIndex(max(0, index))
        self.loss_combo.blockSignals(False)

    def set_settings(self, settings: TrainingSettings) -> None:
        self._base = settings
        widgets = (self.loss_combo, self.optimizer_combo, self.schedule_combo, self.lr_spin, self.epochs_spin,
                   self.batch_spin, self.device_combo)
        for widget in widgets:
            widget.blockSignals(True)
        index = self.loss_combo.findData(settings.loss)
        if index >= 0:
            self.loss_combo.setCurrentIndex(index)
        self.optimizer_combo.setCurrentIndex(max(0, self.optimizer_combo.findData(settings.optimizer)))
        self._fill_params(self.optimizer_form, self.optimizer_editors, OPTIMIZERS[settings.optimizer],
                          settings.optimizer_params)
        schedule = settings.schedule_type
        self.schedule_combo.setCurrentIndex(max(0, self.schedule_combo.findData(schedule)))
        self._fill_params(self.schedule_form, self.schedule_editors, SCHEDULES[schedule], settings.schedule or {})
        self.schedule_box.setVisible(bool(self.schedule_editors))
        self.lr_spin.setValue(settings.learning_rate)
        self.epochs_spin.setValue(settings.epochs)
        self.batch_spin.setValue(settings.batch_size)
        device = settings.device if settings.device != "auto" else "cpu"
        self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(device)))
        for widget in widgets:
            widget.blockSignals(False)

    def settings(self) -> TrainingSettings:
        """The settings shown, on top of the project's other settings; TrainingError if one is bad."""
        schedule_name = self.schedule_combo.currentData()
        schedule = None if schedule_name == "none" else {
            "type": schedule_name, **{name: editor_value(e) for name, e in self.schedule_editors.items()}}
        return self._base.replace(
            loss=self.loss_combo.currentData() or self._base.loss,
            optimizer=self.optimizer_combo.currentData(),
            optimizer_params={name: editor_value(e) for name, e in self.optimizer_editors.items()},
            learning_rate=self.lr_spin.value(), schedule=schedule, epochs=self.epochs_spin.value(),
            batch_size=self.batch_spin.value(), device=self.device_combo.currentData() or "cpu")

    def _optimizer_changed(self) -> None:
        name = self.optimizer_combo.currentData()
        self._fill_params(self.optimizer_form, self.optimizer_editors, OPTIMIZERS[name], {})
        self.settingsEdited.emit()

    def _schedule_changed(self) -> None:
        name = self.schedule_combo.currentData()
        self._fill_params(self.schedule_form, self.schedule_editors, SCHEDULES[name], {})
        self.schedule_box.setVisible(bool(self.schedule_editors))
        self.settingsEdited.emit()

    # -- run state -------------------------------------------------------------------------------

    def set_state(self, state: str) -> None:
        idle = state == IDLE
        self.train_button.setEnabled(idle)
        self.pause_button.setEnabled(state in (RUNNING, PAUSED))
        self.pause_button.setText("Resume" if state == PAUSED else "Pause")
        self.stop_button.setEnabled(state in (RUNNING, PAUSED))
        for widget in self.settings_widgets:
            widget.setEnabled(idle)
