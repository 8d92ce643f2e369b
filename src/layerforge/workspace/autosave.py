"""Autosave files, headless: write one, find those a crashed Layerforge left, move damaged ones aside.

An autosave is an ordinary project (``autosave-<pid>.lfproj`` + its weights, written atomically by
``save_project``) with ``autosave-<pid>.json`` beside it naming the project it stands for (name and
original path) and when it was written. The folder is passed in (the app uses its per-user data
folder); nothing here knows about Qt or timers. One that cannot be recovered (damaged, not a regular
file, absurdly large) is moved, whole, into a folder of its own beside the others
(``autosave-1234.failed-20261206-113005/``) and reported, never offered again.
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ..data import DataError
from ..data.files import check_regular_file, read_regular_file
from .. import atomic
from ..training import project_io

AUTOSAVE_MAX_BYTES = 256 * 1024 ** 2
NOTE_MAX_BYTES = 64 * 1024
_STEM = re.compile(r"autosave-\d+")   # a live autosave; the folders of failed ones never match


@dataclass(frozen=True)
class PendingAutosave:
    """An autosave left by a Layerforge that is no longer running: what it recovers, by name."""

    folder: Path
    stem: str
    name: str
    original_path: Path | None
    saved_at: float | None

    @property
    def path(self) -> Path:
        return self.folder / f"{self.stem}.lfproj"

    def describe(self) -> str:
        """"'spiral' (from /home/me/spiral.lfproj), autosaved 2026-01-05 10:31" for the recovery prompt."""
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at)) if self.saved_at else "at an unknown time"
        where = f" (from {self.original_path})" if self.original_path else " (never saved to a file)"
        return f"'{self.name}'{where}, autosaved {when}"


@dataclass(frozen=True)
class FailedAutosave:
    stem: str
    reason: str
    moved_to: Path | None      # None: it could not be moved and will be offered again


def autosave_stem(pid: int | None = None) -> str:
    """One autosave per running Layerforge (process id), so two open windows never share a file."""
    return f"autosave-{os.getpid() if pid is None else pid}"


def autosave_files(folder: Path, stem: str) -> list[Path]:
    """The project, its weights (either format) and the note saying what it stands for."""
    folder = Path(folder)
    return [folder / f"{stem}.lfproj", folder / f"{stem}.weights.safetensors", folder / f"{stem}.weights.npz",
            folder / f"{stem}.json"]


def write_note(folder: Path, stem: str, name: str, original_path, session: str = "") -> None:
    """``session`` names the workspace that wrote it: its own autosave is never offered back to it,
    while one of an earlier process that had the same process id (after a reboot) still is."""
    note = {"original_path": str(original_path) if original_path else None, "name": name,
            "saved_at": time.time(), "pid": os.getpid(), "session": session}
    path = Path(folder) / f"{stem}.json"
    atomic.write_bytes(path, json.dumps(note).encode("utf-8"))


def remove_weights(folder: Path, stem: str) -> None:
    """An older autosave's weights must not be paired with a model saved without weights."""
    for file in autosave_files(folder, stem)[1:3]:
        project_io.discard(file)


def remove(folder: Path, stem: str) -> None:
    for file in autosave_files(folder, stem):
        project_io.discard(file)


def find_pending(folder: Path, session: str = "") -> tuple[list[PendingAutosave], list[FailedAutosave]]:
    """(autosaves to offer, newest first; those that cannot be, already moved aside). The autosave of
    the workspace ``session`` and those of Layerforges still running are neither."""
    folder = Path(folder)
    found, failed = [], []
    try:
        projects = sorted(folder.glob("autosave-*.lfproj"))
    except OSError:
        return [], []
    for project in projects:
        stem = project.name[:-len(".lfproj")]
        if not _STEM.fullmatch(stem):
            continue
        note = _read_note(folder / f"{stem}.json")
        pid = note.get("pid")
        if (session and note.get("session") == session) or _running_elsewhere(pid):
            continue
        try:
            check_openable(folder, stem)
            mtime = project.stat().st_mtime
        except (DataError, OSError) as error:
            failed.append(give_up(folder, stem, str(error)))
            continue
        original = note.get("original_path")
        found.append((mtime, PendingAutosave(folder, stem, str(note.get("name") or "untitled"),
                                             Path(original) if isinstance(original, str) else None,
                                             note.get("saved_at") if isinstance(note.get("saved_at"), (int, float))
                                             else None)))
    return [pending for _, pending in sorted(found, key=lambda item: -item[0])], failed


def give_up(folder: Path, stem: str, reason: str) -> FailedAutosave:
    try:
        moved = move_aside(folder, stem)
    except OSError:
        moved = None
    return FailedAutosave(stem, reason.replace(f"{folder}{os.sep}", ""), moved)


def move_aside(folder: Path, stem: str) -> Path:
    """Move the files of autosave ``stem`` into ``<stem>.failed-<time>/`` beside them (names kept, so
    the project still finds its weights); the moved project's path."""
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
    """DataError unless the files are regular (a FIFO would block the reader) and of a sane size."""
    project, *weights = autosave_files(folder, stem)[:3]
    check_regular_file(project, what="project file", max_bytes=AUTOSAVE_MAX_BYTES)
    for file in weights:
        if os.path.lexists(file):
            check_regular_file(file, what="weights file", max_bytes=None)


def _read_note(path: Path) -> dict:
    try:
        note = json.loads(read_regular_file(path, what="autosave note", max_bytes=NOTE_MAX_BYTES))
    except (DataError, ValueError, RecursionError, OSError):
        return {}
    return note if isinstance(note, dict) else {}


def _running_elsewhere(pid) -> bool:
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0 or pid == os.getpid():
        return False
    if os.name != "posix":   # on Windows os.kill would end the process; there, the autosave is offered
        return False
    try:
        os.kill(pid, 0)      # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:
        return True          # it exists, under another user
    return True
