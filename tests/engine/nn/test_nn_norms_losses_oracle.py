"""Group/instance/RMS/local-response normalisation, the margin and likelihood losses, ParameterList/
ParameterDict and pad_sequence against PyTorch: outputs, every gradient, buffers, state-dict keys."""
import sys
from pathlib import Path

import numpy as np
import pytest

import layerforge.engine as lf
from layer_oracle import check_layer, torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_oracle import DEVICES, check  # noqa: E402


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


def F(m):
    return m.nn.functional


SIGNS = np.array([1.0, -1.0, 1.0, -1.0, 1.0])
FUNCTIONAL = [
    case("group_norm", lambda m, x, w, b: (F(m).group_norm(x, 2, w, b), F(m).group_norm(x, 4)), [(2, 4, 3, 2), (4,), (4,)]),
    case("instance_norm", lambda m, x, w, b: F(m).instance_norm(x, weight=w, bias=b), [(2, 3, 5), (3,), (3,)]),
    case("rms_norm", lambda m, x, w: (F(m).rms_norm(x, (4,), w), F(m).rms_norm(x, (3, 4), eps=1e-3)), [(2, 3, 4), (4,)]),
    case("local_response_norm", lambda m, x: F(m).local_response_norm(x, 3, alpha=0.1), [(2, 5, 3, 3)]),
    case("margin_ranking", lambda m, a, b, y: F(m).margin_ranking_loss(a, b, y.sign(), 0.2), [(5,), (5,), (5,)]),
    case("hinge_embedding", lambda m, x: (F(m).hinge_embedding_loss(x, m.tensor(SIGNS, dtype=x.dtype, device=x.device)),
                                          F(m).hinge_embedding_loss(x, m.tensor(SIGNS, device=x.device), 0.5,
                                                                    reduction="none")), [(5,)]),
    case("soft_margin", lambda m, x: F(m).soft_margin_loss(x, m.tensor(SIGNS, dtype=x.dtype, device=x.device)), [(5,)]),
    case("multilabel_soft_margin", lambda m, x, t, w: (F(m).multilabel_soft_margin_loss(x, (t > 0).to(x.dtype)),
                                                       F(m).multilabel_soft_margin_loss(x, (t > 0).to(x.dtype), w,
                                                                                        reduction="sum")),
         [(3, 4), (3, 4), (4,)]),
    case("cosine_embedding", lambda m, a, b: F(m).cosine_embedding_loss(a, b, m.tensor([1.0, -1.0, 1.0], dtype=a.dtype,
                                                                                       device=a.device), 0.1),
         [(3, 4), (3, 4)]),
    case("triplet_margin", lambda m, a, p, n: (F(m).triplet_margin_loss(a, p, n), F(m).triplet_margin_loss(
        a, p, n, margin=0.5, p=1, swap=True, reduction="none")), [(3, 4), (3, 4), (3, 4)]),
    case("poisson_nll", lambda m, x, t: (F(m).poisson_nll_loss(x, t), F(m).poisson_nll_loss(x.exp(), t * 3, log_input=False,
                                                                                            full=True)),
         [(3, 4), (3, 4)], low=0.2, high=2.0),
    case("gaussian_nll", lambda m, x, t, v: (F(m).gaussian_nll_loss(x, t, v), F(m).gaussian_nll_loss(x, t, v[:, :1], full=True,
                                                                                                   reduction="sum")),
         [(3, 4), (3, 4), (3, 4)], low=0.1, high=2.0),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", FUNCTIONAL)
def test_functional_matches_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


LAYERS = [
    pytest.param(lambda nn: nn.GroupNorm(2, 4), [(2, 4, 3, 3)], {}, id="GroupNorm"),
    pytest.param(lambda nn: nn.GroupNorm(4, 4, affine=False), [(2, 4, 5)], {}, id="GroupNorm_no_affine"),
    pytest.param(lambda nn: nn.GroupNorm(2, 6), [(2, 6, 8, 6)], {}, id="GroupNorm_blas_rows"),
    pytest.param(lambda nn: nn.GroupNorm(3, 3, affine=False), [(2, 3, 33)], {}, id="GroupNorm_blas_rows_no_affine"),
    pytest.param(lambda nn: nn.InstanceNorm1d(3), [(2, 3, 6)], {}, id="InstanceNorm1d"),
    pytest.param(lambda nn: nn.InstanceNorm2d(3, affine=True, track_running_stats=True), [(2, 3, 4, 4)],
                 {"steps": 3}, id="InstanceNorm2d_running_stats"),
    pytest.param(lambda nn: nn.InstanceNorm2d(4, affine=True, track_running_stats=True), [(3, 4, 8, 6)],
                 {"steps": 3}, id="InstanceNorm2d_long_rows_running_stats"),
    pytest.param(lambda nn: nn.InstanceNorm3d(2), [(2, 2, 3, 4, 5)], {}, id="InstanceNorm3d"),
    pytest.param(lambda nn: nn.InstanceNorm2d(3, affine=True, track_running_stats=True), [(2, 3, 4, 4)],
                 {"train": False}, id="InstanceNorm2d_eval"),
    pytest.param(lambda nn: nn.InstanceNorm3d(2), [(1, 2, 3, 3, 3)], {}, id="InstanceNorm3d"),
    pytest.param(lambda nn: nn.RMSNorm(6), [(3, 6)], {}, id="RMSNorm"),
    pytest.param(lambda nn: nn.RMSNorm([2, 3], eps=1e-4), [(4, 2, 3)], {}, id="RMSNorm_2d"),
    pytest.param(lambda nn: nn.LocalResponseNorm(2), [(2, 4, 3, 3)], {}, id="LocalResponseNorm"),
]


@pytest.mark.parametrize("build, shapes, options", LAYERS)
def test_normalization_layers_match_torch(build, shapes, options):
    theirs, ours = check_layer(build, *shapes, dtype=np.float64, **options)
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("make, args", [
    (lambda nn: nn.MarginRankingLoss(margin=0.3), 3), (lambda nn: nn.CosineEmbeddingLoss(0.2), 3),
    (lambda nn: nn.HingeEmbeddingLoss(), 2), (lambda nn: nn.SoftMarginLoss(reduction="sum"), 2),
    (lambda nn: nn.MultiLabelSoftMarginLoss(), 2), (lambda nn: nn.TripletMarginLoss(swap=True), 3),
    (lambda nn: nn.PoissonNLLLoss(), 2), (lambda nn: nn.GaussianNLLLoss(full=True), 3),
])
def test_loss_modules_match_torch(make, args):
    rng = np.random.default_rng(3)
    values = [rng.uniform(0.2, 1.5, (4, 3)) for _ in range(args)]
    if args == 3 and make(torch.nn).__class__.__name__ in ("MarginRankingLoss", "CosineEmbeddingLoss"):
        values[2] = np.sign(rng.standard_normal(4 if "Cosine" in make(torch.nn).__class__.__name__ else (4, 3)))
    if make(torch.nn).__class__.__name__ in ("HingeEmbeddingLoss", "SoftMarginLoss"):
        values[1] = np.sign(rng.standard_normal((4, 3)))
    if make(torch.nn).__class__.__name__ == "MultiLabelSoftMarginLoss":
        values[1] = (values[1] > 0.8).astype(float)
    theirs = make(torch.nn)(*[torch.tensor(v) for v in values])
    ours = make(lf.nn)(*[lf.tensor(v) for v in values])
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-9)


