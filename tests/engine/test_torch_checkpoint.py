"""layerforge.engine.load reads the files torch.save writes: tensors of every dtype the engine has,
views and shared storages, module and optimizer state dicts, checkpoint dicts; both file formats.
The checked-in checkpoint at the end is read where torch is absent."""
import io
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import layerforge.engine as lf

DATA = Path(__file__).parent / "data"


def _torch():
    return pytest.importorskip("torch", reason="PyTorch writes the checkpoints these tests read")


def _saved(torch, obj, tmp_path, legacy=False, **options):
    path = tmp_path / ("legacy.pt" if legacy else "checkpoint.pt")
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy, **options)
    return path


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
@pytest.mark.parametrize("name", ["float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
                                  "uint8", "bool"])
def test_every_dtype_comes_back_with_its_values(tmp_path, name, legacy):
    torch = _torch()
    source = (torch.arange(-6, 6, dtype=torch.float64) * 0.75).reshape(3, 4)
    tensor = (source > 0) if name == "bool" else source.abs().to(getattr(torch, name))
    loaded = lf.load(_saved(torch, {"t": tensor}, tmp_path, legacy))["t"]
    expected = tensor.float().numpy() if name == "bfloat16" else tensor.numpy()
    assert loaded.dtype == (lf.float32 if name == "bfloat16" else getattr(lf, name))
    np.testing.assert_array_equal(loaded.numpy(), expected)
    assert not loaded.requires_grad


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_views_strides_and_shared_storages(tmp_path, legacy):
    torch = _torch()
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    saved = {"base": base, "t": base.t(), "row": base[2], "block": base[1:3, 2:5], "every_other": base[:, ::2],
             "expanded": torch.arange(3.0).expand(4, 3), "scalar": base[3, 5], "empty": base[:0]}
    loaded = lf.load(_saved(torch, saved, tmp_path, legacy))
    for key, value in saved.items():
        assert tuple(loaded[key].shape) == tuple(value.shape), key
        np.testing.assert_array_equal(loaded[key].numpy(), value.numpy(), err_msg=key)
    assert not loaded["t"]._data.flags.c_contiguous   # strides kept, not a copy
    for key in ("t", "row", "block", "every_other", "scalar"):
        assert np.shares_memory(loaded[key]._data, loaded["base"]._data), key
    loaded["base"].mul_(2)   # one storage, as in PyTorch: a change shows through every view of it
    assert loaded["t"][5, 3].item() == 46.0 and loaded["block"][0, 0].item() == 16.0


def test_bfloat16_views_share_their_widened_storage(tmp_path):
    torch = _torch()
    base = torch.linspace(-2, 2, 8, dtype=torch.bfloat16)
    loaded = lf.load(_saved(torch, {"a": base, "b": base[2:5]}, tmp_path))
    np.testing.assert_array_equal(loaded["b"].numpy(), base[2:5].float().numpy())
    assert np.shares_memory(loaded["a"]._data, loaded["b"]._data)


def _check_module(torch, tmp_path, torch_module, lf_module, inputs, legacy=False):
    torch_module.eval()
    path = _saved(torch, torch_module.state_dict(), tmp_path, legacy)
    state = lf.load(path)
    assert isinstance(state, OrderedDict) and list(state) == list(torch_module.state_dict())
    lf_module.load_state_dict(state)
    lf_module.eval()
    with torch.no_grad():
        expected = torch_module(torch.from_numpy(inputs))
    got = lf_module(lf.from_numpy(inputs))
    if isinstance(expected, tuple):
        expected, got = expected[0], got[0]
    np.testing.assert_allclose(got.detach().numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
    return state


def test_module_state_dicts_load_into_engine_modules_and_predict_as_torch(tmp_path):
    torch = _torch()
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    _check_module(torch, tmp_path, torch.nn.Linear(5, 3), lf.nn.Linear(5, 3),
                  rng.standard_normal((4, 5)).astype(np.float32))
    _check_module(torch, tmp_path, torch.nn.Conv2d(2, 4, 3, padding=1), lf.nn.Conv2d(2, 4, 3, padding=1),
                  rng.standard_normal((2, 2, 6, 6)).astype(np.float32), legacy=True)
    lstm = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True)
    _check_module(torch, tmp_path, lstm, lf.nn.LSTM(3, 4, num_layers=2, batch_first=True),
                  rng.standard_normal((2, 5, 3)).astype(np.float32))


