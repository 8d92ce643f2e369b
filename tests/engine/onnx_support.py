"""Shared by the engine's ONNX export tests: export a module, run it in onnxruntime, compare.

Not a test module itself. onnx and onnxruntime are the oracles; the importing test module skips
(with the reason) where they are missing.
"""
from __future__ import annotations

import io

import numpy as np
import pytest

import layerforge.engine as lf

onnx = pytest.importorskip("onnx", reason="ONNX export needs the onnx package")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime runs the exported models (the test oracle)")

TOLERANCE = 1e-5


def export_bytes(model, args, **kwargs) -> bytes:
    buffer = io.BytesIO()
    lf.onnx.export(model, args, buffer, **kwargs)
    return buffer.getvalue()


def run_onnx(data: bytes, feeds: dict) -> list:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def engine_outputs(model, inputs: tuple) -> list:
    model.eval()
    with lf.no_grad():
        out = model(*inputs)
    flat = list(out) if isinstance(out, (tuple, list)) else [out]
    flat = [t for item in flat for t in (item.values() if isinstance(item, dict) else [item])]
    return [t.detach().numpy() for t in flat if isinstance(t, lf.Tensor)]


def assert_matches(model, inputs, *other_inputs, names=None, **kwargs) -> "onnx.ModelProto":
    """Export on ``inputs``; onnxruntime's outputs equal the engine's on those and on each of
    ``other_inputs`` (other sizes along dynamic axes) within 1e-5. Returns the checked model."""
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    names = names or [f"x{i}" for i in range(len(inputs))]
    data = export_bytes(model, inputs, input_names=names, **kwargs)
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto, full_check=True)
    for case in (inputs,) + tuple(o if isinstance(o, tuple) else (o,) for o in other_inputs):
        expected = engine_outputs(model, case)
        got = run_onnx(data, {n: t.numpy() for n, t in zip(names, case)})
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert g.shape == e.shape
            np.testing.assert_allclose(g, e, rtol=TOLERANCE, atol=TOLERANCE)
    return proto


def initializer_names(proto) -> set:
    return {i.name for i in proto.graph.initializer}


def op_types(proto) -> set:
    return {n.op_type for n in proto.graph.node}
