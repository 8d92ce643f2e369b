"""ONNX import of graphs Layerforge did not write: built by hand with onnx.helper, and by PyTorch's
exporter. Each imports as catalog layers whose predictions equal onnxruntime's (or torch's); what has
no layer is listed, all of it at once, and nothing is imported."""
import warnings

import numpy as np
import pytest

from export_cases import reference_output
from layerforge.export.onnx_import import import_onnx_model
from layerforge.export.onnx_import_graph import ModelImportError

onnx = pytest.importorskip("onnx", reason="ONNX import needs the onnx package (the 'export' extra)")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime runs the original models in these tests")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

RNG = np.random.default_rng(0)


def weight(name, *shape, scale=0.3):
    return numpy_helper.from_array((RNG.normal(size=shape) * scale).astype(np.float32), name)


def model_of(nodes, initializers, input_shape, output_shape=("N", "?"), opset=17, elem=TensorProto.FLOAT):
    graph = helper.make_graph(nodes, "hand_made",
                              [helper.make_tensor_value_info("x", elem, ["N", *input_shape])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)],
                              initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def run_ort(model, x):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def assert_imports_equal(model, x, types):
    imported = import_onnx_model(model)
    got = [node.type for node in imported.spec.nodes.values() if node.type != "Input"]
    assert got == types
    np.testing.assert_allclose(reference_output(imported.spec, imported.state_dict, x), run_ort(model, x),
                               rtol=1e-4, atol=1e-5)
    return imported


def test_a_hand_made_cnn_imports_with_its_weights():
    nodes = [
        helper.make_node("Conv", ["x", "c1.w", "c1.b"], ["c1"], name="/conv1/Conv", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "bn.s", "bn.b", "bn.m", "bn.v"], ["b1"], name="/bn/BN",
                         epsilon=1e-3),
        helper.make_node("LeakyRelu", ["b1"], ["a1"], name="/act/LeakyRelu", alpha=0.1),
        helper.make_node("MaxPool", ["a1"], ["p1"], name="/pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "c2.w"], ["c2"], name="/conv2/Conv", kernel_shape=[3, 3],
                         auto_pad="SAME_UPPER", group=2),
        helper.make_node("AveragePool", ["c2"], ["p2"], name="/avg/AveragePool", kernel_shape=[2, 2], strides=[1, 1]),
        helper.make_node("Flatten", ["p2"], ["f"], name="/flat/Flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["g"], name="/fc/Gemm", transB=1, alpha=0.5),
        helper.make_node("MatMul", ["g", "fc2.w"], ["m"], name="/fc2/MatMul"),
        helper.make_node("Add", ["m", "fc2.b"], ["z"], name="/fc2/Add"),
        helper.make_node("LogSoftmax", ["z"], ["y"], name="/out/LogSoftmax", axis=-1),
    ]
    inits = [weight("c1.w", 4, 2, 3, 3), weight("c1.b", 4), weight("bn.s", 4), weight("bn.b", 4), weight("bn.m", 4),
             numpy_helper.from_array(RNG.uniform(0.5, 1.5, 4).astype(np.float32), "bn.v"),
             weight("c2.w", 6, 2, 3, 3), weight("fc.w", 5, 6 * 2 * 2), weight("fc.b", 5), weight("fc2.w", 5, 3),
             weight("fc2.b", 3)]
    model = model_of(nodes, inits, [2, 6, 6])
    x = RNG.normal(size=(3, 2, 6, 6)).astype(np.float32)
    imported = assert_imports_equal(model, x, ["Conv2d", "BatchNorm2d", "LeakyReLU", "MaxPool2d", "Conv2d",
                                               "AvgPool2d", "Flatten", "Linear", "Linear", "LogSoftmax"])
    spec = imported.spec
    assert spec.node_by_name("conv2").params["groups"] == 2 and spec.node_by_name("conv2").params["bias"] is False
    assert spec.node_by_name("bn").params["eps"] == 1e-3
    assert spec.node_by_name("act").params["negative_slope"] == 0.1
    assert spec.node_by_name("pool").params["stride"] is None        # equal to the kernel: left empty
    assert spec.node_by_name("avg").params["stride"] == (1, 1)
    assert tuple(imported.state_dict["fc2.weight"].shape) == (3, 5)  # MatMul's (in, out) as Linear's (out, in)
    xs = [node.position[0] for node in spec.nodes.values()]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)              # laid out left to right


