"""Validation: every node gets a shape or a precise error; totals for the inspector and status bar."""
import math

import pytest

from layerforge.graph import GraphError, ModelSpec, get_template, infer_shapes
from spec_cases import chain


def only_error(spec):
    report = infer_shapes(spec)
    assert len(report.errors) == 1, [e.message for e in report.errors]
    return report.errors[0]


def test_valid_model_reports_every_shape_and_edge_label():
    spec = chain(("Input", {"shape": "1,28,28"}), ("Conv2d", {"out_channels": 16, "padding": 1}),
                 ("MaxPool2d", {"kernel_size": 4}), ("Flatten", {}), ("Linear", {"out_features": 10}))
    report = infer_shapes(spec)
    assert report.ok
    assert [report.shape_of(n) for n in report.order] == [(1, 28, 28), (16, 28, 28), (16, 7, 7), (784,), (10,)]
    assert [report.edge_label(e) for e in spec.edges] == ["(1, 28, 28)", "(16, 28, 28)", "(16, 7, 7)", "(784,)"]
    assert report.input_shape == (1, 28, 28) and report.output_shape == (10,)
    report.raise_if_invalid()  # does not raise


def test_linear_after_pooling_asks_for_flatten_and_the_quick_fix_works():
    spec = chain(("Input", {"shape": "1,28,28"}), ("Conv2d", {"out_channels": 16, "padding": 1}),
                 ("MaxPool2d", {"kernel_size": 4}), ("Linear", {"out_features": 10}), ("ReLU", {}),
                 ("Linear", {"out_features": 3}))
    spec.rename(spec.node_by_name("fc2").id, "out")
    spec.rename(spec.node_by_name("fc1").id, "fc2")
    error = only_error(spec)
    fc2 = spec.node_by_name("fc2")
    assert error.message == "Linear 'fc2' expects a 1-D feature vector, got (16, 7, 7): insert Flatten"
    assert (error.kind, error.node_id, error.node_name) == ("shape", fc2.id, "fc2")
    assert error.quick_fix == {"action": "insert", "type": "Flatten", "before": fc2.id, "input": 0,
                               "label": "Insert Flatten"}
    report = infer_shapes(spec)
    assert report.nodes[fc2.id].error.message == error.message and report.shape_of(fc2.id) is None
    downstream = spec.node_by_name("relu1").id
    assert report.nodes[downstream].error is None and report.shape_of(downstream) is None  # not blamed
    flatten = spec.apply_quick_fix(error.quick_fix)
    fixed = infer_shapes(spec)
    assert fixed.ok and fixed.shape_of(flatten.id) == (784,) and fixed.output_shape == (3,)


def test_cycle_is_named():
    spec = ModelSpec.from_dict({"nodes": [
        {"id": "i", "type": "Input", "name": "x", "params": {"shape": [4]}},
        {"id": "a", "type": "Linear", "name": "a", "params": {"out_features": 4}},
        {"id": "b", "type": "Add", "name": "b"},
        {"id": "c", "type": "ReLU", "name": "c"},
        {"id": "d", "type": "Linear", "name": "out"}],
        "edges": [{"source": "i", "target": "a"}, {"source": "a", "target": "b"},
                  {"source": "b", "target": "c"}, {"source": "c", "target": "b", "index": 1},
                  {"source": "c", "target": "d"}]})
    error = only_error(spec)
    assert error.kind == "cycle"
    assert error.message == "the graph has a cycle: 'b' -> 'c' -> 'b'; remove one of these connections"


def test_dangling_layer_without_input():
    spec = chain(("Input", {"shape": 2}), ("Linear", {}))
    lonely = spec.add_node("Tanh")
    spec.connect(lonely.id, spec.add_node("Add").id)
    spec.connect(spec.node_by_name("fc1").id, spec.node_by_name("add1").id)
    error = only_error(spec)
    assert error.message == "Tanh 'tanh1' has no input: connect a layer's output to it"
    assert error.kind == "dangling" and error.node_name == "tanh1"


def test_merge_with_one_input_needs_another():
    spec = chain(("Input", {"shape": 2}), ("Linear", {}), ("Add", {}))
    assert only_error(spec).message == "Add 'add1' needs at least 2 inputs but has 1: connect another layer to it"


def test_missing_input_layer():
    spec = chain(("Linear", {}), ("ReLU", {}))
    report = infer_shapes(spec)
    assert report.errors[0].kind == "no_input"
    assert report.errors[0].message.startswith("the model has no Input layer: add one from the Input/Output group")
    assert infer_shapes(ModelSpec()).errors[0].message.startswith("the model is empty")


