"""nn.functional against torch.nn.functional, dropout's statistics and seeding, nn.utils, errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import layerforge.engine as lf
import layerforge.engine.nn.functional as F
from layerforge.engine import nn

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
TF = torch.nn.functional


def _pair(shape, seed=0, dtype=np.float32, grad=True):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return torch.tensor(a, requires_grad=grad), lf.tensor(a, requires_grad=grad)


def _compare(fn_torch, fn_ours, *shapes, rtol=1e-4, atol=1e-5):
    pairs = [_pair(s, seed=i) for i, s in enumerate(shapes)]
    expected = fn_torch(*[p[0] for p in pairs])
    got = fn_ours(*[p[1] for p in pairs])
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=rtol, atol=atol)
    assert got.dtype == lf.float32
    upstream = np.random.default_rng(9).standard_normal(tuple(expected.shape)).astype(np.float32)
    expected.backward(torch.tensor(upstream))
    got.backward(lf.tensor(upstream))
    for theirs, ours in pairs:
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=rtol, atol=atol)


FUNCTIONAL = {
    "linear": (lambda m, x, w, b: m.linear(x, w, b), [(4, 5), (3, 5), (3,)]),
    "bilinear": (lambda m, a, b, w, c: m.bilinear(a, b, w, c), [(4, 2), (4, 3), (5, 2, 3), (5,)]),
    "conv1d": (lambda m, x, w: m.conv1d(x, w, stride=2, padding=1), [(2, 3, 9), (4, 3, 3)]),
    "conv2d": (lambda m, x, w, b: m.conv2d(x, w, b, padding="same", dilation=2),
               [(2, 2, 6, 6), (3, 2, 3, 3), (3,)]),
    "conv_transpose2d": (lambda m, x, w: m.conv_transpose2d(x, w, stride=2, padding=1),
                         [(2, 3, 4, 4), (3, 2, 3, 3)]),
    "max_pool1d": (lambda m, x: m.max_pool1d(x, 3, 2, 1), [(2, 3, 10)]),
    "max_pool2d": (lambda m, x: m.max_pool2d(x, (2, 3), (1, 2), (1, 1), ceil_mode=True),
                   [(2, 3, 7, 8)]),
    "avg_pool1d": (lambda m, x: m.avg_pool1d(x, 4, 3, 2, count_include_pad=False), [(2, 3, 11)]),
    "avg_pool2d": (lambda m, x: m.avg_pool2d(x, 3, 2, 1, ceil_mode=True), [(2, 3, 7, 8)]),
    "adaptive_avg_pool2d": (lambda m, x: m.adaptive_avg_pool2d(x, (3, 2)), [(2, 3, 7, 5)]),
    "layer_norm": (lambda m, x, w, b: m.layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)]),
    "batch_norm_train": (lambda m, x, w, b: m.batch_norm(x, None, None, w, b, training=True),
                         [(6, 3, 2), (3,), (3,)]),
    "relu": (lambda m, x: m.relu(x), [(3, 4)]),
    "leaky_relu": (lambda m, x: m.leaky_relu(x, 0.1), [(3, 4)]),
    "elu": (lambda m, x: m.elu(x, 2.0), [(3, 4)]),
    "gelu": (lambda m, x: m.gelu(x), [(3, 4)]),
    "silu": (lambda m, x: m.silu(x), [(3, 4)]),
    "sigmoid": (lambda m, x: m.sigmoid(x), [(3, 4)]),
    "tanh": (lambda m, x: m.tanh(x), [(3, 4)]),
    "softmax": (lambda m, x: m.softmax(x, dim=0), [(3, 4)]),
    "log_softmax": (lambda m, x: m.log_softmax(x, dim=1), [(3, 4)]),
    "softplus": (lambda m, x: m.softplus(x, beta=3, threshold=2), [(3, 4)]),
    "hardtanh": (lambda m, x: m.hardtanh(x, -0.3, 0.4), [(3, 4)]),
    "pad": (lambda m, x: m.pad(x, (1, 2, 0, 1)), [(2, 3, 4)]),
    "pad_reflect": (lambda m, x: m.pad(x, (2, 1), mode="reflect"), [(2, 3, 4)]),
}


@pytest.mark.parametrize("name", list(FUNCTIONAL))
def test_functional_matches_torch(name):
    fn, shapes = FUNCTIONAL[name]
    _compare(lambda *a: fn(TF, *a), lambda *a: fn(F, *a), *shapes)


def test_batch_norm_functional_updates_running_statistics_like_torch():
    x = np.random.default_rng(0).standard_normal((8, 3, 4)).astype(np.float32)
    t_mean, t_var = torch.zeros(3), torch.ones(3)
    o_mean, o_var = lf.zeros(3), lf.ones(3)
    TF.batch_norm(torch.tensor(x), t_mean, t_var, training=True, momentum=0.2)
    F.batch_norm(lf.tensor(x), o_mean, o_var, training=True, momentum=0.2)
    np.testing.assert_allclose(o_mean.numpy(), t_mean.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(o_var.numpy(), t_var.numpy(), rtol=1e-5)


def test_batch_norm_training_on_one_value_per_channel_is_an_error():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(lf.randn(1, 3))


def test_embedding_and_one_hot_match_torch():
    idx = np.array([[1, 0, 3], [3, 3, 2]])
    weight = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    expected = TF.embedding(torch.tensor(idx), torch.tensor(weight), padding_idx=3)
    got = F.embedding(lf.tensor(idx), lf.tensor(weight), padding_idx=3)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())
    one_hot = F.one_hot(lf.tensor(idx), 5)
    np.testing.assert_array_equal(one_hot.numpy(), TF.one_hot(torch.tensor(idx), 5).numpy())
    assert one_hot.dtype == lf.int64
    assert tuple(F.one_hot(lf.tensor([0, 2])).shape) == (2, 3)
    with pytest.raises(IndexError, match=r"index out of range.*\[0, 4\)"):
        F.embedding(lf.tensor([4]), lf.tensor(weight))


def test_dropout_keeps_the_expected_share_scales_and_follows_the_seed():
    x = lf.ones(200, 500)
    lf.manual_seed(3)
    first = F.dropout(x, 0.3).numpy()
    kept = first != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(first[kept], 1 / 0.7, rtol=1e-6)
    assert first.dtype == np.float32
    lf.manual_seed(3)
    np.testing.assert_array_equal(F.dropout(x, 0.3).numpy(), first)
    layer = nn.Dropout(0.5).eval()
    assert layer(x) is x  # identity in eval mode
    assert np.all(F.dropout(x, 1.0).numpy() == 0)


def test_dropout_gradient_flows_through_kept_elements_only():
    x = lf.ones(50, 40, requires_grad=True)
    out = nn.Dropout(0.4)(x)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), out.detach().numpy())


def test_conv_errors_name_shapes_and_what_to_do():
    with pytest.raises(RuntimeError, match=r"expects input to have 3 channels.*\[2, 4, 8, 8\]"):
        nn.Conv2d(3, 4, 3)(lf.randn(2, 4, 8, 8))
    with pytest.raises(RuntimeError, match="smaller than the dilated kernel"):
        nn.Conv2d(1, 1, 5)(lf.randn(1, 1, 3, 3))
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(RuntimeError, match="expected a 3D \\(unbatched\\) or 4D"):
        nn.MaxPool2d(2)(lf.randn(4, 4))
    with pytest.raises(RuntimeError, match="8 input features, the input has 5"):
        nn.Linear(8, 2)(lf.randn(3, 5))
    with pytest.raises(RuntimeError, match="input is float64 but the layer's parameters are float32"):
        nn.Linear(2, 2)(lf.randn(3, 2, dtype=lf.float64))
    with pytest.raises(RuntimeError, match="conv2d: input is float64"):
        nn.Conv2d(1, 1, 1)(lf.randn(1, 1, 2, 2, dtype=lf.float64))


def test_float32_stays_float32_through_every_layer():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.GELU(),
                          nn.MaxPool2d(2), nn.AvgPool2d(2, ceil_mode=True),
                          nn.AdaptiveAvgPool2d(3), nn.Flatten(), nn.LayerNorm(18),
                          nn.Linear(18, 4), nn.Softplus(), nn.ELU(), nn.SiLU(), nn.Dropout(0.2))
    x = lf.randn(3, 1, 9, 9, requires_grad=True)
    out = model(x)
    assert out.dtype == lf.float32
    out.sum().backward()
    assert x.grad.dtype == lf.float32
    assert all(p.grad.dtype == lf.float32 for p in model.parameters())


# ------------------------------------------------------------------------------ nn.utils
GPUS = [pytest.param(d, marks=[pytest.mark.gpu, pytest.mark.skipif(
    lf.cuda.device_count() <= int(d[-1]), reason=f"needs {int(d[-1]) + 1} CUDA GPU(s)")])
    for d in ("cuda:0", "cuda:1")]


def _grads_pair(seed=0, device="cpu"):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) * 3 for s in [(4, 3), (5,)]]
    theirs = [torch.zeros(a.shape, requires_grad=True) for a in arrays]
    ours = [nn.Parameter(lf.zeros(*a.shape, device=device)) for a in arrays]
    for t, o, a in zip(theirs, ours, arrays):
        t.grad = torch.tensor(a)
        o.grad = lf.tensor(a, device=device)
    return theirs, ours


@pytest.mark.parametrize("device", ["cpu"] + GPUS)
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3.0])
def test_clip_grad_norm_matches_torch(norm_type, device):
    theirs, ours = _grads_pair(device=device)
    t_total = torch.nn.utils.clip_grad_norm_(theirs, 1.5, norm_type=norm_type)
    o_total = nn.utils.clip_grad_norm_(ours, 1.5, norm_type=norm_type)
    assert o_total.device == lf.device(device) and o_total.dtype == lf.float32
    assert float(o_total) == pytest.approx(float(t_total), rel=1e-5)
    for t, o in zip(theirs, ours):
        assert o.grad.device == lf.device(device)
        np.testing.assert_allclose(o.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("device", ["cpu"] + GPUS)
def test_clip_grad_norm_leaves_small_gradients_and_rejects_nonfinite_on_request(device):
    theirs, ours = _grads_pair(device=device)
    before = [o.grad.cpu().numpy().copy() for o in ours]
    nn.utils.clip_grad_norm_(ours, 1e6)
    for b, o in zip(before, ours):
        np.testing.assert_array_equal(o.grad.cpu().numpy(), b)
    with lf.no_grad():
        ours[0].grad[0, 0] = float("inf")
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("device", GPUS)
def test_clip_grad_norm_on_a_gpu_reads_nothing_back(device):
    import sys

    cupy = sys.modules.get("cupy")
    if not hasattr(cupy, "host_syncs"):
        pytest.skip("reads from the device are counted on the simulated GPU (LAYERFORGE_SIMULATED_GPU=1)")
    _, ours = _grads_pair(device=device)
    cupy.host_syncs.reset()
    total = nn.utils.clip_grad_norm_(ours, 1.5)
    assert cupy.host_syncs.total() == 0, cupy.host_syncs.counts  # torch reads nothing back either
    assert float(total) > 1.5


def test_clip_grad_value_and_vector_round_trip():
    theirs, ours = _grads_pair()
    torch.nn.utils.clip_grad_value_(theirs, 0.5)
    nn.utils.clip_grad_value_(ours, 0.5)
    for t, o in zip(theirs, ours):
        np.testing.assert_array_equal(o.grad.numpy(), t.grad.numpy())
    model = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(model.parameters())
    assert tuple(vec.shape) == (8,)
    np.testing.assert_array_equal(vec.detach().numpy()[:6], model.weight.detach().numpy().ravel())
    nn.utils.vector_to_parameters(lf.arange(8, dtype=lf.float32), model.parameters())
    np.testing.assert_array_equal(model.bias.detach().numpy(), [6.0, 7.0])
    with pytest.raises(RuntimeError, match="has 3 elements but the parameters need 8"):
        nn.utils.vector_to_parameters(lf.zeros(3), model.parameters())


def test_convolution_buffers_recycled_between_steps_never_leak_into_results():
    """The column buffers go back to a pool after backward; a retained graph must keep its own."""
    conv = nn.Conv2d(2, 3, 3, padding=1)
    x = lf.randn(2, 2, 5, 5, requires_grad=True)
    out = conv(x)
    out.sum().backward(retain_graph=True)
    first = conv.weight.grad.numpy().copy()
    conv(lf.randn(2, 2, 5, 5)).sum().backward()  # another step in between reuses free buffers
    conv.zero_grad()
    out.sum().backward()  # the retained graph still has its own columns
    np.testing.assert_allclose(conv.weight.grad.numpy(), first, rtol=1e-6)


@pytest.mark.parametrize("batch,channels", [(1, 1), (1, 3), (2, 1)])
def test_convolution_outputs_stay_valid_after_later_convolutions(batch, channels):
    """Outputs and gradients must never be views of recycled buffers (N == 1 makes that easy)."""
    conv = nn.Conv2d(channels, channels, 3, padding=1)
    x = lf.randn(batch, channels, 6, 6, requires_grad=True)
    first = conv(x)
    kept = first.detach().numpy().copy()
    first.sum().backward()
    kept_grad = x.grad.numpy().copy()
    for _ in range(2):
        y = lf.randn(batch, channels, 6, 6, requires_grad=True)
        conv(y).sum().backward()
    np.testing.assert_array_equal(first.detach().numpy(), kept)
    np.testing.assert_array_equal(x.grad.numpy(), kept_grad)
