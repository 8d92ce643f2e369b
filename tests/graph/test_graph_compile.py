"""Compiling specs into Modules: built with PyTorch's nn (oracle) and with the engine's nn.

The same declarations build both, so PyTorch checks our constructor arguments, parameter counts
and state_dict keys; the engine-built model must then give PyTorch's outputs with PyTorch's weights.
"""
import numpy as np
import pytest

from layerforge.graph import GraphError, ModelSpec, compile_spec, get_layer, infer_shapes, templates
from graph_layer_cases import CASES

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")


def single_layer_model(layer_type, params, in_shapes):
    """Input -> the layer -> output; a second input shape comes from Flatten -> Linear -> Reshape."""
    spec = ModelSpec()
    dtype = "int64" if layer_type == "Embedding" else "float32"
    source = spec.add_node("Input", {"shape": in_shapes[0], "dtype": dtype})
    node = spec.add_node(layer_type, params)
    for shape in in_shapes:
        if shape == in_shapes[0]:
            spec.connect(source.id, node.id)
            continue
        flatten = spec.add_node("Flatten")
        fc = spec.add_node("Linear", {"out_features": int(np.prod(shape))})
        reshape = spec.add_node("Reshape", {"shape": shape})
        for a, b in [(source, flatten), (flatten, fc), (fc, reshape), (reshape, node)]:
            spec.connect(a.id, b.id)
    return spec


def batch_for(report, size=3, integers=None):
    if integers:
        return torch.randint(0, integers, (size, *report.input_shape))
    return torch.randn(size, *report.input_shape)


