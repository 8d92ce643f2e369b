"""Writing a project and its weights as one unit, and reading the weights back only if they belong.

A save writes the weights to a staged file and the project to a temporary one, then renames:

    1. name.weights.safetensors -> .name.weights.safetensors.<token>.previous   (if there is one)
    2. staged weights           -> name.weights.safetensors
    3. temporary project        -> name.lfproj                                   (the commit)
    4. the .previous copy is removed.

The project records its weights' sha256 and size. A process killed between 1 and 3 leaves the old
project beside a missing or newer weights file; the old project's checksum then matches the
``.previous`` copy, which is used instead, so a project always opens with the weights it was saved
with. Temporary files a crash left behind are removed by the next save (under the project's lock,
so never while another save is writing them).
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from layerforge import atomic, engine
from layerforge.data.files import check_regular_file

from .errors import ProjectError

WEIGHTS_SUFFIXES = (".safetensors", ".npz")
_CHUNK = 1 << 20


@dataclass
class StagedWeights:
    temp: Path          # written and fsynced, not yet in place
    target: Path        # where step 2 puts it
    sha256: str
    size: int


def weights_record(staged: StagedWeights) -> dict:
    return {"weights": staged.target.name, "weights_sha256": staged.sha256, "weights_size": staged.size}


# -- saving --------------------------------------------------------------------------------------

def stage_weights(state, target: Path) -> StagedWeights:
    """Write ``state`` beside ``target`` under a temporary name; ProjectError if it cannot be."""
    tensors = {key: _as_cpu_tensor(value, key) for key, value in dict(state).items()}
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.staged{target.suffix}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        engine.save(tensors, temp)   # itself atomic: a failed write leaves nothing
        sha256, size = file_digest(temp)
    except (OSError, ValueError) as error:   # engine.SerializationError is a ValueError
        discard(temp)
        raise ProjectError(f"cannot write the trained weights ({_reason(error)})", target) from None
    except BaseException:
        discard(temp)
        raise
    return StagedWeights(temp, target, sha256, size)


def commit(path: Path, content: bytes, staged: StagedWeights | None) -> None:
    """Steps 1-4 of the module docstring. On failure everything is as before, and ProjectError says why."""
    temp_project = write_temp(path, content)
    previous = None
    try:
        if staged is not None:
            if os.path.lexists(staged.target):
                previous = staged.target.with_name(f".{staged.target.name}.{secrets.token_hex(4)}.previous")
                os.replace(staged.target, previous)
            os.replace(staged.temp, staged.target)
        os.replace(temp_project, path)
    except BaseException as error:
        if previous is not None:     # put the old weights back where the old project expects them
            _quietly(os.replace, previous, staged.target)
        discard(temp_project)
        if staged is not None:
            discard(staged.temp)
        if isinstance(error, OSError):
            raise ProjectError(f"cannot write the project ({_reason(error)})", path) from None
        raise
    atomic.sync_folder(path.parent)
    if staged is not None:
        for stale in _matching(staged.target.parent, f".{staged.target.name}.", ".previous"):
            discard(stale)


def write_temp(path: Path, content: bytes) -> Path:
    """``content`` in a fsynced temporary file beside ``path`` (atomic.write_temp); ProjectError if it cannot be."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return atomic.write_temp(path, content)
    except OSError as error:
        raise ProjectError(f"cannot write the project ({_reason(error)})", path) from None


def remove_leftovers(path: Path, weights_targets) -> list[Path]:
    """Delete the temporary files of earlier saves of ``path`` that a crash left behind."""
    removed = []
    folder = path.parent
    patterns = [(f".{path.name}.", ".tmp")]
    for target in weights_targets:
        patterns += [(f".{target.name}.", ".tmp"), (f"..{target.name}.", ".tmp"),
                     (f".{target.name}.", f".staged{target.suffix}")]
    for prefix, suffix in patterns:
        for leftover in _matching(folder, prefix, suffix):
            if discard(leftover):
                removed.append(leftover)
    return removed


# -- reading -------------------------------------------------------------------------------------

def find_weights(file: Path, sha256: str | None, size, path: Path) -> tuple[Path | None, str | None]:
    """(the weights file to load or None, a note for the user or None).

    Without a recorded checksum (projects saved before it existed) the file beside the project is
    used as it is. With one, only a file whose checksum matches is used: the file beside the
    project, else the ``.previous`` copy an interrupted save left.
    """
    present = os.path.lexists(file)
    if present:
        check_regular_file(file, what="weights file", max_bytes=None, error=error_for_path(file))
    if sha256 is None:
        return (file if present else None), (None if present else
                                             f"the trained weights {file} are missing; the model starts untrained")
    if present and _matches(file, sha256, size):
        return file, None
    for previous in _matching(file.parent, f".{file.name}.", ".previous"):
        if _is_regular(previous) and _matches(previous, sha256, size):
            return previous, (f"the last save of {path.name} was interrupted before it finished; it opened as "
                              f"it was saved before, with its own weights ({previous.name}); save it to tidy up")
    if not present:
        return None, f"the trained weights {file} are missing; the model starts untrained"
    return None, (f"the weights file {file.name} beside {path.name} is not the one this project was saved "
                  f"with (its checksum differs: it was written by a later or another save, probably one "
                  f"interrupted while saving); the model starts untrained so the two are not mixed. "
                  f"{file.name} is left as it is until this project is saved again; copy it elsewhere "
                  f"to keep it")


def file_digest(file: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(file, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _matches(file: Path, sha256: str, size) -> bool:
    try:
        if isinstance(size, int) and os.stat(file).st_size != size:
            return False         # cheap: no need to read a file of the wrong size
        return file_digest(file)[0] == sha256
    except OSError:
        return False


# -- small helpers -------------------------------------------------------------------------------

discard = atomic.discard


def _quietly(function, *args) -> None:
    try:
        function(*args)
    except OSError:
        pass


def _matching(folder: Path, prefix: str, suffix: str) -> list[Path]:
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [folder / name for name in names if name.startswith(prefix) and name.endswith(suffix)]


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def error_for_path(path: Path):
    def make(message: str) -> ProjectError:
        error = ProjectError(message)
        error.path = path
        return error
    return make


def _reason(error: BaseException) -> str:
    text = getattr(error, "strerror", None) or str(error)
    if getattr(error, "errno", None) == errno.ENOSPC or "No space left" in text or "disk is full" in text:
        return "the disk is full; free some space and save again"
    # engine.save names its temporary file; the caller names the real one.
    return re.sub(r"^cannot save to '[^']*': ", "", text)


def _as_cpu_tensor(value, key: str):
    if isinstance(value, engine.Tensor):
        return value.detach().cpu()
    if isinstance(value, np.ndarray):
        return engine.from_numpy(np.array(value, order="C"))   # not ascontiguousarray: it makes a 0-d array 1-d
    raise ProjectError(f"weight {key!r} is a {type(value).__name__}, not a tensor or numpy array")
