"""Weights files: what a user (or PyTorch tooling) reads back is exactly what was trained, never pickle."""
import sys

import numpy as np
import pytest

from export_cases import engine_model, random_state_dict
from layerforge.data import Normalization, Standardizer
from layerforge.export import ExportError, export_weights, read_weights
from layerforge.graph import ModelSpec, get_template

NORMALIZATION = Normalization(inputs=Standardizer(mean=[0.5, -1.0], std=[2.0, 0.25]))


@pytest.fixture
def spec():
    return get_template("residual_cnn").spec(channels=4)


@pytest.mark.parametrize("fmt", ["safetensors", "npz"])
def test_weights_round_trip_with_spec_and_normalisation(tmp_path, spec, fmt):
    state = random_state_dict(spec)
    path = export_weights(state, tmp_path / f"model.{fmt}", spec=spec, normalization=NORMALIZATION)
    arrays, metadata = read_weights(path)
    assert list(arrays) == list(state)
    for key, value in state.items():
        assert arrays[key].dtype == value.dtype and arrays[key].shape == value.shape, key
        np.testing.assert_array_equal(arrays[key], value)
    assert arrays["bn1.num_batches_tracked"].dtype == np.int64
    assert ModelSpec.from_dict(metadata["spec"]).to_dict() == spec.to_dict()
    assert Normalization.from_dict(metadata["normalization"]).inputs.std.tolist() == [2.0, 0.25]


def test_safetensors_loads_in_pytorch_under_the_engines_key_names(tmp_path, spec):
    torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
    from safetensors.torch import load_file

    model = engine_model(spec)
    path = export_weights(model.state_dict(), tmp_path / "w.safetensors")  # engine Tensors, as trained
    loaded = load_file(str(path))
    assert sorted(loaded) == sorted(model.state_dict())
    assert torch.equal(loaded["conv1.weight"], torch.from_numpy(np.asarray(model.state_dict()["conv1.weight"])))


def test_npz_opens_with_plain_numpy_and_no_pickle(tmp_path, spec):
    path = export_weights(random_state_dict(spec), tmp_path / "w.npz", spec=spec)
    with np.load(path, allow_pickle=False) as archive:
        assert "fc1.weight" in archive.files
        assert archive["__layerforge_metadata__"].dtype.kind == "U"


def test_format_comes_from_the_extension_or_is_added(tmp_path, spec):
    state = random_state_dict(spec)
    assert export_weights(state, tmp_path / "plain", fmt="npz").name == "plain.npz"
    with pytest.raises(ExportError, match=r"name it \*\.safetensors or \*\.npz"):
        export_weights(state, tmp_path / "weights.bin")
    with pytest.raises(ExportError, match=r"does not end in \.safetensors"):
        export_weights(state, tmp_path / "weights.npz", fmt="safetensors")


@pytest.mark.parametrize("fmt", ["safetensors", "npz"])
def test_failed_export_leaves_the_existing_file_untouched(tmp_path, spec, fmt):
    path = export_weights(random_state_dict(spec), tmp_path / f"w.{fmt}")
    before = path.read_bytes()
    with pytest.raises(ExportError, match="'bad' is not a numeric array"):
        export_weights({"fc1.weight": np.zeros(2), "bad": [object()]}, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_reading_a_pickle_or_junk_file_is_refused(tmp_path):
    pickled = tmp_path / "evil.npz"
    np.savez(pickled, data=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ExportError, match="never loads pickled data"):
        read_weights(pickled)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00\x01not a safetensors file")
    with pytest.raises(ExportError, match="junk.safetensors' is not a readable safetensors file"):
        read_weights(junk)
    with pytest.raises(ExportError, match="no weights file at"):
        read_weights(tmp_path / "missing.npz")


def test_missing_safetensors_package_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ExportError, match=r"pip install --force-reinstall safetensors"):
        export_weights({"w": np.zeros(3, np.float32)}, tmp_path / "w.safetensors")
    assert not list(tmp_path.iterdir())
