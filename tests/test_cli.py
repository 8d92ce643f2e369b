"""The ``layerforge`` command, driven through ``main([...])`` as a shell would run it."""
import contextlib
import io
import json
import subprocess
import sys
import types

import numpy as np
import pytest

import layerforge
from layerforge import engine
from layerforge.cli import main
from cli_support import run
from layerforge.data import list_datasets, load_dataset
from layerforge.graph import templates
from layerforge.training.project import load_project


@pytest.fixture()
def spiral_project(tmp_path, capsys):
    path = tmp_path / "spiral.lfproj"
    assert run(capsys, "new", "mlp_classifier", str(path), "--epochs", "150")[0] == 0
    return path


@pytest.fixture(scope="module")
def trained_project(tmp_path_factory):
    """One trained spiral project shared by the tests that only read it."""
    folder = tmp_path_factory.mktemp("trained")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["new", "mlp_classifier", str(folder / "spiral.lfproj"), "--epochs", "150"]) == 0
        assert main(["train", str(folder / "spiral.lfproj"), "--device", "cpu", "--out", str(folder / "out")]) == 0
    return folder / "out" / "spiral.lfproj"


def test_version_and_listings(capsys):
    assert run(capsys, "--version")[1].strip() == f"layerforge {layerforge.__version__}"
    code, out, _ = run(capsys, "templates")
    assert code == 0 and all(t.key in out and t.dataset in out for t in templates())
    code, out, _ = run(capsys, "datasets")
    assert code == 0 and all(d.name in out for d in list_datasets())
    code, out, _ = run(capsys, "examples")
    assert code == 0 and "spiral" in out and ".lfproj" in out


def test_train_prints_a_line_per_epoch_and_saves_the_trained_project(tmp_path, spiral_project, capsys):
    code, out, err = run(capsys, "train", str(spiral_project), "--epochs", "150", "--device", "cpu",
                         "--out", str(tmp_path / "out"))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("training on cpu")
    assert sum(line.startswith("epoch ") for line in lines) == 150
    assert "epoch 150/150" in out and "val loss" in out and "acc" in out
    assert lines[-1] == f"saved the trained project to {tmp_path / 'out' / 'spiral.lfproj'}"
    project, weights = load_project(tmp_path / "out" / "spiral.lfproj")
    assert weights is not None and project.history["val_accuracy"][-1] >= 0.9
    assert project.data_info["class_names"] == ["arm 1", "arm 2", "arm 3"]
    original, original_weights = load_project(spiral_project)
    assert original_weights is None and original.history == {}   # --out leaves the source project alone


def test_train_makes_no_prediction_snapshots_but_keeps_the_projects_setting(tmp_path, spiral_project, capsys,
                                                                            monkeypatch):
    """Nothing in a terminal shows the live predictions, whose 2-D boundary grid cost as much as the
    spiral's training: the run asks for none, and the saved project keeps the window's setting."""
    from layerforge.training import snapshots
    made = []
    monkeypatch.setattr(snapshots.SnapshotMaker, "make", lambda self, *args: made.append(args))
    project, _ = load_project(spiral_project)
    assert project.settings.snapshot_every == 1
    code, _, err = run(capsys, "train", str(spiral_project), "--epochs", "3", "--out", str(tmp_path / "out"))
    assert code == 0, err
    assert made == []
    assert load_project(tmp_path / "out" / "spiral.lfproj")[0].settings.snapshot_every == 1


@pytest.mark.gpu
@pytest.mark.skipif(not engine.cuda.is_available(), reason="no CUDA GPU/cupy")
def test_train_on_the_gpu_saves_a_project_that_predicts_on_the_cpu(tmp_path, spiral_project, capsys):
    code, out, err = run(capsys, "train", str(spiral_project), "--epochs", "20", "--device", "cuda",
                         "--out", str(tmp_path / "out"))
    assert code == 0, err
    assert out.splitlines()[0].startswith("training on cuda (cuda chosen in the settings (")
    project, weights = load_project(tmp_path / "out" / "spiral.lfproj")
    assert weights and all(str(v.device) == "cpu" for v in weights.values())
    points = tmp_path / "points.npy"
    np.save(points, load_dataset("spiral").x[:20])
    code, out, err = run(capsys, "predict", str(tmp_path / "out" / "spiral.lfproj"), str(points))
    assert code == 0 and len([line for line in out.splitlines() if line.strip()]) >= 20, (out, err)


def test_train_in_place_updates_the_project(spiral_project, capsys):
    code, out, _ = run(capsys, "train", str(spiral_project), "--epochs", "2", "--quiet")
    assert code == 0 and out.splitlines()[0].startswith("finished after 2 epochs")
    assert out.splitlines()[1] == f"saved the trained project to {spiral_project}"
    assert load_project(spiral_project)[1] is not None


