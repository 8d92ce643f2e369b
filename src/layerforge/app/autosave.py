"""Nothing lost: the open project is autosaved, offered back after a crash, and removed on a clean exit.

The autosave is an ordinary project file (``autosave.lfproj`` + its weights) in the platform's
per-user data folder (QStandardPaths, see ``persist.app_data_dir``), written atomically by
``save_project``, with ``autosave.json`` beside it saying which file it stands for and when it was
written. It is written a moment after each change (model edit, data, settings, a finished run) and
every few minutes while the project has unsaved changes. A clean shutdown deletes it; if it is still
there at the next start, the app crashed (or was killed), and the user is offered it back.

An autosave that cannot be recovered (damaged, not a regular file, absurdly large) is offered at most
once: it is then moved, whole, into a folder of its own beside the others (``autosave-1234.failed-
20261206-113005/``, its files keeping their names so that the project still finds its weights) and
the message names that path. A data folder that cannot be written turns autosave off, with the
reason in the status bar; it never stops the app from starting.
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMessageBox

from ..data import DataError
from ..data.files import check_regular_file, read_regular_file
from ..training import ProjectError, load_project, save_project
from .persist import app_data_dir
from .project_state import mark_dirty

CHANGE_DELAY_MS = 2_000
PERIOD_MS = 120_000
# The project file only (weights are checked by their own reader): far above any model's JSON, far
# below what would stall the start reading it.
AUTOSAVE_MAX_BYTES = 256 * 1024 ** 2
NOTE_MAX_BYTES = 64 * 1024
# Only a live autosave's name: the folders of failed ones (autosave-1234.failed-...) never match.
_STEM = re.compile(r"autosave-\d+")


def autosave_location() -> Path:
    """Where autosaves go (the folder may not exist yet): ``persist.app_data_dir()``/autosave, computed
    without creating anything, so that a folder that cannot be made can still be named."""
    return app_data_dir() / "autosave"


def autosave_folder() -> Path:
    """The autosave folder, created when missing (OSError when it cannot be)."""
    folder = autosave_location()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def autosave_stem(pid: int) -> str:
    """One autosave per running Layerforge (process id), so two open windows never share a file."""
    return f"autosave-{pid}"


def autosave_files(folder: Path, stem: str) -> list[Path]:
    """The project, its weights (either format) and the note saying what it stands for."""
    return [folder / f"{stem}.lfproj", folder / f"{stem}.weights.safetensors", folder / f"{stem}.weights.npz",
            folder / f"{stem}.json"]


class AutoSaver(QObject):
    def __init__(self, window, state):
        super().__init__(window)
        self.window, self.state = window, state
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
        window.document.changed.connect(self.schedule)
        window.training_panel.settingsEdited.connect(self.schedule)
        window.dataset_panel.datasetChanged.connect(lambda _dataset: self.schedule())
        window.run.session.runEnded.connect(lambda _event: self.schedule())

    @property
    def stem(self) -> str:
        return autosave_stem(os.getpid())

    @property
    def path(self) -> Path:
        return self.folder / f"{self.stem}.lfproj"

    @property
    def meta_path(self) -> Path:
        return self.folder / f"{self.stem}.json"

    def schedule(self) -> None:
        self.change_timer.start()

    def save_now(self) -> bool:
        """Write the autosave now if there is anything unsaved; True when written."""
        if not self.window.is_dirty:
            return False
        if self.unavailable:
            self.last_error = self.unavailable
            self.window.show_status(f"Autosave is off: {self.unavailable}")
            return False
        project, weights = self.state.project()
        try:
            save_project(project, self.path, weights)
            if weights is None:   # an older autosave's weights must not be paired with this model
                for stale in autosave_files(self.folder, self.stem)[1:3]:
                    _remove(stale)
            meta = {"original_path": str(self.state.path) if self.state.path else None, "name": project.name,
                    "saved_at": time.time(), "pid": os.getpid()}
            _write_json(self.meta_path, meta)
        except (ProjectError, OSError) as error:
            # Autosave must never interrupt work; the status bar says it failed and why.
            self.last_error = str(error)
            self.window.show_status(f"Autosave failed: {error}")
            return False
        self.saves += 1
        return True

    def discard(self) -> None:
        """A clean shutdown (or a saved, closed project): nothing to recover next time."""
        self.change_timer.stop()
        for file in autosave_files(self.folder, self.stem):
            _remove(file)

    # -- after a crash ---------------------------------------------------------------------------

    def pending(self) -> dict | None:
        """The newest autosave left by a Layerforge that is no longer running (None: nothing to recover).
        The returned note has "stem": the autosave's file name without suffix. One that cannot be opened
        safely (not a regular file, too large) is moved aside and reported instead of offered."""
        found, refused = [], []
        for project in self.folder.glob("autosave-*.lfproj"):
            stem = project.name[:-len(".lfproj")]
            if not _STEM.fullmatch(stem):
                continue
            meta = _read_note(self.folder / f"{stem}.json")
            if _running_elsewhere(meta.get("pid")):
                continue   # another open Layerforge owns it: it did not crash
            try:
                check_openable(self.folder, stem)
                found.append((project.stat().st_mtime, {**meta, "stem": stem}))
            except (DataError, OSError) as error:
                refused.append((stem, str(error)))
        if refused:
            self._give_up(refused)
        return max(found, key=lambda item: item[0])[1] if found else None

    def ask_restore(self, meta: dict) -> bool:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(meta["saved_at"])) if meta.get("saved_at") else "?"
        where = f"\n(from {meta['original_path']})" if meta.get("original_path") else ""
        answer = QMessageBox.question(
            self.window, "Recover unsaved work?",
            f"Layerforge did not close properly last time. The project '{meta.get('name', 'untitled')}' was "
            f"autosaved at {when}{where}.\n\nRestore it? (Discard deletes the autosave.)",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard, QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    def offer_recovery(self) -> bool:
        """At start: if an autosave was left behind, offer it; True when it was restored."""
        meta = self.pending()
        if meta is None:
            return False
        left = autosave_files(self.folder, meta["stem"])
        if not self.ask_restore(meta):
            for file in left:
                _remove(file)
            return False
        original = meta.get("original_path")
        try:
            project, weights = load_project(left[0])
            self.state.apply(project, weights, Path(original) if original else None, base_dir=self.folder)
        except Exception as error:   # noqa: BLE001  whatever the damage, start the app and keep the file
            reason = str(error) if isinstance(error, ProjectError) else f"{type(error).__name__}: {error}"
            self._give_up([(meta["stem"], reason)])
            return False
        mark_dirty(self.window)   # recovered work is not saved until the user saves it
        if meta["stem"] != self.stem:
            for file in left:     # from now on this session's own autosave holds it
                _remove(file)
        self.save_now()
        self.window.show_status("Recovered the autosaved project: save it to keep it.")
        return True


    def _give_up(self, failed: list[tuple[str, str]]) -> None:
        """Move autosaves that cannot be recovered out of the way (kept, for the user or a bug report),
        never to be offered again, and say in one message what was wrong and where each went."""
        parts = []
        for stem, reason in failed:
            reason = reason.replace(f"{self.folder}{os.sep}", "")   # the folder is named below, once
            try:
                aside = move_aside(self.folder, stem)
            except OSError as error:
                parts.append(f"{reason}\n\nIt could not be moved aside ({error.strerror or error}), so it will be "
                             f"offered again: delete {self.folder / stem}.* to stop that.")
            else:
                parts.append(f"{reason}\n\nIt was kept, moved aside to:\n{aside}\nIt will not be offered again. "
                             f"Open it with File > Open to try again, or delete its folder.")
        QMessageBox.warning(self.window, "Cannot recover",
                            "The autosave cannot be recovered:\n" + "\n\n".join(parts))


def move_aside(folder: Path, stem: str) -> Path:
    """Move the files of autosave ``stem`` into a new folder ``<stem>.failed-<time>/`` beside them
    (names unchanged, so the project still finds its weights); the moved project's path."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = folder / f"{stem}.failed-{stamp}"
    count = 1
    while target.exists():
        count += 1
        target = folder / f"{stem}.failed-{stamp}-{count}"
    target.mkdir()
    for file in autosave_files(folder, stem):
        if os.path.lexists(file):
            os.replace(file, target / file.name)
    return target / f"{stem}.lfproj"


def check_openable(folder: Path, stem: str) -> None:
    """DataError unless the autosave's files are regular files (a FIFO would block the reader forever)
    and its project file is of a sane size."""
    project, *weights = autosave_files(folder, stem)[:3]
    check_regular_file(project, what="project file", max_bytes=AUTOSAVE_MAX_BYTES)
    for file in weights:
        if os.path.lexists(file):
            check_regular_file(file, what="weights file", max_bytes=None)


def _read_note(path: Path) -> dict:
    """The note beside an autosave ({} when missing or unreadable: the autosave is still offered)."""
    try:
        meta = json.loads(read_regular_file(path, what="autosave note", max_bytes=NOTE_MAX_BYTES))
    except (DataError, ValueError, RecursionError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _running_elsewhere(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0 or pid == os.getpid():
        return False
    if os.name != "posix":   # on Windows os.kill would end the process; there, the autosave is offered
        return False
    try:
        os.kill(pid, 0)   # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True      # it exists, under another user
    return True


def _write_json(path: Path, data: dict) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data), encoding="utf-8")
    os.replace(temporary, path)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
