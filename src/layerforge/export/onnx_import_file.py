"""Reading an ONNX file a person chose, treated as hostile: what it may be, how big, what it may refer to.

Only a regular file, no larger than :data:`MAX_BYTES`, is read, and it is read once into memory (the
size checked before and while reading). It is parsed without following external data: a tensor
whose values live in another file is refused, whatever folder that file names, so an ONNX file can
never make Layerforge read anything but itself. Every tensor's stated size is checked against the
bytes it holds before an array is made of it. The opset and IR version must be ones the installed
``onnx`` package knows.
"""
from __future__ import annotations

import math
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np

from .common import lazy_module
from .onnx_import_graph import ModelImportError

MAX_BYTES = 1 << 30             # a canvas model's weights are far smaller; protobuf's own limit is 2 GiB
MAX_NODES = 100_000
MAX_TENSOR_VALUES = 1 << 28     # per tensor (1 GiB of float32)
ONNX_DOMAINS = ("", "ai.onnx")


def read_onnx_file(path) -> Any:
    """The parsed, checked ``onnx.ModelProto`` of ``path``; ModelImportError says what is wrong."""
    onnx = lazy_module("onnx", "ONNX import")
    path = Path(path)
    data = _read_bytes(path)
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception:  # protobuf's DecodeError: not a ModelProto, or cut short
        raise ModelImportError(f"'{path.name}' is not an ONNX model, or the file is damaged or truncated "
                               f"(it could not be read as an ONNX ModelProto)") from None
    if not model.HasField("graph") or model.ir_version <= 0 or not model.opset_import:
        raise ModelImportError(f"'{path.name}' is not an ONNX model, or the file is damaged or truncated "
                               f"(it has no graph, IR version or opset)")
    check_model(onnx, model, path.name)
    return model


def check_model(onnx: Any, model: Any, label: str = "the model") -> None:
    """Versions, external data and tensor sizes: refused before anything is built from them."""
    if model.ir_version > onnx.IR_VERSION:
        raise ModelImportError(f"{label} has ONNX IR version {model.ir_version}, newer than the installed onnx "
                               f"package reads ({onnx.IR_VERSION}); update onnx, or export with an older version")
    latest = onnx.defs.onnx_opset_version()
    for entry in model.opset_import:
        if entry.domain in ONNX_DOMAINS and entry.version > latest:
            raise ModelImportError(f"{label} uses ONNX opset {entry.version}, newer than this Layerforge reads "
                                   f"(up to {latest}); export it again with opset {latest} or lower")
    graph = model.graph
    if len(graph.node) > MAX_NODES:
        raise ModelImportError(f"{label} has {len(graph.node)} operators; Layerforge imports at most {MAX_NODES}")
    for tensor in _tensors(graph):
        if tensor.data_location == onnx.TensorProto.EXTERNAL or tensor.external_data:
            where = next((entry.value for entry in tensor.external_data if entry.key == "location"), "?")
            raise ModelImportError(f"{label}: the tensor {tensor.name!r} keeps its values in another file "
                                   f"({where!r}); Layerforge reads only models whose weights are inside the "
                                   f".onnx file (save it with onnx.save_model(..., save_as_external_data=False))")
        check_tensor_size(onnx, tensor, label)
    try:
        onnx.checker.check_model(model)
    except Exception as error:  # ValidationError and friends
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelImportError(f"{label} is not a valid ONNX model: {first}") from None


def tensor_array(onnx: Any, tensor: Any, label: str = "the model") -> np.ndarray:
    """The values of a TensorProto as a numpy array, its size checked first."""
    check_tensor_size(onnx, tensor, label)
    try:
        return np.array(onnx.numpy_helper.to_array(tensor))
    except Exception as error:
        raise ModelImportError(f"{label}: the tensor {tensor.name!r} cannot be read ({error})") from None


def check_tensor_size(onnx: Any, tensor: Any, label: str) -> None:
    dims = list(tensor.dims)
    if any(d < 0 for d in dims):
        raise ModelImportError(f"{label}: the tensor {tensor.name!r} has a negative dimension {tuple(dims)}")
    count = math.prod(dims)
    if count > MAX_TENSOR_VALUES:
        raise ModelImportError(f"{label}: the tensor {tensor.name!r} has {count} values; Layerforge imports "
                               f"tensors of at most {MAX_TENSOR_VALUES}")
    if tensor.HasField("raw_data"):
        itemsize = _itemsize(onnx, tensor.data_type)
        if itemsize is not None and len(tensor.raw_data) != count * itemsize:
            raise ModelImportError(f"{label}: the tensor {tensor.name!r} is damaged: its shape {tuple(dims)} needs "
                                   f"{count * itemsize} bytes, it holds {len(tensor.raw_data)}")


def _itemsize(onnx: Any, data_type: int) -> int | None:
    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(data_type)).itemsize
    except Exception:
        return None


def _tensors(graph: Any):
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors


def _read_bytes(path: Path) -> bytes:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ModelImportError(f"'{path}' does not exist") from None
    except OSError as error:
        raise ModelImportError(f"cannot read '{path}' ({error.strerror or error})") from None
    if not stat.S_ISREG(info.st_mode):
        what = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise ModelImportError(f"'{path}' is {what}; choose an .onnx file")
    if info.st_size > MAX_BYTES:
        raise ModelImportError(f"'{path.name}' is {info.st_size / 2**20:.0f} MiB; Layerforge imports ONNX files "
                               f"of at most {MAX_BYTES // 2**20} MiB")
    if info.st_size == 0:
        raise ModelImportError(f"'{path.name}' is empty; it is not an ONNX model")
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_BYTES + 1)   # the file may have grown since stat
    except OSError as error:
        raise ModelImportError(f"cannot read '{path}' ({error.strerror or error})") from None
    if len(data) > MAX_BYTES:
        raise ModelImportError(f"'{path.name}' is larger than {MAX_BYTES // 2**20} MiB; Layerforge does not import it")
    return data
