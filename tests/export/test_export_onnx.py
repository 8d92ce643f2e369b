"""ONNX export: every layer and template, run in onnxruntime, gives the engine's outputs within 1e-5."""
import json
import sys

import numpy as np
import pytest

from export_cases import LAYER_CASES, case_id, random_state_dict, reference_output, sample_input, single_layer_spec
from layerforge.data import Normalization, Standardizer
from layerforge.export import ONNX_CONVERTERS, ExportError, build_onnx_model, export_onnx
from layerforge.graph import ModelSpec, get_template, layer_types, templates

onnx = pytest.importorskip("onnx", reason="ONNX export needs the onnx package (the 'export' extra)")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime runs the exported models in these tests")

TOLERANCE = dict(rtol=1e-5, atol=1e-5)


def run_onnx(model, x):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["output"], {"input": x})[0]


def assert_matches_engine(spec, opset=17, batch=3):
    state = random_state_dict(spec)
    model = build_onnx_model(spec, state, opset=opset)  # runs onnx.checker.check_model(full_check=True)
    x = sample_input(spec, batch=batch)
    got, expected = run_onnx(model, x), reference_output(spec, state, x)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOLERANCE)
    return model


@pytest.mark.parametrize("layer_type,params,in_shapes", LAYER_CASES,
                         ids=[case_id(c, i) for i, c in enumerate(LAYER_CASES)])
def test_every_layer_matches_the_engine(layer_type, params, in_shapes):
    assert_matches_engine(single_layer_spec(layer_type, params, in_shapes))


@pytest.mark.parametrize("template", templates(), ids=lambda t: t.key)
def test_every_template_matches_the_engine(template):
    assert_matches_engine(template.spec())


def test_every_catalog_layer_has_a_converter_and_a_case():
    convertible = set(layer_types()) - {"Input"}
    assert convertible <= set(ONNX_CONVERTERS), "a layer type was added to the catalog without an ONNX converter"
    assert convertible <= {case[0] for case in LAYER_CASES}, "add the new layer type to LAYER_CASES"


@pytest.mark.parametrize("layer", ["GELU", "BatchNorm2d"])
def test_newer_opsets_use_their_native_ops_and_still_match(layer):
    """Opset 20 has Gelu; from opset 18 ReduceMean (batch statistics) takes its axes as an input."""
    cases = [c for c in LAYER_CASES if c[0] == layer]
    for case in cases:
        model = assert_matches_engine(single_layer_spec(*case), opset=20)
    if layer == "GELU":
        assert "Gelu" in {node.op_type for node in model.graph.node}


def test_batch_dimension_is_dynamic_and_names_are_input_and_output():
    spec = get_template("lenet").spec()
    model = assert_matches_engine(spec, batch=1)
    for value in (model.graph.input[0], model.graph.output[0]):
        assert value.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert [v.name for v in model.graph.input] == ["input"] and [v.name for v in model.graph.output] == ["output"]
    assert run_onnx(model, sample_input(spec, batch=7)).shape == (7, 10)


def test_standardisation_is_built_in_so_the_model_takes_raw_data(tmp_path):
    spec = get_template("mlp_regressor").spec(in_features=2, out_features=2)
    state = random_state_dict(spec)
    normalization = Normalization(inputs=Standardizer([1.0, -2.0], [0.5, 4.0]),
                                  targets=Standardizer([10.0, 0.0], [3.0, 0.1]))
    path = export_onnx(spec, state, tmp_path / "model.onnx", normalization=normalization)
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    raw = sample_input(spec, batch=5) * 3.0 + 1.0
    expected = normalization.inverse_targets(reference_output(spec, state, normalization.transform_inputs(raw)))
    np.testing.assert_allclose(run_onnx(model, raw), expected, **TOLERANCE)
    metadata = {prop.key: prop.value for prop in model.metadata_props}
    assert metadata["layerforge.normalization_applied"] == "inputs,targets"
    assert ModelSpec.from_dict(json.loads(metadata["layerforge.spec"])).to_dict() == spec.to_dict()


def test_export_writes_an_onnx_file_atomically(tmp_path):
    spec = get_template("mlp_classifier").spec()
    path = export_onnx(spec, random_state_dict(spec), tmp_path / "classifier")
    assert path.name == "classifier.onnx"
    assert [p.name for p in tmp_path.iterdir()] == ["classifier.onnx"]
    assert onnx.load(str(path)).producer_name == "layerforge"


def test_token_inputs_cannot_be_standardised():
    spec = single_layer_spec("Embedding", {"num_embeddings": 5, "embedding_dim": 2}, [(3,)])
    with pytest.raises(ExportError, match="int64 token indices, which cannot be standardised"):
        build_onnx_model(spec, random_state_dict(spec), normalization={"inputs": {"mean": [0.0], "std": [1.0]}})


def test_weights_of_another_model_are_refused_by_name():
    spec = get_template("mlp_classifier").spec(hidden=8)
    state = random_state_dict(spec)
    with pytest.raises(ExportError, match=r"Linear 'fc2': 'fc2.weight' has shape \(16, 16\), but the layer "
                                          r"needs \(8, 8\); the weights belong to a different model"):
        build_onnx_model(spec, {**state, "fc2.weight": np.zeros((16, 16), np.float32)})
    del state["fc3.bias"]
    with pytest.raises(ExportError, match=r"Linear 'fc3': the weights have no 'fc3.bias'"):
        build_onnx_model(spec, state)


def test_an_invalid_model_names_the_failing_layer():
    spec = ModelSpec()
    spec.connect(spec.add_node("Input", {"shape": (1, 8, 8)}).id, spec.add_node("Linear").id)
    with pytest.raises(ExportError, match=r"until it is valid: Linear 'fc1' expects a 1-D feature vector"):
        build_onnx_model(spec, {})


def test_unsupported_opset_and_missing_onnx_are_explained(monkeypatch):
    spec = get_template("mlp_classifier").spec()
    with pytest.raises(ExportError, match="opset 11 is not supported; choose 17 to"):
        build_onnx_model(spec, random_state_dict(spec), opset=11)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ExportError, match=r"ONNX export needs the 'onnx' package.*pip install --force-reinstall onnx"):
        build_onnx_model(spec, random_state_dict(spec))
