"""Downloading a dataset's files into the cache: mirrors in turn, resume after an interruption,
checksum before anything is kept, cancel between chunks.

Each file streams into ``NAME.part`` beside its final place. A dropped connection leaves the part
file; the next try asks the server for the rest with an HTTP Range request and appends it. A
server that ignores Range (answers 200) or refuses it (416) gets a clean restart. When the file is
complete its sha256 (or md5, where only that was published) is checked; a wrong one deletes it and
the next mirror is tried, so nothing unverified is ever left under the final name, which is
reached by an atomic rename. urllib only: no new dependency.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .dataset import DataError

CHUNK = 64 * 1024
POLL_S = 0.25            # how often a blocked read wakes to look at the cancel flag
MIRROR_ENV = "LAYERFORGE_DATASET_MIRROR"
RETRIES = 3              # tries per mirror while each try gets further than the last
_USER_AGENT = "Layerforge dataset downloader (urllib)"


class DownloadError(DataError):
    """A download that did not end with a verified file; the message says why and what was tried."""


class DownloadCancelled(DownloadError):
    """Cancelled by the person (the partial file is kept, so the next try resumes)."""


class ChecksumError(DownloadError):
    """The bytes received are not the published file."""


@dataclass(frozen=True)
class RemoteFile:
    """One published file: its name on the mirrors, its size and checksum as published."""

    name: str
    size: int | None
    sha256: str | None = None
    md5: str | None = None          # only where no sha256 was published (checked all the same)

    @property
    def max_bytes(self) -> int:
        # Refuse a response past the published size (plus slack for an unknown one) before writing.
        return self.size if self.size is not None else 512 * 1024 ** 2

    def checksum_text(self) -> str:
        return f"sha256 {self.sha256}" if self.sha256 else f"md5 {self.md5}"


@dataclass(frozen=True)
class Progress:
    """Where a download stands: bytes of this file and of the whole dataset, and from where."""

    dataset: str
    file: str
    file_done: int
    file_total: int | None
    done: int
    total: int | None
    url: str
    note: str = ""           # "resuming at 4.2 MB", "verifying", "cached"


ProgressCallback = Callable[[Progress], None]


def mirror_overrides(extra=None) -> list[str]:
    """Mirrors a person named (``--mirror``, then ``LAYERFORGE_DATASET_MIRROR``, comma-separated),
    tried before the built-in ones."""
    found = []
    for value in ([extra] if isinstance(extra, str) else list(extra or [])) + [os.environ.get(MIRROR_ENV, "")]:
        for item in (value or "").replace(";", ",").split(","):
            item = item.strip()
            if item and item not in found:
                found.append(item)
    return found


def file_url(mirror: str, dataset: str, filename: str) -> str:
    """A mirror is a folder URL holding the files; ``{name}`` in it stands for the dataset's name,
    so one lab server can hold several datasets (``http://lab/datasets/{name}/``)."""
    base = mirror.replace("{name}", dataset)
    return base.rstrip("/") + "/" + filename


def checksum_of(path: Path, remote: RemoteFile, cancel: threading.Event | None = None) -> str:
    digest = hashlib.sha256() if remote.sha256 else hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as stream:
        while block := stream.read(1024 * 1024):
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled(f"cancelled while checking {remote.name}")
            digest.update(block)
    return digest.hexdigest()


def matches(path: Path, remote: RemoteFile, cancel=None) -> bool:
    expected = (remote.sha256 or remote.md5 or "").lower()
    return bool(expected) and checksum_of(path, remote, cancel) == expected


def make_folder(folder: Path) -> None:
    """Create the dataset's cache folder, or say which folder could not be made and what to do."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DownloadError(f"cannot create the dataset cache folder {folder} ({error.strerror or error}); "
                            f"set {CACHE_HINT} to a folder you can write to") from None


CACHE_HINT = "LAYERFORGE_DATA_CACHE"


def _size_text(size) -> str:
    if size is None:
        return "unknown size"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


class _Transfer:
    """One file from one URL into ``part``, resuming what is there."""

    def __init__(self, remote: RemoteFile, url: str, part: Path, report, cancel, timeout: float):
        self.remote, self.url, self.part = remote, url, part
        self.report, self.cancel, self.timeout = report, cancel, timeout

    def run(self) -> None:
        offset = self.part.stat().st_size if self.part.exists() else 0
        if self.remote.size is not None and offset >= self.remote.size:
            offset = 0   # complete but unverified earlier, or too long: fetch it again whole
            self.part.unlink(missing_ok=True)
        headers = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        request = urllib.request.Request(self.url, headers=headers)
        try:
            response = urllib.request.urlopen(request, timeout=min(self.timeout, 30.0))
        except urllib.error.HTTPError as error:
            if error.code == 416 and offset:   # the server cannot give the rest: start over
                self.part.unlink(missing_ok=True)
                return self.run()
            raise
        with response:
            if offset and response.status == 206 and _range_start(response) == offset:
                mode = "ab"
                self.report(offset, f"resuming at {_size_text(offset)}")
            else:   # 200: the server sends the whole file (it ignores Range), start clean
                mode, offset = "wb", 0
            length = response.headers.get("Content-Length")
            length = int(length) if length and length.isdigit() else None
            total = offset + length if length is not None else None
            if total is not None and total > self.remote.max_bytes:
                raise DownloadError(f"{self.url} is {_size_text(total)}; the published "
                                    f"{self.remote.name} is {_size_text(self.remote.size)}: not the same file")
            self._stream(response, mode, offset, length)

    def _stream(self, response, mode: str, offset: int, length: int | None) -> None:
        sock = _socket_of(response)
        if sock is not None:
            sock.settimeout(POLL_S)
        received, idle_since = 0, time.monotonic()
        with open(self.part, mode) as out:
            while length is None or received < length:
                if self.cancel is not None and self.cancel.is_set():
                    raise DownloadCancelled(f"download of {self.remote.name} cancelled")
                try:
                    block = response.read1(CHUNK)
                except (socket.timeout, TimeoutError):
                    if time.monotonic() - idle_since > self.timeout:
                        raise DownloadError(f"{self.url} stopped sending for {self.timeout:g} s") from None
                    continue
                if not block:
                    break
                idle_since = time.monotonic()
                received += len(block)
                if offset + received > self.remote.max_bytes:
                    raise DownloadError(f"{self.url} sends more than the {_size_text(self.remote.max_bytes)} "
                                        f"of the published {self.remote.name}")
                out.write(block)
                self.report(offset + received, "")
        if length is not None and received < length:
            raise http.client.IncompleteRead(b"", length - received)


def _socket_of(response):
    try:
        return response.fp.raw._sock
    except AttributeError:
        return None


def _range_start(response) -> int | None:
    value = response.headers.get("Content-Range", "")
    try:
        unit, rest = value.split(" ", 1)
        return int(rest.split("-", 1)[0]) if unit == "bytes" else None
    except ValueError:
        return None


def _why(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        reason = error.reason
        return str(getattr(reason, "strerror", None) or reason)
    if isinstance(error, http.client.IncompleteRead):
        return "the connection dropped before the end"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timed out"
    return str(error) or type(error).__name__


def fetch_file(dataset: str, title: str, remote: RemoteFile, mirrors: list[str], folder: Path, *,
               progress: Callable[[int, str, str], None] | None = None,
               cancel: threading.Event | None = None, timeout: float = 30.0) -> Path:
    """``folder/remote.name``, downloaded and verified unless it is there already."""
    final = folder / remote.name
    if final.is_file() and (remote.size is None or final.stat().st_size == remote.size):
        return final
    make_folder(folder)
    part = folder / (remote.name + ".part")
    tried: list[str] = []
    bad_checksum = answered = False
    for mirror in mirrors:
        url = file_url(mirror, dataset, remote.name)

        def report(done: int, note: str, url=url) -> None:
            if progress is not None:
                progress(done, note, url)

        failure, clean_retry_left, attempts, resumed = None, True, 0, False
        while attempts < RETRIES:
            attempts += 1
            before = part.stat().st_size if part.exists() else 0
            resumed = resumed or before > 0
            try:
                _Transfer(remote, url, part, report, cancel, timeout).run()
            except DownloadCancelled:
                raise
            except (urllib.error.URLError, http.client.HTTPException, OSError, DownloadError) as error:
                failure = _why(error)
                answered = answered or not isinstance(error, urllib.error.URLError) or isinstance(
                    error, urllib.error.HTTPError)
                after = part.stat().st_size if part.exists() else 0
                if isinstance(error, urllib.error.HTTPError) or after <= before:
                    break   # no progress from this mirror: the next one
                continue    # it got further: resume from where it stopped
            report(part.stat().st_size, "verifying")
            if matches(part, remote, cancel):
                os.replace(part, final)
                return final
            part.unlink(missing_ok=True)
            bad_checksum = True
            failure = f"wrong checksum (expected {remote.checksum_text()})"
            if clean_retry_left and resumed:   # the part kept may not be of this file: once more, whole
                clean_retry_left, resumed = False, False
                continue
            break
        tried.append(f"{url}: {failure}")
    listing = "; ".join(tried) or "no mirror was given"
    if bad_checksum:
        raise ChecksumError(f"{title}: {remote.name} did not match its published checksum from any "
                            f"mirror, so nothing was kept (tried {listing})")
    lead = "could not download" if answered else "no network: could not reach any mirror for"
    raise DownloadError(f"{lead} {title} (tried {listing}). Check the connection, name a mirror "
                        "(--mirror URL or LAYERFORGE_DATASET_MIRROR), or import the files you already have")