def test_parameter_list_and_dict_register_as_torch():
    def build(nn, lib):
        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.weights = nn.ParameterList([nn.Parameter(lib.ones(2)), nn.Parameter(lib.zeros(3))])
                self.extra = nn.ParameterDict({"scale": nn.Parameter(lib.ones(1))})
                self.weights.append(nn.Parameter(lib.ones(1)))
                self.extra["shift"] = nn.Parameter(lib.zeros(1))

            def forward(self, x):
                return x * self.weights[0].sum() + self.extra["scale"] + len(self.weights)
        return Model()

    theirs, ours = build(torch.nn, torch), build(lf.nn, lf)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert float(ours(lf.ones(1)).item()) == float(theirs(torch.ones(1)).item())
    assert "scale" in ours.extra and len(ours.extra) == 2 and len(ours.weights[1:]) == 2


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("options", [{}, {"batch_first": True}, {"padding_value": -1.0, "padding_side": "left"}])
def test_pad_sequence_matches_torch(options, device):
    from torch.nn.utils.rnn import pad_sequence as theirs

    from layerforge.engine.nn.utils.rnn import pad_sequence as ours

    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((n, 3)) for n in (2, 5, 1)]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    o_in = [lf.tensor(a, device=device, requires_grad=True) for a in arrays]
    expected, got = theirs(t_in, **options), ours(o_in, **options)
    np.testing.assert_array_equal(got.detach().cpu().numpy(), expected.detach().numpy())
    (expected * expected).sum().backward()
    (got * got).sum().backward()
    for a, b in zip(o_in, t_in):
        np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy())


