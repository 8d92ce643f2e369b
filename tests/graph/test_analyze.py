"""Model > Analyze's numbers: parameters as the compiled module holds them, FLOPs counted by hand."""
from __future__ import annotations

import csv
import io

import pytest

from layerforge.graph import ModelSpec, compile_spec, infer_shapes
from layerforge.graph.analyze import analyze, human_bytes, layer_flops
from layerforge.training import example_project_path, example_projects, load_project


def chain(*layers, shape=(4,)) -> ModelSpec:
    spec = ModelSpec()
    previous = spec.add_node("Input", {"shape": list(shape)}, name="input1")
    for layer_type, params, name in layers:
        node = spec.add_node(layer_type, params, name=name)
        spec.connect(previous.id, node.id)
        previous = node
    return spec


@pytest.mark.parametrize("example", example_projects())
def test_parameter_counts_are_the_compiled_modules(example):
    spec = load_project(example_project_path(example))[0].spec
    analysis = analyze(spec)
    model = compile_spec(spec)
    assert analysis.total_params == sum(p.numel() for p in model.parameters()) > 0
    for layer in analysis.layers:
        module = getattr(model, layer.name, None)
        expected = 0 if module is None else sum(p.numel() for p in module.parameters())
        assert layer.params == expected, layer.name
    assert [layer.name for layer in analysis.layers] == [spec.nodes[n].name for n in infer_shapes(spec).order]


def test_linear_flops_by_hand():
    # y = x W^T + b with x of 20 features, 7 outputs: 20 multiply-adds (40 FLOPs) and one bias add each.
    spec = chain(("Linear", {"out_features": 7}, "fc"), ("Linear", {"out_features": 3, "bias": False}, "head"),
                 shape=(20,))
    rows = {layer.name: layer for layer in analyze(spec).layers}
    assert rows["fc"].flops == 7 * (2 * 20 + 1) == 287
    assert rows["head"].flops == 3 * 2 * 7 == 42
    assert rows["fc"].params == 20 * 7 + 7
    assert rows["fc"].activation_bytes == 7 * 4
    assert analyze(spec).total_flops == 287 + 42


def test_conv2d_flops_by_hand():
    # 3 input channels, 10x10 image, 5 filters of 3x3, stride 2, padding 1: a 5x5 output per filter.
    spec = chain(("Conv2d", {"out_channels": 5, "kernel_size": [3, 3], "stride": [2, 2], "padding": [1, 1]},
                  "conv"), ("ReLU", {}, "act"), ("MaxPool2d", {"kernel_size": [2, 2]}, "pool"), shape=(3, 10, 10))
    rows = {layer.name: layer for layer in analyze(spec).layers}
    outputs = 5 * 5 * 5
    assert rows["conv"].output_shape == (5, 5, 5)
    assert rows["conv"].flops == outputs * (2 * 3 * 3 * 3 + 1) == 6875
    assert rows["act"].flops == outputs                     # one per value
    assert rows["pool"].flops == 5 * 2 * 2 * 4              # each 2x2 window's four values
    assert rows["conv"].activation_bytes == outputs * 4
    grouped = layer_flops("Conv2d", {"groups": 3, "kernel_size": (3, 3), "bias": False}, [(3, 10, 10)], (3, 8, 8))
    assert grouped == 3 * 8 * 8 * 2 * 1 * 9                 # each filter sees one channel


def test_lstm_flops_count_both_products_every_step():
    spec = chain(("LSTM", {"hidden_size": 6}, "lstm"), shape=(5, 2))
    (layer,) = [row for row in analyze(spec).layers if row.name == "lstm"]
    gates = 4 * 6
    per_step = 2 * gates * (2 + 6) + gates + 2 * gates + 9 * 6
    assert layer.flops == 5 * per_step


def test_self_attention_flops_by_hand_and_its_parameters_are_the_modules():
    spec = chain(("MultiheadSelfAttention", {"num_heads": 2}, "attn"),
                 ("TransformerEncoderBlock", {"num_heads": 2, "dim_feedforward": 12}, "block"),
                 ("SequencePool", {"mode": "mean"}, "pool"), shape=(5, 8))
    analysis = analyze(spec)
    rows = {layer.name: layer for layer in analysis.layers}
    length, dim, heads = 5, 8, 2
    projections = 4 * length * dim * (2 * dim + 1)            # q, k, v and out, with biases
    scores_and_sum = 2 * (2 * length * length * dim)          # q k^T, then the weights times v
    per_score = heads * length * length * (1 + 3)             # scaling, then softmax (exp, sum, divide)
    assert rows["attn"].flops == projections + scores_and_sum + per_score
    assert rows["pool"].flops == length * dim + dim
    model = compile_spec(spec)
    for name in ("attn", "block"):
        assert rows[name].params == sum(p.numel() for p in getattr(model, name).parameters())


def test_every_catalog_layer_has_a_flops_count():
    from layerforge.graph import all_layers
    from layerforge.graph.analyze import PER_VALUE, RULES

    missing = [layer.type for layer in all_layers() if layer.type not in RULES and layer.type not in PER_VALUE]
    assert missing == [], f"add a FLOPs rule in graph/analyze.py for {missing}"


def test_invalid_model_lists_the_error_and_leaves_its_flops_out():
    spec = chain(("Linear", {"out_features": 4}, "fc"), shape=(2, 3))   # Linear needs a flat vector
    analysis = analyze(spec)
    (bad,) = [row for row in analysis.layers if row.name == "fc"]
    assert bad.output_shape is None and bad.flops is None and bad.shape_text == "error"
    assert analysis.errors and "Flatten" in analysis.errors[0]
    assert "fc" in analysis.uncounted
    assert "error:" in analysis.text()


def test_text_and_csv_hold_the_same_rows_and_totals():
    spec = load_project(example_project_path("digits_cnn"))[0].spec
    analysis = analyze(spec)
    rows = list(csv.reader(io.StringIO(analysis.csv())))
    assert rows[0] == ["layer", "type", "output shape", "parameters", "activations (bytes)", "FLOPs"]
    assert rows[-1][0] == "total" and int(rows[-1][3]) == analysis.total_params
    assert int(rows[-1][5]) == sum(int(row[5]) for row in rows[1:-1]) == analysis.total_flops
    assert int(rows[-1][4]) == sum(int(row[4]) for row in rows[1:-1])
    text = analysis.text()
    assert f"{analysis.total_params:,}" in text and "multiply-add counts as 2 FLOPs" in text
    for layer in analysis.layers:
        assert layer.name in text


def test_human_bytes():
    assert human_bytes(512) == "512 B"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(3 * 1024 * 1024) == "3.0 MiB"
