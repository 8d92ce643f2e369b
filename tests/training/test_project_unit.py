"""A project and its weights are one unit: a save killed at any point, a full disk, a read-only folder,
a second writer, a hostile file; each leaves the user with a project that opens as it was saved."""
import errno
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from layerforge.data import DataSource
from layerforge.graph import get_template
from layerforge.training import ProjectError, Trainer, TrainingSettings
from layerforge.training.examples import spec_for_dataset
from layerforge.training.project import Project, load_project, save_project
from layerforge.training.project_lock import ProjectLock, ProjectLocked, lock_path_for

UNIT = ["run.lfproj", "run.weights.safetensors"]


@pytest.fixture(scope="module")
def trained(spiral):
    template = get_template("mlp_classifier")
    settings = TrainingSettings.from_template(template, epochs=1, device="cpu", snapshot_every=0)
    trainer = Trainer(spec_for_dataset(template, spiral), spiral, settings)
    trainer.run()
    return trainer.spec, settings, {k: v.numpy().copy() for k, v in trainer.state_dict().items()}


def _version(trained, label: str, offset: float):
    spec, settings, weights = trained
    project = Project("run", spec, DataSource.builtin("spiral").to_dict(), settings, description=label)
    return project, {k: v + offset for k, v in weights.items()}


def _save(trained, label: str, path):
    project, weights = _version(trained, label, {"old": 0.0, "new": 1.0}[label])
    return save_project(project, path, weights)


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def _opened(path, trained):
    """(the project's description, the offset its weights were saved with, the offset of the weights
    it opened with, its warnings): the two offsets are equal when project and weights belong together."""
    project, weights = load_project(path)
    assert weights is not None, project.warnings
    offset = float(np.mean(weights["fc1.weight"].numpy() - trained[2]["fc1.weight"]))
    return project.description, {"old": 0.0, "new": 1.0}[project.description], round(offset, 3), project.warnings


class Killed(BaseException):
    """The process dies here: nothing after this line runs, not even cleanup."""


def _kill_at(monkeypatch, k: int):
    """The k-th rename or removal of a file never happens, nor anything after it."""
    real_replace, real_unlink = os.replace, os.unlink
    state = {"calls": 0, "dead": False}

    def gate(real):
        def call(*args, **kwargs):
            if state["dead"]:
                raise OSError(errno.EIO, "the process is dead")   # rollback code must not undo the kill
            state["calls"] += 1
            if state["calls"] == k:
                state["dead"] = True
                raise Killed()
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(os, "replace", gate(real_replace))
    monkeypatch.setattr(os, "unlink", gate(real_unlink))
    return state


# The calls of a save that replaces weights: 1 engine temp -> staged, 2 weights -> .previous,
# 3 staged -> weights, 4 project temp -> project (the commit), 5 remove .previous.
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_a_save_killed_at_any_rename_opens_as_one_consistent_save(tmp_path, trained, monkeypatch, k):
    path = tmp_path / "run.lfproj"
    _save(trained, "old", path)
    state = _kill_at(monkeypatch, k)
    with pytest.raises(Killed):
        _save(trained, "new", path)
    monkeypatch.undo()
    assert state["calls"] == k
    label, expected, offset, warnings = _opened(path, trained)
    assert offset == expected                        # the weights are the ones saved with that project
    assert label == ("old" if k <= 4 else "new")     # the project file's rename is the commit
    if k in (3, 4):
        assert "interrupted" in warnings[0] and "save it to tidy up" in warnings[0]
    # The next save tidies up everything the killed one left behind.
    _save(trained, "new", path)
    assert _names(tmp_path) == UNIT
    assert _opened(path, trained)[:3] == ("new", 1.0, 1.0)