RESHAPING_LAYERS = [
    pytest.param(lambda nn: nn.ConvTranspose1d(2, 3, 3, stride=2, padding=1, output_padding=1), [(2, 2, 5)],
                 id="ConvTranspose1d"),
    pytest.param(lambda nn: nn.ConvTranspose1d(4, 2, 2, groups=2, dilation=2, bias=False), [(1, 4, 6)],
                 id="ConvTranspose1d_groups"),
    pytest.param(lambda nn: nn.AdaptiveAvgPool1d(3), [(2, 4, 7)], id="AdaptiveAvgPool1d"),
    pytest.param(lambda nn: nn.AdaptiveMaxPool1d(4), [(2, 3, 9)], id="AdaptiveMaxPool1d"),
    pytest.param(lambda nn: nn.AdaptiveMaxPool2d((2, 3)), [(2, 3, 5, 7)], id="AdaptiveMaxPool2d"),
    pytest.param(lambda nn: nn.AdaptiveMaxPool2d((None, 2)), [(1, 2, 3, 5)], id="AdaptiveMaxPool2d_none"),
    # bins that tile the plane (8 / 4, 6 / 3): one max-pooling node
    pytest.param(lambda nn: nn.AdaptiveMaxPool2d((4, 3)), [(2, 3, 8, 6)], id="AdaptiveMaxPool2d_even_bins"),
]


def test_adaptive_max_pool_with_even_bins_sends_a_tie_to_the_first_maximum():
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = 2.0        # one bin, two equal maxima
    x[0, 0, 2:, 2:] = 1.0                        # another bin, all four equal
    grads = []
    for engine, value in ((lf, lf.tensor(x, requires_grad=True)), (torch, torch.tensor(x, requires_grad=True))):
        engine.nn.functional.adaptive_max_pool2d(value, 2).sum().backward()
        grads.append(value.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])
    assert grads[0][0, 0, 0, 1] == 1 and grads[0][0, 0, 1, 0] == 0 and grads[0][0, 0, 2, 2] == 1


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("build, shapes", RESHAPING_LAYERS)
def test_transposed_conv_and_adaptive_pool_layers_match_torch(build, shapes, device):
    theirs, ours = check_layer(build, *shapes, dtype=np.float64, device=device)
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_conv_transpose3d_output_size_and_top_level_forms_match_torch():
    theirs, ours = torch.nn.ConvTranspose3d(2, 2, 3, stride=2), lf.nn.ConvTranspose3d(2, 2, 3, stride=2)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 2, 3)).astype(np.float32)
    expected = theirs(torch.tensor(x), output_size=[8, 6, 7])
    got = ours(lf.tensor(x), output_size=[8, 6, 7])
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        ours(lf.tensor(x), output_size=[9, 6, 7])
    check(lambda m, x, w: (m.conv_transpose3d(x, w, None, 2, 1), m.max_pool1d_with_indices(x[0, 0], 2),
                           m.adaptive_max_pool1d(x[0, 0], 2)), [(1, 2, 3, 3, 4), (2, 1, 2, 2, 2)])
    with pytest.raises(RuntimeError):
        lf.conv_transpose3d(lf.ones(1, 2, 3, 3, 3), lf.ones(3, 1, 2, 2, 2))
    assert type(lf.nn.LazyConvTranspose3d(4, 2)(lf.ones(1, 3, 2, 2, 2))).__name__ == "Tensor"


