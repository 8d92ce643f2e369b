"""Models and weights shared by the export tests: one small model per layer type, and the references.

The reference for an exported model is the engine's compiled spec in evaluation mode, fed the same
weights; where the engine has no module for a layer yet, PyTorch's (the oracle the engine mirrors).
"""
import numpy as np

from spec_cases import with_variants
from layerforge.graph import GraphError, ModelSpec, compile_spec, infer_shapes

# (layer type, params, per-sample input shapes): the shared cases plus the exporters' own variants.
LAYER_CASES = with_variants([
    ("Conv2d", {"out_channels": 4, "kernel_size": (2, 3), "dilation": (2, 1), "groups": 2,
                "bias": False}, [(2, 7, 7)]),
    ("AdaptiveAvgPool2d", {"output_size": 2}, [(4, 6, 4)]),
    ("BatchNorm2d", {"track_running_stats": False}, [(2, 3, 3)]),
    ("LSTM", {"hidden_size": 4, "bidirectional": True, "num_layers": 2}, [(5, 3)]),
    ("GRU", {"hidden_size": 3, "bidirectional": True, "num_layers": 2}, [(4, 2)]),
    ("GELU", {}, [(4,)]),
    ("Softplus", {"beta": 2.0, "threshold": 1.0}, [(5,)]),
    ("Softplus", {}, [(5,)]),
])


def case_id(case, index):
    return f"{case[0]}-{index}"


def single_layer_spec(layer_type, params, in_shapes):
    """Input -> the layer; further inputs come through Flatten -> Linear -> Reshape branches."""
    spec = ModelSpec()
    dtype = "int64" if layer_type == "Embedding" else "float32"
    source = spec.add_node("Input", {"shape": in_shapes[0], "dtype": dtype})
    node = spec.add_node(layer_type, params)
    spec.connect(source.id, node.id)
    for shape in in_shapes[1:]:
        flatten = spec.add_node("Flatten")
        fc = spec.add_node("Linear", {"out_features": int(np.prod(shape))})
        reshape = spec.add_node("Reshape", {"shape": shape})
        for a, b in [(source, flatten), (flatten, fc), (fc, reshape)]:
            spec.connect(a.id, b.id)
        spec.connect(reshape.id, node.id)
    return spec


def sample_input(spec, batch=3, seed=0):
    """A batch for ``spec``: token indices for an int64 input, normal floats otherwise."""
    report = infer_shapes(spec)
    rng = np.random.default_rng(seed)
    input_node = spec.nodes[report.input_id]
    if input_node.params["dtype"] == "int64":
        vocabulary = min(node.params["num_embeddings"] for node in spec.nodes.values() if node.type == "Embedding")
        return rng.integers(0, vocabulary, size=(batch, *report.input_shape)).astype(np.int64)
    return rng.normal(size=(batch, *report.input_shape)).astype(np.float32)


def random_state_dict(spec, seed=0):
    """Every parameter and buffer filled with random values, so no exported weight goes unchecked."""
    rng = np.random.default_rng(seed)
    state = {}
    for key, value in _template_state(spec).items():
        array = np.asarray(value)
        if array.dtype.kind in "iu":
            state[key] = array.copy()
        elif key.endswith("running_var"):
            state[key] = rng.uniform(0.5, 1.5, size=array.shape).astype(np.float32)
        else:  # scaled like PyTorch's default initialisation, so activations stay near 1
            fan_in = int(np.prod(array.shape[1:])) if array.ndim > 1 else 4
            state[key] = (rng.normal(size=array.shape) / np.sqrt(fan_in)).astype(np.float32)
    return state


def _template_state(spec):
    model = engine_model(spec)
    if model is not None:
        return {key: np.asarray(value) for key, value in model.state_dict().items()}
    import torch

    return {key: value.numpy() for key, value in compile_spec(spec, torch.nn).state_dict().items()}


def engine_model(spec, state=None):
    """The engine's model in evaluation mode, or None while the engine lacks one of its layers."""
    try:
        model = compile_spec(spec)
    except GraphError as error:
        if error.kind == "build":
            return None
        raise
    if state is not None:
        model.load_state_dict(state)
    return model.eval()


def reference_output(spec, state, x):
    """The engine's output for ``x``; PyTorch's where the engine cannot build the model yet."""
    model = engine_model(spec, state)
    if model is not None:
        from layerforge import engine

        with engine.no_grad():
            return np.asarray(model(engine.tensor(x)))
    import torch

    model = compile_spec(spec, torch.nn)
    model.load_state_dict({key: torch.from_numpy(np.array(value)) for key, value in state.items()})
    with torch.no_grad():
        return model.eval()(torch.from_numpy(x)).numpy()