def test_one_input_and_one_output_for_now():
    spec = chain(("Input", {"shape": 2}), ("Linear", {}))
    spec.connect(spec.add_node("Input").id, spec.add_node("ReLU").id)
    messages = [e.message for e in infer_shapes(spec).errors]
    assert "Input 'input2' is a second Input layer; only one Input is supported for now: remove it" in messages
    assert ("the model has 2 outputs ('fc1', 'relu1'); only one output is supported for now: connect or delete "
            "all but the last layer") in messages
    alone = chain(("Input", {"shape": 2}))
    assert only_error(alone).message == "the model has no output: connect layers after the Input"


def test_incompatible_add_and_concat():
    spec = chain(("Input", {"shape": "3,8,8"}), ("Conv2d", {"out_channels": 16, "padding": 1}))
    add = spec.add_node("Add")
    spec.connect(spec.node_by_name("conv1").id, add.id)
    spec.connect(spec.node_by_name("input1").id, add.id)
    error = only_error(spec)
    assert error.kind == "merge" and error.node_name == "add1"
    assert error.message.startswith("Add 'add1' needs inputs of the same shape, got (16, 8, 8) on input 0 and "
                                    "(3, 8, 8) on input 1")
    spec.remove_node(add.id)
    concat = spec.add_node("Concat", {"dim": 1})
    spec.connect(spec.node_by_name("conv1").id, concat.id)
    spec.connect(spec.node_by_name("input1").id, concat.id)
    assert infer_shapes(spec).output_shape == (19, 8, 8)
    spec.set_param(concat.id, "dim", 2)
    assert only_error(spec).message == ("Concat 'concat1' joins along dim 2, so all other dimensions must "
                                        "match, got (16, 8, 8) on input 0 and (3, 8, 8) on input 1")


def test_raise_if_invalid_gives_the_first_problem_and_counts_the_rest():
    spec = chain(("Linear", {}), ("Linear", {}))
    spec.add_node("ReLU")
    with pytest.raises(GraphError, match=r"the model has no Input layer.*\(and 3 more problems\)"):
        infer_shapes(spec).raise_if_invalid()


def test_parameter_counts_and_memory_estimate():
    spec = get_template("lenet").spec()
    report = infer_shapes(spec)
    by_name = {r.name: r for r in report.nodes.values()}
    assert by_name["conv1"].param_count == 8 * 1 * 9 + 8
    assert by_name["conv2"].param_count == 16 * 8 * 9 + 16
    assert by_name["fc1"].param_count == 64 * 64 + 64
    assert by_name["fc2"].param_count == 10 * 64 + 10
    assert report.total_params == 80 + 1168 + 4160 + 650
    values_per_sample = sum(math.prod(r.output_shape) for r in report.nodes.values())
    assert report.memory_bytes(32) == 4 * report.total_params + 4 * 32 * values_per_sample
    assert "total parameters: 6,058" in report.summary()


def test_token_indices_go_into_an_embedding():
    spec = chain(("Input", {"shape": 12}), ("Embedding", {"num_embeddings": 50, "embedding_dim": 8}),
                 ("LSTM", {"hidden_size": 6}), ("Linear", {"out_features": 2}))
    error = only_error(spec)
    assert error.message == ("Embedding 'embed1' looks up int64 token indices, but gets float32 values from "
                             "Input 'input1': set the dtype of Input 'input1' to int64")
    assert error.quick_fix["label"] == "Set the dtype of Input 'input1' to int64"
    spec.apply_quick_fix(error.quick_fix)
    report = infer_shapes(spec)
    assert report.ok and report.shape_of(spec.node_by_name("embed1").id) == (12, 8)
    wrong = chain(("Input", {"shape": 12, "dtype": "int64"}), ("Flatten", {}), ("Linear", {}))
    error = only_error(wrong)
    assert error.message.startswith("Linear 'fc1' computes on float32, but gets int64 token indices from "
                                    "Flatten 'flatten1': insert an Embedding")


def test_reshape_quick_fix_is_labelled_with_the_target_shape():
    spec = chain(("Input", {"shape": 784}), ("Conv2d", {}), ("Flatten", {}), ("Linear", {}))
    error = only_error(spec)
    assert error.quick_fix["label"] == "Insert Reshape to (1, 28, 28)"
    spec.apply_quick_fix(error.quick_fix)
    assert infer_shapes(spec).ok
