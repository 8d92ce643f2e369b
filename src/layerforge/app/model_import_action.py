"""File > Import model… [actionImportModel]: an ONNX file onto the canvas, attached by one call,
``install_import_model(window)``.

The file is chosen in the window's file dialog, then imported by ``Workspace.import_model`` as a new
untitled project (asking to save unsaved changes first, as Open does). A model that cannot be
imported shows why, with every operator that has no layer, and leaves the open project as it was.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from ..workspace import UnsavedChanges, WorkspaceError
from .actions import named_action
from .file_dialogs import open_file, remember_folder
from .menus import menu_named

FILE_FILTER = "ONNX models (*.onnx);;All files (*)"
UNCHANGED = "\nThe open project is unchanged."


class ModelImportAction:
    def __init__(self, window):
        self.window, self.workspace = window, window.workspace
        self.action = named_action(window, "actionImportModel", "Im&port model…", self.import_dialog,
                                   tip="Open an ONNX model as a new project: its layers on the canvas, with its "
                                       "weights, ready to predict, train further or export")
        file_menu = menu_named(window, "&File")
        actions = file_menu.actions()
        opened = next((i for i, a in enumerate(actions) if a.objectName() == "actionOpen"), None)
        after = actions[opened + 1] if opened is not None and opened + 1 < len(actions) else None
        if opened is not None and after is not None and after.menu() is not None:   # after Open recent
            after = actions[opened + 2] if opened + 2 < len(actions) else None
        file_menu.insertAction(after, self.action) if after is not None else file_menu.addAction(self.action)

    def import_dialog(self) -> bool:
        if self.workspace.busy:
            self.window.show_status("Stop training before importing a model.")
            return False
        own_folder = self.workspace.path.parent if self.workspace.path else None
        path = open_file(self.window, "Import model", FILE_FILTER, fallback=own_folder, remember=False)
        if not path or not self.import_path(path):
            return False
        remember_folder(Path(path).parent)
        return True

    def import_path(self, path) -> bool:
        """Import ``path``; on any problem show why and leave the window exactly as it was."""
        path = Path(path)
        try:
            try:
                notes = self.workspace.import_model(path)
            except UnsavedChanges:
                if not self.window.projects.maybe_save():
                    self.window.show_status("Kept the open project (its changes are not saved).")
                    return False
                notes = self.workspace.import_model(path, discard=True)
        except WorkspaceError as error:
            self._refuse(path, error.reason)
            return False
        self.window.arrange_opened_model()   # again, now that the canvas holds the imported layers
        self.window.run.show_notes(list(notes[1:]))
        self.window.show_status(f"{notes[0]} Predict and Export use its weights; Train continues from them.")
        return True

    def _refuse(self, path: Path, reason: str) -> None:
        reason = reason.removesuffix(UNCHANGED)
        first = reason.splitlines()[0] if reason else "the model cannot be imported"
        self.window.show_status(f"Cannot import {path.name}: {first}")
        self.last_refusal = f"{reason}\n\nNothing was imported; the open project is unchanged."
        QMessageBox.warning(self.window, "Cannot import the model", self.last_refusal)


def install_import_model(window) -> ModelImportAction:
    window.model_import = ModelImportAction(window)
    return window.model_import
