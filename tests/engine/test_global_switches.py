"""The global switches PyTorch code sets (compile, matmul precision, determinism, interop threads,
warn-always, denormals, the default tensor type, torch.backends), against PyTorch where it answers."""
import warnings

import pytest

import layerforge.engine as lf
from engine_oracle import torch


def test_global_switches_are_kept_and_met():
    model = lf.nn.Linear(2, 3)
    compiled = lf.compile(model)
    x = lf.ones(4, 2)
    assert compiled(x).tolist() == model(x).tolist()  # eager execution gives the compiled results
    assert lf.compile(mode="max-autotune")(len) is len
    try:
        lf.set_float32_matmul_precision("high")
        assert lf.get_float32_matmul_precision() == "high"
        with pytest.raises(RuntimeError):
            lf.set_float32_matmul_precision("fast")
        lf.use_deterministic_algorithms(True, warn_only=True)
        assert lf.are_deterministic_algorithms_enabled() and lf.is_deterministic_algorithms_warn_only_enabled()
    finally:
        lf.set_float32_matmul_precision("highest")
        lf.use_deterministic_algorithms(False)
    lf.backends.cudnn.benchmark = True  # tutorials set these; the engine keeps them
    assert lf.backends.cudnn.benchmark and not lf.backends.mps.is_available()
    lf.backends.cudnn.benchmark = False


@pytest.mark.parametrize("mode", ["default", "warn", "error", 0, 1, 2])
def test_deterministic_debug_mode_as_torch(mode):
    try:
        for m in (torch, lf):
            m.set_deterministic_debug_mode(mode)
        assert lf.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode()
        assert lf.are_deterministic_algorithms_enabled() == torch.are_deterministic_algorithms_enabled()
        assert lf.is_deterministic_algorithms_warn_only_enabled() == \
            torch.is_deterministic_algorithms_warn_only_enabled()
    finally:
        torch.set_deterministic_debug_mode(0)
        lf.set_deterministic_debug_mode(0)


@pytest.mark.parametrize("call", [
    pytest.param(lambda m: m.set_deterministic_debug_mode("x"), id="debug_mode_name"),
    pytest.param(lambda m: m.set_deterministic_debug_mode(3), id="debug_mode_number"),
    pytest.param(lambda m: m.set_num_interop_threads(0), id="interop_zero"),
    pytest.param(lambda m: m.set_num_interop_threads("2"), id="interop_str"),
    pytest.param(lambda m: m.set_default_tensor_type(m.LongTensor), id="default_type_not_float"),
])
def test_invalid_switches_raise_torchs_exception_type(call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as theirs:
            call(torch)
        with pytest.raises(Exception) as ours:
            call(lf)
    assert type(ours.value) is type(theirs.value), f"{ours.value!r} where torch raises {theirs.value!r}"


def test_switches_are_kept_and_read_back():
    lf.set_num_interop_threads(3)
    assert lf.get_num_interop_threads() == 3
    lf.set_warn_always(True)
    assert lf.is_warn_always_enabled() and lf.init_num_threads() is None
    lf.set_warn_always(False)
    assert not lf.is_warn_always_enabled() and not lf.is_vulkan_available()
    assert lf.set_flush_denormal(True) is False  # numpy keeps denormals: PyTorch's answer when it cannot


@pytest.mark.parametrize("kind", ["DoubleTensor", "torch.DoubleTensor"])
def test_set_default_tensor_type_sets_the_default_dtype_as_torch(kind):
    try:
        with pytest.warns(UserWarning, match="deprecated"):
            lf.set_default_tensor_type(getattr(lf, kind) if "." not in kind else kind)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.set_default_tensor_type(getattr(torch, kind) if "." not in kind else kind)
        assert lf.get_default_dtype().name == str(torch.get_default_dtype()).split(".")[-1] == "float64"
        assert lf.tensor([1.0]).dtype.name == "float64"
    finally:
        lf.set_default_dtype(lf.float32)
        torch.set_default_dtype(torch.float32)
