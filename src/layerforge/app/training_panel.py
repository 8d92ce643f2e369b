"""The training panel: loss [lossCombo], optimizer [optimizerCombo] and its settings, learning rate
[learningRateSpin], schedule [scheduleCombo], epochs [epochsSpin], batch size [batchSizeSpin], device
[deviceCombo], the Train [trainButton] / Pause-Resume [pauseButton] / Stop [stopButton] buttons and the
progress bar [trainingProgress]. The widgets and their layout come from the Designer form
ui/training_panel.ui; the choices and their extra settings come from the training registries."""
from __future__ import annotations

from importlib import resources

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtUiTools import QUiLoader
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QProgressBar, QPushButton, QSpinBox,
                               QToolButton, QVBoxLayout, QWidget)

from ..training import LOSSES, OPTIMIZERS, SCHEDULES, TrainingSettings, losses_for
from ..training.device import device_choices
from ..training.setting_params import BATCH_SIZE, EPOCHS, LEARNING_RATE
from .param_fields import NumberField, editor_value, make_editor, put_in_place, with_reason
from ..workspace import BUSY, IDLE, PAUSED, RUNNING


class LearningRateSpinBox(NumberField):
    """The learning rate; the arrows halve and double it."""

    def __init__(self, parent=None):
        super().__init__(LEARNING_RATE, parent=parent)

    def stepped(self, base: float, steps: int) -> float:
        return base * (2.0 ** steps)


def task_of(loss: str) -> str:
    """The first task a loss suits (for listing the losses next to it)."""
    tasks = LOSSES[loss].tasks
    return tasks[0] if tasks else "classification"


def load_form(name: str, parent: QWidget) -> QWidget:
    """Build the Designer form ui/<name> (shipped as layerforge.ui) under ``parent``."""
    loader = QUiLoader()
    loader.registerCustomWidget(LearningRateSpinBox)
    data = resources.files("layerforge.ui").joinpath(name).read_bytes()
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    form = loader.load(buffer, parent)
    if form is None:
        raise RuntimeError(f"the form ui/{name} could not be loaded: {loader.errorString()}")
    return form


