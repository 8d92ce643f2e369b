"""The model spec: JSON round trip, loading errors that name the node, and the canvas's edits."""
import json

import pytest

from layerforge.graph import Edge, ModelSpec, SpecError, infer_shapes, templates
from spec_cases import chain


@pytest.mark.parametrize("template", templates(), ids=lambda t: t.key)
def test_json_round_trip_is_lossless(template):
    spec = template.spec()
    text = spec.to_json()
    again = ModelSpec.from_json(text)
    assert again == spec
    assert again.to_json() == text
    assert [(n.id, n.type, n.name, n.params, n.position) for n in again.nodes.values()] == \
           [(n.id, n.type, n.name, n.params, n.position) for n in spec.nodes.values()]
    assert again.edges == spec.edges


def test_tuples_survive_json_and_defaults_are_filled_in():
    data = {"nodes": [{"id": "a", "type": "Input", "params": {"shape": [1, 8, 8]}},
                      {"id": "b", "type": "Conv2d", "name": "conv", "params": {"kernel_size": [3, 5]}}],
            "edges": [{"source": "a", "target": "b"}]}
    spec = ModelSpec.from_dict(data)
    conv = spec.node("b")
    assert conv.params["kernel_size"] == (3, 5) and conv.params["stride"] == (1, 1)
    assert spec.node("a").name == "input1"
    assert infer_shapes(spec).output_shape == (8, 6, 4)


def test_unknown_layer_type_names_the_node():
    data = {"nodes": [{"id": "n7", "type": "Dense", "name": "hidden"}], "edges": []}
    with pytest.raises(SpecError) as caught:
        ModelSpec.from_dict(data)
    assert caught.value.message == "node 'hidden' (id 'n7'): unknown layer type 'Dense'; see " \
                                   "layerforge.graph.layer_types()"
    assert caught.value.node_id == "n7" and caught.value.kind == "unknown_type"


def test_bad_parameter_names_the_node_and_the_parameter():
    data = {"nodes": [{"id": "n1", "type": "Linear", "name": "fc2", "params": {"out_features": 0}}], "edges": []}
    with pytest.raises(SpecError, match=r"^Linear 'fc2': parameter 'out_features': value 0 is out of range; "
                                        r"use >= 1$") as caught:
        ModelSpec.from_dict(data)
    assert caught.value.node_name == "fc2" and caught.value.kind == "param"
    data["nodes"][0]["params"] = {"units": 3}
    with pytest.raises(SpecError, match="parameter 'units': Linear has no such parameter; it has: "
                                        "out_features, bias"):
        ModelSpec.from_dict(data)