def test_weights_of_another_save_are_not_mixed_in_and_not_deleted_by_opening(tmp_path, trained):
    path = tmp_path / "run.lfproj"
    _save(trained, "old", path)
    other = tmp_path / "other.lfproj"
    _save(trained, "new", other)
    os.replace(tmp_path / "other.weights.safetensors", tmp_path / "run.weights.safetensors")
    before = (tmp_path / "run.weights.safetensors").read_bytes()
    project, weights = load_project(path)
    assert weights is None
    (note,) = project.warnings
    assert "run.weights.safetensors beside run.lfproj is not the one this project was saved with" in note
    assert "checksum differs" in note and "starts untrained" in note and "copy it elsewhere" in note
    assert (tmp_path / "run.weights.safetensors").read_bytes() == before


def test_a_project_saved_before_checksums_still_opens_with_its_weights(tmp_path, trained):
    path = tmp_path / "run.lfproj"
    _save(trained, "old", path)
    document = json.loads(path.read_text())
    assert len(document.pop("weights_sha256")) == 64 and document.pop("weights_size") > 0
    path.write_text(json.dumps(document))
    assert _opened(path, trained)[:3] == ("old", 0.0, 0.0)


@pytest.mark.parametrize("value, words", [("abc", "64 hexadecimal digits"), (7, "64 hexadecimal digits")])
def test_a_malformed_checksum_is_named(tmp_path, trained, value, words):
    path = tmp_path / "run.lfproj"
    _save(trained, "old", path)
    document = json.loads(path.read_text())
    document["weights_sha256"] = value
    path.write_text(json.dumps(document))
    with pytest.raises(ProjectError, match=words):
        load_project(path)


def test_leftover_temporary_files_of_a_crash_are_removed_by_the_next_save(tmp_path, trained):
    leftovers = [".run.lfproj.a1b2c3.tmp", ".run.weights.safetensors.q9w8e7.tmp",
                 ".run.weights.safetensors.0badf00d.staged.safetensors",
                 "..run.weights.safetensors.0badf00d.staged.safetensors.x1y2.tmp", ".run.weights.npz.zz.tmp"]
    kept = ["notes.tmp", ".other.lfproj.a1b2c3.tmp", "run.lfproj.bak"]   # not ours to remove
    for name in leftovers + kept:
        (tmp_path / name).write_bytes(b"junk")
    _save(trained, "old", tmp_path / "run.lfproj")
    assert _names(tmp_path) == sorted(UNIT + kept)


def _one_line(error: BaseException, *words):
    message = str(error)
    assert "\n" not in message and "Traceback" not in message
    for word in words:
        assert word in message, message
    return message


def test_a_full_disk_while_saving_is_one_message_and_keeps_the_old_save(tmp_path, trained, monkeypatch):
    import safetensors
    import safetensors.numpy

    path = tmp_path / "run.lfproj"
    _save(trained, "old", path)
    before = {name: (tmp_path / name).read_bytes() for name in UNIT}

    def disk_full(*args, **kwargs):
        raise safetensors.SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(safetensors.numpy, "save", disk_full)
    with pytest.raises(ProjectError) as caught:
        _save(trained, "new", path)
    _one_line(caught.value, str(tmp_path / "run.weights.safetensors"), "cannot write the trained weights",
              "the disk is full")
    monkeypatch.undo()

    real_fsync, calls = os.fsync, []

    def project_fsync_fails(descriptor):     # the weights' fsync passes; the project file's finds the disk full
        calls.append(descriptor)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", project_fsync_fails)
    with pytest.raises(ProjectError) as caught:
        _save(trained, "new", path)
    _one_line(caught.value, str(path), "cannot write the project", "the disk is full")
    monkeypatch.undo()
    assert {name: (tmp_path / name).read_bytes() for name in UNIT} == before
    assert _names(tmp_path) == UNIT