def test_predict_prints_class_names_and_saves_csv_or_npy(tmp_path, trained_project, capsys):
    spiral = load_dataset("spiral")
    inputs = tmp_path / "points.csv"
    inputs.write_text("x,y\n" + "".join(f"{a},{b}\n" for a, b in spiral.x[:60]))
    code, out, err = run(capsys, "predict", str(trained_project), str(inputs))
    assert code == 0, err
    header, *rows = out.strip().splitlines()
    assert header == "prediction,confidence,p(arm 1),p(arm 2),p(arm 3)" and len(rows) == 60
    names = [row.split(",")[0] for row in rows]
    truth = [spiral.class_names[i] for i in spiral.y[:60]]
    assert np.mean([a == b for a, b in zip(names, truth)]) >= 0.9
    array = tmp_path / "points.npy"
    np.save(array, spiral.x[:60])
    code, out, _ = run(capsys, "predict", str(trained_project), str(array), "--out", str(tmp_path / "labels.npy"))
    assert code == 0 and "wrote 60 predictions" in out
    assert [spiral.class_names[i] for i in np.load(tmp_path / "labels.npy")] == names
    code, _, _ = run(capsys, "predict", str(trained_project), str(array), "--out", str(tmp_path / "p.csv"))
    assert code == 0 and (tmp_path / "p.csv").read_text().splitlines()[1:] == rows


def test_predict_refuses_inputs_of_the_wrong_width_and_untrained_projects(tmp_path, trained_project,
                                                                          spiral_project, capsys):
    wide = tmp_path / "wide.npy"
    np.save(wide, np.zeros((3, 5), np.float32))
    code, _, err = run(capsys, "predict", str(trained_project), str(wide))
    assert code == 1 and "expects samples of shape (2,)" in err and "(5,)" in err
    code, _, err = run(capsys, "predict", str(spiral_project), str(wide))
    assert code == 1 and "no trained weights" in err and "layerforge train" in err


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_user_mistakes_get_one_message_and_a_nonzero_exit(tmp_path, spiral_project, capsys):
    code, _, err = run(capsys, "train", str(tmp_path / "missing.lfproj"))
    assert code == 1 and err.startswith("layerforge: error:") and "missing.lfproj" in err
    document = json.loads(spiral_project.read_text())
    document["model"]["edges"] = document["model"]["edges"][1:]   # the first Linear loses its input
    broken = tmp_path / "broken.lfproj"
    broken.write_text(json.dumps(document))
    code, _, err = run(capsys, "train", str(broken))
    assert code == 1 and f"{broken}: the model is not valid" in err and "Linear 'fc1' has no input" in err
    document = json.loads(spiral_project.read_text())
    document["settings"].update(optimizer="sgd", optimizer_params={}, learning_rate=1e6, loss="mse")
    diverging = tmp_path / "diverging.lfproj"
    diverging.write_text(json.dumps(document))
    code, _, err = run(capsys, "train", str(diverging))
    assert code == 1 and "does not suit classification" in err
    code, _, err = run(capsys, "new", "diffusion", str(tmp_path / "t.lfproj"))
    assert code == 1 and "unknown template 'diffusion'" in err
    code, _, err = run(capsys, "new", "mlp_classifier", str(spiral_project))
    assert code == 1 and "already exists" in err
    if not engine.cuda.is_available():
        code, _, err = run(capsys, "train", str(spiral_project), "--device", "cuda")
        assert code == 1 and "device 'cuda' is not available" in err
        code, _, err = run(capsys, "train", str(spiral_project), "--device", "cuda:1")
        assert code == 1 and "device 'cuda:1' is not available" in err
    code, _, err = run(capsys, "train", str(spiral_project), "--device", "gpu")
    assert code == 2 and "'gpu' is not a device: use cpu, cuda, cuda:N (e.g. cuda:1) or auto" in err
    code, _, err = run(capsys, "train")
    assert code == 2 and "required" in err
    code, _, err = run(capsys, "train", str(spiral_project), "--epochs", "0")
    assert code == 2 and "at least 1" in err


