"""The one atomic writer: a failed write leaves the file that was there, and nothing else."""
import os
import stat

import pytest

from layerforge import atomic


def _folder_names(folder):
    return sorted(path.name for path in folder.iterdir())


def test_write_bytes_replaces_the_file_and_keeps_its_mode(tmp_path):
    target = tmp_path / "notes.csv"
    target.write_text("old")
    os.chmod(target, 0o640)
    atomic.write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert _folder_names(tmp_path) == ["notes.csv"]


def test_a_new_file_gets_the_mode_open_would_give_it_not_mkstemps_private_one(tmp_path):
    target = atomic.write_bytes(tmp_path / "deeper" / "new.csv", b"x")
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~atomic.UMASK


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"good")

    def half_then_fail(temporary):
        temporary.write_bytes(b"ha")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        atomic.write_with(target, half_then_fail, suffix=".tmp.onnx")
    assert target.read_bytes() == b"good"
    assert _folder_names(tmp_path) == ["model.onnx"]


def test_an_interrupted_write_is_cleaned_up_too(tmp_path):
    target = tmp_path / "p.csv"

    def interrupted(temporary):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic.write_with(target, interrupted)
    assert _folder_names(tmp_path) == []


def test_a_failed_rename_removes_the_temporary(tmp_path, monkeypatch):
    target = tmp_path / "p.csv"

    def refuse(*args):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="Read-only"):
        atomic.write_bytes(target, b"data")
    monkeypatch.undo()
    assert _folder_names(tmp_path) == []