def test_conv_transpose1d_output_size_matches_torch():
    theirs, ours = torch.nn.ConvTranspose1d(2, 2, 3, stride=3), lf.nn.ConvTranspose1d(2, 2, 3, stride=3)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((1, 2, 4)).astype(np.float32)
    expected = theirs(torch.tensor(x), output_size=[13])
    got = ours(lf.tensor(x), output_size=[13])
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)


PADDING_LAYERS = [
    pytest.param(lambda nn: nn.ZeroPad2d((1, 0, 2, 1)), [(1, 2, 3, 3)], id="ZeroPad2d"),
    pytest.param(lambda nn: nn.ConstantPad1d(2, 3.5), [(2, 3, 4)], id="ConstantPad1d"),
    pytest.param(lambda nn: nn.ConstantPad3d((1, 0, 0, 1, 1, 1), -1.0), [(1, 1, 2, 2, 2)], id="ConstantPad3d"),
    pytest.param(lambda nn: nn.ReflectionPad1d((2, 1)), [(2, 3, 5)], id="ReflectionPad1d"),
    pytest.param(lambda nn: nn.ReflectionPad2d(1), [(1, 2, 3, 4)], id="ReflectionPad2d"),
    pytest.param(lambda nn: nn.ReplicationPad2d((0, 2, 1, 0)), [(1, 2, 3, 3)], id="ReplicationPad2d"),
    pytest.param(lambda nn: nn.ReplicationPad1d(3), [(2, 2, 3)], id="ReplicationPad1d"),
    pytest.param(lambda nn: nn.CircularPad1d((1, 2)), [(1, 2, 4)], id="CircularPad1d"),
    pytest.param(lambda nn: nn.CircularPad2d(1), [(1, 1, 3, 3)], id="CircularPad2d"),
    pytest.param(lambda nn: nn.Softmax2d(), [(2, 3, 2, 2)], id="Softmax2d"),
    pytest.param(lambda nn: nn.ChannelShuffle(2), [(1, 4, 2, 2)], id="ChannelShuffle"),
]


@pytest.mark.parametrize("build, shapes", PADDING_LAYERS)
def test_padding_layers_match_torch(build, shapes):
    check_layer(build, *shapes, dtype=np.float64)


def test_functional_in_place_activations_match_torch():
    values = [-2.0, -0.5, 0.0, 0.7, 3.0]
    for name, args in [("relu_", ()), ("elu_", ()), ("leaky_relu_", (0.2,)), ("hardtanh_", ()), ("selu_", ()),
                       ("celu_", ()), ("threshold_", (0.5, -1.0))]:
        ours, theirs = lf.tensor(values), torch.tensor(values)
        assert getattr(lf.nn.functional, name)(ours, *args) is ours
        getattr(torch.nn.functional, name)(theirs, *args)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, err_msg=name)


def test_init_orthogonal_dirac_and_sparse_follow_torch():
    for shape in ((3, 5), (5, 3), (4, 2, 3)):
        w = lf.nn.init.orthogonal_(lf.empty(*shape), gain=2.0)
        flat = w.reshape(shape[0], -1).numpy()
        gram = flat @ flat.T if shape[0] <= flat.shape[1] else flat.T @ flat
        np.testing.assert_allclose(gram, 4.0 * np.eye(len(gram)), atol=1e-5)
    ours, theirs = lf.nn.init.dirac_(lf.empty(4, 2, 3, 3), groups=2), torch.nn.init.dirac_(torch.empty(4, 2, 3, 3), 2)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    sparse = lf.nn.init.sparse_(lf.empty(10, 4), sparsity=0.3).numpy()
    assert ((sparse == 0).sum(axis=0) == 3).all()


def test_gradient_norm_helpers_match_torch():
    def grads(lib):
        params = [lib.tensor([3.0, -4.0], requires_grad=True), lib.tensor([[1.0, 2.0]], requires_grad=True)]
        (params[0].sum() * 2 + (params[1] ** 2).sum()).backward()
        return params

    ours, theirs = grads(lf), grads(torch)
    total_ours = lf.nn.utils.get_total_norm([p.grad for p in ours])
    total_theirs = torch.nn.utils.get_total_norm([p.grad for p in theirs])
    assert float(total_ours) == pytest.approx(float(total_theirs))
    lf.nn.utils.clip_grads_with_norm_(ours, 1.0, total_ours)
    torch.nn.utils.clip_grads_with_norm_(theirs, 1.0, total_theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6)


