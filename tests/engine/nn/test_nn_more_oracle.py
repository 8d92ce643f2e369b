"""The rest of torch.nn.functional and torch.nn against PyTorch: activations, norms and similarities,
interpolate, pixel shuffle, fold/unfold, attention, and the Transformer family (PyTorch's parameter
names, so state dicts load both ways; outputs and every gradient match)."""
import sys
from pathlib import Path

import numpy as np
import pytest

import layerforge.engine as lf
from layer_oracle import check_layer, copy_weights, torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_oracle import DEVICES, check  # noqa: E402


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


def F(m):
    return m.nn.functional


FUNCTIONAL = [
    case("hardswish", lambda m, x: F(m).hardswish(x), [(3, 4)], low=-5, high=5),
    case("hardsigmoid", lambda m, x: F(m).hardsigmoid(x), [(3, 4)], low=-5, high=5),
    case("mish", lambda m, x: F(m).mish(x), [(3, 4)], low=-5, high=5),
    case("logsigmoid", lambda m, x: F(m).logsigmoid(x), [(3, 4)], low=-30, high=30),
    case("softsign", lambda m, x: F(m).softsign(x), [(3, 4)]),
    case("softmin", lambda m, x: F(m).softmin(x, dim=1), [(3, 4)]),
    case("selu", lambda m, x: F(m).selu(x), [(3, 4)]),
    case("celu", lambda m, x: F(m).celu(x, alpha=0.7), [(3, 4)]),
    case("glu", lambda m, x: (F(m).glu(x), F(m).glu(x, 0)), [(4, 6)]),
    case("tanhshrink", lambda m, x: F(m).tanhshrink(x), [(3, 4)]),
    case("threshold", lambda m, x: F(m).threshold(x, 0.2, -1.0), [(3, 4)]),
    case("softshrink_hardshrink", lambda m, x: (F(m).softshrink(x, 0.4), F(m).hardshrink(x, 0.4)), [(3, 4)]),
    case("prelu_channels", lambda m, x, w: F(m).prelu(x, w), [(2, 3, 4), (3,)]),
    case("prelu_shared", lambda m, x, w: F(m).prelu(x, w), [(2, 3), (1,)]),
    case("rrelu_eval", lambda m, x: F(m).rrelu(x, training=False), [(3, 4)]),
    case("normalize", lambda m, x: (F(m).normalize(x), F(m).normalize(x, p=1, dim=-1)), [(3, 4)]),
    case("normalize_zero_row", lambda m, x: F(m).normalize(x, dim=1), vals=[[[0.0, 0.0], [3.0, 4.0]]]),
    case("cosine_similarity", lambda m, x, y: (F(m).cosine_similarity(x, y), F(m).cosine_similarity(x, y[:1], dim=-1)),
         [(3, 4), (3, 4)]),
    case("cosine_similarity_zero", lambda m, x, y: F(m).cosine_similarity(x, y), vals=[[[0.0, 0.0]], [[1.0, 2.0]]]),
    case("pairwise_distance", lambda m, x, y: (F(m).pairwise_distance(x, y), F(m).pairwise_distance(x, y, p=1,
                                                                                                    keepdim=True)),
         [(3, 4), (3, 4)]),
    case("interpolate_nearest", lambda m, x: (F(m).interpolate(x, scale_factor=2), F(m).interpolate(x, size=(5, 3))),
         [(1, 2, 3, 4)]),
    case("interpolate_nearest_1d_3d", lambda m, x, y: (F(m).interpolate(x, size=7), F(m).interpolate(y, scale_factor=2)),
         [(1, 2, 3), (1, 1, 2, 2, 3)]),
    case("interpolate_nearest_exact", lambda m, x: F(m).interpolate(x, size=(5, 7), mode="nearest-exact"),
         [(1, 2, 3, 4)]),
    case("interpolate_bilinear", lambda m, x: (F(m).interpolate(x, size=(5, 7), mode="bilinear"),
                                               F(m).interpolate(x, scale_factor=1.5, mode="bilinear")), [(2, 2, 3, 4)]),
    case("interpolate_bilinear_align", lambda m, x: F(m).interpolate(x, size=(6, 2), mode="bilinear",
                                                                    align_corners=True), [(1, 2, 3, 4)]),
    case("interpolate_linear_trilinear", lambda m, x, y: (F(m).interpolate(x, size=8, mode="linear"),
                                                          F(m).interpolate(y, scale_factor=2, mode="trilinear")),
         [(1, 2, 3), (1, 1, 2, 3, 2)]),
    case("interpolate_downsample", lambda m, x: (F(m).interpolate(x, size=(2, 3), mode="bilinear"),
                                                 F(m).interpolate(x, scale_factor=0.5)), [(1, 2, 5, 6)]),
    case("pixel_shuffle", lambda m, x: (F(m).pixel_shuffle(x, 2), F(m).pixel_unshuffle(F(m).pixel_shuffle(x, 2), 2)),
         [(2, 8, 3, 2)]),
    case("unfold", lambda m, x: (F(m).unfold(x, 2), F(m).unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=2)),
         [(2, 3, 5, 6)]),
    case("fold", lambda m, x: F(m).fold(x, (4, 5), 2), [(2, 12, 12)]),
    case("fold_padding_stride", lambda m, x: F(m).fold(x, (5, 6), (2, 3), dilation=(1, 2), padding=1, stride=2),
         [(1, 12, 6)]),
    case("sdpa", lambda m, q, k, v: F(m).scaled_dot_product_attention(q, k, v), [(2, 3, 4, 8), (2, 3, 5, 8),
                                                                                 (2, 3, 5, 6)]),
    case("sdpa_causal_scale", lambda m, q, k, v: F(m).scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3),
         [(2, 4, 8), (2, 4, 8), (2, 4, 8)]),
    case("sdpa_bool_mask", lambda m, q, k, v: F(m).scaled_dot_product_attention(
        q, k, v, attn_mask=m.tensor([[True, False, True], [True, True, False]], device=q.device)),
        [(2, 8), (3, 8), (3, 5)]),
    case("sdpa_float_mask", lambda m, q, k, v, a: F(m).scaled_dot_product_attention(q, k, v, attn_mask=a),
         [(2, 2, 8), (2, 3, 8), (2, 3, 5), (2, 3)]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", FUNCTIONAL)
def test_functional_matches_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", FUNCTIONAL[:12] + FUNCTIONAL[20:24])
def test_functional_matches_torch_in_float32(fn, shapes, options, device):
    check(fn, shapes, device=device, dtype="float32", **options)


LAYERS = [
    pytest.param(lambda nn: nn.Sequential(nn.Linear(4, 6), nn.Hardswish(), nn.Linear(6, 6), nn.Mish(),
                                          nn.Linear(6, 6), nn.SELU(), nn.Linear(6, 6), nn.CELU(0.5),
                                          nn.GLU(), nn.Softsign(), nn.Tanhshrink(), nn.LogSigmoid()),
                 [(5, 4)], id="activation_stack"),
    pytest.param(lambda nn: nn.Sequential(nn.Conv2d(2, 3, 3), nn.PReLU(3), nn.Hardsigmoid(), nn.Softmin(1),
                                          nn.Threshold(0.3, 0.0), nn.Softshrink(0.1), nn.Hardshrink(0.05)),
                 [(2, 2, 5, 5)], id="prelu_channels"),
    pytest.param(lambda nn: nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear"), nn.PixelUnshuffle(2),
                                          nn.PixelShuffle(2), nn.UpsamplingNearest2d(size=(3, 5)),
                                          nn.UpsamplingBilinear2d(scale_factor=2)),
                 [(1, 2, 3, 4)], id="resampling"),
    pytest.param(lambda nn: nn.Sequential(nn.Unfold(2, padding=1), nn.Fold((4, 5), 2, padding=1)),
                 [(2, 3, 4, 5)], id="unfold_fold"),
]


