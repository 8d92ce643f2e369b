"""The CPU fast paths of the convolution layers give PyTorch's numbers: the stride-1 input gradient
of the image-by-image Conv2d (one shifted add per kernel offset over zero-padded planes) with
padding, dilation, several images a chunk and a short last chunk; grouped and depthwise convolutions
on flat padded planes (conv_flat.py)."""
import math

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.ops import conv

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")


def _conv_and_grads(engine, x, w, b, x_grad=True, conv="conv2d", **options):
    """The output and the gradients of (x if x_grad, w, b if given)."""
    tensor = lf.tensor if engine == "ours" else torch.tensor
    functional = lf.nn.functional if engine == "ours" else torch.nn.functional
    params = [tensor(x, requires_grad=x_grad), tensor(w, requires_grad=True)]
    if b is not None:
        params.append(tensor(b, requires_grad=True))
    out = getattr(functional, conv)(*params, **options)
    upstream = np.random.default_rng(5).standard_normal(tuple(out.shape)).astype(x.dtype)
    (out * tensor(upstream)).sum().backward()
    return out.detach().numpy(), [p.grad.numpy() for p in params if p.requires_grad]


@pytest.mark.parametrize("options", [dict(padding=0), dict(padding=(2, 1), dilation=(1, 2)),
                                     dict(padding=1, dilation=2), dict(padding=(0, 3))],
                         ids=["plain", "padded_dilated", "dilated_both", "wide_padding"])
@pytest.mark.parametrize("chunk_images", [1, 3], ids=["one_image_a_chunk", "three_images_a_chunk"])
@pytest.mark.parametrize("c", [3, 24], ids=["bias_in_the_gemm", "bias_summed"])
def test_stride_one_input_gradient_matches_pytorch(options, chunk_images, c, monkeypatch):
    monkeypatch.setattr(conv.Conv2d, "PLANE_FOR_CHANNELS_FIRST", 0)
    n, h, w, o, kh, kw = 7, 11, 9, 5, 3, 2
    rng = np.random.default_rng(11)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    weight = rng.standard_normal((o, c, kh, kw)).astype(np.float32)
    bias = rng.standard_normal(o).astype(np.float32) if chunk_images == 1 or c > 3 else None
    planes = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(weight), **options).shape[2:]
    columns_per_image = c * kh * kw * planes[0] * planes[1] * 4  # bytes
    monkeypatch.setattr(conv.Conv2d, "CHUNK_BYTES", chunk_images * columns_per_image)
    out, grads = _conv_and_grads("ours", x, weight, bias, **options)
    expected, expected_grads = _conv_and_grads("torch", x, weight, bias, **options)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    for mine, reference in zip(grads, expected_grads):
        np.testing.assert_allclose(mine, reference, rtol=1e-4, atol=1e-4)


def test_repeated_steps_reuse_buffers_without_stale_values(monkeypatch):
    """Buffers come back from the workspace between steps; a second, different gradient must not
    see anything of the first."""
    monkeypatch.setattr(conv.Conv2d, "PLANE_FOR_CHANNELS_FIRST", 0)
    rng = np.random.default_rng(4)
    weight = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    for seed in (1, 2):
        x = np.random.default_rng(seed).standard_normal((3, 2, 10, 10)).astype(np.float32)
        _, grads = _conv_and_grads("ours", x, weight, None, padding=1)
        _, expected = _conv_and_grads("torch", x, weight, None, padding=1)
        np.testing.assert_allclose(grads[0], expected[0], rtol=1e-4, atol=1e-4)


def test_a_lent_output_buffer_is_reused_only_after_its_last_view_is_gone():
    from layerforge.engine.ops.buffer_pool import workspace

    shape = (3, 5, 7, 11)  # a shape no other test lends
    first = workspace.lend(shape, np.float32)
    first[...] = 1.0
    view = first.reshape(-1)[10:20]
    address = first.__array_interface__["data"][0]
    del first
    second = workspace.lend(shape, np.float32)  # the view still uses the first buffer
    assert second.__array_interface__["data"][0] != address
    second[...] = 2.0
    assert np.all(view == 1.0)
    del view
    third = workspace.lend(shape, np.float32)
    assert third.__array_interface__["data"][0] == address  # back in the pool, reused
    workspace.clear()