def test_gumbel_softmax_samples_the_softmax_and_passes_the_soft_gradient():
    lf.manual_seed(0)
    logits = lf.tensor([[1.0, 0.0, -1.0]] * 4000, requires_grad=True)
    hard = lf.nn.functional.gumbel_softmax(logits, tau=0.5, hard=True)
    picks = hard.detach().numpy()
    assert set(np.unique(picks)) == {0.0, 1.0} and (picks.sum(1) == 1).all()
    expected = np.exp([1.0, 0.0, -1.0]) / np.exp([1.0, 0.0, -1.0]).sum()  # Gumbel-max samples the softmax
    np.testing.assert_allclose(picks.mean(0), expected, atol=0.03)
    (hard * lf.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert logits.grad is not None and np.abs(logits.grad.numpy()).sum() > 0
    soft = lf.nn.functional.gumbel_softmax(lf.zeros(5, 3), tau=2.0)
    np.testing.assert_allclose(soft.sum(-1).numpy(), np.ones(5), rtol=1e-6)


VOLUME_LAYERS = [
    pytest.param(lambda nn: nn.Conv3d(2, 3, 3), [(1, 2, 4, 5, 4)], id="Conv3d"),
    pytest.param(lambda nn: nn.Conv3d(4, 2, (1, 3, 2), stride=(1, 2, 1), padding=(0, 1, 1), dilation=(1, 1, 2),
                                      groups=2, bias=False), [(2, 4, 3, 5, 6)], id="Conv3d_strided_grouped"),
    pytest.param(lambda nn: nn.Conv3d(2, 2, 3, padding="same", padding_mode="reflect"), [(1, 2, 4, 4, 4)],
                 id="Conv3d_same_reflect"),
    pytest.param(lambda nn: nn.Conv3d(2, 2, 2), [(2, 3, 3, 3)], id="Conv3d_unbatched"),
    pytest.param(lambda nn: nn.MaxPool3d(2), [(1, 2, 4, 5, 6)], id="MaxPool3d"),
    pytest.param(lambda nn: nn.MaxPool3d(3, stride=2, padding=1, ceil_mode=True), [(1, 1, 5, 6, 5)],
                 id="MaxPool3d_padded_ceil"),
    pytest.param(lambda nn: nn.AvgPool3d(2), [(1, 2, 4, 4, 6)], id="AvgPool3d"),
    pytest.param(lambda nn: nn.AvgPool3d(3, stride=2, padding=1, ceil_mode=True), [(1, 1, 5, 6, 5)],
                 id="AvgPool3d_padded_ceil"),
    pytest.param(lambda nn: nn.AvgPool3d(3, stride=2, padding=1, count_include_pad=False), [(1, 1, 5, 5, 5)],
                 id="AvgPool3d_exclude_pad"),
    pytest.param(lambda nn: nn.AvgPool3d(2, divisor_override=3), [(1, 1, 4, 4, 4)], id="AvgPool3d_divisor"),
    pytest.param(lambda nn: nn.AdaptiveAvgPool3d((2, 1, 3)), [(2, 2, 5, 4, 7)], id="AdaptiveAvgPool3d"),
    pytest.param(lambda nn: nn.BatchNorm3d(3), [(2, 3, 2, 3, 2)], id="BatchNorm3d"),
    pytest.param(lambda nn: nn.ConvTranspose3d(2, 3, (2, 3, 2)), [(2, 2, 3, 2, 3)], id="ConvTranspose3d"),
    pytest.param(lambda nn: nn.ConvTranspose3d(4, 6, (3, 2, 2), stride=(2, 1, 3), padding=(1, 0, 1),
                                               output_padding=(1, 0, 2), groups=2), [(1, 4, 2, 3, 3)],
                 id="ConvTranspose3d_strided_grouped"),
    pytest.param(lambda nn: nn.ConvTranspose3d(2, 2, 2, stride=3, padding=2, dilation=(1, 2, 1), bias=False),
                 [(1, 2, 4, 3, 4)], id="ConvTranspose3d_padding_past_the_kernel"),
    pytest.param(lambda nn: nn.ConvTranspose3d(2, 2, 2), [(2, 2, 3, 3)], id="ConvTranspose3d_unbatched"),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("build, shapes", VOLUME_LAYERS)
def test_volume_layers_match_torch(build, shapes, device):
    theirs, ours = check_layer(build, *shapes, dtype=np.float64, device=device)
    assert list(ours.state_dict()) == list(theirs.state_dict())


UNPOOLING = [
    case("max_pool2d_indices", lambda m, x: F(m).max_pool2d(x, 2, return_indices=True), [(2, 3, 6, 5)]),
    case("max_pool2d_indices_padded_ceil", lambda m, x: F(m).max_pool2d(x, 3, 2, 1, ceil_mode=True, return_indices=True),
         [(1, 2, 7, 6)]),
    case("max_pool2d_indices_dilated", lambda m, x: F(m).max_pool2d(x, (2, 3), (1, 2), dilation=(2, 1),
                                                                    return_indices=True), [(1, 1, 6, 7)]),
    case("max_pool1d_indices_unbatched", lambda m, x: F(m).max_pool1d(x, 3, 2, return_indices=True), [(2, 9)]),
    case("max_unpool2d", lambda m, x: F(m).max_unpool2d(*F(m).max_pool2d(x, 2, return_indices=True), 2), [(2, 2, 4, 6)]),
    case("max_unpool2d_output_size", lambda m, x: F(m).max_unpool2d(*F(m).max_pool2d(x, 3, 2, return_indices=True), 3, 2,
                                                                    output_size=(7, 8)), [(1, 2, 7, 8)]),
    case("max_unpool1d", lambda m, x: F(m).max_unpool1d(*F(m).max_pool1d(x, 2, return_indices=True), 2), [(2, 3, 8)]),
    case("max_pool3d_indices", lambda m, x: (F(m).max_pool3d(x, 2, return_indices=True),
                                             F(m).max_pool3d(x[0], 3, 2, 1, ceil_mode=True, return_indices=True),
                                             m.nn.MaxPool3d((1, 2, 2), dilation=(1, 1, 2), return_indices=True)(x)),
         [(2, 2, 4, 5, 6)]),
    case("max_unpool3d", lambda m, x: (F(m).max_unpool3d(*F(m).max_pool3d(x[..., :4, :, :6], 2, return_indices=True),
                                                         2),
                                       m.nn.MaxUnpool3d(3, 2)(*F(m).max_pool3d(x, 3, 2, return_indices=True),
                                                              output_size=(5, 6, 7))), [(1, 2, 5, 6, 7)]),
    case("adaptive_max_pool3d", lambda m, x: (F(m).adaptive_max_pool3d(x, (2, 3, 2)),
                                              F(m).adaptive_max_pool3d(x[0], (None, 2, 3), return_indices=True),
                                              m.nn.AdaptiveMaxPool3d(2, return_indices=True)(x),
                                              F(m).adaptive_max_pool3d_with_indices(x, 1),
                                              F(m).max_pool3d_with_indices(x, 2)), [(2, 2, 4, 5, 6)]),
    case("adaptive_max_pool2d_indices", lambda m, x: (F(m).adaptive_max_pool2d(x, (2, 3), return_indices=True),
                                                      F(m).adaptive_max_pool2d(x[0], (None, 2), return_indices=True),
                                                      m.nn.AdaptiveMaxPool2d(3, return_indices=True)(x)), [(2, 2, 5, 7)]),
    case("adaptive_max_pool1d_indices", lambda m, x: (F(m).adaptive_max_pool1d(x, 3, return_indices=True),
                                                      m.nn.AdaptiveMaxPool1d(4, return_indices=True)(x[0])),
         [(2, 3, 9)]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", UNPOOLING)
def test_pooling_indices_and_unpooling_match_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


def test_max_unpool_layers_match_torch():
    def build(nn):
        class AutoEncoder(nn.Module):
            def __init__(self):
                super().__init__()
                self.pool, self.unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)

            def forward(self, x):
                values, indices = self.pool(x)
                return self.unpool(values * 2, indices, output_size=x.shape)
        return AutoEncoder()

    check_layer(build, (2, 3, 5, 6), dtype=np.float64)


INDICES = np.array([1, 2, 4, 5, 4, 3, 2, 9])
BAG_OFFSETS = np.array([0, 4, 4, 6])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("layout", ["offsets", "offsets_last", "2d", "padding_idx"])
def test_embedding_bag_matches_torch(mode, layout, device):
    def run(m, w):
        dev = {"device": w.device}
        if layout == "2d":
            return F(m).embedding_bag(m.tensor(INDICES.reshape(2, 4), **dev), w, mode=mode)
        offsets = np.append(BAG_OFFSETS, len(INDICES)) if layout == "offsets_last" else BAG_OFFSETS
        return F(m).embedding_bag(m.tensor(INDICES, **dev), w, m.tensor(offsets, **dev), mode=mode,
                                  include_last_offset=layout == "offsets_last",
                                  padding_idx=4 if layout == "padding_idx" else None)

    check(run, [(10, 3)], device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_embedding_bag_per_sample_weights_and_layer_match_torch(device):
    check(lambda m, w, s: F(m).embedding_bag(m.tensor(INDICES, device=w.device), w,
                                             m.tensor(BAG_OFFSETS, device=w.device), mode="sum",
                                             per_sample_weights=s), [(10, 3), (8,)], device=device)
    theirs = torch.nn.EmbeddingBag(10, 3, mode="max")
    ours = lf.nn.EmbeddingBag(10, 3, mode="max")
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    expected = theirs(torch.tensor(INDICES), torch.tensor(BAG_OFFSETS))
    got = ours(lf.tensor(INDICES), lf.tensor(BAG_OFFSETS))
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-6)
    with pytest.raises(NotImplementedError):
        F(lf).embedding_bag(lf.tensor(INDICES), lf.ones(10, 3), lf.tensor(BAG_OFFSETS), mode="mean",
                            per_sample_weights=lf.ones(8))


@pytest.mark.parametrize("build, shape", [
    pytest.param(lambda nn: nn.Sequential(nn.LazyLinear(5), nn.ReLU(), nn.LazyLinear(2)), (4, 3), id="LazyLinear"),
    pytest.param(lambda nn: nn.Sequential(nn.LazyConv2d(4, 3, padding=1), nn.LazyBatchNorm2d(), nn.ReLU(),
                                          nn.Flatten(), nn.LazyLinear(3)), (2, 2, 5, 5), id="LazyConv2d_BatchNorm"),
    pytest.param(lambda nn: nn.Sequential(nn.LazyConv1d(3, 2, 2, 1, 1, 1, False), nn.LazyInstanceNorm1d(affine=True)),
                 (2, 4, 6), id="LazyConv1d_positional_InstanceNorm"),
    pytest.param(lambda nn: nn.LazyConvTranspose2d(3, 2, stride=2), (1, 2, 3, 3), id="LazyConvTranspose2d"),
])
def test_lazy_layers_become_their_ordinary_class_as_in_torch(build, shape):
    theirs, ours = build(torch.nn), build(lf.nn)
    their_params = list(theirs.parameters())
    our_params = list(ours.parameters())
    optimizer = lf.optim.SGD(ours.parameters(), lr=0.1)  # created before the sizes are known, as d2l does
    theirs(torch.zeros(shape))
    ours(lf.zeros(shape))  # the dry run that fixes the sizes
    assert [type(m).__name__ for m in ours.modules()] == [type(m).__name__ for m in theirs.modules()]
    assert [tuple(p.shape) for p in our_params] == [tuple(p.shape) for p in their_params]
    assert all(type(p) is lf.nn.Parameter for p in our_params)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    check_layer(lambda nn: theirs if nn is torch.nn else ours, shape, dtype=np.float32)
    optimizer.step()  # the optimizer holds the very parameters that were filled in
    assert optimizer.param_groups[0]["params"][0] is our_params[0]


CTC_TARGETS = np.array([[1, 2, 2, 0], [3, 1, 0, 0], [4, 4, 4, 4]])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("layout", ["padded", "concatenated"])
def test_ctc_loss_matches_torch(reduction, layout, device):
    def run(m, logits):
        dev = {"device": logits.device}
        targets = m.tensor(CTC_TARGETS, **dev) if layout == "padded" else m.tensor([1, 2, 2, 3, 1, 4, 4, 4, 4], **dev)
        return F(m).ctc_loss(logits.log_softmax(2), targets, m.tensor([12, 10, 8], **dev), m.tensor([3, 2, 4], **dev),
                             reduction=reduction)

    check(run, [(12, 3, 5)], device=device)


def test_ctc_loss_layer_blank_unbatched_and_impossible_alignments_match_torch():
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((6, 4))
    for blank in (0, 3):
        expected = torch.nn.CTCLoss(blank=blank)(torch.tensor(logits).log_softmax(1), torch.tensor([1, 2]),
                                                 torch.tensor(6), torch.tensor(2))
        got = lf.nn.CTCLoss(blank=blank)(lf.tensor(logits).log_softmax(1), lf.tensor([1, 2]), lf.tensor(6),
                                         lf.tensor(2))
        assert float(got) == pytest.approx(float(expected), rel=1e-10)
    too_long = np.array([[1, 1, 1, 1]])  # needs 7 steps, has 3
    batch = rng.standard_normal((3, 1, 4))
    for zero_infinity in (False, True):
        expected = torch.nn.functional.ctc_loss(torch.tensor(batch).log_softmax(2), torch.tensor(too_long),
                                                torch.tensor([3]), torch.tensor([4]), reduction="sum",
                                                zero_infinity=zero_infinity)
        got = lf.nn.functional.ctc_loss(lf.tensor(batch).log_softmax(2), lf.tensor(too_long), lf.tensor([3]),
                                        lf.tensor([4]), reduction="sum", zero_infinity=zero_infinity)
        assert float(got) == float(expected)


BLOCKED_NORMS = [
    pytest.param(lambda m, c: m.nn.BatchNorm2d(c), True, id="BatchNorm2d_train"),
    pytest.param(lambda m, c: m.nn.BatchNorm2d(c), False, id="BatchNorm2d_eval"),
    pytest.param(lambda m, c: m.nn.GroupNorm(c // 2 if c > 1 else 1, c), True, id="GroupNorm"),
    pytest.param(lambda m, c: m.nn.InstanceNorm2d(c, affine=True, track_running_stats=True), True,
                 id="InstanceNorm2d"),
]


@pytest.mark.parametrize("build, training", BLOCKED_NORMS)
@pytest.mark.parametrize("shape", [
    pytest.param((37, 4, 30, 30), id="sample_blocks_uneven_last"),
    pytest.param((2, 80, 40, 40), id="channel_blocks_within_a_sample"),
    pytest.param((3, 1, 300, 300), id="one_channel_larger_than_a_block"),
])
def test_norms_in_cache_blocks_match_torch(build, training, shape):
    """Batch, group and instance norm work a cache-sized block at a time and keep no centred copy of
    the input: inputs larger than a block, cut by samples or by channels, with a mean 25 times the
    spread (the variance comes from centred values, not from sums of squares)."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) * 2 + 50).astype(np.float32)
    upstream = rng.standard_normal(shape).astype(np.float32)
    channels = shape[1]
    weight, bias = rng.standard_normal(channels).astype(np.float32), rng.standard_normal(channels).astype(np.float32)
    running = (rng.standard_normal(channels) + 50).astype(np.float32), (rng.random(channels) * 4 + 1).astype(np.float32)
    results = []
    for m in (torch, lf):
        norm = build(m, channels)
        buffers = [(norm.running_mean, running[0]), (norm.running_var, running[1])] if training is False else []
        with m.no_grad():
            for param, value in [(norm.weight, weight), (norm.bias, bias)] + buffers:
                param.copy_(m.tensor(value))
        norm.train(training)
        inp = m.tensor(x, requires_grad=True)
        out = norm(inp)
        out.backward(m.tensor(upstream))
        tensors = [out, inp.grad, norm.weight.grad, norm.bias.grad]
        if getattr(norm, "running_mean", None) is not None:
            tensors += [norm.running_mean, norm.running_var]
        results.append([np.array(t.detach().numpy()) for t in tensors])
    names = ["output", "input gradient", "weight gradient", "bias gradient", "running mean", "running var"]
    assert len(results[0]) == len(results[1])
    for name, expected, got in zip(names, *results):
        scale = max(1.0, float(np.abs(expected).max()))
        np.testing.assert_allclose(got, expected, rtol=2e-4, atol=2e-5 * scale, err_msg=name)
