"""Plain PyTorch scripts (tests/engine/scripts) run unchanged on the engine and match PyTorch's numbers.

Each script says ``import torch`` and never mentions Layerforge. It is loaded twice: once with the
real PyTorch, once with ``sys.modules`` temporarily mapping ``torch`` and its submodules to the engine.
Both copies start from the same weights (PyTorch's initial state_dict, copied through numpy) and the
same data, train, and must report the same losses, predictions and final parameters.
"""
from __future__ import annotations

import importlib
import importlib.util
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import layerforge.engine as engine
from layerforge.data import load_dataset

SCRIPTS = Path(__file__).parent / "scripts"

# What a PyTorch script imports -> the engine module that stands in for it.
ENGINE_FOR_TORCH = {
    "torch": "layerforge.engine",
    "torch.nn": "layerforge.engine.nn",
    "torch.nn.functional": "layerforge.engine.nn.functional",
    "torch.optim": "layerforge.engine.optim",
    "torch.optim.lr_scheduler": "layerforge.engine.optim.lr_scheduler",
    "torch.utils": "layerforge.engine.utils",
    "torch.utils.data": "layerforge.engine.utils.data",
    "torch.autograd": "layerforge.engine.autograd",
}
_MISSING = object()


@contextmanager
def _modules_as(mapping: dict):
    """Point sys.modules names at other modules for the block; put back what was there, even on error."""
    import sys

    saved = {name: sys.modules.get(name, _MISSING) for name in mapping}
    try:
        sys.modules.update(mapping)
        yield
    finally:
        for name, module in saved.items():
            if module is _MISSING:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def load_script(name: str, backend: str):
    """Import scripts/<name>.py as a fresh module whose ``torch`` is PyTorch or the engine."""
    if backend == "torch":
        pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
        mapping = {alias: importlib.import_module(alias) for alias in ENGINE_FOR_TORCH}
    else:
        mapping = {alias: importlib.import_module(real) for alias, real in ENGINE_FOR_TORCH.items()}
    path = SCRIPTS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_pytorch_script_{name}_{backend}", path)
    module = importlib.util.module_from_spec(spec)
    with _modules_as(mapping):
        spec.loader.exec_module(module)
    return module


def _numpy(value):
    return np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value)


def _copy_weights(torch_model, engine_model) -> None:
    state = {key: engine.tensor(_numpy(value)) for key, value in torch_model.state_dict().items()}
    engine_model.load_state_dict(state)


def _assert_close(ours, theirs, rtol, atol, what):
    np.testing.assert_allclose(_numpy(ours), _numpy(theirs), rtol=rtol, atol=atol, err_msg=what)


def _assert_same_parameters(engine_model, torch_model, rtol, atol):
    ours = dict(engine_model.named_parameters())
    theirs = dict(torch_model.named_parameters())
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        _assert_close(ours[key], theirs[key], rtol, atol, f"parameter {key} after training")


def _run_module_script(name: str):
    """Build with PyTorch, copy the weights into the engine's model, train both on the same data."""
    reference, ported = load_script(name, "torch"), load_script(name, "engine")
    reference.torch.manual_seed(0)  # the same starting weights on every run, so a failure reproduces
    torch_model, engine_model = reference.build_model(), ported.build_model()
    _copy_weights(torch_model, engine_model)
    torch_result = reference.train(torch_model, reference.make_data())
    engine_result = ported.train(engine_model, ported.make_data())
    return torch_model, engine_model, torch_result, engine_result


# ---------------------------------------------------------------------------------------- the scripts
def test_scripts_are_plain_pytorch_code():
    for path in sorted(SCRIPTS.glob("*.py")):
        text = path.read_text()
        assert "import torch\n" in text, path.name
        assert "layerforge" not in text.lower(), f"{path.name} must not know about the engine"


def test_linear_regression_with_sgd_matches_pytorch_in_float64():
    torch_model, engine_model, (torch_losses, torch_pred), (losses, pred) = \
        _run_module_script("linear_regression")
    assert engine_model.weight.dtype == engine.float64
    np.testing.assert_allclose(losses, torch_losses, rtol=1e-12)
    assert losses[-1] < 0.01 < losses[0]
    _assert_close(pred, torch_pred, 1e-12, 1e-12, "predictions")
    _assert_same_parameters(engine_model, torch_model, 1e-12, 1e-12)


