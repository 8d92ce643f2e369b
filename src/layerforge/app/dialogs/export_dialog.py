"""Export the trained model [actionExportWeights, actionExportOnnx, actionExportPytorch].

Each action asks where through a save dialog, calls ``Workspace.export`` and then
shows [exportResultDialog]: what was written and how to use it (``describe_export``'s text, with the
torchrun command line for the PyTorch project). Nothing is computed here.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFontDatabase, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QMessageBox, QPlainTextEdit, QVBoxLayout

from ...export import default_export_path, describe_export
from ...workspace import WorkspaceError
from ..actions import named_action
from ..file_dialogs import save_file
from ..persist import file_name_for

TITLES = {"safetensors": "Weights exported", "npz": "Weights exported", "onnx": "ONNX model exported",
          "pytorch": "PyTorch project exported"}


class ExportResultDialog(QDialog):
    """What an export wrote and how to use it, in a box whose commands can be selected and copied."""

    def __init__(self, parent, title: str, text: str):
        super().__init__(parent)
        self.setObjectName("exportResultDialog")
        self.setWindowTitle(title)
        self.text = text
        headline, _, rest = text.partition("\n")
        self.headline = QLabel(headline)
        self.headline.setObjectName("exportHeadline")
        self.headline.setWordWrap(True)
        self.headline.setStyleSheet("font-weight: bold;")
        self.details = QPlainTextEdit(rest)
        self.details.setObjectName("exportDetails")
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        copy = buttons.addButton("Copy text", QDialogButtonBox.ButtonRole.ActionRole)
        copy.setObjectName("exportCopyButton")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.text))
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)
        self.resize(640, 300)


def show_export_result(parent, fmt: str, paths: list) -> ExportResultDialog:
    dialog = ExportResultDialog(parent, TITLES[fmt], describe_export(fmt, paths))
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()   # window-modal, without a nested event loop
    return dialog


class ExportActions:
    """The three export actions of one window; ``last_paths`` holds what the latest export wrote."""

    def __init__(self, window, workspace):
        self.window, self.workspace = window, workspace
        self.last_paths: list[Path] = []
        self.last_dialog: ExportResultDialog | None = None
        self.action_weights = self._action("actionExportWeights", "Export &weights…",
                                           "Save the trained weights as .safetensors or .npz", self.export_weights,
                                           QKeySequence("Ctrl+E"))
        self.action_onnx = self._action("actionExportOnnx", "Export &ONNX…",
                                        "Save the trained model as ONNX (runs in onnxruntime, C++, browsers)",
                                        self.export_onnx, QKeySequence("Ctrl+Shift+E"))
        self.action_pytorch = self._action("actionExportPytorch", "Export &PyTorch code…",
                                           "Write a PyTorch model, its weights and a multi-GPU (DDP) training script",
                                           self.export_pytorch, QKeySequence("Ctrl+Alt+E"))

    def _action(self, name, text, tip, slot, shortcut) -> QAction:
        return named_action(self.window, name, text, slot, shortcut, tip, tooltip=True)

    @property
    def actions(self) -> list[QAction]:
        return [self.action_weights, self.action_onnx, self.action_pytorch]

    # -- the three exports -----------------------------------------------------------------------

    def _trained(self):
        project, weights = self.workspace.project()
        if weights is None or self.workspace.busy:
            QMessageBox.information(self.window, "Nothing to export yet",
                                    "The model has no trained weights (or it was edited after training). "
                                    "Press Train, then export.")
            return None, None
        return project, weights

    def _ask(self, caption: str, fmt: str, name: str, file_filter: str) -> tuple[str, str]:
        """A save dialog in the last folder used, proposing the project's name for this format."""
        own = self.workspace.path
        proposed = default_export_path(own or Path(file_name_for(name, ".lfproj")), fmt).name
        return save_file(self.window, caption, proposed, file_filter, fallback=own.parent if own else None)

    def export_weights(self) -> list[Path]:
        project, weights = self._trained()
        if project is None:
            return []
        path, chosen = self._ask("Export weights", "safetensors", project.name,
                                 "safetensors (*.safetensors);;NumPy archive (*.npz)")
        if not path:
            return []
        fmt = "npz" if path.lower().endswith(".npz") or (chosen.startswith("NumPy") and "." not in Path(path).name) \
            else "safetensors"
        return self._run(project, weights, fmt, path)

    def export_onnx(self) -> list[Path]:
        project, weights = self._trained()
        if project is None:
            return []
        path, _ = self._ask("Export ONNX model", "onnx", project.name, "ONNX model (*.onnx)")
        return self._run(project, weights, "onnx", path) if path else []

    def export_pytorch(self) -> list[Path]:
        project, weights = self._trained()
        if project is None:
            return []
        path, _ = self._ask("Export PyTorch project (a folder of that name is made)", "pytorch", project.name,
                            "Folder (*)")
        return self._run(project, weights, "pytorch", path) if path else []

    def _run(self, project, weights, fmt: str, path: str) -> list[Path]:
        try:
            paths = self.workspace.export(fmt, Path(path))
        except WorkspaceError as error:
            QMessageBox.warning(self.window, "Export failed", f"Nothing was exported: {error.reason}")
            return []
        self.last_paths = [Path(p) for p in paths]
        self.window.show_status(f"Exported {fmt} to {self.last_paths[0]}")
        self.last_dialog = show_export_result(self.window, fmt, self.last_paths)
        return self.last_paths
