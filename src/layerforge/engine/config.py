"""The global switches PyTorch code sets that the engine honours by already meeting them.

- ``compile(model)`` returns the model (or function) itself: the engine runs eagerly, which gives the
  results a compiled graph gives; there is no graph compiler to speed it up.
- ``set_float32_matmul_precision``: the engine's float32 products are always full float32 ("highest"),
  which meets any precision asked for; the setting is kept and read back.
- ``use_deterministic_algorithms``: the engine's kernels give the same result on every run (numpy, and
  cupy's scatter-adds, are deterministic here); the flag is kept and read back.
- ``backends.cudnn`` / ``backends.mps`` / ``backends.cuda.matmul``: flags kept for code that sets them;
  no cuDNN is used, MPS is not available.
"""
from __future__ import annotations

import types

_state = {"matmul_precision": "highest", "deterministic": False, "warn_only": False}


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None, options=None,  # noqa: A001
            disable=False):
    if model is None:  # used as @torch.compile(...)
        return lambda fn: fn
    return model


def set_float32_matmul_precision(precision: str) -> None:
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"Invalid precision '{precision}': expected 'highest', 'high' or 'medium'")
    _state["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    return _state["matmul_precision"]


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    _state["deterministic"], _state["warn_only"] = bool(mode), bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _state["warn_only"]


backends = types.SimpleNamespace(
    cudnn=types.SimpleNamespace(benchmark=False, deterministic=False, enabled=True, allow_tf32=True,
                                is_available=lambda: False, version=lambda: None),
    mps=types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False),
    cuda=types.SimpleNamespace(matmul=types.SimpleNamespace(allow_tf32=False,
                                                            allow_fp16_reduced_precision_reduction=True)),
    opt_einsum=types.SimpleNamespace(enabled=True, is_available=lambda: False),
)


_DEBUG_MODES = ("default", "warn", "error")


def set_deterministic_debug_mode(debug_mode) -> None:
    """0/'default': off; 1/'warn': deterministic algorithms, warning only; 2/'error': deterministic."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got "
                               f"{debug_mode}")
        debug_mode = _DEBUG_MODES.index(debug_mode)
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    if not _state["deterministic"]:
        return 0
    return 1 if _state["warn_only"] else 2


_threads = {"interop": 1, "warn_always": False}


def set_num_interop_threads(count: int) -> None:
    """Kept and read back: the engine runs one operation at a time (no inter-op thread pool)."""
    if isinstance(count, bool) or not isinstance(count, int):
        raise RuntimeError(f"set_num_interop_threads expects an int, but got {type(count).__name__}")
    if count < 1:
        raise RuntimeError("set_num_interop_threads expects a positive integer")
    _threads["interop"] = count


def get_num_interop_threads() -> int:
    return _threads["interop"]


def init_num_threads() -> None:
    """Nothing to initialise: the BLAS thread count is set by set_num_threads."""


def set_warn_always(flag: bool) -> None:
    _threads["warn_always"] = bool(flag)


def is_warn_always_enabled() -> bool:
    return _threads["warn_always"]


def set_flush_denormal(mode: bool) -> bool:
    """False, PyTorch's answer where denormals cannot be flushed: numpy and cupy keep them."""
    return False


def is_vulkan_available() -> bool:
    return False


def set_default_tensor_type(t) -> None:
    """The deprecated way to set the default dtype (and, for torch.cuda.* types, the default device)."""
    import warnings

    from . import typed_tensors
    from .backend import set_default_device
    from .dtypes import set_default_dtype

    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.", UserWarning,
                  stacklevel=2)
    name = t if isinstance(t, str) else getattr(t, "__name__", "")
    kind = getattr(typed_tensors, name.rsplit(".", 1)[-1], None)
    if not isinstance(kind, type) or not issubclass(kind, typed_tensors._TypedTensor):
        raise TypeError(f"invalid type: '{t}'")
    if not kind.dtype.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    set_default_dtype(kind.dtype)
    set_default_device("cuda" if isinstance(t, str) and ".cuda." in t else None)


def get_device_module(device=None):
    """The module of a device type: cuda for "cuda", cpu for "cpu"; with no device, the default device's."""
    from . import cpu, cuda
    from .backend import as_device, get_default_device

    kind = (get_default_device() if device is None else as_device(device)).type
    if kind == "cuda":
        return cuda
    if kind == "cpu":
        return cpu
    raise RuntimeError(f"Device '{kind}' does not have a corresponding module registered as 'torch.{kind}'.")
