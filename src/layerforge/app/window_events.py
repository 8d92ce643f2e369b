"""What the window does with events it sees first: closing (unsaved changes, then a run in progress)
and files dropped on it (a project opens; data opens the import dialog on it)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject

DROPPABLE_SUFFIXES = (".lfproj", ".csv", ".txt", ".npz", ".npy")


class WindowEvents(QObject):
    """Sees the window's events first. Close: asks about unsaved changes, then lets the window's own
    closeEvent (training in progress) decide; a close that happens is a clean shutdown. Drops: a
    project file opens, data files open the import dialog on them."""

    def __init__(self, commands):
        super().__init__(commands.window)
        self.commands = commands

    def eventFilter(self, watched, event) -> bool:
        if watched is not self.commands.window:
            return False
        if event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if _dropped_path(event) is not None:
                event.acceptProposedAction()
                return True
            return False
        if event.type() == QEvent.Type.Drop:
            path = _dropped_path(event)
            if path is not None:
                event.acceptProposedAction()
                self.commands.open_dropped(path)
                return True
            return False
        if event.type() == QEvent.Type.Close:
            if not self.commands.projects.maybe_save():
                event.ignore()
                return True
            watched.closeEvent(event)
            if event.isAccepted():
                self.commands.clean_shutdown()
            return True
        return False


def _dropped_path(event) -> Path | None:
    """The one local file or folder being dropped, if it is something the app can open."""
    mime = event.mimeData()
    urls = mime.urls() if mime is not None and mime.hasUrls() else []
    if len(urls) != 1 or not urls[0].isLocalFile():
        return None
    path = Path(urls[0].toLocalFile())
    return path if path.is_dir() or path.suffix.lower() in DROPPABLE_SUFFIXES else None