def keep_narrow(combo: QComboBox) -> None:
    """A long entry (a laptop GPU's name) must not widen the panel past the window: the box keeps a
    modest width, eliding what does not fit, and its list opens as wide as its longest entry."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(12)
    metrics = combo.view().fontMetrics()
    widest = max((metrics.horizontalAdvance(combo.itemText(i)) for i in range(combo.count())), default=0)
    combo.view().setMinimumWidth(widest + 32)  # the item's margins and a scroll bar's room


# While a run trains these stay editable (the Trainer takes them up at its next batch); the rest wait
# for the next run, and say so.
FIXED_DURING_RUN = "Fixed while the model trains: stop the run (or let it finish) to change this"


class TrainingPanel(QGroupBox):
    trainRequested = Signal()
    restartRequested = Signal()
    pauseToggled = Signal()
    stopRequested = Signal()
    settingsEdited = Signal()

    def __init__(self, parent=None):
        super().__init__("Training", parent)
        self.setObjectName("trainingPanel")
        self._base = TrainingSettings()
        form = load_form("training_panel.ui", self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addWidget(form)
        self.loss_combo = form.findChild(QComboBox, "lossCombo")
        self.optimizer_combo = form.findChild(QComboBox, "optimizerCombo")
        self.optimizer_toggle = form.findChild(QToolButton, "optimizerSettingsToggle")
        self.optimizer_box = form.findChild(QWidget, "optimizerSettings")
        # Number fields keep what was typed: an invalid value stays, red, with its reason under it.
        self.lr_spin = put_in_place(form.findChild(LearningRateSpinBox, "learningRateSpin"))
        self.schedule_combo = form.findChild(QComboBox, "scheduleCombo")
        self.schedule_box = form.findChild(QWidget, "scheduleSettings")
        self.epochs_spin = put_in_place(NumberField(EPOCHS), form.findChild(QSpinBox, "epochsSpin"))
        self.batch_spin = put_in_place(NumberField(BATCH_SIZE), form.findChild(QSpinBox, "batchSizeSpin"))
        self.device_combo = form.findChild(QComboBox, "deviceCombo")
        self.train_button = form.findChild(QPushButton, "trainButton")
        self.pause_button = form.findChild(QPushButton, "pauseButton")
        self.stop_button = form.findChild(QPushButton, "stopButton")
        self.progress = form.findChild(QProgressBar, "trainingProgress")
        # After a run that can go on: Train reads Continue, and Restart trains afresh beside it.
        self.restart_button = QPushButton("Restart")
        self.restart_button.setObjectName("restartButton")
        self.restart_button.setToolTip("Train again from a fresh initialisation (the curves start over)")
        self.restart_button.setVisible(False)
        self.train_button.parentWidget().layout().insertWidget(1, self.restart_button)
        self.restart_button.clicked.connect(self.restartRequested)
        # Train, Pause, Stop and the progress bar; the window may show them outside the panel (always
        # in view on a short screen, where the settings are in a tab).
        self.run_controls = form.findChild(QWidget, "runControls")
        for name, choice in OPTIMIZERS.items():
            self.optimizer_combo.addItem(choice.label, name)
            self.optimizer_combo.setItemData(self.optimizer_combo.count() - 1, choice.doc, Qt.ItemDataRole.ToolTipRole)
        for name, choice in SCHEDULES.items():
            self.schedule_combo.addItem(choice.label, name)
            self.schedule_combo.setItemData(self.schedule_combo.count() - 1, choice.doc, Qt.ItemDataRole.ToolTipRole)
        self.optimizer_form = QFormLayout(self.optimizer_box)
        self.optimizer_form.setContentsMargins(12, 0, 0, 0)
        self.optimizer_box.setVisible(False)
        self.optimizer_toggle.toggled.connect(self.optimizer_box.setVisible)
        self.optimizer_editors: dict = {}
        self.schedule_form = QFormLayout(self.schedule_box)
        self.schedule_form.setContentsMargins(12, 0, 0, 0)
        self.schedule_editors: dict = {}
        self._fill_devices()
        for combo in (self.loss_combo, self.optimizer_combo, self.schedule_combo, self.device_combo):
            keep_narrow(combo)
        self.train_button.setDefault(True)
        self.settings_widgets = [self.loss_combo, self.optimizer_combo, self.optimizer_box, self.lr_spin,
                                 self.schedule_combo, self.schedule_box, self.epochs_spin, self.batch_spin,
                                 self.device_combo]
        self.fixed_widgets = [self.loss_combo, self.optimizer_combo, self.device_combo]
        self._tooltips = {widget: widget.toolTip() for widget in self.fixed_widgets}
        self._continue_from: str | None = None
        self.optimizer_combo.currentIndexChanged.connect(self._optimizer_changed)
        self.schedule_combo.currentIndexChanged.connect(self._schedule_changed)
        for widget in (self.loss_combo, self.device_combo):
            widget.currentIndexChanged.connect(self.settingsEdited)
        for spin in (self.lr_spin, self.epochs_spin, self.batch_spin):
            spin.valueChanged.connect(self.settingsEdited)
        self.train_button.clicked.connect(self._train_clicked)
        self.pause_button.clicked.connect(self.pauseToggled)
        self.stop_button.clicked.connect(self.stopRequested)
        self.set_task("classification")
        self.set_settings(self._base)
        self.set_state(IDLE)

    # -- construction ----------------------------------------------------------------------------

    def _fill_devices(self) -> None:
        model = self.device_combo.model()
        for label, device, enabled, tip in device_choices():
            self.device_combo.addItem(label, device)
            index = self.device_combo.count() - 1
            self.device_combo.setItemData(index, tip, Qt.ItemDataRole.ToolTipRole)
            if not enabled and isinstance(model, QStandardItemModel):
                model.item(index).setEnabled(False)

    def _fill_params(self, form: QFormLayout, editors: dict, choice, values: dict) -> None:
        shown = {name: editor_value(editor) for name, editor in editors.items()}
        wanted = {param.name: values.get(param.name, param.default) for param in choice.params}
        if getattr(form, "choice_name", None) == choice.name and shown == wanted:
            return   # the editors show these values already (and one of them may be sending its signal)
        form.choice_name = choice.name
        while form.rowCount():
            form.removeRow(0)
        editors.clear()
        for param in choice.params:
            editor = make_editor(param, values.get(param.name, param.default))
            editor.setObjectName(f"{choice.name}_{param.name}")
            editors[param.name] = editor
            form.addRow(param.label, with_reason(editor))
            for signal in ("valueChanged", "currentIndexChanged", "toggled", "editingFinished"):
                if hasattr(editor, signal):
                    getattr(editor, signal).connect(self.settingsEdited)
                    break

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
        if self.loss_combo.findData(settings.loss) < 0:
            # A loss of another task (an autoencoder's MSE on a classification dataset): list that task's.
            self.set_task(task_of(settings.loss))
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
        self.lr_spin.show_value(settings.learning_rate, force=True)   # as the project has it, unclamped
        self.epochs_spin.show_value(settings.epochs, force=True)
        self.batch_spin.show_value(settings.batch_size, force=True)
        index = self.device_combo.findData(settings.device)  # a GPU (or Auto) this machine lacks: the CPU
        self.device_combo.setCurrentIndex(index if index >= 0 else self.device_combo.findData("cpu"))
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

    def invalid_fields(self) -> list[QWidget]:
        """The fields showing a value that is not valid (they keep their last valid one meanwhile)."""
        fields = [self.lr_spin, self.epochs_spin, self.batch_spin, *self.optimizer_editors.values(),
                  *self.schedule_editors.values()]
        return [field for field in fields if getattr(field, "reason", "")]

    def _train_clicked(self) -> None:
        self.trainRequested.emit()   # RunViews.start refuses while a field is red, as F5 and Run > Train

    def focus_invalid(self) -> str | None:
        """Put the focus on the first field showing an invalid value and return its reason (None when
        every field is valid): a run must not train with the value kept behind a red one."""
        invalid = self.invalid_fields()
        if not invalid:
            return None
        if invalid[0] in self.optimizer_editors.values():
            self.optimizer_toggle.setChecked(True)
        invalid[0].setFocus()
        return invalid[0].reason

    def _optimizer_changed(self) -> None:
        name = self.optimizer_combo.currentData()
        self.optimizer_form.choice_name = None
        self._fill_params(self.optimizer_form, self.optimizer_editors, OPTIMIZERS[name], {})
        self.settingsEdited.emit()

    def _schedule_changed(self) -> None:
        name = self.schedule_combo.currentData()
        self.schedule_form.choice_name = None
        self._fill_params(self.schedule_form, self.schedule_editors, SCHEDULES[name], {})
        self.schedule_box.setVisible(bool(self.schedule_editors))
        self.settingsEdited.emit()

    # -- run state -------------------------------------------------------------------------------

    def set_state(self, state: str) -> None:
        """The workspace's run state. While a run trains, Pause and Stop; the learning rate, the
        optimizer's settings, the schedule, the epochs and the batch size stay editable (taken up
        at the next batch), the loss, the optimizer and the device are fixed and say why."""
        idle = state not in BUSY
        self.state = state
        self.train_button.setEnabled(idle)
        self.pause_button.setEnabled(state in (RUNNING, PAUSED))
        self.pause_button.setText("Resume" if state == PAUSED else "Pause")
        self.stop_button.setEnabled(state in (RUNNING, PAUSED))
        steerable = state in (RUNNING, PAUSED)
        for widget in self.settings_widgets:
            fixed = widget in self.fixed_widgets
            widget.setEnabled(idle or (steerable and not fixed))
            if fixed:
                widget.setToolTip(self._tooltips[widget] if idle else FIXED_DURING_RUN)
        self._show_continue()

    def offer_continue(self, which: str | None, text: str = "") -> None:
        """After a run that can go on: ``which`` "last" (Train reads Continue, Restart beside it),
        None when the next run starts afresh. ``text`` says from where (the Train button's tooltip)."""
        self._continue_from = which
        self._continue_text = text
        self._show_continue()

    @property
    def continue_from(self) -> str | None:
        return self._continue_from

    def _show_continue(self) -> None:
        offered = self._continue_from is not None and getattr(self, "state", IDLE) not in BUSY
        self.train_button.setText("Continue" if offered else "Train")
        self.train_button.setToolTip(getattr(self, "_continue_text", "") if offered
                                     else "Train the model on the data (F5)")
        self.restart_button.setVisible(offered)
