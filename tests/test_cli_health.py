"""``layerforge train`` warns about a layer that turns unhealthy: once per layer and kind, on stderr."""
from layerforge.graph import compile_spec
from layerforge.training.project import load_project, save_project
from cli_support import run
from spec_cases import chain


def relu_mlp():
    return chain(("Input", {"shape": [2]}), ("Linear", {"out_features": 16}), ("ReLU", {}),
                 ("Linear", {"out_features": 16}), ("ReLU", {}), ("Linear", {"out_features": 3}))


def spiral_project(tmp_path, capsys, spec, weights=None, name="spiral", **settings):
    path = tmp_path / f"{name}.lfproj"
    assert run(capsys, "new", "mlp_classifier", str(path))[0] == 0
    project, _ = load_project(path)
    project.spec = spec
    if "optimizer" in settings:
        settings.setdefault("optimizer_params", {})
    project.settings = project.settings.replace(device="cpu", snapshot_every=0, **settings)
    save_project(project, path, weights)
    return path


def test_train_warns_once_about_a_layer_whose_relus_die(tmp_path, capsys):
    spec = relu_mlp()
    weights = compile_spec(spec).state_dict()
    weights["fc2.bias"] = weights["fc2.bias"] - 50.0   # below anything fc2's inputs can reach
    path = spiral_project(tmp_path, capsys, spec, weights, optimizer="sgd", learning_rate=1.0, epochs=6)
    code, out, err = run(capsys, "train", str(path), "--continue", "--out", str(tmp_path / "out"))
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("layerforge: warning:")]
    dead = [line for line in warnings if "relu2" in line and "dead" in line]
    assert len(dead) == 1   # measured many times, said once
    assert "most ReLU units in relu2 (after fc2) are dead (100%)" in dead[0]
    assert "lower the learning rate or try LeakyReLU" in dead[0] and "epoch 1, step 1:" in dead[0]
    assert len(warnings) == len(set(warnings)) and not any("relu1" in line for line in warnings)
    assert "warning" not in out


def test_quiet_still_warns_and_a_healthy_run_warns_of_nothing(tmp_path, capsys):
    spec = relu_mlp()
    weights = compile_spec(spec).state_dict()
    weights["fc2.bias"] = weights["fc2.bias"] - 50.0
    sick = spiral_project(tmp_path, capsys, spec, weights, name="sick", optimizer="sgd", learning_rate=1.0, epochs=2)
    code, out, err = run(capsys, "train", str(sick), "--continue", "--quiet", "--out", str(tmp_path / "sick"))
    assert code == 0 and "relu2 (after fc2) are dead" in err and not out.startswith("epoch")

    healthy = spiral_project(tmp_path, capsys, relu_mlp(), name="healthy", epochs=30)
    code, out, err = run(capsys, "train", str(healthy), "--out", str(tmp_path / "healthy"))
    assert code == 0, err
    assert "warning" not in err and "epoch 30/30" in out