@pytest.mark.parametrize("use_custom_function", [False, True], ids=["raw-autograd", "custom-Function"])
def test_polynomial_fit_with_raw_autograd_matches_pytorch(use_custom_function):
    reference, ported = load_script("polynomial_autograd", "torch"), load_script("polynomial_autograd", "engine")
    torch_losses, torch_params = reference.train(reference.init_params(), reference.make_data(),
                                                 use_custom_function)
    losses, params = ported.train(ported.init_params(), ported.make_data(), use_custom_function)
    np.testing.assert_allclose(losses, torch_losses, rtol=1e-10)
    assert losses[-1] < 0.05 * losses[0]
    for ours, theirs in zip(params, torch_params):
        _assert_close(ours, theirs, 1e-10, 1e-12, "polynomial coefficient")


def test_custom_function_gradient_reaches_the_input_on_the_engine():
    ported = load_script("polynomial_autograd", "engine")
    x = engine.tensor([1.0, -2.0, 0.5], dtype=engine.float64, requires_grad=True)
    ported.Cube.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * np.array([1.0, -2.0, 0.5]) ** 2)


def test_control_flow_and_a_reused_parameter_match_pytorch():
    torch_model, engine_model, (torch_losses, torch_pred), (losses, pred) = \
        _run_module_script("control_flow")
    np.testing.assert_allclose(losses, torch_losses, rtol=1e-4, atol=1e-6)
    assert losses[-1] < losses[0]
    _assert_close(pred, torch_pred, 1e-4, 1e-5, "predictions")
    _assert_same_parameters(engine_model, torch_model, 1e-4, 1e-5)


def test_mlp_classifier_with_dataloader_and_adam_matches_pytorch():
    torch_model, engine_model, (torch_losses, torch_logits), (losses, logits) = \
        _run_module_script("mlp_classifier")
    assert len(losses) == 4 * 8  # 120 samples in batches of 16, four epochs
    np.testing.assert_allclose(losses, torch_losses, rtol=1e-4, atol=1e-6)
    assert losses[-1] < 0.5 * losses[0]
    _assert_close(logits, torch_logits, 1e-4, 1e-4, "logits")
    _assert_same_parameters(engine_model, torch_model, 1e-4, 1e-5)


@pytest.mark.gpu
@pytest.mark.skipif(not engine.cuda.is_available(), reason="no CUDA GPU/cupy")
def test_a_script_that_trains_on_the_gpu_when_there_is_one_matches_pytorch_on_the_cpu():
    # torch.cuda.is_available() is the engine's answer inside the script: it trains on the GPU,
    # batches moved per step; the reference (CPU PyTorch here, or the GPU on a device) agrees.
    torch_model, engine_model, (torch_losses, torch_devices), (losses, devices) = \
        _run_module_script("device_mlp")
    assert devices == {"cuda:0"}, devices
    assert len(losses) == 5 * 6
    np.testing.assert_allclose(losses, torch_losses, rtol=1e-4, atol=1e-5)
    assert losses[-1] < 0.85 * losses[0]
    assert all(str(p.device) == "cpu" for p in engine_model.parameters())  # model.to("cpu") at the end
    _assert_same_parameters(engine_model, torch_model, 1e-4, 1e-5)


@pytest.mark.parametrize("backend", ["engine", "torch"])
def test_mlp_checkpoint_saved_and_loaded_by_the_script_gives_the_same_logits(backend, tmp_path):
    script = load_script("mlp_classifier", backend)
    dataset = script.make_data()
    model = script.build_model()
    _, logits = script.train(model, dataset, epochs=1)
    # A tutorial's file name: the engine writes safetensors under it (never pickle), torch its own format.
    restored, epochs = script.save_and_reload(model, tmp_path / "checkpoint.pt")
    assert epochs == 4
    _assert_close(restored(dataset.tensors[0]), logits, 0, 0, "logits after reload")


def test_cnn_with_momentum_sgd_and_steplr_matches_pytorch():
    torch_model, engine_model, torch_result, result = _run_module_script("cnn_steplr")
    (torch_losses, torch_logits, torch_lrs), (losses, logits, lrs) = torch_result, result
    np.testing.assert_allclose(lrs, torch_lrs, rtol=1e-12)
    assert lrs == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025])
    np.testing.assert_allclose(losses, torch_losses, rtol=1e-4, atol=1e-5)
    assert losses[-1] < 0.5 * losses[0]
    _assert_close(logits, torch_logits, 1e-3, 1e-4, "logits")
    _assert_same_parameters(engine_model, torch_model, 1e-3, 1e-5)


