"""File > Import weights… [actionImportWeights]: a PyTorch (.pt/.pth/.bin/.ckpt), safetensors or npz
state dict into the model on the canvas, attached by one call, ``install_import_weights(window)``.

The file is chosen in the window's file dialog and matched by ``Workspace.match_weights`` (nothing
changes yet); [importWeightsDialog] lists what matched and what did not, and Import applies it with
``Workspace.import_weights``, which adds an "Imported <file>" run that Predict, Export and Continue
use. A file that cannot be read shows why and changes nothing. Disabled while a run trains.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog, QMessageBox

from ..workspace import WorkspaceError
from ..workspace import events as ev
from .actions import named_action
from .dialogs.import_weights_dialog import ImportWeightsDialog
from .file_dialogs import open_file, remember_folder
from .menus import menu_named

FILE_FILTER = ("Weights (*.pt *.pth *.bin *.ckpt *.safetensors *.npz);;PyTorch checkpoints (*.pt *.pth *.bin *.ckpt);;"
               "safetensors (*.safetensors);;NumPy (*.npz);;All files (*)")
AFTER = ("actionImportData", "actionImportModel")   # placed after the first of these in the File menu


class WeightsImportAction:
    def __init__(self, window):
        self.window, self.workspace = window, window.workspace
        self.last_dialog: ImportWeightsDialog | None = None
        self.last_refusal = ""
        self.action = named_action(window, "actionImportWeights", "Import &weights…", self.import_dialog,
                                   tip="Load a PyTorch, safetensors or npz state dict into the model on the canvas, "
                                       "matched by name and shape; Predict, Export and Continue then use it")
        self.file_menu = menu_named(window, "&File")
        self.file_menu.addAction(self.action)
        self.place()
        # The window's other commands may fill the File menu after this: placed again when it opens.
        self.file_menu.aboutToShow.connect(self.place)
        self.workspace.events.connect(self._run_state_changed, ev.RunStateChanged)
        self.action.setEnabled(not self.workspace.busy)

    def place(self) -> None:
        """Right after Import data… (or Import model…); before Quit while neither is there yet."""
        menu = self.file_menu
        actions = [a for a in menu.actions() if a is not self.action]
        anchor = next((i for name in AFTER for i, a in enumerate(actions) if a.objectName() == name), None)
        if anchor is not None:
            before = actions[anchor + 1] if anchor + 1 < len(actions) else None
        else:
            before = next((a for a in actions if a.text().replace("&", "").startswith("Quit")), None)
        current = menu.actions()
        position = current.index(self.action)
        if (current[position + 1] if position + 1 < len(current) else None) is before:
            return
        menu.removeAction(self.action)
        if before is None:
            menu.addAction(self.action)
        else:
            menu.insertAction(before, self.action)

    def _run_state_changed(self, _event) -> None:
        self.action.setEnabled(not self.workspace.busy)

    def import_dialog(self) -> bool:
        """Ask for a file, show what it matches, and import it when the person agrees."""
        if self.workspace.busy:
            self.window.show_status("Stop training before importing weights.")
            return False
        own_folder = self.workspace.path.parent if self.workspace.path else None
        path = open_file(self.window, "Import weights", FILE_FILTER, fallback=own_folder, remember=False)
        if not path:
            return False
        dialog = self.review(path)
        if dialog is None:
            return False
        remember_folder(Path(path).parent)
        dialog.finished.connect(lambda code: self.apply(path) if code == QDialog.DialogCode.Accepted else
                                self.window.show_status("Nothing was imported."))
        dialog.open()   # window-modal, without a nested event loop
        return True

    def review(self, path) -> ImportWeightsDialog | None:
        """The dialog listing what ``path`` matches (not shown yet); None, with the reason shown, when
        the file cannot be read."""
        path = Path(path)
        try:
            result = self.workspace.match_weights(path)
        except WorkspaceError as error:
            self._refuse(path, error.reason)
            return None
        self.last_dialog = ImportWeightsDialog(self.window, result)
        return self.last_dialog

    def apply(self, path) -> bool:
        path = Path(path)
        try:
            result = self.workspace.import_weights(path)
        except WorkspaceError as error:
            self._refuse(path, error.reason)
            return False
        self.window.show_status(f"Imported {path.name}: {result.headline()}. Predict and Export use these "
                                "weights; Continue trains on from them.")
        return True

    def _refuse(self, path: Path, reason: str) -> None:
        self.window.show_status(f"Cannot import {path.name}: {reason.splitlines()[0] if reason else ''}")
        self.last_refusal = f"{reason}\n\nNothing was imported; the model's weights are unchanged."
        QMessageBox.warning(self.window, "Cannot import the weights", self.last_refusal)


def install_import_weights(window) -> WeightsImportAction:
    window.weights_import = WeightsImportAction(window)
    return window.weights_import
