"""Opening the files a user names, as hostile input: regular files only, sizes checked first.

A FIFO would block a reader forever, ``/dev/zero`` or ``/dev/urandom`` never end, a folder gives a
confusing ``IsADirectoryError``: each is refused here with a message that says what the path is
and what is expected, before a byte is read or a buffer allocated. Every reader of user files
(datasets, projects, weights, inputs to predict) goes through :func:`check_regular_file`.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from .dataset import DataError

# What a reader accepts unless it says otherwise: far above any dataset this app trains on in
# memory, far below what would make the machine swap.
DEFAULT_MAX_BYTES = 4 * 1024 ** 3


def describe_kind(mode: int) -> str:
    """'a folder', 'a named pipe (FIFO)', ... for a ``st_mode`` that is not a regular file."""
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def check_regular_file(path, *, what: str = "file", max_bytes: int | None = DEFAULT_MAX_BYTES,
                       error: type[Exception] = DataError) -> int:
    """The size in bytes of ``path``, a regular file (symlinks followed); ``error`` otherwise.

    Uses ``os.stat``, which never opens the file, so a FIFO cannot block here.
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except OSError as failure:
        raise error(f"{path}: cannot read the {what} ({failure.strerror or failure})") from None
    if not stat.S_ISREG(info.st_mode):
        article = "an" if what[:1].lower() in "aeiou" else "a"
        raise error(f"{path}: is {describe_kind(info.st_mode)}, not {article} {what}; choose a "
                    "regular file") from None
    if max_bytes is not None and info.st_size > max_bytes:
        raise error(f"{path}: the {what} is {_size_text(info.st_size)}, more than the "
                    f"{_size_text(max_bytes)} Layerforge reads") from None
    return info.st_size


def open_regular_file(path, *, what: str = "file", error: type[Exception] = DataError):
    """A binary stream of ``path``, which must still be a regular file once open (the caller has
    checked it with :func:`check_regular_file`). Opened without blocking: if the path was swapped
    for a FIFO since the check, the open returns and the type check refuses it."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as failure:
        raise error(f"{path}: cannot read the {what} ({failure.strerror or failure})") from None
    stream = os.fdopen(descriptor, "rb")
    if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
        stream.close()
        raise error(f"{path}: is not a regular {what}")
    return stream


def read_regular_file(path, *, what: str = "file", max_bytes: int | None = DEFAULT_MAX_BYTES,
                      error: type[Exception] = DataError) -> bytes:
    """The bytes of ``path`` after :func:`check_regular_file`; never reads past ``max_bytes``."""
    size = check_regular_file(path, what=what, max_bytes=max_bytes, error=error)
    try:
        with open_regular_file(path, what=what, error=error) as stream:
            # read(n) allocates n bytes before reading: ask for the size the stat gave, not the cap
            # (4 GiB by default), and one byte more to see a file that grew since.
            limit = size if max_bytes is None else min(size, max_bytes)
            data = stream.read(limit + 1)
            if max_bytes is not None and len(data) > limit and limit < max_bytes:
                data += stream.read(max_bytes - limit)
    except OSError as failure:
        raise error(f"{path}: cannot read the {what} ({failure.strerror or failure})") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise error(f"{path}: the {what} grew past {_size_text(max_bytes)} while it was read")
    return data


def _size_text(size: int) -> str:
    for unit, scale in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"
