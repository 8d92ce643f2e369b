"""Project files from the window [actionNew, actionOpen, actionSave, actionSaveAs], recent files
[recentFilesMenu], and the Save / Discard / Cancel question before anything unsaved is dropped.

Reading and writing is ``layerforge.training``'s ``load_project`` / ``save_project`` (versioned JSON
plus a weights file, written atomically). A file that cannot be opened (newer version, unknown layer,
truncated, not a project) changes nothing in the window: the reason is shown in a message box.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from ..graph import ModelSpec
from ..training import Project, ProjectError, TrainingSettings, load_project, save_project
from .actions import named_action
from .persist import app_settings, file_name_for
from .project_state import mark_clean

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

    def __init__(self, window, state):
        self.window, self.state = window, state
        self.action_new = self._action("actionNew", "&New project", QKeySequence.StandardKey.New, self.new_project,
                                       "Start an empty model (asks to save the current one first)")
        self.action_open = self._action("actionOpen", "&Open…", QKeySequence.StandardKey.Open, self.open_dialog,
                                        "Open a .lfproj project")
        self.action_save = self._action("actionSave", "&Save", QKeySequence.StandardKey.Save, self.save,
                                        "Save the project with its trained weights")
        self.action_save_as = self._action("actionSaveAs", "Save &as…", QKeySequence.StandardKey.SaveAs,
                                           self.save_as, "Save the project under another name")
        self.on_clean = lambda: None   # the open project was saved, or replaced by another
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
        if not self.window.is_dirty:
            return True
        answer = self.ask_unsaved()
        if answer == SAVE:
            return self.save()
        return answer == DISCARD

    def _busy(self) -> bool:
        if self.window.run.running:
            self.window.show_status("Stop training before opening or starting another project.")
            return True
        return False

    # -- commands --------------------------------------------------------------------------------

    def new_project(self) -> bool:
        if self._busy() or not self.maybe_save():
            return False
        dataset = self.window.dataset_panel.dataset
        spec = ModelSpec()
        shape = list(dataset.input_shape) if dataset is not None else [2]
        spec.add_node("Input", {"shape": shape}, position=(0.0, 0.0))
        project = Project("untitled", spec, self.state.data_source(),
                          TrainingSettings(device="cpu", loss=self.window.training_panel.settings().loss))
        self.state.apply(project, None, None)
        self.on_clean()
        self.window.show_status("New project: drag layers from the palette onto the canvas, after the Input.")
        return True

    def open_dialog(self) -> bool:
        if self._busy() or not self.maybe_save():
            return False
        start = str(self.state.path.parent) if self.state.path else ""
        path, _ = QFileDialog.getOpenFileName(self.window, "Open project", start, FILE_FILTER)
        return self.open_path(path, ask=False) if path else False

    def open_path(self, path, ask: bool = True) -> bool:
        """Open ``path``; on any problem show why and leave the window exactly as it was."""
        if ask and (self._busy() or not self.maybe_save()):
            return False
        path = Path(path)
        try:
            project, weights = load_project(path)
        except ProjectError as error:
            self._refuse("Cannot open the project", error)
            return False
        notes = self.state.apply(project, weights, path, base_dir=path.parent)
        self.on_clean()
        remember_recent(path)
        self.fill_recent_menu()
        trained = " with its trained weights" if weights is not None else ""
        self.window.show_status(f"Opened {path.name}{trained}.")
        if notes:
            self.window.banner.show_message("warning", " ".join(notes))
        return True

    def _refuse(self, title: str, error) -> None:
        text = f"{error}\n\nNothing was opened; the current project is unchanged."
        self.window.show_status(f"{title}: {error}")
        QMessageBox.warning(self.window, title, text)

    def save(self) -> bool:
        if self.state.path is None:
            return self.save_as()
        return self.save_to(self.state.path)

    def save_as(self) -> bool:
        start = self.state.path or Path.home() / file_name_for(self.window.project_name, SUFFIX)
        path, _ = QFileDialog.getSaveFileName(self.window, "Save project as", str(start), FILE_FILTER)
        if not path:
            return False
        path = Path(path)
        if not path.name.endswith(SUFFIX):
            path = path.with_name(path.name + SUFFIX)
        return self.save_to(path)

    def save_to(self, path) -> bool:
        path = Path(path)
        project, weights = self.state.project()
        if path.name.endswith(SUFFIX) and self.state.path != path:
            project.name = path.name[:-len(SUFFIX)]
        try:
            save_project(project, path, weights)
        except ProjectError as error:
            QMessageBox.warning(self.window, "Cannot save the project",
                                f"{error}\n\nThe project is still open; try another folder or name.")
            return False
        self.state.path = path
        self.window.project_name = project.name
        mark_clean(self.window)
        self.on_clean()
        remember_recent(path)
        self.fill_recent_menu()
        self.window.show_status(f"Saved {path}" + (" with the trained weights." if weights is not None else "."))
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
