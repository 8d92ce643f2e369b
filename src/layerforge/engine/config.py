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