def test_pooled_outputs_hold_their_values_across_steps():
    """Outputs of conv and max-pool that a caller keeps stay intact while later steps run."""
    x = lf.tensor(np.random.default_rng(0).standard_normal((4, 3, 12, 12)).astype(np.float32))
    conv_layer, pool = lf.nn.Conv2d(3, 8, 3), lf.nn.MaxPool2d(2)
    kept = pool(conv_layer(x)).detach().numpy().copy()
    held = pool(conv_layer(x))
    for _ in range(3):  # later steps with other inputs reuse pooled buffers
        y = lf.tensor(np.random.default_rng(1).standard_normal((4, 3, 12, 12)).astype(np.float32))
        pool(conv_layer(y)).sum().backward()
    np.testing.assert_array_equal(held.detach().numpy(), kept)


@pytest.mark.parametrize("kernel", [(2, 2), (3, 3), (2, 3), (3, 2), (4, 4)])
@pytest.mark.parametrize("with_nan", [False, True], ids=["finite", "a_nan"])
def test_max_pool_backward_by_rows_then_columns_matches_pytorch(kernel, with_nan, monkeypatch):
    """Ties (all-zero windows after a ReLU, a window of equal maxima, equal maxima in one column),
    infinities and negative zeros; with a NaN the one-pass path takes over."""
    from layerforge.engine.ops import pool

    monkeypatch.setattr(pool.MaxPool2d, "ROWS_THEN_COLUMNS_FROM", 0)
    kh, kw = kernel
    rng = np.random.default_rng(3)
    x = np.maximum(rng.standard_normal((3, 4, 4 * kh, 5 * kw)), 0).astype(np.float32)
    x[0, 0, :kh, :kw] = 1.5
    x[0, 1, :kh, 0] = 2.5  # equal maxima down the first column
    x[1, 0, 0, :3] = [np.inf, -np.inf, -0.0]
    x[2, 3, kh:2 * kh, kw:2 * kw] = -np.inf
    if with_nan:
        x[1, 2, 1, 1] = np.nan
    ours, theirs = lf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = lf.nn.functional.max_pool2d(ours, kernel)
    expected = torch.nn.functional.max_pool2d(theirs, kernel)
    upstream = rng.standard_normal(tuple(expected.shape)).astype(np.float32)
    (out * lf.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("k", [2, 4])
def test_max_pool_two_stage_backward_is_the_one_pass_backward_bit_for_bit(k, monkeypatch):
    """Also with infinite and NaN upstream gradients and negative ones that give -0.0."""
    from layerforge.engine.ops import pool

    rng = np.random.default_rng(8)
    x = np.maximum(rng.standard_normal((4, 6, 12, 12)), 0).astype(np.float32)
    grad = rng.standard_normal((4, 6, 12 // k, 12 // k)).astype(np.float32)
    grad.reshape(-1)[:3] = [np.inf, -np.inf, np.nan]
    results = []
    monkeypatch.setattr(pool.MaxPool2d, "GATHER_FROM_KERNEL", 1 << 40)  # (its zeros are PyTorch's +0.0)
    monkeypatch.setattr(pool.MaxPool2d, "PAIRS_AS_WORDS", False)  # (so are the 2x2 words')
    for threshold in (0, 1 << 40):  # two-stage, then the one-pass path
        monkeypatch.setattr(pool.MaxPool2d, "ROWS_THEN_COLUMNS_FROM", threshold)
        monkeypatch.setattr(pool.MaxPool2d, "ROWS_THEN_COLUMNS_KERNEL", threshold)
        node = pool.MaxPool2d((k, k), (k, k), (0, 0), (1, 1), False)
        node.forward(x)
        assert ("columns" in node.__dict__) == (threshold == 0)
        results.append(np.array(node.backward(grad)))
    assert results[0].tobytes() == results[1].tobytes()


def test_a_full_pool_makes_room_by_dropping_the_shapes_used_least_recently(monkeypatch):
    from layerforge.engine.ops.buffer_pool import _Workspace

    pool = _Workspace()
    monkeypatch.setattr(pool, "MAX_BYTES", 12100)
    old, recent = np.empty(1000, np.float32), np.empty(1001, np.float32)
    pool.give(old)
    pool.give(recent)
    assert pool.take(np, (1001,), np.dtype(np.float32)) is recent  # now the most recent shape
    pool.give(recent)
    newcomer = np.empty(2000, np.float32)  # needs 8,000 bytes: the oldest shape goes
    pool.give(newcomer)
    assert pool.take(np, (2000,), np.dtype(np.float32)) is newcomer
    assert pool.take(np, (1001,), np.dtype(np.float32)) is recent
    assert pool.take(np, (1000,), np.dtype(np.float32)) is not old
    assert pool._bytes == 0


def test_large_windows_take_the_two_stage_backward_at_any_size(monkeypatch):
    from layerforge.engine.ops import pool

    monkeypatch.setattr(pool.MaxPool2d, "PAIRS_AS_WORDS", False)  # (2x2 float32 keeps them for its words)
    x = np.random.default_rng(9).standard_normal((1, 2, 8, 8)).astype(np.float32)
    for kernel, two_stage in (((2, 2), False), ((3, 3), True), ((8, 8), True)):
        node = pool.MaxPool2d(kernel, kernel, (0, 0), (1, 1), False)
        node.forward(x[..., :8 // kernel[0] * kernel[0], :8 // kernel[1] * kernel[1]])
        assert ("columns" in node.__dict__) == two_stage


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # the infinities times zero in the test's sum
@pytest.mark.parametrize("kernel, stride, padding, ceil_mode", [
    ((3, 3), (2, 2), (1, 1), False),     # a ResNet stem's pooling
    ((3, 2), (2, 1), (1, 0), True),
    ((2, 2), (1, 1), (0, 0), False),
    ((4, 4), (2, 3), (2, 1), True),
])
@pytest.mark.parametrize("with_nan", [False, True], ids=["finite", "a_nan"])
def test_overlapping_max_pool_rows_then_columns_matches_pytorch(kernel, stride, padding, ceil_mode, with_nan):
    """Overlapping windows take the separable forward (row maxima, then their maxima) and its
    two-stage backward; ties (zeros after a ReLU, equal maxima shared by neighbouring windows),
    infinities and -0.0 go where PyTorch's index points; with a NaN the one-offset backward runs."""
    rng = np.random.default_rng(5)
    x = np.maximum(rng.standard_normal((2, 3, 11, 12)), 0).astype(np.float32)
    x[0, 0, 2, 2] = x[0, 0, 2, 3] = x[0, 0, 3, 2] = 4.0     # one maximum shared by overlapping windows
    x[1, 1, 0, :3] = [np.inf, -np.inf, -0.0]
    x[1, 2, 4:8, 4:8] = -np.inf
    if with_nan:
        x[0, 2, 5, 5] = np.nan
    ours, theirs = lf.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = lf.nn.functional.max_pool2d(ours, kernel, stride, padding, ceil_mode=ceil_mode)
    expected = torch.nn.functional.max_pool2d(theirs, kernel, stride, padding, ceil_mode=ceil_mode)
    assert "row_maxima" in out.grad_fn.__dict__
    upstream = rng.standard_normal(tuple(expected.shape)).astype(np.float32)
    (out * lf.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", [
    dict(c=6, o=6, groups=6, padding=1),                              # depthwise
    dict(c=4, o=8, groups=4, padding=1),                              # depthwise, two outputs a channel
    dict(c=6, o=4, groups=2, padding=(2, 0), dilation=(2, 1)),
    dict(c=3, o=6, groups=3, padding=0, kernel=(2, 3)),
    dict(c=4, o=4, groups=4, padding=2, kernel=(5, 5), bias=False),
    dict(c=8, o=8, groups=8, padding=1, x_grad=False),                # a first layer: no input gradient
], ids=["depthwise", "multiplier_2", "groups_2_dilated", "valid_2x3", "depthwise_5x5_no_bias", "no_input_grad"])
@pytest.mark.parametrize("chunk_images", [0.3, 1, 3, 100],
                         ids=["pieces_of_an_image", "one_image_a_chunk", "three_images_a_chunk", "one_chunk"])
def test_grouped_stride_one_convolution_on_flat_planes_matches_pytorch(case, chunk_images, monkeypatch):
    from layerforge.engine.ops import conv_flat

    monkeypatch.setattr(conv.Conv2d, "PLANE_FOR_CHANNELS_FIRST", 0)
    monkeypatch.setattr(conv_flat, "FEWEST_POSITIONS", 1)
    kh, kw = case.get("kernel", (3, 3))
    n, h, w = 7, 10, 9
    rng = np.random.default_rng(13)
    x = rng.standard_normal((n, case["c"], h, w)).astype(np.float32)
    weight = rng.standard_normal((case["o"], case["c"] // case["groups"], kh, kw)).astype(np.float32)
    bias = rng.standard_normal(case["o"]).astype(np.float32) if case.get("bias", True) else None
    pads = np.broadcast_to(case["padding"], 2)
    plane = (h + 2 * pads[0]) * (w + 2 * pads[1])
    monkeypatch.setattr(conv_flat, "CHUNK_BYTES", int(chunk_images * case["c"] * kh * kw * plane * 4))
    options = dict(groups=case["groups"], padding=case["padding"], dilation=case.get("dilation", 1))
    x_grad = case.get("x_grad", True)
    out, grads = _conv_and_grads("ours", x, weight, bias, x_grad, **options)
    expected, expected_grads = _conv_and_grads("torch", x, weight, bias, x_grad, **options)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    assert len(grads) == len(expected_grads) == 1 + x_grad + (bias is not None)
    for mine, reference in zip(grads, expected_grads):
        np.testing.assert_allclose(mine, reference, rtol=1e-4, atol=1e-4)


def test_only_grouped_stride_one_convolutions_on_large_planes_take_the_flat_planes():
    x = np.zeros((2, 4, 18, 18), np.float32)
    for groups, stride, size, flat in ((4, 1, 18, True), (2, 1, 18, True), (4, 2, 18, False),
                                       (4, 1, 8, False), (1, 1, 18, False)):
        node = conv.Conv2d((stride, stride), ((0, 0), (0, 0)), (1, 1), groups, False)
        node.forward(x[..., :size, :size], np.zeros((4, 4 // groups, 3, 3), np.float32))
        assert node.__dict__.get("flat", False) == flat, (groups, stride, size)
        node.release()


def test_a_strided_depthwise_convolution_and_a_depthwise_conv1d_match_pytorch():
    """Stride 2 keeps the channels-first columns (with the depthwise outer product broadcast); a
    depthwise Conv1d over a long sequence is a one-row Conv2d on flat planes, in float64 too."""
    rng = np.random.default_rng(17)
    for dtype, conv_name, x_shape, w_shape, options in (
            (np.float32, "conv2d", (3, 5, 21, 20), (5, 1, 3, 3), dict(stride=2, padding=1, groups=5)),
            (np.float64, "conv1d", (2, 6, 300), (12, 1, 7), dict(padding=3, groups=6))):
        x, weight = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
        bias = rng.standard_normal(w_shape[0]).astype(dtype)
        out, grads = _conv_and_grads("ours", x, weight, bias, conv=conv_name, **options)
        expected, expected_grads = _conv_and_grads("torch", x, weight, bias, conv=conv_name, **options)
        tolerance = 1e-4 if dtype == np.float32 else 1e-10
        np.testing.assert_allclose(out, expected, rtol=tolerance, atol=tolerance)
        for mine, reference in zip(grads, expected_grads):
            assert mine.dtype == dtype
            np.testing.assert_allclose(mine, reference, rtol=tolerance, atol=tolerance)


def test_flat_planes_reused_across_steps_keep_no_stale_values(monkeypatch):
    """Each step's chunk buffers come back from the workspace; a second batch (other values, a short
    last chunk) must see nothing of the first."""
    from layerforge.engine.ops import conv_flat

    monkeypatch.setattr(conv_flat, "CHUNK_BYTES", 2 * 3 * 9 * 12 * 12 * 4)  # two images a chunk
    weight = np.random.default_rng(2).standard_normal((3, 1, 3, 3)).astype(np.float32)
    for seed, n in ((1, 4), (2, 5)):
        x = np.random.default_rng(seed).standard_normal((n, 3, 10, 10)).astype(np.float32)
        x[0, 0, 0, 0] = 1e3 * seed
        ours = _conv_and_grads("ours", x, weight, None, padding=1, groups=3)
        theirs = _conv_and_grads("torch", x, weight, None, padding=1, groups=3)
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-3)
        for mine, reference in zip(ours[1], theirs[1]):
            np.testing.assert_allclose(mine, reference, rtol=1e-4, atol=1e-2)


@pytest.mark.parametrize("case", [
    dict(c=2, o=3, kernel=(3, 3, 3), padding=1),
    dict(c=4, o=6, kernel=(2, 3, 1), padding="same", dilation=(2, 1, 1), groups=2),   # uneven 'same' padding
    dict(c=3, o=3, kernel=(3, 3, 3), padding=(0, 1, 2), groups=3, bias=False),         # depthwise
    dict(c=2, o=4, kernel=(1, 1, 1), padding=0, x_grad=False),
], ids=["padded", "same_dilated_grouped", "depthwise_no_bias", "pointwise_first_layer"])
@pytest.mark.parametrize("chunk_images", [0.2, 1, 2, 100],
                         ids=["pieces_of_a_volume", "one_image_a_chunk", "two_images_a_chunk", "one_chunk"])
def test_stride_one_conv3d_is_one_node_on_flat_volumes_and_matches_pytorch(case, chunk_images, monkeypatch):
    from layerforge.engine.ops import conv_flat

    monkeypatch.setattr(conv_flat, "FEWEST_POSITIONS", 1)
    columns_per_image = case["c"] * math.prod(case["kernel"]) * 6 * 7 * 8 * 4  # about a padded (4, 5, 6) input's
    monkeypatch.setattr(conv_flat, "CHUNK_BYTES", int(chunk_images * columns_per_image))
    rng = np.random.default_rng(21)
    x = rng.standard_normal((5, case["c"], 4, 5, 6)).astype(np.float32)
    groups = case.get("groups", 1)
    weight = rng.standard_normal((case["o"], case["c"] // groups) + case["kernel"]).astype(np.float32)
    bias = rng.standard_normal(case["o"]).astype(np.float32) if case.get("bias", True) else None
    options = dict(padding=case["padding"], dilation=case.get("dilation", 1), groups=groups)
    x_grad = case.get("x_grad", True)
    out = lf.nn.functional.conv3d(lf.tensor(x), lf.tensor(weight, requires_grad=True), **options)
    assert type(out.grad_fn).__name__ == "Conv3d"
    out, grads = _conv_and_grads("ours", x, weight, bias, x_grad, conv="conv3d", **options)
    expected, expected_grads = _conv_and_grads("torch", x, weight, bias, x_grad, conv="conv3d", **options)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    assert len(grads) == len(expected_grads) == 1 + x_grad + (bias is not None)
    for mine, reference in zip(grads, expected_grads):
        np.testing.assert_allclose(mine, reference, rtol=1e-4, atol=1e-4)


def test_conv3d_in_float64_and_with_a_stride_matches_pytorch():
    """float64 takes the flat volumes at float64's precision; a stride keeps the composed path."""
    rng = np.random.default_rng(22)
    for dtype, stride, node in ((np.float64, 1, "Conv3d"), (np.float32, (1, 2, 1), None)):
        x = rng.standard_normal((2, 2, 5, 6, 5)).astype(dtype)
        weight, bias = rng.standard_normal((3, 2, 3, 2, 3)).astype(dtype), rng.standard_normal(3).astype(dtype)
        out = lf.nn.functional.conv3d(lf.tensor(x, requires_grad=True), lf.tensor(weight), stride=stride, padding=1)
        assert (type(out.grad_fn).__name__ == "Conv3d") == (node is not None)
        ours = _conv_and_grads("ours", x, weight, bias, conv="conv3d", stride=stride, padding=1)
        theirs = _conv_and_grads("torch", x, weight, bias, conv="conv3d", stride=stride, padding=1)
        tolerance = 1e-10 if dtype == np.float64 else 1e-4
        np.testing.assert_allclose(ours[0], theirs[0], rtol=tolerance, atol=tolerance)
        for mine, reference in zip(ours[1], theirs[1]):
            assert mine.dtype == dtype
            np.testing.assert_allclose(mine, reference, rtol=tolerance, atol=tolerance)


def _transposed_and_grads(engine, x, w, b, x_grad, **options):
    """conv_transpose2d's output and the gradients of (x if x_grad, w, b if given)."""
    return _conv_and_grads(engine, x, w, b, x_grad, conv="conv_transpose2d", **options)


@pytest.mark.parametrize("kernel, stride, padding, output_padding", [
    (4, 2, 1, 0),      # a DCGAN / U-Net decoder's upsampling
    (3, 2, 1, 1),      # a kernel that is not a multiple of the stride, output padding
    (2, 3, 0, 2),      # a kernel smaller than the stride: phases with no taps give the bias alone
    (3, 1, 1, 0),      # stride 1: one phase, a convolution with the kernel flipped
    (5, 3, 4, 1),      # more padding than the first phases reach
    ((3, 4), (2, 1), (0, 2), (1, 0)),
], ids=["k4s2p1", "k3s2p1op1", "k2s3op2", "k3s1p1", "k5s3p4op1", "uneven"])
@pytest.mark.parametrize("groups, x_grad, bias", [(1, True, True), (2, True, False), (1, False, True)],
                         ids=["plain", "groups_no_bias", "first_layer"])
def test_conv_transpose2d_by_phases_matches_pytorch(kernel, stride, padding, output_padding, groups, x_grad, bias,
                                                    monkeypatch):
    from layerforge.engine.ops import conv_transpose

    monkeypatch.setattr(conv_transpose.ConvTranspose2d, "PHASE_PLANE", 0)
    rng = np.random.default_rng(23)
    kh, kw = np.broadcast_to(kernel, 2)
    x = rng.standard_normal((3, 4, 6, 5)).astype(np.float32)
    weight = rng.standard_normal((4, 6 // groups, kh, kw)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32) if bias else None
    options = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups)
    out = lf.nn.functional.conv_transpose2d(lf.tensor(x), lf.tensor(weight, requires_grad=True), **options)
    assert out.grad_fn.by_phase
    out, grads = _transposed_and_grads("ours", x, weight, b, x_grad, **options)
    expected, expected_grads = _transposed_and_grads("torch", x, weight, b, x_grad, **options)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    assert len(grads) == len(expected_grads) == 1 + x_grad + bias
    for mine, reference in zip(grads, expected_grads):
        np.testing.assert_allclose(mine, reference, rtol=1e-4, atol=1e-4)


def test_conv_transpose2d_takes_phases_for_large_planes_only_and_keeps_float64():
    rng = np.random.default_rng(24)
    weight = rng.standard_normal((3, 2, 4, 4))
    for size, by_phase in ((16, True), (4, False)):   # phase planes of 17x17 and 5x5
        x = rng.standard_normal((2, 3, size, size))
        out = lf.nn.functional.conv_transpose2d(lf.tensor(x, requires_grad=True), lf.tensor(weight), stride=2,
                                                padding=1)
        assert out.grad_fn.by_phase == by_phase
        ours = _transposed_and_grads("ours", x, weight, None, True, stride=2, padding=1)
        theirs = _transposed_and_grads("torch", x, weight, None, True, stride=2, padding=1)
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10, atol=1e-10)
        for mine, reference in zip(ours[1], theirs[1]):
            assert mine.dtype == np.float64
            np.testing.assert_allclose(mine, reference, rtol=1e-10, atol=1e-10)
