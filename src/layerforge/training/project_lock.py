"""One writer per project: a lock file beside it, so two runs never overwrite each other's work.

``.name.lfproj.lock`` is created with O_CREAT|O_EXCL and holds who made it (pid, host, command,
start time). Where ``fcntl`` exists the holder also keeps an ``flock`` on it for as long as it runs;
the kernel drops that lock when the process dies, however it dies, so a lock file left by a crash
is recognised as stale and taken over instead of blocking the project forever. Without ``fcntl``
(Windows) the file alone is the lock, and the message says which file to delete if its holder is gone.

Invariant: the holder is the process with the flock on the file that is at the lock's path *now*
(checked after locking, since a releasing holder unlinks it first and a late-comer may have opened
the old one).
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

from .errors import ProjectError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

_held: dict[str, "ProjectLock"] = {}   # locks this process holds, by lock-file path (re-entrant)
_held_guard = threading.Lock()


class ProjectLocked(ProjectError):
    """Another process is writing the project; the message says who and since when."""


def lock_path_for(project_path) -> Path:
    path = Path(project_path)
    return path.with_name(f".{path.name}.lock")


class ProjectLock:
    """``with ProjectLock(path, "trained"):`` holds the project for this process; ``activity`` is what
    another process is told ("p.lfproj is being trained by layerforge ...").

    Re-entrant within a process (a save inside a training run that holds it). Raises ProjectLocked
    when another live process holds it.
    """

    def __init__(self, project_path, activity: str = "saved"):
        self.project_path = Path(project_path)
        self.path = lock_path_for(project_path)
        self.activity = activity
        self._descriptor: int | None = None
        self._outer: ProjectLock | None = None

    def __enter__(self) -> "ProjectLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        key = os.path.abspath(self.path)
        with _held_guard:
            outer = _held.get(key)
            if outer is not None:   # this process holds it already
                self._outer = outer
                return
            for _ in range(5):      # a few tries: the file can vanish or change between steps
                if self._try_acquire():
                    _held[key] = self
                    return
            raise ProjectLocked(_held_message(self.project_path, _read_holder(self.path), self.path))

    def release(self) -> None:
        """Never raises: it runs on every way out, errors and Ctrl+C included."""
        if self._outer is not None:
            self._outer = None
            return
        if self._descriptor is None:
            return
        with _held_guard:
            _held.pop(os.path.abspath(self.path), None)
            try:
                os.unlink(self.path)     # while still locked, so nobody takes over a file on its way out
            except OSError:
                pass
            try:
                os.close(self._descriptor)   # drops the flock
            except OSError:
                pass
            self._descriptor = None

    def _try_acquire(self) -> bool:
        try:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return self._try_take_over()
        except OSError as error:
            raise ProjectError(f"cannot create the lock file {self.path.name} beside the project "
                               f"({error.strerror or error}); is the folder writable?", self.project_path) from None
        if not _flock(descriptor):   # someone took it over between create and lock: theirs now
            os.close(descriptor)
            return False
        self._own(descriptor)
        return True

    def _try_take_over(self) -> bool:
        if fcntl is None:
            return False        # without flock, a lock file cannot be told stale: it is held
        try:
            descriptor = os.open(self.path, os.O_RDWR)
        except FileNotFoundError:
            return False        # released meanwhile: try creating it again
        except OSError as error:
            raise ProjectError(f"cannot open the lock file {self.path} ({error.strerror or error})",
                               self.project_path) from None
        if not _flock(descriptor):
            os.close(descriptor)
            raise ProjectLocked(_held_message(self.project_path, _read_holder(self.path), self.path))
        try:
            same = os.fstat(descriptor).st_ino == os.stat(self.path).st_ino
        except OSError:
            same = False
        if not same:             # unlinked by its releasing holder after we opened it
            os.close(descriptor)
            return False
        self._own(descriptor)    # the holder died without releasing: stale, now ours
        return True

    def _own(self, descriptor: int) -> None:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "program": "layerforge",
                "activity": self.activity,
                "started": time.time()}
        try:
            os.ftruncate(descriptor, 0)
            os.write(descriptor, json.dumps(info).encode("utf-8"))
        except OSError:
            pass                 # the lock holds without its note; the message would just say less
        self._descriptor = descriptor


def _flock(descriptor: int) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return True              # a file system without flock (some network mounts): O_EXCL alone
    return True


def held_by_other(project_path) -> dict | None:
    """Who holds ``project_path``'s lock, if another live process does (else None); locks nothing."""
    path = lock_path_for(project_path)
    with _held_guard:
        if os.path.abspath(path) in _held:
            return None
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        if fcntl is not None:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read_holder(path)
            except OSError:
                return None
            return None          # we could lock it: nobody holds it (a stale file)
        return _read_holder(path)
    finally:
        os.close(descriptor)


def _read_holder(path: Path) -> dict:
    try:
        with open(path, "rb") as stream:
            info = json.loads(stream.read(4096).decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _held_message(project_path: Path, holder: dict, lock_file: Path) -> str:
    activity = holder.get("activity") if isinstance(holder.get("activity"), str) else "written"
    program = holder.get("program") if isinstance(holder.get("program"), str) else "another Layerforge"
    details = []
    if isinstance(holder.get("pid"), int):
        details.append(f"pid {holder['pid']}" + (f" on {holder['host']}" if isinstance(holder.get("host"), str) else ""))
    if isinstance(holder.get("started"), (int, float)):
        try:
            details.append("since " + time.strftime("%H:%M", time.localtime(holder["started"])))
        except (OverflowError, OSError, ValueError):
            pass
    who = program + (f" ({', '.join(details)})" if details else "")
    hint = "" if fcntl is not None else f"; if it is no longer running, delete {lock_file}"
    return f"{project_path.name} is being {activity} by {who}; wait for it or stop it{hint}"
