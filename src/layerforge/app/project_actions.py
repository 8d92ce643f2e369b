"""Project files from the window [actionNew, actionOpen, actionSave, actionSaveAs], recent files
[recentFilesMenu], and the Save / Discard / Cancel question before anything unsaved is dropped.

Opening and saving is the workspace's (``Workspace.new`` / ``open`` / ``open_example`` / ``save`` /
``save_as``); this module only asks: which file, and what to do with unsaved changes (the workspace
refuses to drop them with UnsavedChanges; the answer Save or Discard repeats the operation). A file
that cannot be opened (newer version, unknown layer, truncated, not a project) changes nothing: the
reason is shown in a message box.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox

from ..training import TrainingError
from ..workspace import UnsavedChanges, WorkspaceError
from .actions import named_action
from .file_dialogs import open_file, remember_folder, save_file
from .persist import app_settings, file_name_for

SUFFIX = ".lfproj"
FILE_FILTER = "Layerforge projects (*.lfproj);;All files (*)"
RECENT_KEY = "recentFiles"
MAX_RECENT = 8
SAVE, DISCARD, CANCEL = "save", "discard", "cancel"


def recent_files() -> list[str]:
    value = app_settings().value(RECENT_KEY, [])
    if isinstance(value, str):   # QSettings gives a lone entry back as a string
        value = [value]
    return [str(v) for v in (value or [])]


def remember_recent(path) -> None:
    path = str(Path(path).resolve())
    files = [path] + [f for f in recent_files() if f != path]
    settings = app_settings()
    settings.setValue(RECENT_KEY, files[:MAX_RECENT])
    settings.sync()


def forget_recent(path) -> None:
    settings = app_settings()
    settings.setValue(RECENT_KEY, [f for f in recent_files() if f != str(path)])
    settings.sync()


class ProjectActions:
    """The File menu's project commands for one window."""

    def __init__(self, window):
        self.window, self.workspace = window, window.workspace
        self.action_new = self._action("actionNew", "&New project", QKeySequence.StandardKey.New, self.new_project,
                                       "Start an empty model (asks to save the current one first)")
        self.action_open = self._action("actionOpen", "&Open…", QKeySequence.StandardKey.Open, self.open_dialog,
                                        "Open a .lfproj project")
        self.action_save = self._action("actionSave", "&Save", QKeySequence.StandardKey.Save, self.save,
                                        "Save the project with its trained weights")
        self.action_save_as = self._action("actionSaveAs", "Save &as…", QKeySequence.StandardKey.SaveAs,
                                           self.save_as, "Save the project under another name")
        self.recent_menu = QMenu("Open &recent", window)
        self.recent_menu.setObjectName("recentFilesMenu")
        self.recent_menu.aboutToShow.connect(self.fill_recent_menu)
        self.fill_recent_menu()

    def _action(self, name, text, shortcut, slot, tip) -> QAction:
        return named_action(self.window, name, text, slot, shortcut, tip)

    @property
    def actions(self) -> list[QAction]:
        return [self.action_new, self.action_open, self.action_save, self.action_save_as]

    # -- unsaved changes -------------------------------------------------------------------------

    def ask_unsaved(self) -> str:
        """Save, Discard or Cancel (tests replace this, or QMessageBox.question, to answer)."""
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self.window, "Unsaved changes",
            f"The project '{self.window.project_name}' has changes that are not saved. Save them first?",
            buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
        return {buttons.Save: SAVE, buttons.Discard: DISCARD}.get(answer, CANCEL)

    def maybe_save(self) -> bool:
        """True when it is fine to drop the open project (saved, discarded or clean)."""
        if not self.workspace.dirty:
            return True
        answer = self.ask_unsaved()
        if answer == SAVE:
            return self.save()
        return answer == DISCARD

    def replace(self, operation, done: str = "") -> list[str] | None:
        """Run ``operation(discard)`` (new, open, example, recover); on unsaved changes ask Save /
        Discard / Cancel and repeat it. Its notes, or None when it did not happen (the reason shown)."""
        try:
            try:
                notes = operation(False)
            except UnsavedChanges:
                if not self.maybe_save():
                    self.window.show_status("Kept the open project (its changes are not saved).")
                    return None
                notes = operation(True)
        except WorkspaceError as error:
            if error.reason.startswith("the model is training"):
                self.window.show_status(f"Stop training before opening or starting another project ({error.reason}).")
            else:
                self._refuse(f"Cannot {error.operation}", error.reason)
            return None
        if done:
            self.window.show_status(done)
        self.window.run.show_notes(notes or [])
        return list(notes or [])

    # -- commands --------------------------------------------------------------------------------

    def new_project(self) -> bool:
        return self.replace(lambda discard: self.workspace.new(discard=discard) or [],
                            "New project: drag layers from the palette onto the canvas, after the Input.") is not None

    def open_example(self, name: str) -> bool:
        return self.replace(lambda discard: self.workspace.open_example(name, discard=discard),
                            f"Opened the '{name}' example. Press Train to start.") is not None

    def open_dialog(self) -> bool:
        if self.workspace.busy:
            self.window.show_status("Stop training before opening or starting another project.")
            return False
        own_folder = self.workspace.path.parent if self.workspace.path else None
        # A file that cannot be opened changes nothing, the remembered folder included.
        path = open_file(self.window, "Open project", FILE_FILTER, fallback=own_folder, remember=False)
        if not path or not self.open_path(path):
            return False
        remember_folder(Path(path).parent)
        return True

    def open_path(self, path) -> bool:
        """Open ``path``; on any problem show why and leave the window exactly as it was."""
        path = Path(path)
        notes = self.replace(lambda discard: self.workspace.open(path, discard=discard))
        if notes is None:
            return False
        remember_recent(path)
        self.fill_recent_menu()
        trained = " with its trained weights" if self.workspace.run is not None and self.workspace.run.has_weights else ""
        self.window.show_status(f"Opened {path.name}{trained}.")
        return True

    def _refuse(self, title: str, reason) -> None:
        text = f"{reason}\n\nNothing was opened; the current project is unchanged."
        self.window.show_status(f"{title}: {reason}")
        QMessageBox.warning(self.window, title, text)

    def save(self) -> bool:
        if self.workspace.path is None:
            return self.save_as()
        return self.save_to(self.workspace.path)

    def save_as(self) -> bool:
        own = self.workspace.path
        name = own.name if own else file_name_for(self.workspace.name, SUFFIX)
        path, _ = save_file(self.window, "Save project as", name, FILE_FILTER, fallback=own.parent if own else None)
        if not path:
            return False
        return self.save_to(path)

    def save_to(self, path) -> bool:
        try:
            self.window.commit_settings()
            path = self.workspace.save_as(path)
        except (WorkspaceError, TrainingError, ValueError) as error:
            reason = str(getattr(error, "reason", error)).split("; the project is still open")[0]
            QMessageBox.warning(self.window, "Cannot save the project",
                                f"{reason}\n\n"
                                f"The project is still open; try another folder or name.")
            return False
        remember_recent(path)
        self.fill_recent_menu()
        weights = self.workspace.run is not None and self.workspace.run.usable
        self.window.show_status(f"Saved {path}" + (" with the trained weights." if weights else "."))
        return True

    # -- recent files ----------------------------------------------------------------------------

    def fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = recent_files()
        for index, file in enumerate(files, start=1):
            action = self.recent_menu.addAction(f"&{index} {Path(file).name}")
            action.setToolTip(file)
            action.setData(file)
            action.triggered.connect(lambda _=False, f=file: self._open_recent(f))
        if not files:
            self.recent_menu.addAction("(no recent projects)").setEnabled(False)
        self.recent_menu.setEnabled(True)

    def _open_recent(self, file: str) -> bool:
        if not Path(file).is_file():
            forget_recent(file)
            self.fill_recent_menu()
            QMessageBox.warning(self.window, "Project not found",
                                f"{file} is no longer there (moved or deleted); it was removed from the list.")
            return False
        return self.open_path(file)
