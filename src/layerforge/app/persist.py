"""Where the app keeps what outlives a session: its QSettings and its data folder.

Every part of the app asks here, so tests can redirect both at once (``QStandardPaths`` test mode
and ``QSettings.setPath``) and never touch the real home folder.
"""
from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

ORGANIZATION = "Layerforge"
APPLICATION = "Layerforge"


def app_settings() -> QSettings:
    """The application's settings (recent files, window layout, theme)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def app_data_dir() -> Path:
    """The platform's per-user data folder for Layerforge. Not created here: whoever writes into it
    creates it and reports a folder that cannot be made."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    return Path(base) / ORGANIZATION / APPLICATION


# Path separators, characters Windows refuses in names, and control characters.
_UNSAFE_IN_FILE_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def file_name_for(project_name: str, suffix: str) -> str:
    """A file name proposed for a project: its name with separators and control characters replaced,
    so a project named "../../x" or "a/b" never proposes a path in another folder."""
    stem = _UNSAFE_IN_FILE_NAMES.sub("_", project_name).strip(" .")[:120] or "untitled"
    return stem + suffix


LAST_FOLDER_KEY = "files/lastFolder"


def last_folder() -> Path | None:
    """The folder the last file dialog chose in (open, save, import, export), if it still exists."""
    value = app_settings().value(LAST_FOLDER_KEY, "")
    folder = Path(str(value)) if value else None
    return folder if folder is not None and folder.is_dir() else None


def remember_folder(folder) -> None:
    """Remember ``folder`` as where the next file dialog opens."""
    settings = app_settings()
    settings.setValue(LAST_FOLDER_KEY, str(Path(folder)))
    settings.sync()