def test_batch_norm_buffers_and_num_batches_tracked(tmp_path):
    torch = _torch()
    torch_bn = torch.nn.BatchNorm2d(3)
    torch_bn.train()
    for _ in range(3):
        torch_bn(torch.randn(4, 3, 5, 5) * 2 + 1)
    inputs = np.random.default_rng(1).standard_normal((2, 3, 4, 4)).astype(np.float32)
    state = _check_module(torch, tmp_path, torch_bn, lf.nn.BatchNorm2d(3), inputs)
    assert state["num_batches_tracked"].dtype == lf.int64 and state["num_batches_tracked"].item() == 3
    np.testing.assert_array_equal(state["running_var"].numpy(), torch_bn.running_var.numpy())


def test_adam_state_dict_loads_and_the_next_step_matches_torch(tmp_path):
    torch = _torch()
    torch.manual_seed(1)
    torch_model = torch.nn.Linear(3, 2)
    torch_opt = torch.optim.Adam(torch_model.parameters(), lr=0.01, betas=(0.8, 0.95))
    x = torch.randn(6, 3)
    for _ in range(3):
        torch_opt.zero_grad()
        torch_model(x).pow(2).mean().backward()
        torch_opt.step()
    path = _saved(torch, {"model": torch_model.state_dict(), "optimizer": torch_opt.state_dict()}, tmp_path)
    checkpoint = lf.load(path)
    state = checkpoint["optimizer"]
    assert list(state["state"]) == [0, 1] and state["param_groups"][0]["betas"] == (0.8, 0.95)
    assert state["param_groups"][0]["params"] == [0, 1] and state["param_groups"][0]["foreach"] is None
    model = lf.nn.Linear(3, 2)
    model.load_state_dict(checkpoint["model"])
    opt = lf.optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.95))
    opt.load_state_dict(state)
    for optimizer, net, inputs in ((torch_opt, torch_model, x), (opt, model, lf.from_numpy(x.numpy()))):
        optimizer.zero_grad()
        net(inputs).pow(2).mean().backward()
        optimizer.step()
    np.testing.assert_allclose(model.weight.detach().numpy(), torch_model.weight.detach().numpy(), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("protocol", [2, 4])
def test_checkpoint_dicts_of_numbers_strings_lists_and_tuples(tmp_path, protocol):
    torch = _torch()
    saved = {"epoch": 12, "loss": 0.03125, "best": float("inf"), "name": "run-7 ünïcode", "done": True,
             "none": None, "history": [[1.0, 0.5], (2, "two"), {"nested": [torch.ones(2)]}],
             "ordered": OrderedDict(b=1, a=2), "big": 2 ** 70, "negative": -3, "raw": b"\x00\xffbytes",
             "shape": torch.Size([2, 3]), "dtype": torch.float16, "device": torch.device("cpu"),
             "numpy_loss": np.float64(0.5), "numpy_count": np.int64(-4), "tags": {"a", "b"}}
    loaded = lf.load(_saved(torch, saved, tmp_path, pickle_protocol=protocol))
    for key in ("epoch", "loss", "best", "name", "done", "none", "big", "negative", "raw", "numpy_loss",
                "numpy_count", "tags"):
        assert loaded[key] == saved[key] and type(loaded[key]) is type(saved[key].item() if isinstance(
            saved[key], np.generic) else saved[key]), key
    assert loaded["history"][0] == [1.0, 0.5] and loaded["history"][1] == (2, "two")
    assert loaded["history"][2]["nested"][0].tolist() == [1.0, 1.0]
    assert isinstance(loaded["ordered"], OrderedDict) and list(loaded["ordered"]) == ["b", "a"]
    assert tuple(loaded["shape"]) == (2, 3) and loaded["dtype"] == lf.float16 and loaded["device"] == "cpu"


def test_parameters_and_requires_grad_come_back_as_parameters(tmp_path):
    torch = _torch()
    weight = torch.nn.Parameter(torch.ones(2, 2))
    frozen = torch.nn.Parameter(torch.zeros(3), requires_grad=False)
    loaded = lf.load(_saved(torch, {"w": weight, "f": frozen, "g": torch.ones(1, requires_grad=True)}, tmp_path))
    assert isinstance(loaded["w"], lf.nn.Parameter) and loaded["w"].requires_grad
    assert isinstance(loaded["f"], lf.nn.Parameter) and not loaded["f"].requires_grad
    assert loaded["g"].requires_grad and loaded["g"].is_leaf


def test_file_objects_map_location_and_a_bare_tensor(tmp_path):
    torch = _torch()
    buffer = io.BytesIO()
    torch.save(torch.arange(4), buffer)
    assert lf.load(io.BytesIO(buffer.getvalue()), map_location="cpu").tolist() == [0, 1, 2, 3]
    path = _saved(torch, torch.arange(3.0), tmp_path, legacy=True)
    with open(path, "rb") as handle:
        assert lf.load(handle, map_location=lambda storage, location: storage).tolist() == [0.0, 1.0, 2.0]


def test_a_whole_pickled_model_is_refused_by_its_class_name(tmp_path):
    torch = _torch()
    path = _saved(torch, torch.nn.Linear(2, 2), tmp_path)
    with pytest.raises(lf.serialization.SerializationError,
                       match=r"refused global torch\.nn\.modules\.linear\.Linear .*state_dict\(\)"):
        lf.load(path)


def test_complex_tensors_are_refused_with_their_dtype_and_key(tmp_path):
    torch = _torch()
    path = _saved(torch, {"ok": torch.ones(1), "spectrum": torch.ones(2, dtype=torch.complex64)}, tmp_path)
    with pytest.raises(lf.serialization.SerializationError, match=r"tensor 'spectrum' has dtype torch\.complex64"):
        lf.load(path)


# -- the checked-in file: read without torch -------------------------------------------------------

def test_the_checked_in_pytorch_checkpoint_reads_without_torch():
    checkpoint = lf.load(DATA / "torch_linear_state_dict.pt")   # written by make_torch_linear_state_dict.py
    model = checkpoint["model"]
    assert list(model) == ["fc.weight", "fc.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
                           "bn.num_batches_tracked"]
    weight = np.arange(6, dtype=np.float32).reshape(2, 3) / 4
    np.testing.assert_array_equal(model["fc.weight"].numpy(), weight)
    assert model["fc.bias"].tolist() == [-1.0, 2.0] and model["bn.running_var"].tolist() == [4.0, 0.25]
    assert model["bn.num_batches_tracked"].dtype == lf.int64 and model["bn.num_batches_tracked"].item() == 7
    np.testing.assert_array_equal(checkpoint["weight_t"].numpy(), weight.T)
    assert checkpoint["row"].tolist() == [1.0, 1.25]
    assert np.shares_memory(checkpoint["row"]._data, model["fc.weight"]._data)
    assert (checkpoint["epoch"], checkpoint["loss"], checkpoint["name"]) == (3, 0.125, "tiny")
    assert checkpoint["history"] == [1.0, 0.5, (2, "x")]
    net = lf.nn.Sequential(OrderedDict(fc=lf.nn.Linear(3, 2), bn=lf.nn.BatchNorm1d(2))).eval()
    net.load_state_dict(model)
    out = net(lf.tensor([[4.0, 0.0, -2.0]])).detach().numpy()
    linear = weight @ np.array([4.0, 0.0, -2.0], np.float32) + np.array([-1.0, 2.0], np.float32)
    np.testing.assert_allclose(out[0], (linear - [0.5, -0.5]) / np.sqrt(np.array([4.0, 0.25]) + 1e-5), rtol=1e-5)