def test_a_read_only_target_is_one_message_even_when_cleanup_fails_too(tmp_path, trained, monkeypatch):
    # Root writes anywhere, so the read-only folder is simulated: every rename and removal is refused.
    path = tmp_path / "run.lfproj"
    _save(trained, "old", path)

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(args[0]))

    monkeypatch.setattr(os, "replace", refused)
    monkeypatch.setattr(os, "unlink", refused)
    with pytest.raises(ProjectError) as caught:
        _save(trained, "new", path)
    _one_line(caught.value, "Permission denied")
    monkeypatch.undo()
    assert _opened(path, trained)[:3] == ("old", 0.0, 0.0)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_folder_is_one_message(tmp_path, trained):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(ProjectError) as caught:
            _save(trained, "old", folder / "run.lfproj")
        _one_line(caught.value, "ro")
    finally:
        folder.chmod(0o755)


def test_json_nested_100000_deep_is_a_damaged_file(tmp_path):
    path = tmp_path / "deep.lfproj"
    path.write_text("[" * 100_000)
    with pytest.raises(ProjectError) as caught:
        load_project(path)
    _one_line(caught.value, str(path), "nested too deeply")
    path.write_text('{"format": "layerforge-project", "version": 1, "name": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ProjectError, match="nested too deeply"):
        load_project(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_projects_and_weights_must_be_regular_files(tmp_path, trained, monkeypatch):
    fifo = tmp_path / "pipe.lfproj"
    os.mkfifo(fifo)
    with pytest.raises(ProjectError) as caught:     # reading it would block forever
        load_project(fifo)
    _one_line(caught.value, str(fifo), "named pipe")
    with pytest.raises(ProjectError, match="a folder"):
        load_project(tmp_path)
    if os.path.exists("/dev/zero"):
        with pytest.raises(ProjectError, match="character device"):
            load_project("/dev/zero")
    path = tmp_path / "run.lfproj"
    _save(trained, "old", path)
    import layerforge.training.project as project_module
    monkeypatch.setattr(project_module, "MAX_PROJECT_BYTES", 100)
    with pytest.raises(ProjectError, match="more than the 100 bytes"):
        load_project(path)
    monkeypatch.undo()
    weights = tmp_path / "run.weights.safetensors"
    weights.unlink()
    os.mkfifo(weights)
    with pytest.raises(ProjectError) as caught:     # hashing it would block forever
        load_project(path)
    _one_line(caught.value, str(weights), "named pipe")


# -- one writer at a time --------------------------------------------------------------------------

HOLDER = textwrap.dedent("""
    import sys, time
    from layerforge.training.project_lock import ProjectLock
    with ProjectLock(sys.argv[1], "trained"):
        print("held", flush=True)
        sys.stdin.readline()
""")


def test_a_project_held_by_another_process_is_refused_with_who_holds_it(tmp_path, trained):
    path = tmp_path / "run.lfproj"
    _save(trained, "old", path)
    before = path.read_bytes()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ProjectLocked) as caught:
            _save(trained, "new", path)
        message = _one_line(caught.value, "run.lfproj is being trained by layerforge",
                            f"pid {holder.pid} on ", "since ", "wait for it or stop it")
        assert message.startswith("run.lfproj")
        assert path.read_bytes() == before
    finally:
        holder.communicate("\n", timeout=30)
    assert holder.returncode == 0 and not lock_path_for(path).exists()   # released on the way out
    _save(trained, "new", path)
    assert _opened(path, trained)[:2] == ("new", 1.0)


@pytest.mark.skipif(os.name != "posix", reason="stale locks are recognised through flock")
def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path, trained):
    path = tmp_path / "run.lfproj"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait(timeout=30)
    assert lock_path_for(path).exists()                 # it died without releasing
    _save(trained, "new", path)
    assert _names(tmp_path) == UNIT


def test_the_lock_is_reentrant_in_one_process_and_released_on_errors(tmp_path, trained):
    path = tmp_path / "run.lfproj"
    with pytest.raises(RuntimeError):
        with ProjectLock(path, "trained"):
            assert lock_path_for(path).exists()
            _save(trained, "new", path)
            assert lock_path_for(path).exists()       # the inner save did not release the outer hold
            raise RuntimeError("the run failed")
    assert _names(tmp_path) == UNIT
