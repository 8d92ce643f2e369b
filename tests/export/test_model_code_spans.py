"""Where each layer is in the generated model.py: the Code panel highlights these lines."""
from __future__ import annotations

import pytest

from layerforge.export.pytorch_model_code import model_source, model_source_with_spans
from layerforge.graph import ModelSpec, infer_shapes


def residual_spec() -> ModelSpec:
    spec = ModelSpec()
    source = spec.add_node("Input", {"shape": [4]}, name="input1")
    fc1 = spec.add_node("Linear", {"out_features": 4}, name="fc1")
    act = spec.add_node("ReLU", name="act")
    add = spec.add_node("Add", name="skip")
    head = spec.add_node("LSTM", {"hidden_size": 3}, name="lstm1")
    spec.connect(source.id, fc1.id)
    spec.connect(fc1.id, act.id)
    spec.connect(act.id, add.id)
    spec.connect(fc1.id, add.id)
    reshape = spec.add_node("Reshape", {"shape": [2, 2]}, name="seq")
    spec.connect(add.id, reshape.id)
    spec.connect(reshape.id, head.id)
    return spec


def lines_of(text: str, spans) -> list[str]:
    lines = text.split("\n")
    return [lines[number - 1].strip() for first, last in spans for number in range(first, last + 1)]


def test_spans_cover_each_layers_init_and_forward_lines_and_the_text_is_model_source():
    spec = residual_spec()
    report = infer_shapes(spec)
    assert report.ok, report.errors
    text, spans = model_source_with_spans(spec, report, "demo")
    assert text == model_source(spec, report, "demo")
    by_name = {spec.nodes[node_id].name: lines_of(text, node_spans) for node_id, node_spans in spans.items()}
    assert by_name["fc1"] == ["self.fc1 = nn.Linear(4, 4, bias=True)", "fc1 = self.fc1(x)  # (batch, 4)"]
    assert by_name["act"] == ["self.act = nn.ReLU()", "x = self.act(fc1)  # (batch, 4)"]
    assert by_name["skip"] == ["x = x + fc1  # (batch, 4)"]
    assert by_name["input1"] == ["def forward(self, x):"]
    # The LSTM's two statements (call, then its output taken) and the return: one span in forward.
    lstm = by_name["lstm1"]
    assert lstm[0].startswith("self.lstm1 = nn.LSTM(2, 3,")
    assert lstm[1].startswith("result = self.lstm1(x)") and lstm[2].startswith("x = result[1][0][-1]")
    assert lstm[3] == "return x"
    assert len(spans[spec.node_by_name("lstm1").id]) == 2   # __init__ line, and forward's three lines


@pytest.mark.parametrize("example", ["spiral", "digits_cnn", "digits_residual", "waveforms_lstm"])
def test_every_layer_of_the_examples_has_lines(example):
    from layerforge.training import example_project_path, load_project

    project = load_project(example_project_path(example))[0]
    report = infer_shapes(project.spec)
    text, spans = model_source_with_spans(project.spec, report, project.name)
    assert set(spans) == set(project.spec.nodes)
    total = text.count("\n") + 1
    for node_id, node_spans in spans.items():
        name = project.spec.nodes[node_id].name
        assert all(1 <= first <= last <= total for first, last in node_spans)
        if project.spec.nodes[node_id].type != "Input":   # its statement, with the shape it gives
            shape = ", ".join(map(str, report.nodes[node_id].output_shape))
            assert any(line.endswith(f"# (batch, {shape})") for line in lines_of(text, node_spans)), name
