"""Shape rules: PyTorch's size formulas on random settings, and the messages a user sees."""
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layerforge.graph import ParamError, ShapeError, get_layer

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")


def ours(layer_type, params, shape):
    """Our output shape, or None when our declaration refuses the settings or the input."""
    layer = get_layer(layer_type)
    try:
        return layer.infer(layer.parse_params(params), [shape])
    except (ParamError, ShapeError):
        return None


def theirs(layer_type, params, shape):
    """PyTorch's output shape, or None when PyTorch refuses (at construction or in forward)."""
    layer = get_layer(layer_type)
    try:
        canonical = layer.parse_params(params)
    except ParamError:
        # Let torch judge the settings we refused: each value parsed alone, no cross-checks.
        canonical = {**layer.default_params(), **{k: layer.param(k).parse(v) for k, v in params.items()}}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call = layer.module(canonical, [shape])
            module = call.build(torch.nn)
            out = tuple(module(torch.zeros(1, *shape)).shape[1:])
    except (RuntimeError, ValueError):
        return None
    return None if 0 in out else out  # an empty output is a mistake we refuse on purpose


sizes = st.integers(1, 12)
small = st.integers(1, 4)


@settings(max_examples=60, deadline=None)
@given(h=sizes, w=sizes, k=small, s=small, p=st.integers(0, 3), d=st.integers(1, 3), same=st.booleans())
def test_conv2d_output_size_is_pytorchs(h, w, k, s, p, d, same):
    params = {"out_channels": 2, "kernel_size": k, "stride": s, "padding": "same" if same else p, "dilation": d}
    assert ours("Conv2d", params, (2, h, w)) == theirs("Conv2d", params, (2, h, w))


@settings(max_examples=60, deadline=None)
@given(length=sizes, k=small, s=small, p=st.integers(0, 3), op=st.integers(0, 2), d=st.integers(1, 3))
def test_conv_transpose2d_output_size_is_pytorchs(length, k, s, p, op, d):
    params = {"out_channels": 2, "kernel_size": k, "stride": s, "padding": p, "output_padding": op, "dilation": d}
    assert ours("ConvTranspose2d", params, (1, length, 3)) == theirs("ConvTranspose2d", params, (1, length, 3))


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["MaxPool2d", "AvgPool2d", "MaxPool1d", "AvgPool1d"]), h=sizes, w=sizes, k=small,
       s=st.one_of(st.none(), small), p=st.integers(0, 2), d=st.integers(1, 2))
def test_pool_output_size_is_pytorchs(kind, h, w, k, s, p, d):
    params = {"kernel_size": k, "stride": s, "padding": p}
    if kind.startswith("Max"):
        params["dilation"] = d
    shape = (2, h, w) if kind.endswith("2d") else (2, h)
    assert ours(kind, params, shape) == theirs(kind, params, shape)


def message(layer_type, params, *shapes):
    layer = get_layer(layer_type)
    with pytest.raises(ShapeError) as caught:
        layer.infer(layer.parse_params(params), shapes)
    return caught.value


def test_linear_on_an_image_suggests_flatten():
    error = message("Linear", {"out_features": 10}, (16, 7, 7))
    assert error.message == "expects a 1-D feature vector, got (16, 7, 7): insert Flatten"
    assert error.quick_fix == {"action": "insert", "type": "Flatten"}


def test_conv2d_on_flat_square_input_suggests_a_reshape_to_an_image():
    error = message("Conv2d", {}, (784,))
    assert error.message == "expects (channels, height, width), got (784,): insert Reshape to (1, 28, 28)"
    assert error.quick_fix == {"action": "insert", "type": "Reshape", "params": {"shape": [1, 28, 28]}}


def test_recurrent_on_a_flat_vector_suggests_one_feature_per_step():
    error = message("LSTM", {}, (20,))
    assert error.message == "expects (time steps, features), got (20,): insert Reshape to (20, 1)"


def test_kernel_larger_than_the_input_is_explained():
    error = message("Conv2d", {"kernel_size": 5}, (1, 3, 3))
    assert "input (1, 3, 3) is too small for its kernel (5, 5)" in error.message


def test_merges_name_the_disagreeing_inputs():
    assert message("Add", {}, (8, 4, 4), (16, 4, 4)).message.startswith(
        "needs inputs of the same shape, got (8, 4, 4) on input 0 and (16, 4, 4) on input 1")
    assert message("Concat", {"dim": 1}, (8, 4, 4), (8, 5, 4)).message == (
        "joins along dim 1, so all other dimensions must match, got (8, 4, 4) on input 0 and (8, 5, 4) on input 1")


def test_dims_count_the_batch_like_pytorch():
    assert "which is the batch dimension" in message("Flatten", {"start_dim": 0}, (3, 4)).message
    assert "only dimensions 1..1" in message("Softmax", {"dim": 2}, (10,)).message


def test_reshape_that_cannot_fit_says_how_many_values():
    assert message("Reshape", {"shape": (3, 5)}, (16,)).message == (
        "cannot reshape (16,) (16 values) to (3, 5) (15 values): make the sizes multiply to 16, "
        "or use -1 for one of them")


def test_contradictory_parameters_are_refused_when_set():
    with pytest.raises(ParamError, match="'same' is not supported for strided convolutions"):
        get_layer("Conv2d").parse_params({"padding": "same", "stride": 2})
    with pytest.raises(ParamError, match="out_channels 5 is not divisible by groups 2"):
        get_layer("Conv2d").parse_params({"out_channels": 5, "groups": 2})
    with pytest.raises(ParamError, match="max_val"):
        get_layer("Hardtanh").parse_params({"min_val": 1.0, "max_val": 0.0})
    with pytest.raises(ParamError, match="outside the table of 10"):
        get_layer("Embedding").parse_params({"num_embeddings": 10, "padding_idx": 10})