def template_batch(spec, report, size, seed):
    """Token indices within the smallest vocabulary for an int64 input, normal floats otherwise."""
    rng = np.random.default_rng(seed)
    if spec.nodes[report.input_id].params["dtype"] == "int64":
        vocabulary = min(n.params["num_embeddings"] for n in spec.nodes.values() if n.type == "Embedding")
        return rng.integers(0, vocabulary, (size, *report.input_shape))
    return rng.standard_normal((size, *report.input_shape)).astype(np.float32)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("layer_type,params,in_shapes", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_every_layer_compiles_with_pytorch_nn(layer_type, params, in_shapes):
    spec = single_layer_model(layer_type, params, in_shapes)
    report = infer_shapes(spec)
    model = compile_spec(spec, torch.nn)
    vocabulary = params.get("num_embeddings") if layer_type == "Embedding" else None
    output = model(batch_for(report, integers=vocabulary))
    assert tuple(output.shape) == (3, *report.output_shape)
    assert sum(p.numel() for p in model.parameters()) == report.total_params


@pytest.mark.parametrize("template", templates(), ids=lambda t: t.key)
def test_templates_compile_with_pytorch_nn(template):
    spec = template.spec()
    report = infer_shapes(spec)
    model = compile_spec(spec, torch.nn)
    assert tuple(model(torch.from_numpy(template_batch(spec, report, 3, 0))).shape) == (3, *report.output_shape)
    assert sum(p.numel() for p in model.parameters()) == report.total_params


def test_state_dict_keys_are_node_names():
    spec = next(t for t in templates() if t.key == "residual_cnn").spec()
    keys = list(compile_spec(spec, torch.nn).state_dict())
    assert keys[:4] == ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias"]
    assert "bn1.running_mean" in keys and keys[-2:] == ["fc1.weight", "fc1.bias"]
    renamed = spec.copy()
    renamed.rename(renamed.node_by_name("fc1").id, "classifier")
    assert list(compile_spec(renamed, torch.nn).state_dict())[-2:] == ["classifier.weight", "classifier.bias"]


def test_invalid_spec_does_not_compile():
    spec = ModelSpec()
    spec.connect(spec.add_node("Input", {"shape": (1, 8, 8)}).id, spec.add_node("Linear").id)
    with pytest.raises(GraphError, match="Linear 'fc1' expects a 1-D feature vector, got \\(1, 8, 8\\)"):
        compile_spec(spec, torch.nn)


def test_residual_add_feeds_both_paths():
    spec = ModelSpec()
    x = spec.add_node("Input", {"shape": 4})
    fc = spec.add_node("Linear", {"out_features": 4, "bias": False})
    add = spec.add_node("Add")
    spec.connect(x.id, fc.id)
    spec.connect(fc.id, add.id)
    spec.connect(x.id, add.id)
    model = compile_spec(spec, torch.nn)
    batch = torch.randn(2, 4)
    torch.testing.assert_close(model(batch), batch @ model.fc1.weight.T + batch)


# -- the engine ------------------------------------------------------------------------------------

def engine_nn():
    from layerforge.engine import nn
    if not hasattr(nn, "Linear"):
        pytest.skip("layerforge.engine.nn has no layers yet")
    return nn


def require_engine_classes(nn, spec):
    """Skip (visibly, with the class named) while the engine's nn still lacks a layer class."""
    report = infer_shapes(spec)
    for node_id, node in spec.nodes.items():
        call = node.layer.call(node.params, report.nodes[node_id].input_shapes)
        if call is not None and not hasattr(nn, call.cls):
            pytest.skip(f"layerforge.engine.nn has no {call.cls} yet")


def to_engine(array):
    import layerforge.engine as engine
    return engine.tensor(np.array(array))  # a copy; keeps 0-d arrays 0-d, unlike ascontiguousarray


@pytest.mark.parametrize("template", templates(), ids=lambda t: t.key)
def test_templates_run_on_the_engine_with_pytorchs_numbers(template):
    nn = engine_nn()
    spec = template.spec()
    require_engine_classes(nn, spec)
    report = infer_shapes(spec)
    ours, theirs = compile_spec(spec, nn), compile_spec(spec, torch.nn)
    assert sum(p.numel() for p in ours.parameters()) == report.total_params
    their_state = theirs.state_dict()
    our_state = ours.state_dict()
    assert list(our_state) == list(their_state)
    assert {k: tuple(v.shape) for k, v in our_state.items()} == {k: tuple(v.shape) for k, v in their_state.items()}
    ours.load_state_dict({k: to_engine(v.numpy()) for k, v in their_state.items()})
    ours.eval(), theirs.eval()
    batch = template_batch(spec, report, 5, 0)
    expected = theirs(torch.from_numpy(batch)).detach().numpy()
    got = ours(to_engine(batch))
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("template", templates(), ids=lambda t: t.key)
def test_engine_model_trains_every_parameter(template):
    nn = engine_nn()
    spec = template.spec()
    require_engine_classes(nn, spec)
    report = infer_shapes(spec)
    model = compile_spec(spec, nn)
    model.train()
    batch = template_batch(spec, report, 4, 1)
    output = model(to_engine(batch))
    assert tuple(output.shape) == (4, *report.output_shape)
    (output * output).sum().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient reached {missing}"


def test_merge_and_output_selection_work_on_engine_tensors():
    import layerforge.engine as engine
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 3, 4)).astype(np.float32), rng.standard_normal((2, 5, 4)).astype(np.float32)
    concat = get_layer("Concat")
    got = concat.merge.apply(engine, {"dim": 1}, [to_engine(a), to_engine(b)])
    np.testing.assert_array_equal(got.numpy(), np.concatenate([a, b], axis=1))
    got = get_layer("Add").merge.apply(engine, {}, [to_engine(a), to_engine(a), to_engine(a)])
    np.testing.assert_allclose(got.numpy(), 3 * a, rtol=1e-6)
    lstm = get_layer("LSTM")
    output = rng.standard_normal((2, 7, 6)).astype(np.float32)
    hidden = rng.standard_normal((4, 2, 3)).astype(np.float32)  # 2 layers x 2 directions
    result = (to_engine(output), (to_engine(hidden), to_engine(hidden)))
    params = lstm.parse_params({"hidden_size": 3, "num_layers": 2, "bidirectional": True})
    got = lstm.select_output.apply(engine, params, result)
    np.testing.assert_array_equal(got.numpy(), np.concatenate([hidden[-2], hidden[-1]], axis=1))
    params = lstm.parse_params({"hidden_size": 3, "output": "sequence"})
    np.testing.assert_array_equal(lstm.select_output.apply(engine, params, result).numpy(), output)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("layer_type,params,in_shapes", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_every_layer_on_the_engine_gives_pytorchs_numbers(layer_type, params, in_shapes):
    nn = engine_nn()
    spec = single_layer_model(layer_type, params, in_shapes)
    require_engine_classes(nn, spec)
    report = infer_shapes(spec)
    ours, theirs = compile_spec(spec, nn), compile_spec(spec, torch.nn)
    their_state = theirs.state_dict()
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
           {k: tuple(v.shape) for k, v in their_state.items()}
    ours.load_state_dict({k: to_engine(v.numpy()) for k, v in their_state.items()})
    ours.eval(), theirs.eval()
    rng = np.random.default_rng(3)
    if layer_type == "Embedding":
        batch = rng.integers(0, params["num_embeddings"], (3, *report.input_shape))
    else:
        batch = rng.standard_normal((3, *report.input_shape)).astype(np.float32)
    expected = theirs(torch.from_numpy(batch)).detach().numpy()
    np.testing.assert_allclose(ours(to_engine(batch)).detach().numpy(), expected, rtol=1e-4, atol=1e-5)
