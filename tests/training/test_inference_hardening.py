"""Predictions are numbers or a refusal: a diverged model, NaN inputs or an overflow never print `nan` rows."""
import numpy as np
import pytest

from layerforge.graph import compile_spec, get_template
from layerforge.training import TrainingError
from layerforge.training.inference import Predictor
from layerforge.training.project import Project, load_project, save_project


def spiral_project():
    spec = get_template("mlp_classifier").spec()
    project = Project("spiral", spec, {"kind": "builtin", "name": "spiral", "options": {"n_samples": 40}},
                      data_info={"target": "labels", "class_names": ["a", "b", "c"]})
    weights = {key: np.array(value) for key, value in compile_spec(spec).state_dict().items()}
    return project, weights


def test_weights_that_are_not_finite_are_refused_with_the_parameters_named():
    project, weights = spiral_project()
    weights["fc1.weight"].reshape(-1)[:3] = np.nan
    weights["fc3.bias"][0] = np.inf
    with pytest.raises(TrainingError) as caught:
        Predictor(project, weights)
    message = str(caught.value)
    assert message.startswith(f"the trained weights are not finite numbers: 'fc1.weight' (3 NaN of "
                              f"{weights['fc1.weight'].size} values), 'fc3.bias' (1 inf of 3 values)")
    assert message.endswith("train again with a lower learning rate (or from the last good weights)")


def test_inputs_holding_nan_are_refused_with_the_first_sample_named():
    project, weights = spiral_project()
    x = np.zeros((5, 2), np.float32)
    x[3, 1] = np.nan
    x[4, 0] = np.inf
    with pytest.raises(TrainingError, match=r"the inputs hold 2 NaN/inf value\(s\), the first at sample index 3; "
                                            r"remove or fill them"):
        Predictor(project, weights).predict(x)


def test_outputs_that_overflow_are_refused_instead_of_printed_as_nan():
    project, weights = spiral_project()
    weights["fc3.weight"][:] = 3e38  # finite, but any input beyond ~1 overflows float32
    x = np.full((2, 2), 10.0, np.float32)
    with pytest.raises(TrainingError, match=r"the model's outputs hold \d+ NaN/inf value\(s\), the first at sample "
                                            r"index 0 \(an overflow"):
        Predictor(project, weights).predict(x)


def test_finite_weights_and_inputs_still_predict():
    project, weights = spiral_project()
    predictions = Predictor(project, weights).predict(np.zeros((4, 2), np.float32))
    assert len(predictions.labels) == 4 and np.isfinite(predictions.probabilities).all()
    assert set(predictions.names) <= {"a", "b", "c"}


def test_layerforge_predict_exits_non_zero_with_one_line_for_a_diverged_model(tmp_path, capsys):
    from layerforge.cli import main

    project, weights = spiral_project()
    weights["fc2.weight"][:] = np.nan
    path = save_project(project, tmp_path / "p.lfproj", weights)
    assert np.isnan(load_project(path)[1]["fc2.weight"]).all()  # the project file keeps what training left
    inputs = tmp_path / "x.npy"
    np.save(inputs, np.zeros((3, 2), np.float32))
    code = main(["predict", str(path), str(inputs)])
    captured = capsys.readouterr()
    assert code != 0 and captured.out == ""
    assert captured.err.startswith(f"layerforge: error: {path}: the trained weights are not finite numbers: "
                                   f"'fc2.weight' (")
    assert captured.err.count("\n") == 1 and "nan" not in captured.out
