"""A failed export leaves nothing behind, so the same name can be exported to again at once."""
import errno
import os
from pathlib import Path

import numpy as np
import pytest

from export_cases import random_state_dict
from layerforge.export import ExportError, export_onnx, export_pytorch, export_weights
from layerforge.workspace.project_export import export_project
from layerforge.export import pytorch_export
from layerforge.graph import get_template
from test_export_project import spiral_project


def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def listing(folder):
    return sorted(str(path.relative_to(folder)) for path in Path(folder).rglob("*"))


def test_a_pytorch_export_failing_half_way_leaves_no_folder_and_can_be_retried(tmp_path, monkeypatch):
    project = spiral_project()
    state = random_state_dict(project.spec)
    out = tmp_path / "spiral_pytorch"
    monkeypatch.setattr(pytorch_export, "_write_data", disk_full)  # model.py and the weights are written by then
    with pytest.raises(ExportError, match=f"cannot write '{out}' \\(No space left on device\\)"):
        export_project(project, state, "pytorch", out)
    assert listing(tmp_path) == []  # neither the folder nor its hidden staging sibling
    monkeypatch.undo()
    paths = export_project(project, state, "pytorch", out)
    assert [path.name for path in paths] == ["model.py", "weights.safetensors", "train.py", "data.npz", "README.txt",
                                          "train.slurm"]
    assert all(path.parent == out and path.is_file() for path in paths)
    assert listing(tmp_path) == ["spiral_pytorch"] + [f"spiral_pytorch/{path.name}" for path in sorted(paths)]


def test_a_layer_that_cannot_be_exported_leaves_no_folder(tmp_path):
    spec = get_template("mlp_classifier").spec()
    node = next(node for node in spec.nodes.values() if node.name == "fc2")
    node.name = "fc2 bad"
    with pytest.raises(ExportError, match="Linear layer 'fc2 bad'"):
        export_pytorch(spec, random_state_dict(get_template("mlp_classifier").spec()), tmp_path / "out")
    assert listing(tmp_path) == []


def test_a_failed_export_into_an_existing_folder_keeps_what_was_there(tmp_path, monkeypatch):
    project = spiral_project()
    state = random_state_dict(project.spec)
    out = tmp_path / "out"
    export_project(project, state, "pytorch", out)
    (out / "notes.txt").write_text("mine")
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    monkeypatch.setattr(pytorch_export, "_write_data", disk_full)
    with pytest.raises(ExportError, match="No space left on device"):
        export_project(project, random_state_dict(project.spec, seed=1), "pytorch", out)
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert listing(tmp_path) == sorted(["out"] + [f"out/{name}" for name in before])
    monkeypatch.undo()
    export_project(project, random_state_dict(project.spec, seed=1), "pytorch", out)
    assert (out / "notes.txt").read_text() == "mine"  # an export replaces its own files only
    assert (out / "weights.safetensors").read_bytes() != before["weights.safetensors"]


@pytest.mark.parametrize("fmt", ["safetensors", "npz", "onnx"])
def test_a_single_file_export_failing_leaves_no_file_and_no_new_folder(tmp_path, monkeypatch, fmt):
    if fmt == "onnx":
        onnx = pytest.importorskip("onnx")
        monkeypatch.setattr(onnx, "save_model", disk_full)
    elif fmt == "safetensors":
        import safetensors.numpy

        def rust_disk_full(*args, **kwargs):
            raise safetensors.SafetensorError("Error while serializing: IoError(No space left on device)")

        monkeypatch.setattr(safetensors.numpy, "save_file", rust_disk_full)
    else:
        monkeypatch.setattr(np, "savez", disk_full)
    project = spiral_project()
    target = tmp_path / "new" / "deeper" / f"model.{fmt}"
    with pytest.raises(ExportError, match=f"cannot write '{target}' \\(.*No space left on device"):
        export_project(project, random_state_dict(project.spec), fmt, target)
    assert listing(tmp_path) == []
    monkeypatch.undo()
    assert export_project(project, random_state_dict(project.spec), fmt, target) == [target]


def test_cleanup_that_fails_does_not_hide_the_first_error(tmp_path, monkeypatch):
    spec = get_template("mlp_classifier").spec()
    state = random_state_dict(spec)
    state["fc1.weight"][0, 0] = np.nan

    def unlink_refused(self, missing_ok=False):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "unlink", unlink_refused)
    with pytest.raises(ExportError, match="not finite"):
        export_onnx(spec, state, tmp_path / "m.onnx")
    with pytest.raises(ExportError, match="not finite"):
        export_pytorch(spec, state, tmp_path / "out")
    monkeypatch.undo()
    assert listing(tmp_path) == []


def test_a_folder_that_cannot_be_made_is_named(tmp_path):
    spec = get_template("mlp_classifier").spec()
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(ExportError, match=f"cannot create the folder '{tmp_path / 'a_file' / 'sub'}'"):
        export_weights(random_state_dict(spec), tmp_path / "a_file" / "sub" / "w.safetensors")
    with pytest.raises(ExportError, match="cannot create the folder"):
        export_pytorch(spec, random_state_dict(spec), tmp_path / "a_file" / "out")
    assert listing(tmp_path) == ["a_file"]



def test_what_a_killed_export_left_is_cleared_by_the_next_export_and_a_running_one_is_left_alone(tmp_path):
    from layerforge.export.common import remove_stale_staging, write_text

    target = tmp_path / "model_pytorch"
    dead_pid = 2 ** 22 + 12_345          # above Linux's largest pid: no such process
    killed_folder = tmp_path / f".model_pytorch.{dead_pid}.k3x9.tmp"
    killed_folder.mkdir()
    (killed_folder / "model.py").write_text("half")
    killed_file = tmp_path / f".model_pytorch.{dead_pid}.abcd.tmp"
    killed_file.write_text("half")
    running = tmp_path / f".model_pytorch.{os.getpid()}.live.tmp"   # this process is alive
    running.mkdir()
    unrelated = tmp_path / ".model_pytorch_v2.1.x.tmp"
    unrelated.mkdir()
    assert sorted(remove_stale_staging(target)) == sorted([killed_folder, killed_file])
    assert running.exists() and unrelated.exists()
    killed_folder.mkdir()
    write_text(tmp_path / "model_pytorch", "done")   # an export to the same name clears it too
    assert not killed_folder.exists() and (tmp_path / "model_pytorch").read_text() == "done"