def test_a_diverging_run_fails_and_saves_nothing(tmp_path, capsys, recwarn):
    path = tmp_path / "sine.lfproj"
    run(capsys, "new", "mlp_regressor", str(path))
    document = json.loads(path.read_text())
    document["settings"].update(optimizer="sgd", optimizer_params={}, learning_rate=1e6)
    path.write_text(json.dumps(document))
    before = path.read_bytes()
    code, _, err = run(capsys, "train", str(path), "--epochs", "5")
    assert code == 1 and "training failed" in err and "learning rate" in err and "nothing saved" in err
    assert path.read_bytes() == before and not (tmp_path / "sine.weights.safetensors").exists()
    # Layerforge's message only: numpy's overflow warnings (a kernel's source line) are not shown
    assert not [str(w.message) for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_export_calls_the_exporter_with_project_weights_format_and_path(tmp_path, trained_project, capsys,
                                                                        monkeypatch):
    import layerforge.workspace.project_export

    calls = []

    def export_project(project, weights, fmt, out_path, project_dir=None):
        calls.append((project.name, sorted(weights), fmt, out_path))
        assert project_dir == trained_project.parent   # relative data paths resolve from the project
        return [out_path]

    monkeypatch.setattr(layerforge.workspace.project_export, "export_project", export_project)
    code, out, _ = run(capsys, "export", str(trained_project), "--format", "onnx")
    assert code == 0 and out.strip() == f"wrote {trained_project.with_suffix('.onnx')}"
    assert calls == [("spiral", ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight", "fc3.bias", "fc3.weight"],
                      "onnx", trained_project.with_suffix(".onnx"))]


def test_no_arguments_open_the_gui_or_explain_why_not(monkeypatch, capsys):
    opened = []
    monkeypatch.setitem(sys.modules, "layerforge.app",
                        types.SimpleNamespace(main=lambda argv=None: opened.append(argv) or 0))
    assert run(capsys)[0] == 0 and opened == [None]
    monkeypatch.setitem(sys.modules, "layerforge.app", types.ModuleType("layerforge.app"))
    code, _, err = run(capsys)
    assert code == 2 and "desktop app is not available" in err

    def main_without_qt(argv=None):
        raise ModuleNotFoundError("No module named 'PySide6'", name="PySide6")

    monkeypatch.setitem(sys.modules, "layerforge.app", types.SimpleNamespace(main=main_without_qt))
    code, _, err = run(capsys)
    assert code == 2 and "No module named 'PySide6'" in err


def test_a_project_file_alone_opens_it_in_the_gui(monkeypatch, capsys):
    # The desktop entry runs `layerforge %f` when a person double-clicks a .lfproj file.
    opened = []
    monkeypatch.setitem(sys.modules, "layerforge.app",
                        types.SimpleNamespace(main=lambda argv=None: opened.append(argv) or 0))
    assert run(capsys, "/home/me/My Model.lfproj")[0] == 0
    assert opened == [["layerforge", "/home/me/My Model.lfproj"]]


def test_python_dash_m_runs_the_same_command():
    done = subprocess.run([sys.executable, "-m", "layerforge", "--version"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"layerforge {layerforge.__version__}"


def test_export_writes_weights_through_the_real_exporter(tmp_path, trained_project, capsys):
    out = tmp_path / "weights.npz"
    code, printed, err = run(capsys, "export", str(trained_project), "--format", "npz", "--out", str(out))
    assert code == 0, err
    assert printed.strip() == f"wrote {out}"
    saved = engine.load(out)
    _, weights = load_project(trained_project)
    assert np.array_equal(saved["fc1.weight"].numpy(), weights["fc1.weight"].numpy())


def test_an_example_trains_by_name_and_is_saved_in_the_current_folder(tmp_path, capsys, monkeypatch):
    from layerforge.training.project import example_project_path

    shipped = example_project_path("spiral")
    before = shipped.read_bytes()
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "train", "spiral", "--epochs", "2", "--quiet")
    assert code == 0, err
    assert out.splitlines()[-1] == f"saved the trained project to {tmp_path / 'spiral.lfproj'}"
    assert shipped.read_bytes() == before and not shipped.with_name("spiral.weights.safetensors").exists()
    assert load_project(tmp_path / "spiral.lfproj")[1] is not None


def test_continue_starts_from_the_trained_weights(tmp_path, trained_project, capsys):
    import shutil

    for file in trained_project.parent.iterdir():
        shutil.copy(file, tmp_path / file.name)
    project = tmp_path / trained_project.name
    code, out, err = run(capsys, "train", str(project), "--continue", "--epochs", "1", "--device", "cpu")
    assert code == 0, err
    # The run goes on (its optimizer's state, step count and curves kept with the project): epoch 151.
    first_epoch = next(line for line in out.splitlines() if line.startswith("epoch 151/151"))
    accuracy = float(first_epoch.split("val loss")[1].split("acc ")[1].split("%")[0])
    assert accuracy >= 90.0    # a fresh network scores near chance (33%) after one epoch
    continued, _ = load_project(project)
    assert continued.history["epoch"] == list(range(1, 152)) and continued.resume["step"] > 0


def test_continue_needs_trained_weights(spiral_project, capsys):
    code, _, err = run(capsys, "train", str(spiral_project), "--continue")
    assert code == 1 and "no trained weights to continue from" in err


def test_a_terminal_gets_a_progress_bar_on_stderr(spiral_project):
    from layerforge.cli import ProgressPrinter
    from layerforge.training import Trainer

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    project, _ = load_project(spiral_project)
    out, err = io.StringIO(), Terminal()
    Trainer(project.spec, project.load_dataset(), project.settings.replace(epochs=2, device="cpu"),
            ProgressPrinter(out, err)).run()
    assert "\repoch 1/2 [" in err.getvalue() and "8/8 loss" in err.getvalue()
    assert "epoch 2/2  train loss" in out.getvalue() and "\r" not in out.getvalue()
