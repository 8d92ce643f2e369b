"""The layer catalog: what the palette and inspector read, and shape rules checked against PyTorch."""
import pytest

from layerforge.graph import (CATEGORIES, Param, SpecError, categories, get_layer, layer_types, layers_in,
                              search, torch_code)
from layerforge.graph.spec import Node

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")

# (layer type, params, per-sample input shapes): every layer appears at least once.
CASES = [
    ("Linear", {"out_features": 7}, [(5,)]),
    ("Linear", {"out_features": 3, "bias": False}, [(4,)]),
    ("Bilinear", {"out_features": 4}, [(3,), (5,)]),
    ("Embedding", {"num_embeddings": 10, "embedding_dim": 4, "padding_idx": 0}, [(6,)]),
    ("Identity", {}, [(3, 4)]),
    ("Flatten", {}, [(2, 3, 4)]),
    ("Flatten", {"start_dim": 2, "end_dim": -1}, [(2, 3, 4)]),
    ("Flatten", {"start_dim": 1, "end_dim": 2}, [(2, 3, 4)]),
    ("Unflatten", {"dim": 1, "sizes": (2, -1)}, [(12,)]),
    ("Unflatten", {"dim": -1, "sizes": (2, 2)}, [(3, 4)]),
    ("Reshape", {"shape": (1, 4, 4)}, [(16,)]),
    ("Reshape", {"shape": (-1, 2)}, [(2, 3, 2)]),
    ("Dropout", {"p": 0.3}, [(5,)]),
    ("Add", {}, [(3, 4), (3, 4)]),
    ("Add", {}, [(6,), (6,), (6,)]),
    ("Concat", {"dim": 1}, [(3, 4), (2, 4)]),
    ("Concat", {"dim": -1}, [(3, 4), (3, 1), (3, 2)]),
    ("Conv1d", {"out_channels": 4, "kernel_size": 3}, [(2, 10)]),
    ("Conv1d", {"out_channels": 4, "kernel_size": 4, "padding": "same", "dilation": 2}, [(2, 11)]),
    ("Conv2d", {"out_channels": 6, "kernel_size": 3, "stride": 2, "padding": 1}, [(3, 9, 8)]),
    ("Conv2d", {"out_channels": 4, "kernel_size": (2, 3), "dilation": (2, 1), "groups": 2}, [(2, 7, 7)]),
    ("Conv2d", {"out_channels": 4, "kernel_size": 4, "padding": "same"}, [(1, 5, 6)]),
    ("Conv2d", {"out_channels": 2, "kernel_size": 3, "padding": "valid", "bias": False}, [(1, 5, 5)]),
    ("ConvTranspose2d", {"out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1,
                         "output_padding": 1}, [(4, 5, 5)]),
    ("ConvTranspose2d", {"out_channels": 4, "kernel_size": 2, "dilation": 2, "groups": 2}, [(2, 3, 4)]),
    ("MaxPool1d", {"kernel_size": 3, "stride": 2, "padding": 1}, [(2, 9)]),
    ("MaxPool2d", {"kernel_size": 2}, [(3, 7, 6)]),
    ("MaxPool2d", {"kernel_size": 3, "dilation": 2, "padding": 1}, [(1, 9, 10)]),
    ("AvgPool1d", {"kernel_size": 2}, [(3, 7)]),
    ("AvgPool2d", {"kernel_size": 3, "stride": (1, 2), "padding": 1}, [(2, 6, 7)]),
    ("AdaptiveAvgPool2d", {"output_size": (3, 2)}, [(2, 7, 5)]),
    ("AdaptiveAvgPool2d", {"output_size": 1}, [(4, 3, 3)]),
    ("BatchNorm1d", {}, [(5,)]),
    ("BatchNorm1d", {"affine": False}, [(3, 7)]),
    ("BatchNorm2d", {"momentum": 0.2}, [(3, 4, 4)]),
    ("LayerNorm", {"normalized_dims": 2}, [(3, 4, 5)]),
    ("LayerNorm", {"elementwise_affine": False}, [(6,)]),
    ("RNN", {"hidden_size": 5, "nonlinearity": "relu"}, [(7, 3)]),
    ("RNN", {"hidden_size": 5, "output": "sequence", "num_layers": 2}, [(7, 3)]),
    ("LSTM", {"hidden_size": 6}, [(8, 2)]),
    ("LSTM", {"hidden_size": 4, "num_layers": 2, "bidirectional": True, "output": "sequence"}, [(5, 3)]),
    ("LSTM", {"hidden_size": 4, "bidirectional": True}, [(5, 3)]),
    ("GRU", {"hidden_size": 5, "bias": False}, [(6, 2)]),
    ("GRU", {"hidden_size": 3, "bidirectional": True, "num_layers": 3, "output": "sequence"}, [(4, 2)]),
    ("ReLU", {}, [(3,)]),
    ("LeakyReLU", {"negative_slope": 0.2}, [(3,)]),
    ("ELU", {"alpha": 0.5}, [(3, 2)]),
    ("GELU", {"approximate": "tanh"}, [(4,)]),
    ("SiLU", {}, [(4,)]),
    ("Sigmoid", {}, [(4,)]),
    ("Tanh", {}, [(4,)]),
    ("Softmax", {"dim": 1}, [(4, 3)]),
    ("LogSoftmax", {}, [(5,)]),
    ("Softplus", {"beta": 2.0}, [(5,)]),
    ("Hardtanh", {"min_val": -2.0, "max_val": 0.5}, [(5,)]),
]


