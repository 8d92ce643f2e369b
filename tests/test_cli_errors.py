"""The ``layerforge`` command's error paths: Ctrl+C, a full disk, a second writer, hostile files, names
that could mean a file or an example. Each ends with one line on stderr and an exit code, never a traceback."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from layerforge import cli
from layerforge.cli import main
from cli_support import run
from layerforge.training.project_lock import lock_path_for


@pytest.fixture()
def project(tmp_path, capsys):
    path = tmp_path / "p.lfproj"
    assert run(capsys, "new", "mlp_classifier", str(path), "--epochs", "2")[0] == 0
    return path


def _one_line_error(err: str, *words):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("layerforge: error: "), err
    for word in words:
        assert word in lines[0], err
    return lines[0]


# -- Ctrl+C ----------------------------------------------------------------------------------------

@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to a child process")
def test_ctrl_c_during_train_stops_says_nothing_was_saved_and_exits_130(tmp_path, capsys):
    path = tmp_path / "long.lfproj"
    assert run(capsys, "new", "mlp_classifier", str(path), "--epochs", "100000")[0] == 0
    before = path.read_bytes()
    child = subprocess.Popen([sys.executable, "-m", "layerforge", "train", str(path), "--device", "cpu"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().startswith("training on cpu")
        assert child.stdout.readline().startswith("epoch ")       # training is under way
        pressed = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
        elapsed = time.monotonic() - pressed
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, err
    assert "Traceback" not in err
    assert "layerforge: interrupted at epoch" in err and "nothing saved (" in err and "is unchanged" in err
    assert elapsed < 10, f"took {elapsed:.1f}s to stop"    # measured: under 0.1 s on the spiral
    assert path.read_bytes() == before and not lock_path_for(path).exists()


class _SlowToStop:
    """A trainer whose current batch takes long after stop() (a big model on a slow machine)."""

    epoch, step = 3, 17

    def __init__(self):
        self.stopped = threading.Event()

    def stop(self):
        self.stopped.set()

    def run(self):
        self.stopped.wait(30)
        time.sleep(30)


@pytest.mark.skipif(not hasattr(signal, "raise_signal"), reason="needs signal.raise_signal")
def test_a_second_ctrl_c_while_stopping_quits_at_once_without_a_traceback(capsys):
    def press_twice():
        time.sleep(0.3)
        signal.raise_signal(signal.SIGINT)
        time.sleep(0.3)
        signal.raise_signal(signal.SIGINT)

    presser = threading.Thread(target=press_twice)
    began = time.monotonic()
    presser.start()
    result = cli._run_interruptibly(_SlowToStop())
    presser.join()
    assert result is None and time.monotonic() - began < 10
    assert "Ctrl+C again to quit at once" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler   # put back as it was


def test_ctrl_c_outside_training_exits_130_without_a_traceback(project, capsys, monkeypatch):
    import layerforge.training.project as project_module

    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(project_module, "load_project", interrupted)
    code, _, err = run(capsys, "export", str(project), "--format", "npz")
    assert code == 130 and err.strip() == "layerforge: interrupted"


def test_out_of_memory_is_one_line(project, capsys, monkeypatch):
    import layerforge.training as training

    def huge(*args, **kwargs):
        return np.zeros((10 ** 7, 10 ** 7))   # numpy's own _ArrayMemoryError (a MemoryError)

    monkeypatch.setattr(training, "Trainer", huge)
    code, _, err = run(capsys, "train", str(project))
    assert code == 1
    _one_line_error(err, "out of memory: Unable to allocate", "smaller model")
    assert not lock_path_for(project).exists()


# -- saving --------------------------------------------------------------------------------------------

def test_a_full_disk_at_the_end_of_training_is_one_line_with_the_path(project, capsys, monkeypatch):
    import safetensors
    import safetensors.numpy

    before = project.read_bytes()

    def disk_full(*args, **kwargs):
        raise safetensors.SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(safetensors.numpy, "save", disk_full)
    code, _, err = run(capsys, "train", str(project), "--quiet")
    assert code == 1
    _one_line_error(err, str(project.with_name("p.weights.safetensors")), "the disk is full")
    assert project.read_bytes() == before
    assert sorted(p.name for p in project.parent.iterdir()) == ["p.lfproj"]


def test_predictions_to_a_read_only_folder_are_one_line_even_when_cleanup_fails(tmp_path, capsys, monkeypatch):
    # Root writes anywhere, so the read-only file system is simulated: writing and removing both fail
    # (the cleanup's own OSError used to escape from inside the error handler).
    import errno

    trained = tmp_path / "t.lfproj"
    assert run(capsys, "new", "mlp_classifier", str(trained), "--epochs", "1")[0] == 0
    assert run(capsys, "train", str(trained), "--quiet")[0] == 0
    points = tmp_path / "points.npy"
    np.save(points, np.zeros((3, 2), np.float32))

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "replace", read_only)
    monkeypatch.setattr(os, "unlink", read_only)
    code, _, err = run(capsys, "predict", str(trained), str(points), "--out", str(tmp_path / "p.csv"))
    assert code == 1
    _one_line_error(err, str(tmp_path / "p.csv"), "cannot write (Read-only file system)")
    monkeypatch.undo()
    code, _, err = run(capsys, "predict", str(trained), str(points), "--out", str(trained / "p.csv"))
    assert code == 1
    _one_line_error(err, f"{trained} is a file, not a folder")


def test_a_project_nested_100000_deep_is_one_line(tmp_path, capsys):
    deep = tmp_path / "deep.lfproj"
    deep.write_text("[" * 100_000)
    code, _, err = run(capsys, "train", str(deep))
    assert code == 1
    _one_line_error(err, str(deep), "nested too deeply")


HOLDER = textwrap.dedent("""
    import sys
    from layerforge.training.project_lock import ProjectLock
    with ProjectLock(sys.argv[1], "trained"):
        print("held", flush=True)
        sys.stdin.readline()
