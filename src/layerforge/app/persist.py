"""Where the app keeps what outlives a session: its QSettings and its data folder.

Every part of the app asks here, so tests can redirect both at once (``QStandardPaths`` test mode
and ``QSettings.setPath``) and never touch the real home folder.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths

ORGANIZATION = "Layerforge"
APPLICATION = "Layerforge"


def app_settings() -> QSettings:
    """The application's settings (recent files, window layout, theme)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def app_data_dir() -> Path:
    """The platform's per-user data folder for Layerforge (created when missing)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    folder = Path(base) / ORGANIZATION / APPLICATION
    folder.mkdir(parents=True, exist_ok=True)
    return folder
