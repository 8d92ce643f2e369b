"""The window's commands beyond editing and training, attached by one call: ``install_commands(window)``.

Adds data import [importDataButton, actionImportData], export [actionExportWeights, actionExportOnnx,
actionExportPytorch], projects [actionNew, actionOpen, actionSave, actionSaveAs, recentFilesMenu],
prediction [actionPredict], autosave and crash recovery, the unsaved-changes question on close,
themes and a remembered window layout, and shortcuts for the run controls. Everything is reached from
the returned :class:`WindowCommands` (also ``window.commands``). The
real app installs them; tests that need no files, autosave or settings leave them out.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QPushButton

from .actions import named_action
from .appearance import Appearance
from .autosave import AutoSaver
from .dialogs.export_dialog import ExportActions
from .dialogs.import_dialog import ImportDialog
from .dialogs.lr_finder_dialog import open_lr_finder
from .dialogs.predict_dialog import make_predict_action
from .menus import ensure_menu_bar_mnemonics, menu_named
from .window_events import WindowEvents
from ..workspace import WorkspaceError


class WindowCommands:
    def __init__(self, window):
        self.window = window
        self.workspace = window.workspace
        self.projects = window.projects
        self.exports = ExportActions(window, self.workspace)
        self.action_predict = make_predict_action(window, self.workspace)
        self.autosaver = AutoSaver(window)
        self.appearance = Appearance(window)
        self.import_dialog: ImportDialog | None = None
        self.action_import = named_action(
            window, "actionImportData", "&Import data…", self.open_import_dialog, "Ctrl+I",
            "Train on your own data: a CSV file, an image folder or a .npz/.npy file")
        self.import_button = QPushButton("Import data…")
        self.import_button.setObjectName("importDataButton")
        self.import_button.setToolTip(self.action_import.statusTip() + " (Ctrl+I)")
        self.import_button.clicked.connect(lambda: self.open_import_dialog())
        window.dataset_panel.layout().insertWidget(1, self.import_button)
        self._build_menus()
        self._run_shortcuts()
        self.window_events = WindowEvents(self)
        window.setAcceptDrops(True)
        window.installEventFilter(self.window_events)

    def _build_menus(self) -> None:
        window = self.window
        file_menu = menu_named(window, "&File")
        first = file_menu.actions()[0] if file_menu.actions() else None
        p, e = self.projects, self.exports
        for action in (p.action_new, p.action_open):
            file_menu.insertAction(first, action)
        file_menu.insertMenu(first, p.recent_menu)
        for action in (p.action_save, p.action_save_as):
            file_menu.insertAction(first, action)
        file_menu.insertSeparator(first)
        file_menu.insertAction(first, self.action_import)
        export_menu = QMenu("&Export", file_menu)
        export_menu.setObjectName("exportMenu")
        for action in e.actions:
            export_menu.addAction(action)
        file_menu.insertMenu(first, export_menu)
        file_menu.insertSeparator(first)
        for action in p.actions + [self.action_import, self.action_predict] + e.actions:
            window.addAction(action)   # shortcuts work wherever the focus is
        run_menu = menu_named(window, "&Run")
        run_menu.addAction(self.action_predict)
        view_menu = menu_named(window, "&View")
        view_menu.addSeparator()
        view_menu.addMenu(self.appearance.menu)
        ensure_menu_bar_mnemonics(window)   # an Alt letter for every item (the theme choices' too)

    def _run_shortcuts(self) -> None:
        """Pause/Resume (F6) and Stop (Shift+F5) as actions beside part 1's Train (F5)."""
        window = self.window
        run_menu = menu_named(window, "&Run")
        for name, text, keys, slot in (("actionPause", "P&ause / Resume", "F6", window.run.toggle_pause),
                                       ("actionStop", "&Stop", "Shift+F5", window.run.stop),
                                       ("actionRestart", "&Restart (fresh weights)", "Ctrl+F5", window.run.restart),
                                       ("actionContinueFromKept", "Continue from the &kept weights", None,
                                        window.run.continue_from_kept),
                                       ("actionFindLearningRate", "Find &learning rate…", None,
                                        lambda: open_lr_finder(window))):
            if window.findChild(QAction, name) is not None:
                continue
            action = named_action(window, name, text, slot, keys)
            run_menu.addAction(action)
            window.addAction(action)

    # -- import ----------------------------------------------------------------------------------

    def open_import_dialog(self) -> ImportDialog | None:
        if self.workspace.busy:
            self.window.show_status("Stop training before importing other data.")
            return None
        dialog = ImportDialog(self.window, self.workspace.settings)
        dialog.accepted.connect(lambda: self.use_imported(dialog))
        self.import_dialog = dialog
        dialog.open()
        return dialog

    def use_imported(self, dialog: ImportDialog) -> None:
        if dialog.dataset is None:
            return
        try:
            self.workspace.import_data(dialog.source, dialog.dataset, dialog.split_settings())
        except WorkspaceError:
            return   # the Refused event puts the reason in the status bar
        self.window.show_status(f"Imported {dialog.dataset.summary()}")

    def open_dropped(self, path: Path):
        """A file dropped on the window: a project opens; data opens the import dialog on it."""
        if path.suffix.lower() == ".lfproj":
            return self.projects.open_path(path)
        dialog = self.open_import_dialog()
        if dialog is None:
            return None
        tab = (dialog.image_tab if path.is_dir() else dialog.csv_tab
               if path.suffix.lower() in (".csv", ".txt") else dialog.arrays_tab)
        dialog.tabs.setCurrentWidget(tab)
        tab.path_row.edit.setText(str(path))
        return dialog

    # -- start and end ---------------------------------------------------------------------------

    def start(self, project_path=None) -> bool:
        """After the window is shown: layout from last time, then any autosave offered back, else the
        project named on the command line (a double-clicked .lfproj). True when an autosave was restored."""
        self.appearance.restore_layout()
        recovered = self.autosaver.offer_recovery()
        if project_path is not None:
            # Asked for by name: opened after the recovery question (asking, if the recovered project
            # is unsaved, whether to save it first), never silently dropped.
            self.projects.open_path(project_path)
        return recovered

    def clean_shutdown(self) -> None:
        self.appearance.save_layout()
        self.autosaver.discard()


def install_commands(window, start: bool = False, project_path=None) -> WindowCommands:
    """Attach the commands to ``window`` (once); with ``start``, restore the layout and offer an
    autosave (then open ``project_path``) right after the event loop starts (the real app does this;
    tests call ``commands.start()``)."""
    existing = getattr(window, "commands", None)
    if existing is not None:
        return existing
    commands = WindowCommands(window)
    window.commands = commands
    if start:
        QTimer.singleShot(0, lambda: commands.start(project_path))
    return commands