@pytest.mark.parametrize("data,expected", [
    ({"version": 2, "nodes": [], "edges": []}, "version 2, newer than this Layerforge reads"),
    ([], "a model must be a JSON object"),
    ({"nodes": [{"type": "ReLU"}], "edges": []}, "node 0 must be an object with 'id' and 'type'"),
    ({"nodes": [{"id": "a", "type": "ReLU", "name": "r"}, {"id": "b", "type": "ReLU", "name": "r"}],
      "edges": []}, "two layers are named 'r'"),
    ({"nodes": [{"id": "a", "type": "ReLU"}], "edges": [{"source": "a", "target": "zz"}]},
     "no node with id 'zz'"),
    ({"nodes": [{"id": "a", "type": "ReLU"}, {"id": "b", "type": "Input"}],
      "edges": [{"source": "a", "target": "b"}]}, "Input 'input1' takes no inputs"),
    ({"nodes": [{"id": "a", "type": "ReLU", "name": "fc.1"}], "edges": []}, "must start with a letter"),
])
def test_malformed_specs_are_refused_with_a_reason(data, expected):
    with pytest.raises(SpecError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        ModelSpec.from_dict(data)


def test_invalid_json_says_where():
    with pytest.raises(SpecError, match="not valid JSON: .* line 1, column"):
        ModelSpec.from_json('{"nodes": [}')


def test_new_nodes_get_unique_readable_names():
    spec = ModelSpec()
    names = [spec.add_node(t).name for t in ["Input", "Linear", "ReLU", "Linear", "Conv2d", "Linear"]]
    assert names == ["input1", "fc1", "relu1", "fc2", "conv1", "fc3"]
    spec.remove_node(spec.node_by_name("fc2").id)
    assert spec.add_node("Linear").name == "fc2"
    assert len(set(spec.nodes)) == len(spec.nodes)


def test_connect_fills_free_inputs_and_refuses_cycles_and_taken_ports():
    spec = chain(("Input", {"shape": 4}), ("Linear", {"out_features": 4}), ("ReLU", {}))
    inp, fc, relu = spec.nodes
    add = spec.add_node("Add")
    assert spec.connect(relu, add.id) == Edge(relu, add.id, 0)
    assert spec.connect(inp, add.id) == Edge(inp, add.id, 1)
    with pytest.raises(SpecError, match="connecting Add 'add1' to Linear 'fc1' would make a cycle"):
        spec.connect(add.id, fc)
    with pytest.raises(SpecError, match="input 0 of ReLU 'relu1' is already connected to Linear 'fc1'"):
        spec.connect(inp, relu)
    with pytest.raises(SpecError, match="ReLU 'relu1' has 1 input; there is no input 1"):
        spec.connect(inp, relu, 1)
    edges_before = list(spec.edges)
    with pytest.raises(SpecError):
        spec.connect(relu, relu)
    assert spec.edges == edges_before  # a refused edit changes nothing


def test_remove_and_disconnect_return_what_undo_needs():
    spec = chain(("Input", {"shape": 4}), ("Linear", {}), ("ReLU", {}))
    inp, fc, relu = spec.nodes
    node, edges = spec.remove_node(fc)
    assert node.name == "fc1" and edges == [Edge(inp, fc, 0), Edge(fc, relu, 0)]
    assert spec.edges == []
    spec.add_node(node.type, node.params, name=node.name, position=node.position, node_id=node.id)
    for edge in edges:
        spec.connect(edge.source, edge.target, edge.index)
    assert spec == chain(("Input", {"shape": 4}), ("Linear", {}), ("ReLU", {}))
    assert spec.disconnect(fc, relu) == Edge(fc, relu, 0)
    with pytest.raises(SpecError, match="Linear 'fc1' is not connected to ReLU 'relu1'"):
        spec.disconnect(fc, relu)


def test_set_param_stores_the_canonical_value_or_refuses():
    spec = chain(("Input", {"shape": "1,8,8"}), ("Conv2d", {}))
    conv = spec.node_by_name("conv1")
    assert spec.set_param(conv.id, "kernel_size", "5") == (5, 5)
    assert spec.set_param(conv.id, "padding", "same") == "same"
    with pytest.raises(SpecError, match="Conv2d 'conv1': parameter 'padding': 'same' is not supported for strided"):
        spec.set_param(conv.id, "stride", 2)
    assert conv.params["stride"] == (1, 1)  # unchanged after a refusal
    with pytest.raises(SpecError, match="Conv2d 'conv1': Conv2d has no parameter 'units'"):
        spec.set_param(conv.id, "units", 3)


def test_rename_and_move():
    spec = chain(("Input", {"shape": 2}), ("Linear", {}), ("ReLU", {}))
    fc = spec.node_by_name("fc1")
    spec.rename(fc.id, "hidden")
    assert fc.name == "hidden"
    with pytest.raises(SpecError, match="already used"):
        spec.rename(fc.id, "relu1")
    with pytest.raises(SpecError, match="'forward' is reserved"):
        spec.rename(fc.id, "forward")
    spec.move(fc.id, (10, 20.5))
    assert fc.position == (10.0, 20.5)


def test_residual_block_is_expressible():
    spec = chain(("Input", {"shape": 8}), ("Linear", {"out_features": 8}), ("ReLU", {}))
    inp, fc, relu = spec.nodes
    add = spec.add_node("Add")
    spec.connect(relu, add.id)
    spec.connect(inp, add.id)
    report = infer_shapes(spec)
    assert report.ok and report.output_id == add.id and report.output_shape == (8,)
    assert json.loads(spec.to_json())["edges"][-1] == {"source": inp, "target": add.id, "index": 1}


def test_copy_paste_gives_fresh_ids_and_names_and_keeps_inner_edges():
    spec = chain(("Input", {"shape": 4}), ("Linear", {"out_features": 3}), ("ReLU", {}))
    inp, fc, relu = spec.nodes
    clip = spec.extract([fc, relu])
    assert [e["source"] for e in clip["edges"]] == [fc]  # the edge from the Input stays behind
    pasted = spec.paste(clip, offset=(10, 0))
    assert [n.name for n in pasted] == ["fc2", "relu2"]
    assert pasted[0].params == spec.node(fc).params and pasted[0].position == (10.0, 0.0)
    assert spec.inputs_of(pasted[1].id) == [Edge(pasted[0].id, pasted[1].id, 0)]
    assert len(spec.nodes) == 5 and len(set(spec.nodes)) == 5


def test_auto_layout_puts_layers_in_columns_by_depth():
    from layerforge.graph import apply_layout, auto_layout, get_template
    spec = get_template("residual_cnn").spec()
    positions = auto_layout(spec)
    order = spec.topological_order()
    for edge in spec.edges:
        assert positions[edge.source][0] < positions[edge.target][0]
    apply_layout(spec, positions)
    assert spec.node(order[0]).position == (0.0, 0.0)


def test_param_format_is_what_an_editor_shows():
    from layerforge.graph import get_layer
    conv = get_layer("Conv2d")
    assert conv.param("kernel_size").format((3, 5)) == "3, 5"
    assert conv.param("bias").format(True) == "true"
    assert get_layer("MaxPool2d").param("stride").format(None) == ""
    for param in conv.params:  # what an editor shows parses back to the same value
        assert param.parse(param.format(param.default)) == param.default
