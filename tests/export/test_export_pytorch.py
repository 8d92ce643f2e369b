"""PyTorch export: the generated model.py equals the engine's model, and train.py trains under torchrun."""
import importlib.util
import py_compile
import sys

import numpy as np
import pytest

from export_cases import LAYER_CASES, case_id, random_state_dict, reference_output, sample_input, single_layer_spec
from layerforge.data import Normalization, Standardizer
from layerforge.export import ExportError, TrainingHint, export_pytorch
from layerforge.graph import get_template, templates

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
pytest.importorskip("safetensors", reason="the generated model.py loads its weights with safetensors")

TOLERANCE = dict(rtol=1e-5, atol=1e-5)


def import_generated(folder, name="model"):
    """Import the generated model.py under a unique module name (each test has its own folder)."""
    module_name = f"generated_{abs(hash(str(folder)))}_{name}"
    loader_spec = importlib.util.spec_from_file_location(module_name, folder / f"{name}.py")
    module = importlib.util.module_from_spec(loader_spec)
    loader_spec.loader.exec_module(module)
    return module


def assert_generated_matches_engine(spec, folder):
    state = random_state_dict(spec)
    paths = export_pytorch(spec, state, folder)
    assert [p.name for p in paths] == ["model.py", "weights.safetensors", "train.py", "README.txt", "train.slurm"]
    for source in ("model.py", "train.py"):
        py_compile.compile(str(folder / source), doraise=True)
    model = import_generated(folder).load_model()  # weights.safetensors beside model.py
    assert not model.training
    x = sample_input(spec)
    with torch.no_grad():
        got = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, reference_output(spec, state, x), **TOLERANCE)
    return folder


@pytest.mark.parametrize("template", templates(), ids=lambda t: t.key)
def test_generated_model_of_every_template_matches_the_engine(template, tmp_path):
    assert_generated_matches_engine(template.spec(), tmp_path)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("layer_type,params,in_shapes", LAYER_CASES,
                         ids=[case_id(c, i) for i, c in enumerate(LAYER_CASES)])
def test_generated_model_of_every_layer_matches_the_engine(layer_type, params, in_shapes, tmp_path):
    assert_generated_matches_engine(single_layer_spec(layer_type, params, in_shapes), tmp_path)


def test_generated_code_reads_like_hand_written_pytorch(tmp_path):
    export_pytorch(get_template("residual_cnn").spec(), random_state_dict(get_template("residual_cnn").spec()),
                   tmp_path)
    source = (tmp_path / "model.py").read_text()
    assert "        self.conv1 = nn.Conv2d(1, 16, 3, stride=1, padding=1, dilation=1, groups=1, bias=True)" in source
    assert "        x = self.conv1(x)  # (batch, 16, 8, 8)" in source
    assert "        relu1 = self.relu1(x)  # (batch, 16, 8, 8)" in source  # kept for the skip connection
    assert "        x = x + relu1  # (batch, 16, 8, 8)" in source
    assert "import layerforge" not in source and "from layerforge" not in source  # plain PyTorch only
    assert max(len(line) for line in source.splitlines()) <= 120


def test_standardize_uses_the_statistics_stored_with_the_weights(tmp_path):
    spec = get_template("mlp_classifier").spec()
    normalization = Normalization(inputs=Standardizer([1.0, -2.0], [0.5, 4.0]))
    export_pytorch(spec, random_state_dict(spec), tmp_path, normalization=normalization)
    module = import_generated(tmp_path)
    raw = torch.tensor([[2.0, 2.0]])
    assert module.standardize(raw).tolist() == [[2.0, 1.0]]


def test_readme_gives_the_torchrun_command_and_data_is_written(tmp_path):
    spec = get_template("mlp_classifier").spec()
    x = np.random.default_rng(0).normal(size=(12, 2)).astype(np.float32)
    y = np.arange(12) % 3
    paths = export_pytorch(spec, random_state_dict(spec), tmp_path, dataset_hint=TrainingHint(x=x, y=y),
                           name="spiral")
    assert [p.name for p in paths] == ["model.py", "weights.safetensors", "train.py", "data.npz", "README.txt",
                                       "train.slurm"]
    readme = (tmp_path / "README.txt").read_text()
    assert "torchrun --standalone --nproc-per-node=2 train.py --data data.npz" in readme
    assert "'spiral'" in readme
    with np.load(tmp_path / "data.npz", allow_pickle=False) as data:
        np.testing.assert_array_equal(data["x"], x)
        np.testing.assert_array_equal(data["y"], y)


def test_bad_hints_and_mismatched_data_are_refused(tmp_path):
    spec = get_template("mlp_classifier").spec()
    state = random_state_dict(spec)
    with pytest.raises(ExportError, match="unknown training hint"):
        export_pytorch(spec, state, tmp_path, dataset_hint={"epoch": 3})
    with pytest.raises(ExportError, match="the data has 4 inputs but 3 targets"):
        export_pytorch(spec, state, tmp_path, dataset_hint={"x": np.zeros((4, 2)), "y": np.zeros(3)})
    (tmp_path / "file").write_text("")
    with pytest.raises(ExportError, match="is a file; PyTorch export writes a folder"):
        export_pytorch(spec, state, tmp_path / "file")


@pytest.mark.parametrize("loss,target,expected_dtype", [("MSELoss", "values", torch.float32),
                                                        ("BCEWithLogitsLoss", "labels", torch.float32),
                                                        ("CrossEntropyLoss", "labels", torch.int64)])
def test_train_script_prepares_targets_as_the_loss_expects(tmp_path, monkeypatch, loss, target, expected_dtype):
    """Regression targets are standardised like in Layerforge and shaped like the model's output."""
    spec = get_template("mlp_regressor").spec(in_features=2, out_features=1)
    x = np.arange(8, dtype=np.float32).reshape(4, 2)
    y = np.array([1.0, 0.0, 1.0, 1.0], np.float32) if target == "labels" else np.array([[3.0], [5.0], [7.0], [9.0]])
    normalization = Normalization(inputs=Standardizer([1.0, 1.0], [2.0, 2.0]),
                                  targets=Standardizer([5.0], [2.0]) if target == "values" else None)
    hint = TrainingHint(loss=loss, target=target, x=x, y=y, split=(np.arange(4), [], []))
    export_pytorch(spec, random_state_dict(spec), tmp_path, normalization=normalization, dataset_hint=hint)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "model", raising=False)
    (train, val, _), _ = import_generated(tmp_path, "train").load_data(str(tmp_path / "data.npz"),
                                                                       str(tmp_path / "weights.safetensors"))
    monkeypatch.delitem(sys.modules, "model", raising=False)
    assert len(val) == 0  # the split in data.npz: every sample trains
    inputs, targets = train.x, train.target
    np.testing.assert_allclose(inputs.numpy(), (x - 1.0) / 2.0)
    assert targets.dtype == expected_dtype
    if target == "values":
        assert targets.tolist() == [[-1.0], [0.0], [1.0], [2.0]]
    elif expected_dtype == torch.float32:
        assert targets.shape == (4, 1)  # BCEWithLogitsLoss compares with floats shaped like the output