@pytest.mark.parametrize("build, shapes", LAYERS)
def test_layer_matches_torch(build, shapes):
    check_layer(build, *shapes)


def test_distance_layers_match_torch():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    for make in (lambda nn: nn.CosineSimilarity(dim=1), lambda nn: nn.PairwiseDistance(p=3.0)):
        theirs = make(torch.nn)(torch.tensor(a), torch.tensor(b))
        ours = make(lf.nn)(lf.tensor(a), lf.tensor(b))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-9)


def _attention(nn, **options):
    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, **options)

        def forward(self, q, k, v):
            out, weights = self.attn(q, k, v)
            return out + weights.sum() if weights is not None else out

    return Attention()


def _with_masks(nn, **options):
    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 4, **options)

        def forward(self, q, k, v):
            lib = torch if nn is torch.nn else lf
            causal = lib.ones(q.shape[0], k.shape[0], device=q.device).triu(1).bool()
            padding = lib.tensor([[False, False, False, True], [False, True, False, False]], device=q.device)
            out, weights = self.attn(q, k, v, attn_mask=causal, key_padding_mask=padding,
                                     average_attn_weights=False)
            return out * weights.mean()

    return Masked()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("build, shapes", [
    pytest.param(lambda nn: _attention(nn), [(4, 3, 8), (5, 3, 8), (5, 3, 8)], id="self_and_cross"),
    pytest.param(lambda nn: _attention(nn, batch_first=True), [(3, 4, 8), (3, 5, 8), (3, 5, 8)], id="batch_first"),
    pytest.param(lambda nn: _attention(nn, kdim=5, vdim=6), [(4, 3, 8), (5, 3, 5), (5, 3, 6)], id="kdim_vdim"),
    pytest.param(lambda nn: _attention(nn, bias=False), [(4, 8), (5, 8), (5, 8)], id="unbatched_no_bias"),
    pytest.param(lambda nn: _with_masks(nn), [(4, 2, 8), (4, 2, 8), (4, 2, 8)], id="masks"),
])
def test_multihead_attention_matches_torch(build, shapes, device):
    check_layer(build, *shapes, dtype=np.float64, device=device)


