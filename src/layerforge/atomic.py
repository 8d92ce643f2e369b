"""The one atomic writer: every file Layerforge writes for a person goes to a temporary name beside
its target and is renamed into place, so a crash, a full disk or a failed write never leaves half a
file where a good one was.

The project and its weights (``training/project_io.py``), autosaves, exports, and the predictions the
CLI and the window save all write through here. It raises plain ``OSError``; each caller turns that
into its own error, which names the file the person chose rather than the temporary one. It imports
nothing of Layerforge, so every layer may use it (the engine, which imports nothing of Layerforge at
all, keeps its own in ``engine/serialization.py``).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _current_umask()   # read once, at import: reading it means setting it, which races with threads


def discard(path) -> bool:
    """Remove a file; never raises (it runs in error handlers and cleanups). True if removed."""
    try:
        os.unlink(path)
    except OSError:
        return False
    return True


def sync_folder(folder) -> None:
    """Make renames in ``folder`` durable (POSIX); best effort, since some systems cannot open a folder."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def mode_for(path: Path) -> int:
    """The permission bits ``path`` has, or those a plain ``open()`` would give a new file."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~UMASK


def write_with(path, write: Callable[[Path], None], *, prefix: str | None = None, suffix: str = ".tmp") -> Path:
    """Call ``write(temporary path)`` beside ``path``, then rename the result into place.

    The temporary file is hidden (``prefix``, by default ``.<name>.``) and ends in ``suffix`` (writers
    that add an extension of their own need the target's). It gets the mode ``path`` has, or would
    get: ``mkstemp`` makes files private. Any failure removes it and leaves ``path`` as it was.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}." if prefix is None else prefix, suffix=suffix,
                                         dir=path.parent)
    os.close(handle)
    temporary = Path(temporary)
    try:
        write(temporary)
        os.chmod(temporary, mode_for(path))
        os.replace(temporary, path)
    except BaseException:
        discard(temporary)
        raise
    return path


def write_temp(path, content: bytes) -> Path:
    """``content`` in a fsynced temporary file beside ``path``, with the mode ``path`` has (or would get),
    not yet renamed: for saves that must put more than one file in place together (project_io)."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode_for(path))
    except BaseException:
        discard(temporary)
        raise
    return Path(temporary)


def write_bytes(path, content: bytes) -> Path:
    """Put ``content`` at ``path`` in one rename, creating missing folders; the rename is made durable."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = write_temp(path, content)
    try:
        os.replace(temporary, path)
    except BaseException:
        discard(temporary)
        raise
    sync_folder(path.parent)
    return path
