"""Import data [importDialog]: a CSV file, an image folder, a .npz/.npy file or IDX files, with split and
standardisation settings. Whatever is wrong with the file is shown here, in [importError], with its
line and column; the Import button [importButton] is enabled only when the data loaded."""
from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QSpinBox, QTabWidget, QVBoxLayout)

from ...data import DataError
from .. import theme
from .import_tabs import ArraysTab, CsvTab, IdxTab, ImageFolderTab

ERROR_STYLE = "color: #b71c1c; background: #ffebee; border: 1px solid #ef9a9a; border-radius: 3px; padding: 4px;"


class ImportDialog(QDialog):
    """After ``exec()`` returns Accepted: ``source`` (a data-source dict for the project), ``dataset``
    (the loaded ArrayDataset) and ``split_settings()`` (val/test fractions, seed, standardise)."""

    def __init__(self, parent=None, settings=None):
        super().__init__(parent)
        self.setObjectName("importDialog")
        self.setWindowTitle("Import data")
        self.resize(760, 640)
        self.csv_tab, self.image_tab, self.arrays_tab = CsvTab(), ImageFolderTab(), ArraysTab()
        self.idx_tab = IdxTab()
        self.tabs = QTabWidget()
        self.tabs.setObjectName("importTabs")
        self.tabs.addTab(self.csv_tab, "CSV file")
        self.tabs.addTab(self.image_tab, "Image folder")
        self.tabs.addTab(self.arrays_tab, "NumPy .npz / .npy")
        self.tabs.addTab(self.idx_tab, "IDX (MNIST format)")

        split = QGroupBox("Split and normalisation")
        split.setObjectName("splitGroup")
        self.val_spin = self._fraction("valFractionSpin", "Share of the samples held out to validate each epoch")
        self.test_spin = self._fraction("testFractionSpin", "Share held out for a final test, never trained on")
        self.seed_spin = QSpinBox()
        self.seed_spin.setObjectName("splitSeedSpin")
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("The same seed gives the same split every time")
        self.standardize_check = QCheckBox("Standardise inputs (mean 0, variance 1, fitted on the training part)")
        self.standardize_check.setObjectName("standardizeCheck")
        row = QHBoxLayout()
        for label, widget in (("Validation", self.val_spin), ("Test", self.test_spin), ("Seed", self.seed_spin)):
            row.addWidget(QLabel(label))
            row.addWidget(widget)
        row.addStretch(1)
        form = QFormLayout(split)
        form.addRow(row)
        form.addRow(self.standardize_check)
        if settings is not None:
            self.val_spin.setValue(settings.val_fraction)
            self.test_spin.setValue(settings.test_fraction)
            self.seed_spin.setValue(settings.seed)
            self.standardize_check.setChecked(settings.standardize)
        else:
            self.val_spin.setValue(0.2)
            self.standardize_check.setChecked(True)

        self.error_label = QLabel()
        self.error_label.setObjectName("importError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setVisible(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setObjectName("importButton")
        self.import_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(split)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

        self.source: dict | None = None
        self.dataset = None
        for tab in (self.csv_tab, self.image_tab, self.arrays_tab, self.idx_tab):
            tab.changed.connect(self.refresh)
        self.tabs.currentChanged.connect(lambda _: self.refresh())
        for spin in (self.val_spin, self.test_spin):
            spin.valueChanged.connect(lambda _: self._check_split())
        self.refresh()

    def _fraction(self, name: str, tip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setObjectName(name)
        spin.setRange(0.0, 0.9)
        spin.setSingleStep(0.05)
        spin.setDecimals(2)
        spin.setToolTip(tip)
        return spin

    def current_tab(self):
        return self.tabs.currentWidget()

    def refresh(self) -> None:
        """Load the data as chosen now; show what was found or what is wrong."""
        self.source, self.dataset = None, None
        try:
            self.source, self.dataset = self.current_tab().load()
        except DataError as error:
            self._show_error(str(error), empty=not self._has_input())
        except OSError as error:   # unreadable file or folder (permissions, a vanished drive)
            self._show_error(f"{getattr(error, 'filename', '') or ''} cannot be read: {error.strerror or error}",
                             empty=False)
        else:
            self._show_error("", empty=True)
        self._check_split()

    def _has_input(self) -> bool:
        return bool(self.current_tab().path_row.path())

    def _show_error(self, text: str, empty: bool) -> None:
        """An empty form shows its hint quietly; a problem with a chosen file shows in red."""
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))
        self.error_label.setStyleSheet(f"color: {theme.hex_color('text.caption')}; padding: 4px;" if empty else ERROR_STYLE)

    def _check_split(self) -> None:
        too_much = self.val_spin.value() + self.test_spin.value() >= 0.95
        if too_much and self.dataset is not None:
            self._show_error("Validation + test leave too little to train on: keep their sum below 0.95.", False)
        elif self.dataset is not None:
            self._show_error("", True)
        self.import_button.setEnabled(self.dataset is not None and not too_much)

    @property
    def error_text(self) -> str:
        return self.error_label.text() if self.error_label.isVisible() else ""

    def split_settings(self) -> dict:
        return {"val_fraction": round(self.val_spin.value(), 4), "test_fraction": round(self.test_spin.value(), 4),
                "seed": self.seed_spin.value(), "standardize": self.standardize_check.isChecked()}