def test_merges_and_activations_spelled_in_arithmetic_import():
    """Add and Concat of branches; SiLU as x * Sigmoid(x), GELU through Erf, Clip as Hardtanh / ReLU6."""
    half = numpy_helper.from_array(np.array(0.5, np.float32), "half")
    one = numpy_helper.from_array(np.array(1.0, np.float32), "one")
    root2 = numpy_helper.from_array(np.array(np.sqrt(2.0), np.float32), "root2")
    low = numpy_helper.from_array(np.array(0.0, np.float32), "low")
    high = numpy_helper.from_array(np.array(6.0, np.float32), "high")
    nodes = [
        helper.make_node("Gemm", ["x", "a.w", "a.b"], ["a"], name="/a/Gemm", transB=1),
        helper.make_node("Sigmoid", ["a"], ["s"], name="/silu/Sigmoid"),
        helper.make_node("Mul", ["a", "s"], ["silu"], name="/silu/Mul"),
        helper.make_node("Div", ["a", "root2"], ["d"], name="/gelu/Div"),
        helper.make_node("Erf", ["d"], ["e"], name="/gelu/Erf"),
        helper.make_node("Add", ["e", "one"], ["e1"], name="/gelu/Add"),
        helper.make_node("Mul", ["a", "e1"], ["g0"], name="/gelu/Mul"),
        helper.make_node("Mul", ["g0", "half"], ["gelu"], name="/gelu/Mul_1"),
        helper.make_node("Clip", ["a", "low", "high"], ["relu6"], name="/relu6/Clip"),
        helper.make_node("Sum", ["silu", "gelu"], ["sum"], name="/join/Sum"),
        helper.make_node("Concat", ["sum", "relu6"], ["y"], name="/cat/Concat", axis=1),
    ]
    model = model_of(nodes, [weight("a.w", 4, 3), weight("a.b", 4), half, one, root2, low, high], [3])
    x = RNG.normal(size=(5, 3)).astype(np.float32) * 3
    imported = assert_imports_equal(model, x, ["Linear", "SiLU", "GELU", "Hardtanh", "Add", "Concat"])
    assert imported.spec.node_by_name("relu6").params == {"min_val": 0.0, "max_val": 6.0}


def lstm_model(direction="forward", layout_ops=True):
    hidden, features = 4, 3
    dirs = 2 if direction == "bidirectional" else 1
    nodes = [helper.make_node("Transpose", ["x"], ["t"], name="/rnn/Transpose", perm=[1, 0, 2]),
             helper.make_node("LSTM", ["t", "W", "R", "B"], ["Y", "Yh"], name="/rnn/LSTM", hidden_size=hidden,
                              direction=direction),
             helper.make_node("Transpose", ["Yh"], ["ht"], name="/rnn/Transpose_1", perm=[1, 0, 2]),
             helper.make_node("Reshape", ["ht", "shape"], ["h"], name="/rnn/Reshape"),
             helper.make_node("Gemm", ["h", "fc.w", "fc.b"], ["y"], name="/fc/Gemm", transB=1)]
    inits = [weight("W", dirs, 4 * hidden, features), weight("R", dirs, 4 * hidden, hidden),
             weight("B", dirs, 8 * hidden), numpy_helper.from_array(np.array([0, dirs * hidden], np.int64), "shape"),
             weight("fc.w", 2, dirs * hidden), weight("fc.b", 2)]
    return model_of(nodes, inits, [5, features])


@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_an_onnx_lstm_imports_with_pytorch_gate_order(direction):
    model = lstm_model(direction)
    x = RNG.normal(size=(2, 5, 3)).astype(np.float32)
    imported = assert_imports_equal(model, x, ["LSTM", "Linear"])
    params = imported.spec.node_by_name("rnn").params
    assert params["output"] == "last" and params["bidirectional"] == (direction == "bidirectional")


