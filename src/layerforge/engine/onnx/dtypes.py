"""numpy dtypes as ONNX's TensorProto element types (the numbers, so the onnx package is not needed)."""
from __future__ import annotations

import numpy as np

from .errors import ExportError

_TYPES = {np.dtype(np.float32): 1, np.dtype(np.uint8): 2, np.dtype(np.int8): 3, np.dtype(np.uint16): 4,
          np.dtype(np.int16): 5, np.dtype(np.int32): 6, np.dtype(np.int64): 7, np.dtype(np.bool_): 9,
          np.dtype(np.float16): 10, np.dtype(np.float64): 11, np.dtype(np.uint32): 12,
          np.dtype(np.uint64): 13}


def onnx_type(dtype) -> int:
    try:
        return _TYPES[np.dtype(dtype)]
    except (KeyError, TypeError):
        raise ExportError(f"ONNX export: no ONNX element type for the dtype {dtype}") from None
