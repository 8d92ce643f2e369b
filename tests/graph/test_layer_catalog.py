"""The layer catalog: what the palette and inspector read, and shape rules checked against PyTorch."""
import pytest

from layerforge.graph import (CATEGORIES, Param, SpecError, categories, get_layer, layer_types, layers_in,
                              search, torch_code)
from layerforge.graph.spec import Node

from graph_layer_cases import CASES

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")


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
    if layer.forward is not None:
        return layer.forward.apply(torch, params, module, inputs), sum(p.numel() for p in module.parameters())
    result = module(*inputs)
    if layer.select_output is not None:
        result = layer.select_output.apply(torch, params, result)
    return result, sum(p.numel() for p in module.parameters())


def test_every_layer_has_an_oracle_case():
    assert set(layer_types()) - {"Input"} == {case[0] for case in CASES}


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
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
            assert param.parse(param.format(param.default)) == param.default, (layer_type, param.name)
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


def test_graph_runs_headless_without_qt_or_torch():
    import subprocess
    import sys
    code = ("import sys, layerforge.graph as g; g.infer_shapes(g.get_template('lenet').spec()); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'torch')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