def test_lstm_sequence_classifier_matches_pytorch():
    torch_model, engine_model, (torch_losses, torch_logits), (losses, logits) = \
        _run_module_script("lstm_classifier")
    np.testing.assert_allclose(losses, torch_losses, rtol=1e-4, atol=1e-6)
    assert losses[-1] < 0.5 * losses[0]
    _assert_close(logits, torch_logits, 1e-4, 1e-4, "logits")
    _assert_same_parameters(engine_model, torch_model, 1e-4, 1e-5)


def test_loading_a_script_on_the_engine_leaves_sys_modules_as_it_was():
    import sys

    before = {name: sys.modules.get(name) for name in ENGINE_FOR_TORCH}
    with pytest.raises(RuntimeError, match="boom"):
        with _modules_as({name: engine for name in ENGINE_FOR_TORCH}):
            raise RuntimeError("boom")
    ported = load_script("cnn_steplr", "engine")
    assert {name: sys.modules.get(name) for name in ENGINE_FOR_TORCH} == before
    # ...while the script itself keeps the engine it was imported with.
    assert ported.torch is engine
    assert ported.nn is engine.nn and ported.F is engine.nn.functional and ported.optim is engine.optim
    assert ported.StepLR is engine.optim.lr_scheduler.StepLR
    assert ported.DataLoader is engine.utils.data.DataLoader


def _flat(value, prefix=""):
    """Every leaf of a script's result (nested dicts, tuples, namedtuples) under a readable name."""
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _flat(v, f"{prefix}{k}.")]
    if isinstance(value, (tuple, list)):
        return [item for i, v in enumerate(value) for item in _flat(v, f"{prefix}{i}.")]
    return [(prefix.rstrip("."), value)]


def _assert_same_results(ours, theirs):
    ours, theirs = _flat(ours), _flat(theirs)
    assert [name for name, _ in ours] == [name for name, _ in theirs]
    for (name, a), (_, b) in zip(ours, theirs):
        if isinstance(b, (str, bool, int, float)) or b is None:
            assert a == b, f"{name}: {a!r}, torch gives {b!r}"
            continue
        a_np, b_np = _numpy(a), _numpy(b)
        assert a_np.dtype == b_np.dtype and a_np.shape == b_np.shape, \
            f"{name}: {a_np.dtype}{a_np.shape}, torch gives {b_np.dtype}{b_np.shape}"
        np.testing.assert_allclose(a_np, b_np, rtol=1e-6, atol=1e-7, err_msg=name)


@pytest.mark.parametrize("name", ["tensors_tour", "autograd_tour", "linalg_tour"])
def test_tutorial_tours_print_pytorchs_numbers(name):
    # Every value the tutorial pages show (tensors, dtypes, shapes, gradients, graph node names).
    _assert_same_results(load_script(name, "engine").run(), load_script(name, "torch").run())