def run_torch(layer_type, params, in_shapes):
    """Build the layer with torch.nn from the catalog's own call and run a batch of 2 through it."""
    layer = get_layer(layer_type)
    params = layer.parse_params(params)
    if layer_type == "Embedding":
        inputs = [torch.randint(0, params["num_embeddings"], (2, *in_shapes[0]))]
    else:
        inputs = [torch.randn(2, *shape) for shape in in_shapes]
    if layer.merge is not None:
        return layer.merge.apply(torch, params, inputs), 0
    module = layer.build(torch.nn, params, in_shapes)
    result = module(*inputs)
    if layer.select_output is not None:
        result = layer.select_output.apply(torch, params, result)
    return result, sum(p.numel() for p in module.parameters())


def test_every_layer_has_an_oracle_case():
    assert set(layer_types()) - {"Input"} == {case[0] for case in CASES}


@pytest.mark.parametrize("layer_type,params,in_shapes", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_shape_rule_and_param_count_match_pytorch(layer_type, params, in_shapes):
    layer = get_layer(layer_type)
    canonical = layer.parse_params(params)
    expected, expected_params = run_torch(layer_type, params, in_shapes)
    assert layer.infer(canonical, in_shapes) == tuple(expected.shape[1:])
    assert layer.count_params(canonical, in_shapes) == expected_params


def test_recurrent_last_is_final_hidden_state_of_both_directions():
    layer = get_layer("LSTM")
    params = layer.parse_params({"hidden_size": 3, "bidirectional": True})
    module = layer.build(torch.nn, params, [(5, 2)])
    x = torch.randn(4, 5, 2)
    output, _ = module(x)
    last = layer.select_output.apply(torch, params, module(x))
    torch.testing.assert_close(last[:, :3], output[:, -1, :3])  # forward direction ends at the last step
    torch.testing.assert_close(last[:, 3:], output[:, 0, 3:])  # backward direction ends at the first


def test_categories_group_every_layer_in_palette_order():
    assert categories() == CATEGORIES
    grouped = [layer.type for category in categories() for layer in layers_in(category)]
    assert sorted(grouped) == sorted(layer_types())
    assert [layer.type for layer in layers_in("Merge")] == ["Add", "Concat"]
    assert get_layer("Input").category == "Input/Output"
    assert {"ReLU", "Softmax", "Hardtanh"} <= {layer.type for layer in layers_in("Activation")}


def test_every_declaration_documents_itself_for_the_inspector():
    for layer_type in layer_types():
        layer = get_layer(layer_type)
        assert layer.description.endswith("."), layer_type
        assert layer.name_prefix.isidentifier(), layer_type
        for param in layer.params:
            assert isinstance(param, Param) and param.doc, (layer_type, param.name)
            assert param.parse(param.default) == param.default, (layer_type, param.name)
            if param.kind == "choice":
                assert param.default in param.choices


def test_unknown_layer_type_suggests_the_right_spelling():
    with pytest.raises(SpecError, match=r"unknown layer type 'linear'; did you mean 'Linear'\?"):
        get_layer("linear")
    with pytest.raises(KeyError, match="unknown category 'Dense layers'"):
        layers_in("Dense layers")


def test_search_finds_layers_by_name_and_description():
    found = {layer.type for layer in search("pool")}
    assert {"MaxPool2d", "AvgPool1d", "AdaptiveAvgPool2d"} <= found
    assert "Linear" not in found


def test_torch_code_reads_like_hand_written_pytorch():
    node = Node("n1", "Linear", "fc1", get_layer("Linear").parse_params({"out_features": 128}))
    assert torch_code(node, [(784,)]) == "nn.Linear(784, 128, bias=True)"
    conv = Node("n2", "Conv2d", "conv1", get_layer("Conv2d").parse_params({"out_channels": 8, "padding": "same"}))
    assert torch_code(conv, [(1, 28, 28)]) == ("nn.Conv2d(1, 8, 3, stride=1, padding='same', dilation=1, "
                                               "groups=1, bias=True)")
    lstm = Node("n3", "LSTM", "lstm1", get_layer("LSTM").parse_params({"hidden_size": 32}))
    assert torch_code(lstm, [(20, 4)]) == ("nn.LSTM(4, 32, num_layers=1, bias=True, batch_first=True, "
                                           "dropout=0.0, bidirectional=False)")
    reshape = Node("n4", "Reshape", "reshape1", get_layer("Reshape").parse_params({"shape": "16,7,-1"}))
    code = torch_code(reshape, [(784,)])
    assert code == "nn.Sequential(nn.Flatten(start_dim=1, end_dim=-1), nn.Unflatten(1, (16, 7, 7)))"
    assert torch_code(Node("n5", "Add", "add1", {}), [(3,), (3,)]) is None


@pytest.mark.parametrize("code", [
    "nn.Linear(784, 128, bias=True)",
    "nn.Conv2d(1, 8, 3, stride=1, padding='same', dilation=1, groups=1, bias=True)",
])
def test_generated_code_constructs_the_same_module_in_pytorch(code):
    module = eval(code, {"nn": torch.nn})
    assert isinstance(module, torch.nn.Module)


def test_merge_and_output_code_are_python_over_torch():
    concat = get_layer("Concat")
    assert concat.merge.code({"dim": 1}, ["a", "b"]) == "torch.cat([a, b], dim=1)"
    assert get_layer("Add").merge.code({}, ["x", "y", "z"]) == "x + y + z"
    lstm = get_layer("LSTM")
    params = lstm.parse_params({"hidden_size": 3})
    assert lstm.select_output.code(params, "out") == "out[1][0][-1]"
    gru = get_layer("GRU")
    assert gru.select_output.code(gru.parse_params({"output": "sequence"}), "out") == "out[0]"
