"""Nothing lost: the open project is autosaved, offered back after a crash, and removed on a clean exit.

The autosave is an ordinary project file (``autosave-<pid>.lfproj`` + its weights) in the platform's
per-user data folder (QStandardPaths, see ``persist.app_data_dir``), with a note beside it naming
the project it stands for; writing, finding, recovering and moving aside are the workspace's
(``Workspace.autosave_to`` / ``pending_autosaves`` / ``recover`` / ``discard_autosave``, files in
``workspace/autosave.py``). This module keeps the timers and the questions. It is written a moment after each change (model edit, data, settings, a finished run) and
every few minutes while the project has unsaved changes. A clean shutdown deletes it; if it is still
there at the next start, the app crashed (or was killed), and the user is offered it back.

An autosave that cannot be recovered (damaged, not a regular file, absurdly large) is offered at most
once: it is then moved, whole, into a folder of its own beside the others (``autosave-1234.failed-
20261206-113005/``, its files keeping their names so that the project still finds its weights) and
the message names that path. A data folder that cannot be written turns autosave off, with the
reason in the status bar; it never stops the app from starting.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox

from ..workspace import PendingAutosave, WorkspaceError
from ..workspace import autosave as autosave_files_module
from ..workspace import events as ev
from .persist import app_data_dir

CHANGE_DELAY_MS = 2_000
PERIOD_MS = 120_000


def autosave_location() -> Path:
    """Where autosaves go (the folder may not exist yet): ``persist.app_data_dir()``/autosave, computed
    without creating anything, so that a folder that cannot be made can still be named."""
    return app_data_dir() / "autosave"


def autosave_folder() -> Path:
    """The autosave folder, created when missing (OSError when it cannot be)."""
    folder = autosave_location()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class AutoSaver(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window, self.workspace = window, window.workspace
        self.saves = 0
        self.last_error = ""
        self.folder = autosave_location()
        try:
            autosave_folder()
            self.unavailable = ""
        except OSError as error:
            # A read-only home, a file where the folder should be: work goes on, without autosave.
            self.unavailable = f"cannot create {self.folder} ({error.strerror or error})"
        self.change_timer = QTimer(self)
        self.change_timer.setSingleShot(True)
        self.change_timer.setInterval(CHANGE_DELAY_MS)
        self.change_timer.timeout.connect(self.save_now)
        self.period_timer = QTimer(self)
        self.period_timer.setInterval(PERIOD_MS)
        self.period_timer.timeout.connect(self.save_now)
        self.period_timer.start()
        hub = self.workspace.events
        hub.connect(lambda _event: self.schedule(), ev.ModelChanged, ev.SettingsChanged, ev.DataChanged, ev.RunEnded)
        # Saved, or replaced by a project with nothing unsaved: nothing to recover any more.
        hub.connect(lambda event: None if event.dirty else self.discard(), ev.DirtyChanged)

    @property
    def stem(self) -> str:
        return autosave_files_module.autosave_stem()

    @property
    def path(self) -> Path:
        return self.folder / f"{self.stem}.lfproj"

    @property
    def meta_path(self) -> Path:
        """The note beside the autosave naming the project it stands for."""
        return self.folder / f"{self.stem}.json"

    def schedule(self) -> None:
        self.change_timer.start()

    def save_now(self) -> bool:
        """Write the autosave now if there is anything unsaved; True when written."""
        if not self.workspace.dirty:
            return False
        if self.unavailable:
            self.last_error = self.unavailable
            self.window.show_status(f"Autosave is off: {self.unavailable}")
            return False
        try:
            self.window.commit_settings()
            written = self.workspace.autosave_to(self.folder)
        except (WorkspaceError, ValueError) as error:
            # Autosave must never interrupt work; the status bar says it failed and why.
            self.last_error = str(getattr(error, "reason", error))
            self.window.show_status(f"Autosave failed: {self.last_error}")
            return False
        if written is None:
            return False
        self.saves += 1
        return True

    def discard(self) -> None:
        """A clean shutdown (or a saved, closed project): nothing to recover next time."""
        self.change_timer.stop()
        self.workspace.discard_autosave(self.folder)

    # -- after a crash ---------------------------------------------------------------------------

    def ask_restore(self, pending: PendingAutosave) -> bool:
        answer = QMessageBox.question(
            self.window, "Recover unsaved work?",
            f"Layerforge did not close properly last time. The project {pending.describe()}.\n\n"
            f"Restore it? (Discard deletes the autosave; the project open now stays as it is.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard, QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    def offer_recovery(self) -> bool:
        """At start: if an autosave was left behind, offer it, naming its project; True when restored."""
        failures: list[str] = []

        def refused(event) -> None:
            if event.operation == "recover an autosave":
                failures.append(event.reason)

        self.workspace.events.connect(refused, ev.Refused)
        try:
            pending = self.workspace.pending_autosaves(self.folder)
        finally:
            self.workspace.events.disconnect(refused)
        if failures:
            self._cannot_recover(failures)
        if not pending:
            return False
        newest = pending[0]
        if not self.ask_restore(newest):
            self.workspace.discard_autosave(self.folder, newest)
            self.window.show_status(f"Discarded the autosave of '{newest.name}'; "
                                    f"'{self.workspace.name}' is open, with the settings shown.")
            return False
        try:
            self.workspace.recover(newest, discard=True)   # the app has just started: nothing to lose
        except WorkspaceError as error:
            self._cannot_recover([error.reason])
            return False
        self.save_now()
        self.window.show_status(f"Recovered the autosaved project '{newest.name}': save it to keep it.")
        return True

    def _cannot_recover(self, reasons: list[str]) -> None:
        parts = []
        for reason in reasons:
            if "moved aside to " in reason:
                text, _, where = reason.rpartition("moved aside to ")
                text = text.replace(f"{self.folder}/", "").rstrip("; ").removesuffix("it was").removesuffix("the autosave was").rstrip("; ")
                parts.append(f"{text}\n\nIt was kept, moved aside to:\n{where}\nIt will not be offered again. "
                             f"Open it with File > Open to try again, or delete its folder.")
            else:
                parts.append(reason)
        QMessageBox.warning(self.window, "Cannot recover", "The autosave cannot be recovered:\n" + "\n\n".join(parts))