def test_quickstart_model_trains_saves_and_loads_like_pytorch(tmp_path):
    torch_model, engine_model, (torch_losses, torch_scores), (losses, scores) = \
        _run_module_script("quickstart_model")
    np.testing.assert_allclose(losses, torch_losses, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(scores, torch_scores, rtol=1e-4, atol=1e-6)
    assert scores[-1][1] > 0.9 and losses[-1] < 0.7 * losses[0]
    _assert_same_parameters(engine_model, torch_model, 1e-4, 1e-5)
    ported = load_script("quickstart_model", "engine")
    restored = ported.save_and_load(engine_model, tmp_path / "model.pth")
    inputs = ported.make_data().tensors[0]
    _assert_close(restored(inputs), engine_model(inputs), 0, 0, "logits after torch.save/torch.load")


def test_tiny_transformer_language_model_matches_pytorch():
    torch_model, engine_model, (torch_losses, torch_pred), (losses, pred) = \
        _run_module_script("tiny_transformer")
    assert list(engine_model.state_dict()) == list(torch_model.state_dict())
    # float32 over 30 AdamW steps: rounding differences grow to a few parts in a thousand
    np.testing.assert_allclose(losses, torch_losses, rtol=5e-3, atol=1e-5)
    assert losses[-1] < 0.3 * losses[0]
    np.testing.assert_array_equal(_numpy(pred), _numpy(torch_pred))
    ours, theirs = dict(engine_model.named_parameters()), dict(torch_model.named_parameters())
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        a, b = _numpy(ours[key]), _numpy(theirs[key])
        if key.endswith("in_proj_bias"):  # the key bias cannot change any score (softmax ignores a
            a, b = np.delete(a, slice(16, 32)), np.delete(b, slice(16, 32))  # shift): its gradient is noise
        np.testing.assert_allclose(a, b, rtol=5e-3, atol=1e-3, err_msg=f"parameter {key} after training")


def test_d2l_style_lazy_mlp_matches_pytorch():
    torch_model, engine_model, (torch_losses, torch_acc), (losses, acc) = _run_module_script("d2l_lazy_mlp")
    assert [type(m).__name__ for m in engine_model] == ["Flatten", "Linear", "ReLU", "Linear"]
    np.testing.assert_allclose(losses, torch_losses, rtol=1e-4, atol=1e-6)
    assert acc == pytest.approx(torch_acc) and acc[-1] > 0.9
    _assert_same_parameters(engine_model, torch_model, 1e-4, 1e-5)


# ------------------------------------------------------------------------- accuracy on the engine alone
def _held_out_split(name: str, test_fraction=0.2, **options):
    dataset = load_dataset(name, **options)
    order = np.random.default_rng(0).permutation(len(dataset.y))
    n_test = int(len(order) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return dataset.x[train], dataset.y[train], dataset.x[test], dataset.y[test]


def test_small_cnn_reaches_97_percent_on_held_out_digits():
    script = load_script("digits_cnn", "engine")
    data = script.make_data(*_held_out_split("digits"))
    model = script.build_model()
    started = time.perf_counter()
    losses = script.train(model, data)
    accuracy = script.accuracy(model, data)
    assert accuracy >= 0.97, f"test accuracy {accuracy:.3f}, losses {losses}"
    assert losses[-1] < 0.2 * losses[0]
    assert time.perf_counter() - started < 40


def test_mlp_fits_a_spiral_to_95_percent_on_held_out_points():
    script = load_script("spiral_mlp", "engine")
    data = script.make_data(*_held_out_split("spiral", n_samples=600, seed=0))
    model = script.build_model()
    losses = script.train(model, data)
    accuracy = script.accuracy(model, data)
    assert accuracy >= 0.95, f"test accuracy {accuracy:.3f}, losses {losses[-5:]}"


def test_spatial_transformer_tutorial_matches_pytorch():
    torch_model, engine_model, (torch_losses, torch_log_probs), (losses, log_probs) = \
        _run_module_script("spatial_transformer")
    np.testing.assert_allclose(losses, torch_losses, rtol=1e-4, atol=1e-6)
    assert losses[-1] < losses[0]
    _assert_close(log_probs, torch_log_probs, 1e-4, 1e-5, "log-probabilities")
    _assert_same_parameters(engine_model, torch_model, 1e-4, 1e-5)


def test_separable_autoencoder_with_transposed_and_3d_convolutions_matches_pytorch():
    """Depthwise and grouped convolutions (flat planes), ConvTranspose2d by phases and a Conv3d on flat
    volumes, trained together: the same losses, reconstructions and weights as PyTorch."""
    torch_model, engine_model, (torch_losses, torch_out), (losses, out) = _run_module_script("separable_autoencoder")
    np.testing.assert_allclose(losses, torch_losses, rtol=1e-4, atol=1e-6)
    assert losses[-1] < 0.8 * losses[0]
    _assert_close(out, torch_out, 1e-4, 1e-5, "reconstructions")
    _assert_same_parameters(engine_model, torch_model, 1e-4, 1e-5)
    x = engine.zeros(2, 8, 32, 32, requires_grad=True)
    assert engine_model.encode[0][0](x).grad_fn.flat                        # depthwise on flat planes
    assert engine_model.decode[0](engine.zeros(2, 16, 16, 16, requires_grad=True)).grad_fn.by_phase
    volume = engine.zeros(1, 1, 4, 32, 32, requires_grad=True)
    assert type(engine_model.smooth(volume).grad_fn).__name__ == "Conv3d"
