"""Weights of a diverged run (NaN / inf) are refused by every exporter, with the parameters named."""
import numpy as np
import pytest

from export_cases import random_state_dict
from layerforge.export import ExportError
from layerforge.workspace.project_export import export_project
from test_export_project import spiral_project


def diverged_state(spec):
    state = random_state_dict(spec)
    state["fc1.weight"][0, :2] = np.nan
    state["fc2.bias"][-1] = -np.inf
    state["fc3.bias"][0] = np.nan
    state["fc3.bias"][1] = np.inf
    return state


@pytest.mark.parametrize("fmt", ["safetensors", "npz", "onnx", "pytorch"])
def test_every_format_refuses_weights_that_are_not_finite(tmp_path, fmt):
    if fmt == "onnx":
        pytest.importorskip("onnx")
    project = spiral_project()
    state = diverged_state(project.spec)
    size = state["fc1.weight"].size
    with pytest.raises(ExportError) as caught:
        export_project(project, state, fmt, tmp_path / "out")
    message = str(caught.value)
    assert (f"the weights are not finite numbers: 'fc1.weight' (2 NaN of {size} values), 'fc2.bias' (1 inf of "
            f"{state['fc2.bias'].size} values), 'fc3.bias' (1 NaN and 1 inf of {state['fc3.bias'].size} values)"
            in message)
    assert "train again with a lower learning rate (or from the last good weights)" in message
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_finite_weights_still_export(tmp_path):
    project = spiral_project()
    state = random_state_dict(project.spec)
    state["fc1.weight"][0, 0] = np.finfo(np.float32).max  # large is not broken
    assert export_project(project, state, "npz", tmp_path / "out")[0].is_file()


def test_the_cli_prints_the_refusal_on_one_line(tmp_path, capsys):
    from layerforge.cli import main
    from layerforge.training.project import Project, save_project
    from layerforge.graph import get_template

    spec = get_template("mlp_classifier").spec()
    project = Project("spiral", spec, {"kind": "builtin", "name": "spiral", "options": {"n_samples": 40}})
    path = save_project(project, tmp_path / "p.lfproj", diverged_state(spec))
    code = main(["export", str(path), "--format", "onnx", "--out", str(tmp_path / "p.onnx")])
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("layerforge: error: export to onnx failed: the weights are not finite numbers: 'fc1.weight'")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "p.onnx").exists()