TRANSFORMERS = [
    pytest.param(lambda nn: nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0),
                 [(5, 3, 8)], id="encoder_layer"),
    pytest.param(lambda nn: nn.TransformerEncoderLayer(8, 2, 16, 0.0, activation="gelu", batch_first=True,
                                                       norm_first=True), [(3, 5, 8)], id="encoder_layer_norm_first"),
    pytest.param(lambda nn: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, 0.0), 2, norm=nn.LayerNorm(8),
                                                  enable_nested_tensor=False), [(5, 3, 8)], id="encoder"),
    pytest.param(lambda nn: nn.TransformerDecoderLayer(8, 2, 16, 0.0), [(4, 3, 8), (5, 3, 8)], id="decoder_layer"),
    pytest.param(lambda nn: nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, 0.0, norm_first=True), 2),
                 [(4, 3, 8), (5, 3, 8)], id="decoder"),
    pytest.param(lambda nn: nn.Transformer(8, 2, 2, 1, 16, 0.0), [(5, 3, 8), (4, 3, 8)], id="transformer"),
]


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning")
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("build, shapes", TRANSFORMERS)
def test_transformer_family_matches_torch(build, shapes, device):
    theirs, ours = check_layer(build, *shapes, dtype=np.float64, device=device)
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning")
def test_transformer_with_masks_and_its_state_dict_moves_both_ways():
    torch.manual_seed(0)
    theirs = torch.nn.Transformer(8, 2, 1, 2, 16, 0.0)
    ours = lf.nn.Transformer(8, 2, 1, 2, 16, 0.0)
    copy_weights(theirs, ours)
    back = torch.nn.Transformer(8, 2, 1, 2, 16, 0.0)
    back.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(1)
    src, tgt = rng.standard_normal((5, 2, 8)).astype(np.float32), rng.standard_normal((4, 2, 8)).astype(np.float32)
    padding = np.array([[False] * 4 + [True], [False] * 5])
    mask_t, mask_o = theirs.generate_square_subsequent_mask(4), ours.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(mask_o.numpy(), mask_t.numpy())
    expected = theirs(torch.tensor(src), torch.tensor(tgt), tgt_mask=mask_t, tgt_is_causal=True,
                      memory_key_padding_mask=torch.tensor(padding))
    got = ours(lf.tensor(src), lf.tensor(tgt), tgt_mask=mask_o, tgt_is_causal=True,
               memory_key_padding_mask=lf.tensor(padding))
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-4, atol=1e-5)
    again = back(torch.tensor(src), torch.tensor(tgt), tgt_mask=mask_t, memory_key_padding_mask=torch.tensor(padding))
    np.testing.assert_allclose(again.detach().numpy(), expected.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_multihead_attention_initialisation_follows_torch():
    attn = lf.nn.MultiheadAttention(16, 4)
    weight = attn.in_proj_weight.detach().numpy()
    bound = np.sqrt(6.0 / (16 + 48))  # xavier_uniform over the packed (3E, E) weight
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.8 * bound
    assert not attn.in_proj_bias.detach().numpy().any() and not attn.out_proj.bias.detach().numpy().any()
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        attn(lf.zeros(2, 1, 16), lf.zeros(2, 1, 16), lf.zeros(2, 1, 16), is_causal=True)


def test_channel_dropout_zeroes_whole_channels_and_alpha_dropout_keeps_moments():
    lf.manual_seed(0)
    x = lf.ones(64, 16, 5, 5)
    out = lf.nn.Dropout2d(0.5)(x).numpy()
    per_channel = out.reshape(64, 16, -1)
    assert ((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1)).all()
    assert 0.4 < (per_channel[..., 0] == 0).mean() < 0.6
    assert lf.nn.Dropout1d(0.3).eval()(lf.ones(2, 3, 4)).tolist() == lf.ones(2, 3, 4).tolist()
    with pytest.raises(RuntimeError):
        lf.nn.functional.dropout2d(lf.ones(2), 0.5)
    selu_like = lf.randn(200_000)
    dropped = lf.nn.AlphaDropout(0.2)(selu_like).numpy()
    assert abs(dropped.mean()) < 0.02 and abs(dropped.std() - 1.0) < 0.02


def test_gradcheck_of_the_new_functional_forms():
    rng = np.random.default_rng(4)
    x = lf.tensor(rng.uniform(-2, 2, (2, 2, 3, 4)), dtype=lf.float64, requires_grad=True)
    functional = lf.nn.functional
    assert lf.gradcheck(lambda t: (functional.hardswish(t), functional.mish(t), functional.selu(t),
                                   functional.logsigmoid(t), functional.glu(t, 1), functional.normalize(t)), [x])
    assert lf.gradcheck(lambda t: (functional.interpolate(t, size=(5, 7), mode="bilinear"),
                                   functional.interpolate(t, scale_factor=2), functional.pixel_shuffle(t.repeat(1, 2, 1, 1), 2),
                                   functional.fold(functional.unfold(t, 2, padding=1), (3, 4), 2, padding=1)), [x])
    q = lf.tensor(rng.uniform(-1, 1, (2, 3, 4)), dtype=lf.float64, requires_grad=True)
    assert lf.gradcheck(lambda t: (functional.scaled_dot_product_attention(t, t, t, is_causal=True),
                                   functional.cosine_similarity(t, t.flip(0), dim=-1)), [q])