def test_every_operator_without_a_layer_is_listed_at_once_and_nothing_is_imported():
    nodes = [
        helper.make_node("Gemm", ["x", "a.w"], ["a"], name="/a/Gemm", transB=1),
        helper.make_node("Sin", ["a"], ["s"], name="/wave/Sin"),
        helper.make_node("Relu", ["s"], ["r"], name="/act/Relu"),
        helper.make_node("TopK", ["r", "k"], ["v", "i"], name="/pick/TopK"),
        helper.make_node("Cos", ["v"], ["y"], name="/wave2/Cos"),
    ]
    k = numpy_helper.from_array(np.array([2], np.int64), "k")
    model = model_of(nodes, [weight("a.w", 4, 3), k], [3])
    with pytest.raises(ModelImportError) as caught:
        import_onnx_model(model, label="'waves.onnx'")
    listed = [(op, name) for op, name, _ in caught.value.unsupported]
    assert listed == [("Sin", "/wave/Sin"), ("TopK", "/pick/TopK"), ("Cos", "/wave2/Cos")]
    message = str(caught.value)
    assert message.startswith("'waves.onnx' cannot be imported: 3 operators (Cos, Sin, TopK)")
    for op, name in listed:
        assert f"{op} {name!r}" in message


def test_attributes_without_a_layer_are_refused_with_the_reason():
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="/c/Conv", kernel_shape=[3, 3], pads=[0, 0, 1, 1]),
             helper.make_node("Flatten", ["c"], ["y"], name="/f/Flatten", axis=2)]
    model = model_of(nodes, [weight("w", 2, 1, 3, 3)], [1, 5, 5])
    with pytest.raises(ModelImportError) as caught:
        import_onnx_model(model)
    reasons = {op: reason for op, _, reason in caught.value.unsupported}
    assert "differs before and after" in reasons["Conv"]
    assert set(reasons) == {"Conv"}   # the Flatten behind it is skipped, not blamed: it has a layer


# -- PyTorch's exporter ---------------------------------------------------------------------------------------

def torch_export(model, example, **kwargs):
    torch = pytest.importorskip("torch", reason="PyTorch's exporter writes these models")
    import io

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (example,), buffer, dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=17, **kwargs)
    return onnx.load_model_from_string(buffer.getvalue())


def assert_matches_torch(model, module, x):
    import torch

    imported = import_onnx_model(model)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(reference_output(imported.spec, imported.state_dict, x), expected,
                               rtol=1e-4, atol=1e-5)
    return imported


def test_a_pytorch_cnn_with_a_skip_connection_imports_and_predicts_as_torch():
    torch = pytest.importorskip("torch", reason="PyTorch's exporter writes these models")
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(1, 6, 3, padding=1)
            self.body = nn.Sequential(nn.Conv2d(6, 6, 3, padding=1), nn.BatchNorm2d(6), nn.SiLU())
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(6, 10), nn.GELU(approximate="tanh"),
                                      nn.Linear(10, 4), nn.Softmax(dim=1))

        def forward(self, x):
            y = torch.relu(self.stem(x))
            return self.head(self.pool(y + self.body(y)))

    torch.manual_seed(0)
    module = Net().eval()
    with torch.no_grad():
        module.body[1].running_mean.normal_()
        module.body[1].running_var.uniform_(0.5, 2.0)
    x = RNG.normal(size=(3, 1, 8, 8)).astype(np.float32)
    imported = assert_matches_torch(torch_export(module, torch.from_numpy(x)), module, x)
    kinds = [node.type for node in imported.spec.nodes.values()]
    assert kinds.count("Add") == 1 and "SiLU" in kinds and "GELU" in kinds and "Dropout" not in kinds
    assert imported.spec.node_by_name("head_4").params == {"out_features": 4, "bias": True}


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_a_pytorch_recurrent_model_imports_stacked_as_one_layer(kind):
    torch = pytest.importorskip("torch", reason="PyTorch's exporter writes these models")
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(nn, kind)(3, 5, num_layers=2, batch_first=True)
            self.fc = nn.Linear(5, 2)

        def forward(self, x):
            _, state = self.rnn(x)
            hidden = state[0] if kind == "LSTM" else state
            return self.fc(hidden[-1])

    torch.manual_seed(1)
    module = Net().eval()
    x = RNG.normal(size=(2, 6, 3)).astype(np.float32)
    imported = assert_matches_torch(torch_export(module, torch.from_numpy(x)), module, x)
    rnn = imported.spec.node_by_name("rnn")
    assert (rnn.type, rnn.params["num_layers"], rnn.params["output"]) == (kind, 2, "last")
    state = module.state_dict()
    for key in ("rnn.weight_ih_l1", "rnn.bias_hh_l0"):   # PyTorch's own gate order and names
        np.testing.assert_allclose(imported.state_dict[key], state[key].numpy(), rtol=1e-6)


