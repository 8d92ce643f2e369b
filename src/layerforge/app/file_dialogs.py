"""The file dialogs of the window (open, save, import, export, predict): each opens in the last folder
a file dialog chose in (``persist.last_folder``), and a choice made in one is remembered for the next.

Before any folder was chosen, a dialog opens where its caller suggests (the project's own folder), or
in the home folder.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from .persist import last_folder, remember_folder

__all__ = ["existing_folder", "open_file", "remember_folder", "save_file", "start_folder"]


def start_folder(fallback: Path | None = None) -> Path:
    """Where a dialog opens: the last folder used, else ``fallback``, else the home folder."""
    folder = last_folder()
    if folder is not None:
        return folder
    if fallback is not None and Path(fallback).is_dir():
        return Path(fallback)
    return Path.home()


def open_file(parent, caption: str, file_filter: str, fallback: Path | None = None, remember: bool = True) -> str:
    """A file to read ("" when cancelled). ``remember=False``: the caller remembers its folder
    (``remember_folder``) once the file proved usable."""
    path, _ = QFileDialog.getOpenFileName(parent, caption, str(start_folder(fallback)), file_filter)
    if path and remember:
        remember_folder(Path(path).parent)
    return path


def save_file(parent, caption: str, name: str, file_filter: str, fallback: Path | None = None) -> tuple[str, str]:
    """A file to write, proposed as ``name`` in the start folder: (path or "" when cancelled, the
    filter chosen)."""
    path, chosen = QFileDialog.getSaveFileName(parent, caption, str(start_folder(fallback) / name), file_filter)
    if path:
        remember_folder(Path(path).parent)
    return path, chosen


def existing_folder(parent, caption: str, fallback: Path | None = None) -> str:
    """A folder to read ("" when cancelled); the next dialog opens beside it, in its parent."""
    path = QFileDialog.getExistingDirectory(parent, caption, str(start_folder(fallback)))
    if path:
        remember_folder(Path(path).parent)
    return path