""")


def test_a_second_train_of_the_same_project_is_refused_with_who_holds_it(project, capsys):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(project)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        before = project.read_bytes()
        code, out, err = run(capsys, "train", str(project), "--quiet")
        assert code == 1 and out == ""
        line = _one_line_error(err, f"p.lfproj is being trained by layerforge (pid {holder.pid} on ",
                               ", since ", "); wait for it or stop it")
        assert project.read_bytes() == before
    finally:
        holder.communicate("\n", timeout=30)
    assert "Traceback" not in line
    code, _, err = run(capsys, "train", str(project), "--quiet")    # free again once the holder ends
    assert code == 0, err
    assert not lock_path_for(project).exists()


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_the_lock_is_released_when_training_fails(tmp_path, capsys):
    path = tmp_path / "sine.lfproj"
    run(capsys, "new", "mlp_regressor", str(path))
    document = json.loads(path.read_text())
    document["settings"].update(optimizer="sgd", optimizer_params={}, learning_rate=1e6)
    path.write_text(json.dumps(document))
    code, _, err = run(capsys, "train", str(path), "--epochs", "3")
    assert code == 1 and "training failed" in err
    assert not lock_path_for(path).exists()


# -- which project a name means ------------------------------------------------------------------

def test_a_trained_project_in_the_current_folder_wins_over_the_example_of_that_name(tmp_path, capsys, monkeypatch):
    import layerforge.workspace.project_export

    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "train", "spiral", "--epochs", "2", "--quiet")
    assert code == 0 and "layerforge: using the bundled example 'spiral'" in err
    exported = []

    def export_project(project, weights, fmt, out_path, project_dir=None):
        exported.append((weights is not None, project_dir, out_path))
        return [out_path]

    monkeypatch.setattr(layerforge.workspace.project_export, "export_project", export_project)
    code, out, err = run(capsys, "export", "spiral", "--format", "onnx")
    assert code == 0, err
    assert err.strip() == f"layerforge: using .{os.sep}spiral.lfproj"
    assert exported == [(True, Path("."), Path("spiral.onnx"))]   # ./spiral.lfproj, trained, beside it
    monkeypatch.chdir(tmp_path / "..")
    code, _, err = run(capsys, "export", "spiral", "--format", "onnx")    # no file here: the example
    assert code == 1 and "layerforge: using the bundled example 'spiral'" in err and "no trained weights" in err


def test_every_commands_project_argument_is_explained(capsys):
    for command in ("train", "export", "predict"):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0
        assert ".lfproj project file, or an example's name" in " ".join(out.split()), (command, out)
        assert "a file in the current folder wins over an example" in " ".join(out.split())


# -- what the data said ------------------------------------------------------------------------------

def test_train_prints_the_datasets_notes(project, capsys, monkeypatch):
    from layerforge.data import load_dataset
    from layerforge.training.project import Project

    def with_notes(self, base_dir=None):
        dataset = load_dataset("spiral")
        dataset.notes = ["skipped 2 file(s) that are not images: a.txt, b.md", "resized 3 image(s) to 8x8"]
        return dataset

    monkeypatch.setattr(Project, "load_dataset", with_notes)
    code, _, err = run(capsys, "train", str(project), "--quiet")
    assert code == 0
    assert "layerforge: note: skipped 2 file(s) that are not images: a.txt, b.md" in err.splitlines()
    assert "layerforge: note: resized 3 image(s) to 8x8" in err.splitlines()


# -- inputs that are not files -----------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_predict_refuses_a_fifo_input_in_one_line_instead_of_hanging(tmp_path, capsys):
    trained = tmp_path / "t.lfproj"
    assert run(capsys, "new", "mlp_classifier", str(trained), "--epochs", "1")[0] == 0
    assert run(capsys, "train", str(trained), "--quiet")[0] == 0
    fifo = tmp_path / "inputs.npy"
    os.mkfifo(fifo)
    done = subprocess.run([sys.executable, "-m", "layerforge", "predict", str(trained), str(fifo)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    _one_line_error(done.stderr, str(fifo), "named pipe")
    fifo_project = tmp_path / "pipe.lfproj"
    os.mkfifo(fifo_project)
    done = subprocess.run([sys.executable, "-m", "layerforge", "train", str(fifo_project)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    _one_line_error(done.stderr, str(fifo_project), "named pipe")


def test_doctor_prints_one_line_per_check_and_fails_only_on_a_failed_check(capsys):
    code = main(["doctor"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("OK   Python: ")
    checks = [line for line in lines if line.split(" ", 1)[0] in ("OK", "FAIL", "NOTE")]
    assert len(checks) >= 10 and any(line.startswith("OK   onnx") for line in checks)
    assert code == (1 if any(line.startswith("FAIL") for line in checks) else 0)


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path):
    # `layerforge doctor | head -1`: the pipe closes after the first line.
    script = ("import subprocess, sys\\n"
              "p = subprocess.Popen([sys.executable, '-m', 'layerforge', 'doctor'], stdout=subprocess.PIPE, "
              "stderr=subprocess.PIPE)\\n"
              "p.stdout.readline(); p.stdout.close()\\n"
              "sys.stdout.write(p.stderr.read().decode()); p.wait()\\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stdout and "BrokenPipeError" not in result.stdout, result.stdout