def test_a_model_written_with_the_engine_and_its_onnx_export_comes_onto_the_canvas():
    """Code -> layerforge.engine.onnx.export -> canvas: the model equals the one written in code."""
    import io

    import layerforge.engine as torch
    from layerforge.engine import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 5, batch_first=True, num_layers=2)
            self.norm = nn.LayerNorm(5)
            self.head = nn.Sequential(nn.Linear(5, 8), nn.GELU(), nn.Linear(8, 2))

        def forward(self, x):
            _, (hidden, _) = self.lstm(x)
            return self.head(self.norm(hidden[-1]))

    torch.manual_seed(0)
    module = Net().eval()
    x = torch.randn(4, 6, 3)
    buffer = io.BytesIO()
    torch.onnx.export(module, (x,), buffer, input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "batch"}})
    imported = import_onnx_model(onnx.load_model_from_string(buffer.getvalue()))
    assert [(n.name, n.type) for n in imported.spec.nodes.values()] == [
        ("input1", "Input"), ("lstm", "LSTM"), ("norm", "LayerNorm"), ("head_0", "Linear"), ("head_1", "GELU"),
        ("head_2", "Linear")]
    assert imported.spec.node_by_name("lstm").params["num_layers"] == 2
    with torch.no_grad():
        expected = np.asarray(module(x))
    np.testing.assert_allclose(reference_output(imported.spec, imported.state_dict, np.asarray(x)), expected,
                               rtol=1e-5, atol=1e-6)


def test_shapes_that_do_not_fit_a_layer_are_refused_with_the_shapes():
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="/c/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["c", "x"], ["s"], name="/join/Add"),
             helper.make_node("Gemm", ["x", "fc.w"], ["y"], name="/fc/Gemm", transB=1)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 4, 4])],
                              [helper.make_tensor_value_info("s", TensorProto.FLOAT, ["N", 2, 4, 4])],
                              initializer=[weight("w", 2, 1, 3, 3), weight("fc.w", 3, 16)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    with pytest.raises(ModelImportError) as caught:
        import_onnx_model(model)
    (op, name, reason), = caught.value.unsupported   # the Gemm feeds nothing the output needs: not read
    assert (op, name) == ("Add", "/join/Add")
    assert "same shape" in reason and "(2, 4, 4)" in reason and "(1, 4, 4)" in reason


def test_onnx_attention_operator_with_its_projections_imports_as_self_attention():
    """Opset 23's Attention fed x @ Wq + bq, x @ Wk + bk, x @ Wv + bv, then @ Wo + bo: MultiheadSelfAttention."""
    dim, heads = 8, 2
    nodes, inits = [], []
    for role in ("q", "k", "v"):
        nodes += [helper.make_node("MatMul", ["x", f"W{role}"], [f"{role}0"], name=f"/attn/{role}/MatMul"),
                  helper.make_node("Add", [f"{role}0", f"b{role}"], [role], name=f"/attn/{role}/Add")]
        inits += [weight(f"W{role}", dim, dim), weight(f"b{role}", dim)]
    nodes += [helper.make_node("Attention", ["q", "k", "v"], ["a"], name="/attn/Attention", q_num_heads=heads,
                               kv_num_heads=heads),
              helper.make_node("MatMul", ["a", "Wo"], ["o"], name="/attn/out/MatMul"),
              helper.make_node("Add", ["o", "bo"], ["y"], name="/attn/out/Add")]
    inits += [weight("Wo", dim, dim), weight("bo", dim)]
    model = model_of(nodes, inits, [5, dim], output_shape=("N", 5, dim), opset=23)
    model.ir_version = 10
    x = RNG.normal(size=(3, 5, dim)).astype(np.float32)
    imported = import_onnx_model(model)
    assert [(n.name, n.type) for n in imported.spec.nodes.values()] == [("input1", "Input"),
                                                                        ("attn", "MultiheadSelfAttention")]
    assert imported.spec.node_by_name("attn").params["num_heads"] == heads
    from onnx.reference import ReferenceEvaluator
    expected = ReferenceEvaluator(model).run(None, {"x": x})[0]
    np.testing.assert_allclose(reference_output(imported.spec, imported.state_dict, x), expected, rtol=1e-4, atol=1e-5)
    causal = onnx.ModelProto()
    causal.CopyFrom(model)
    attention = next(n for n in causal.graph.node if n.op_type == "Attention")
    attention.attribute.append(helper.make_attribute("is_causal", 1))
    with pytest.raises(ModelImportError) as caught:
        import_onnx_model(causal)
    assert "non-causal" in str(caught.value)
