"""ONNX import, round trip: canvas -> ONNX (the exporter) -> canvas gives the same model and weights.

Every layer case the exporter is tested on and every template comes back as the same spec (types,
names, parameters, connections; with the exporter's metadata also the ids and positions) and the
same predictions. Without the metadata, what ONNX cannot carry is named in the test.
"""
import json

import numpy as np
import pytest

from export_cases import LAYER_CASES, case_id, random_state_dict, reference_output, sample_input, single_layer_spec
from layerforge.data import Normalization, Standardizer
from layerforge.export import build_onnx_model, export_onnx
from layerforge.export.onnx_import import import_onnx, import_onnx_model
from layerforge.export.onnx_import_graph import ModelImportError
from layerforge.graph import templates
from layerforge.training import example_project_path, example_projects, load_project

onnx = pytest.importorskip("onnx", reason="ONNX import needs the onnx package (the 'export' extra)")

ROUND_TRIP_CASES = LAYER_CASES


def layers(spec):
    """The model as a person reads it: each layer's type and parameters by name, and the wires by name."""
    nodes = {node.name: (node.type, node.params) for node in spec.nodes.values()}
    edges = sorted((spec.nodes[e.source].name, spec.nodes[e.target].name, e.index) for e in spec.edges)
    return nodes, edges


def assert_round_trip(spec, opset=17):
    state = random_state_dict(spec)
    imported = import_onnx_model(build_onnx_model(spec, state, opset=opset))
    assert layers(imported.spec) == layers(spec)
    assert imported.spec == spec                      # the exporter's ids and positions come back too
    assert imported.restored_layout
    assert set(imported.state_dict) == set(state)
    x = sample_input(spec)
    np.testing.assert_allclose(reference_output(imported.spec, imported.state_dict, x),
                               reference_output(spec, state, x), rtol=1e-5, atol=1e-6)
    return imported


@pytest.mark.parametrize("layer_type,params,in_shapes", ROUND_TRIP_CASES,
                         ids=[case_id(c, i) for i, c in enumerate(ROUND_TRIP_CASES)])
def test_every_exported_layer_comes_back_the_same(layer_type, params, in_shapes):
    assert_round_trip(single_layer_spec(layer_type, params, in_shapes))


@pytest.mark.parametrize("template", templates(), ids=lambda t: t.key)
def test_every_template_comes_back_the_same(template):
    assert_round_trip(template.spec())


@pytest.mark.parametrize("layer", ["GELU", "LayerNorm", "Softplus"])
def test_newer_opsets_come_back_too(layer):
    for case in (c for c in ROUND_TRIP_CASES if c[0] == layer):
        assert_round_trip(single_layer_spec(*case), opset=20)


def test_batch_norm_without_running_statistics_needs_the_metadata_that_names_it():
    """Its batch-statistics arithmetic is a layer only where Layerforge's metadata says so; elsewhere the
    ReduceMean nodes are listed."""
    case = next(c for c in LAYER_CASES if c[0] == "BatchNorm2d" and c[1].get("track_running_stats") is False)
    spec = single_layer_spec(*case)
    model = build_onnx_model(spec, random_state_dict(spec))
    assert_round_trip(spec)
    with pytest.raises(ModelImportError) as caught:
        import_onnx_model(without_metadata(model))
    assert {op for op, _, _ in caught.value.unsupported} == {"ReduceMean"}
    assert "bn1/mean/ReduceMean" in str(caught.value)


def without_metadata(model):
    del model.metadata_props[:]
    for node in model.graph.node:
        node.doc_string = ""
    return model


def test_without_the_metadata_the_operators_alone_give_an_equivalent_model():
    """A file stripped of Layerforge's notes: Dropout is gone (an identity in evaluation), Unflatten is a
    Reshape, and AdaptiveAvgPool2d of even windows is the AvgPool2d it computes; predictions are equal."""
    for key in ("mlp_classifier", "lenet", "lstm_classifier", "residual_cnn", "autoencoder"):
        spec = next(t for t in templates() if t.key == key).spec()
        state = random_state_dict(spec)
        imported = import_onnx_model(without_metadata(build_onnx_model(spec, state)))
        assert not imported.restored_layout
        kinds = {node.type for node in imported.spec.nodes.values()}
        assert "Dropout" not in kinds and "Unflatten" not in kinds
        x = sample_input(spec)
        np.testing.assert_allclose(reference_output(imported.spec, imported.state_dict, x),
                                   reference_output(spec, state, x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(example_projects()))
def test_shipped_examples_round_trip_with_their_normalisation(name, tmp_path):
    """The examples as a person exports them: trained weights and the data's standardisation in the model."""
    project, _ = load_project(example_project_path(name))
    spec = project.spec
    state = random_state_dict(spec)
    x = sample_input(spec, batch=4)
    if x.dtype != np.float32:   # token indices are not standardised: the plain round trip
        assert_round_trip(spec)
        return
    rng = np.random.default_rng(1)
    mean = rng.normal(size=x.shape[1:]).astype(np.float32)
    std = rng.uniform(0.5, 2.0, size=x.shape[1:]).astype(np.float32)
    normalization = Normalization(Standardizer(mean, std), None)
    path = export_onnx(spec, state, tmp_path / f"{name}.onnx", normalization=normalization, name=name)
    imported = import_onnx(path)
    assert imported.name == name
    assert layers(imported.spec) == layers(spec) and imported.spec == spec
    assert imported.normalization is not None and imported.normalization["targets"] is None
    np.testing.assert_allclose(imported.normalization["inputs"]["mean"], mean, rtol=1e-6)
    np.testing.assert_allclose(imported.normalization["inputs"]["std"], std, rtol=1e-6)
    raw = x * 3.0 + 1.0
    standardised = ((raw - mean) / std).astype(np.float32)
    np.testing.assert_allclose(reference_output(imported.spec, imported.state_dict, standardised),
                               reference_output(spec, state, standardised), rtol=1e-5, atol=1e-6)


def test_regression_targets_scaling_comes_back_as_the_target_normalisation():
    spec = next(t for t in templates() if t.key == "mlp_regressor").spec(in_features=3, out_features=2)
    state = random_state_dict(spec)
    targets = Standardizer(np.array([10.0, -2.0], np.float32), np.array([3.0, 0.5], np.float32))
    model = build_onnx_model(spec, state, normalization=Normalization(None, targets))
    imported = import_onnx_model(model)
    assert imported.normalization["inputs"] is None
    assert imported.normalization["targets"]["mean"] == [10.0, -2.0]
    assert imported.normalization["targets"]["std"] == [3.0, 0.5]
    assert imported.spec == spec


def test_a_reimported_model_exports_to_the_same_onnx_graph():
    spec = next(t for t in templates() if t.key == "residual_cnn").spec()
    state = random_state_dict(spec)
    first = build_onnx_model(spec, state)
    imported = import_onnx_model(first)
    second = build_onnx_model(imported.spec, imported.state_dict)
    assert [n.op_type for n in second.graph.node] == [n.op_type for n in first.graph.node]
    assert json.loads(next(p.value for p in second.metadata_props if p.key == "layerforge.spec")) == \
        json.loads(next(p.value for p in first.metadata_props if p.key == "layerforge.spec"))
