"""Saving the open project: save, save as, and autosave with crash recovery by name.

Mixed into ``Workspace``; the autosave files themselves are ``autosave.py``'s.
"""
from __future__ import annotations

from pathlib import Path

from ..training import ProjectError, save_project
from . import autosave as autosaves
from . import events as ev
from .errors import WorkspaceError
from .run_files import remove_unlisted, write_run_weights

SUFFIX = ".lfproj"


class ProjectFiles:
    """save / save_as / autosave_to / pending_autosaves / recover / discard_autosave."""

    def save(self) -> Path:
        with self._lock:
            if self.path is None:
                self._refuse("save", "the project has no file yet: use Save As to choose one")
            return self._save_to(self.path, "save")

    def save_as(self, path) -> Path:
        with self._lock:
            path = Path(path)
            if not path.name.endswith(SUFFIX):
                path = path.with_name(path.name + SUFFIX)
            return self._save_to(path, "save as")

    def _save_to(self, path: Path, operation: str) -> Path:
        project, weights = self.project()
        if self.path != path:
            project.name = path.name[:-len(SUFFIX)]
        try:
            self._write_with_runs(project, path, weights)
        except (ProjectError, OSError) as error:
            self._refuse(operation, f"{error}; the project is still open, try another folder or name")
        self.path, self.name = path, project.name
        self.undo_history.set_clean()
        self._other_dirty = False
        self._emit(ev.ProjectSaved(self.name, path, weights is not None))
        self._emit_undo()
        self._announce_dirty()
        return path

    def autosave_to(self, folder) -> Path | None:
        """Write this session's autosave into ``folder`` when something is unsaved; its path, or None
        when there was nothing to write. Never changes the dirty flag."""
        with self._lock:
            if not self.dirty:
                return None
            folder, stem = Path(folder), autosaves.autosave_stem()
            project, weights = self.project()
            try:
                folder.mkdir(parents=True, exist_ok=True)
                self._write_with_runs(project, folder / f"{stem}.lfproj", weights)
                if weights is None:
                    autosaves.remove_weights(folder, stem)
                autosaves.write_note(folder, stem, self.name, self.path, self.session)
            except (ProjectError, OSError) as error:
                self._refuse("autosave", str(error))
            return folder / f"{stem}.lfproj"

    def _write_with_runs(self, project, path: Path, weights) -> None:
        """The earlier runs' weights beside the project (written first), then the project naming
        them; files of runs no longer kept go after."""
        written = write_run_weights(path, self.runs, self.run)
        for data in project.runs:
            data.update(written.get(data["number"], {}) if not data.get("current") else {})
        save_project(project, path, weights)
        remove_unlisted(path, {entry["weights"] for entry in written.values()})

    def pending_autosaves(self, folder) -> list[autosaves.PendingAutosave]:
        """Autosaves a crashed Layerforge left in ``folder``, newest first. Damaged ones are moved
        aside and announced as Refused("recover", where they went), never offered."""
        pending, failed = autosaves.find_pending(Path(folder), self.session)
        for failure in failed:
            where = (f"it was moved aside to {failure.moved_to}" if failure.moved_to
                     else "it could not be moved aside, so it will be offered again")
            self._emit(ev.Refused("recover an autosave", f"{failure.reason}; {where}"))
        return pending

    def recover(self, pending: autosaves.PendingAutosave, *, discard: bool = False) -> list[str]:
        """Open the autosave ``pending`` as the project it stands for (its name and file), unsaved."""
        with self._lock:
            self._require_replaceable(f"recover {pending.name!r}", discard)
            base_dir = pending.original_path.parent if pending.original_path else pending.folder
            try:
                notes = self._open_file(pending.path, pending.original_path, base_dir, "recover",
                                        f"recover {pending.name!r}", dirty=True)
            except WorkspaceError as error:
                failure = autosaves.give_up(pending.folder, pending.stem, error.reason)
                raise WorkspaceError(error.operation, f"{error.reason}; the autosave was moved aside to "
                                     f"{failure.moved_to}") from None
            if pending.stem != autosaves.autosave_stem():
                autosaves.remove(pending.folder, pending.stem)   # this session's autosave holds it now
            return notes

    def discard_autosave(self, folder, pending: autosaves.PendingAutosave | None = None) -> None:
        """Delete ``pending`` (Discard on the recovery prompt), or this session's own autosave."""
        autosaves.remove(Path(folder), pending.stem if pending is not None else autosaves.autosave_stem())
