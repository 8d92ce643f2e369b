"""export_project: what `layerforge export PROJECT --format ...` and the GUI's export dialog call."""
from types import SimpleNamespace

import numpy as np
import pytest

from export_cases import random_state_dict
from layerforge.data import Normalization, Standardizer, load_dataset
from layerforge.export import ExportError, default_export_path, describe_export, read_weights
from layerforge.workspace.project_export import export_project, training_hint
from layerforge.graph import get_template
from layerforge.training import TrainingSettings


def spiral_project(**settings):
    """A trained-looking project: the MLP template on a small spiral, inputs standardised."""
    dataset = load_dataset("spiral", n_samples=60)
    normalization = Normalization.fit(dataset)

    def load(base_dir=None):
        return dataset

    return SimpleNamespace(name="spiral", spec=get_template("mlp_classifier").spec(),
                           normalization=normalization.to_dict(), load_dataset=load,
                           settings=TrainingSettings(**{"learning_rate": 0.02, "epochs": 7, "batch_size": 16,
                                                        **settings}))


@pytest.mark.parametrize("fmt,name", [("safetensors", "spiral.safetensors"), ("npz", "spiral.npz")])
def test_weight_formats_write_one_file_with_the_metadata(tmp_path, fmt, name):
    project = spiral_project()
    state = random_state_dict(project.spec)
    paths = export_project(project, state, fmt, tmp_path / "spiral")
    assert [p.name for p in paths] == [name]
    arrays, metadata = read_weights(paths[0])
    np.testing.assert_array_equal(arrays["fc1.weight"], state["fc1.weight"])
    assert metadata["normalization"] == project.normalization
    assert metadata["spec"] == project.spec.to_dict()
    message = describe_export(fmt, paths)
    assert str(paths[0]) in message and "fc1.weight" in message


def test_onnx_export_names_the_file_and_how_to_run_it(tmp_path):
    pytest.importorskip("onnx", reason="ONNX export needs the onnx package (the 'export' extra)")
    project = spiral_project()
    paths = export_project(project, random_state_dict(project.spec), "onnx", tmp_path / "spiral.onnx")
    assert [p.name for p in paths] == ["spiral.onnx"]
    message = describe_export("onnx", paths)
    assert "onnxruntime.InferenceSession('spiral.onnx')" in message and "'input'" in message


def test_pytorch_export_writes_the_project_folder_with_its_data(tmp_path):
    project = spiral_project()
    paths = export_project(project, random_state_dict(project.spec), "pytorch", tmp_path / "spiral_pytorch")
    assert [p.name for p in paths] == ["model.py", "weights.safetensors", "train.py", "data.npz", "README.txt",
                                       "train.slurm"]
    with np.load(paths[3], allow_pickle=False) as data:
        np.testing.assert_array_equal(data["x"], project.load_dataset().x)  # raw: train.py standardises
    train = (tmp_path / "spiral_pytorch" / "train.py").read_text()
    assert "nn.CrossEntropyLoss()" in train and "torch.optim.Adam(parameters, lr=lr, betas=(0.9, 0.999)" in train
    assert "EPOCHS = 7\n" in train and "BATCH_SIZE = 16 " in train and "LEARNING_RATE = 0.02\n" in train
    message = describe_export("pytorch", paths)
    assert "torchrun --standalone --nproc-per-node=2 train.py --data data.npz" in message
    assert f"cd {tmp_path / 'spiral_pytorch'}" in message
    assert "sbatch train.slurm" in message   # the cluster route is named where its script was written


def test_training_hint_maps_settings_to_pytorch_names():
    hint = training_hint(spiral_project(loss="mse", optimizer="sgd", optimizer_params={"momentum": 0.9}))
    assert (hint.loss, hint.optimizer, hint.target) == ("MSELoss", "SGD", "values")
    assert hint.optimizer_kwargs["momentum"] == 0.9
    hint = training_hint(spiral_project(optimizer="adamw", optimizer_params={"beta1": 0.8}, target="input"))
    assert hint.optimizer_kwargs["betas"] == (0.8, 0.999) and "beta1" not in hint.optimizer_kwargs
    assert hint.target == "input"


def test_unloadable_data_still_exports_the_code_and_says_so(tmp_path):
    project = spiral_project()

    def missing(base_dir=None):
        raise FileNotFoundError("data/points.csv")

    project.load_dataset = missing
    paths = export_project(project, random_state_dict(project.spec), "pytorch", tmp_path / "out")
    assert "data.npz" not in [p.name for p in paths]
    message = describe_export("pytorch", paths)
    assert "--data YOUR_DATA.npz" in message and "could not be loaded" in message


def test_user_mistakes_get_clear_messages(tmp_path):
    project = spiral_project()
    with pytest.raises(ExportError, match="unknown export format 'tflite'; choose one of: safetensors, npz, onnx"):
        export_project(project, {}, "tflite", tmp_path / "x")
    with pytest.raises(ExportError, match="project 'spiral' has no trained weights yet: train it first"):
        export_project(project, None, "onnx", tmp_path / "x")


def test_default_export_paths_sit_beside_the_project(tmp_path):
    project_file = tmp_path / "spiral.lfproj"
    assert default_export_path(project_file, "onnx") == tmp_path / "spiral.onnx"
    assert default_export_path(project_file, "pytorch") == tmp_path / "spiral_pytorch"


def test_a_saved_project_exports_its_standardisation_into_onnx(tmp_path):
    """Through the real project file: save, load, export; ONNX then takes raw inputs."""
    project_module = pytest.importorskip("layerforge.training.project", reason="project files not built yet")
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime runs the exported model")
    dataset = load_dataset("spiral", n_samples=40)
    normalization = Normalization(inputs=Standardizer([0.5, -0.5], [2.0, 4.0]))
    project = project_module.Project("spiral", get_template("mlp_classifier").spec(),
                                     {"kind": "builtin", "name": "spiral", "options": {"n_samples": 40}},
                                     normalization=normalization.to_dict())
    state = random_state_dict(project.spec)
    path = project_module.save_project(project, tmp_path / "spiral.lfproj", state)
    loaded, weights = project_module.load_project(path)
    (onnx_path,) = export_project(loaded, weights, "onnx", default_export_path(path, "onnx"))
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    from export_cases import reference_output

    expected = reference_output(project.spec, state, normalization.transform_inputs(dataset.x))
    np.testing.assert_allclose(session.run(None, {"input": dataset.x})[0], expected, rtol=1e-5, atol=1e-5)
