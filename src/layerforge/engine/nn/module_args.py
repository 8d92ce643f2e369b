"""What ``Module.to`` accepts, read as PyTorch reads it (kept apart from module.py's registration rules)."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..dtypes import dtype as _dtype_cls
from ..dtypes import to_dtype
from ..tensor import Tensor


def _parse_to_args(args, kwargs):
    """(device, np dtype) from ``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)``."""
    device, dtype = kwargs.get("device"), kwargs.get("dtype")
    for arg in args:
        if isinstance(arg, Tensor):
            device, dtype = arg.device, arg.dtype
        elif isinstance(arg, (_dtype_cls, np.dtype)) or (isinstance(arg, type) and arg is not str):
            dtype = arg
        elif isinstance(arg, str) and arg.split(":")[0].strip().lower() not in ("cpu", "cuda"):
            dtype = arg
        else:
            device = arg
    target_dtype = None
    if dtype is not None:
        target_dtype = to_dtype(dtype)
        if target_dtype.np.kind != "f":
            raise TypeError(f"Module.to only accepts floating point dtypes, but got desired dtype="
                            f"{target_dtype.name}")
        target_dtype = target_dtype.np
    return (None if device is None else backend.as_device(device)), target_dtype
