"""Attention layers out of Layerforge: ONNX that onnxruntime runs, and model.py that real PyTorch runs,
both giving the engine's predictions (each layer alone is in the shared LAYER_CASES; here whole models).
"""
import numpy as np
import pytest

from export_cases import random_state_dict, reference_output, sample_input
from layerforge.export import build_onnx_model, export_pytorch
from layerforge.graph import get_template
from spec_cases import chain

onnx = pytest.importorskip("onnx", reason="ONNX export needs the onnx package (the 'export' extra)")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime runs the exported models in these tests")

TOLERANCE = dict(rtol=1e-5, atol=1e-5)


def small_transformer(norm_first=False, activation="relu", pool="mean", bias=True):
    return chain(("Input", {"shape": (7,), "dtype": "int64"}),
                 ("Embedding", {"num_embeddings": 11, "embedding_dim": 8}),
                 ("PositionalEmbedding", {"max_len": 10}),
                 ("MultiheadSelfAttention", {"num_heads": 2, "bias": bias}),
                 ("TransformerEncoderBlock", {"num_heads": 4, "dim_feedforward": 12, "norm_first": norm_first,
                                              "activation": activation, "bias": bias}),
                 ("TransformerEncoderBlock", {"num_heads": 1, "dim_feedforward": 6}),
                 ("SequencePool", {"mode": pool}), ("Linear", {"out_features": 3}))


def run_onnx(model, x):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["output"], {"input": x})[0]


@pytest.mark.parametrize("options", [{}, {"norm_first": True, "activation": "gelu", "pool": "max"},
                                     {"bias": False, "pool": "first"}, {"pool": "last"}],
                         ids=["post-norm", "pre-norm-gelu-max", "no-bias-first", "last"])
@pytest.mark.parametrize("opset", [17, 18])
def test_onnxruntime_predicts_what_the_engine_predicts(options, opset):
    spec = small_transformer(**options)
    state = random_state_dict(spec)
    model = build_onnx_model(spec, state, opset=opset)   # onnx.checker.check_model(full_check=True) inside
    x = sample_input(spec, batch=5)
    np.testing.assert_allclose(run_onnx(model, x), reference_output(spec, state, x), **TOLERANCE)


def test_the_template_runs_in_onnxruntime_for_any_batch_size():
    spec = get_template("transformer").spec()
    state = random_state_dict(spec)
    model = build_onnx_model(spec, state)
    for batch in (1, 9):
        x = sample_input(spec, batch=batch, seed=batch)
        np.testing.assert_allclose(run_onnx(model, x), reference_output(spec, state, x), **TOLERANCE)


def test_each_layer_is_plain_onnx_ops_an_importer_can_regroup():
    spec = small_transformer()
    model = build_onnx_model(spec, random_state_dict(spec))
    layer_of = {"attn1": "MultiheadSelfAttention", "encoder1": "TransformerEncoderBlock",
                "encoder2": "TransformerEncoderBlock", "pos1": "PositionalEmbedding", "seqpool1": "SequencePool"}
    ops_of = {}
    for node in model.graph.node:
        owner = node.name.split("/")[0]
        if owner in layer_of:
            assert node.doc_string == f"layerforge.layer={layer_of[owner]}", node.name
            ops_of.setdefault(owner, set()).add(node.op_type)
    assert ops_of["attn1"] == {"MatMul", "Add", "Reshape", "Transpose", "Mul", "Softmax"}
    assert ops_of["encoder1"] == ops_of["attn1"] | {"LayerNormalization", "Relu"}
    assert ops_of["pos1"] == {"Slice", "Add"} and ops_of["seqpool1"] == {"ReduceMean"}
    assert {node.op_type for node in model.graph.node} <= set(ops_of["encoder1"]) | {
        "Slice", "ReduceMean", "Gather", "Gemm", "Identity"}   # no contrib or custom operators
    initializers = {tensor.name: tuple(tensor.dims) for tensor in model.graph.initializer}
    assert initializers["pos1.weight"] == (10, 8)   # the whole table, so max_len survives the trip
    assert initializers["attn1.in_proj_weight.q_T"] == (8, 8) and initializers["attn1.in_proj_bias.v"] == (8,)
    assert initializers["encoder1.self_attn.out_proj.weight_T"] == (8, 8)
    assert initializers["encoder1.linear1.weight_T"] == (8, 12) and initializers["encoder1.norm2.bias"] == (8,)


def test_onnx_weights_are_the_state_dicts_blocks():
    spec = small_transformer()
    state = random_state_dict(spec)
    model = build_onnx_model(spec, state)
    arrays = {tensor.name: onnx.numpy_helper.to_array(tensor) for tensor in model.graph.initializer}
    in_proj = state["attn1.in_proj_weight"]
    for index, role in enumerate("qkv"):
        np.testing.assert_array_equal(arrays[f"attn1.in_proj_weight.{role}_T"], in_proj[8 * index:8 * (index + 1)].T)
    np.testing.assert_array_equal(arrays["encoder1.linear2.weight_T"], state["encoder1.linear2.weight"].T)


@pytest.mark.parametrize("options", [{}, {"norm_first": True, "activation": "gelu", "pool": "first"}])
def test_generated_pytorch_model_loads_the_weights_and_predicts_the_same(options, tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch runs the generated model.py")
    from test_export_pytorch import import_generated

    spec = small_transformer(**options)
    state = random_state_dict(spec)
    export_pytorch(spec, state, tmp_path)
    source = (tmp_path / "model.py").read_text()
    assert "x = self.attn1(x, x, x, need_weights=False)[0]  # (batch, 7, 8)" in source
    assert "x = x + self.pos1(torch.arange(x.shape[1], device=x.device))  # (batch, 7, 8)" in source
    model = import_generated(tmp_path).load_model()
    x = sample_input(spec, batch=4)
    with torch.no_grad():
        got = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, reference_output(spec, state, x), **TOLERANCE)
