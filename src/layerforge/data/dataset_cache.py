"""Where downloaded datasets are kept: one folder per user, per dataset.

``LAYERFORGE_DATA_CACHE`` (tests, a lab's shared copy) wins; then a folder the app sets (Qt's
cache location); then the platform's convention: ``$XDG_CACHE_HOME/layerforge/datasets`` (or
``~/.cache/...``) on Linux, ``~/Library/Caches/layerforge/datasets`` on macOS,
``%LOCALAPPDATA%\\layerforge\\cache\\datasets`` on Windows.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

CACHE_ENV = "LAYERFORGE_DATA_CACHE"
_app_root: Path | None = None


def set_cache_root(folder) -> None:
    """The folder the app's platform layer chose (e.g. QStandardPaths' CacheLocation); datasets
    go in its ``datasets`` subfolder. None returns to the platform default."""
    global _app_root
    _app_root = None if folder is None else Path(folder) / "datasets"


def platform_cache_root() -> Path:
    home = Path.home()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return (Path(base) if base else home / "AppData" / "Local") / "layerforge" / "cache" / "datasets"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "layerforge" / "datasets"
    base = os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base and Path(base).is_absolute() else home / ".cache"
    return root / "layerforge" / "datasets"


def cache_root() -> Path:
    """The folder that holds every downloaded dataset (not created here)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    return _app_root if _app_root is not None else platform_cache_root()


def dataset_folder(name: str) -> Path:
    return cache_root() / name
