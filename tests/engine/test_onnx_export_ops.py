"""Every layer the canvas compiles to, and the common tensor operations, export and run in
onnxruntime as in the engine (one line per case), including the canvas's own templates."""
from __future__ import annotations

import pytest

from onnx_support import assert_matches, op_types

import layerforge.engine as torch
from layerforge.graph.compile import compile_spec
from layerforge.graph.model_templates import templates

nn = torch.nn
F = nn.functional


class Fn(nn.Module):
    """``fn(self, *inputs)`` as a module; keyword modules become submodules."""

    def __init__(self, fn, **modules):
        super().__init__()
        self.fn = fn
        for name, module in modules.items():
            setattr(self, name, module)

    def forward(self, *inputs):
        return self.fn(self, *inputs)


def randn(*shape):
    return lambda: torch.randn(*shape)


def tokens(high, *shape):
    return lambda: torch.randint(0, high, shape)


def _layer(module, make):
    return (lambda: module, make)


def _fn(fn, make, **modules):
    return (lambda: Fn(fn, **modules), make)


def _bn(module, channels):
    module.running_mean.copy_(torch.randn(channels) * 0.3)
    module.running_var.copy_(torch.rand(channels) + 0.5)
    return module


LAYERS = {
    # activations of the catalog (graph/catalog_activation.py) and their relatives
    "relu": _layer(nn.ReLU(), randn(3, 7)),
    "leaky_relu": _layer(nn.LeakyReLU(0.2), randn(3, 7)),
    "elu": _layer(nn.ELU(0.7), randn(3, 7)),
    "hardswish_hardsigmoid": _fn(lambda m, x: m.a(x * 4) + m.b(x * 4), randn(3, 7),
                                 a=nn.Hardswish(), b=nn.Hardsigmoid()),
    "gelu": _layer(nn.GELU(), randn(3, 7)),
    "gelu_tanh": _layer(nn.GELU("tanh"), randn(3, 7)),
    "silu": _layer(nn.SiLU(), randn(3, 7)),
    "sigmoid": _layer(nn.Sigmoid(), randn(3, 7)),
    "tanh": _layer(nn.Tanh(), randn(3, 7)),
    "softmax": _layer(nn.Softmax(dim=1), randn(3, 7)),
    "log_softmax": _layer(nn.LogSoftmax(dim=-1), randn(3, 7)),
    "softplus": _layer(nn.Softplus(beta=2.0, threshold=3.0), lambda: torch.randn(3, 7) * 3),
    "hardtanh": _layer(nn.Hardtanh(-0.5, 0.8), randn(3, 7)),
    "relu6": _layer(nn.ReLU6(), lambda: torch.randn(3, 7) * 5),
    # dense and shape layers
    "linear_3d_no_bias": _layer(nn.Linear(5, 4, bias=False), randn(2, 3, 5)),
    "bilinear": _fn(lambda m, a, b: m.layer(a, b), (randn(4, 3), randn(4, 5)), layer=nn.Bilinear(3, 5, 2)),
    "embedding": _layer(nn.Embedding(10, 4, padding_idx=0), tokens(10, 3, 5)),
    "flatten_unflatten": _layer(nn.Sequential(nn.Flatten(), nn.Unflatten(1, (3, 8))), randn(2, 4, 6)),
    "dropout_identity": _layer(nn.Sequential(nn.Dropout(0.5), nn.Identity()), randn(3, 4)),
    # convolutions and pooling
    "conv1d": _layer(nn.Conv1d(2, 4, 3, stride=2, padding=1), randn(2, 2, 9)),
    "conv2d_groups_dilation": _layer(nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2), randn(2, 4, 7, 7)),
    "conv2d_same": _layer(nn.Conv2d(2, 3, (3, 4), padding="same"), randn(1, 2, 6, 7)),
    "conv_transpose2d": _layer(nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1),
                               randn(2, 4, 5, 5)),
    "max_pool2d_ceil": _layer(nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), randn(2, 3, 8, 8)),
    "max_pool2d_dilation": _layer(nn.MaxPool2d(2, dilation=2), randn(2, 3, 9, 9)),
    "max_pool1d": _layer(nn.MaxPool1d(2), randn(2, 3, 8)),
    "avg_pool2d_excluding_pad": _layer(nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
                                       randn(2, 3, 8, 8)),
    "avg_pool1d": _layer(nn.AvgPool1d(2), randn(2, 3, 8)),
    "adaptive_avg_pool2d_uneven": _layer(nn.AdaptiveAvgPool2d((3, 2)), randn(2, 3, 7, 5)),
    "adaptive_avg_pool2d_even": _layer(nn.AdaptiveAvgPool2d(2), randn(2, 3, 8, 6)),
    "adaptive_max_pool2d_uneven": _layer(nn.AdaptiveMaxPool2d((3, 4)), randn(2, 3, 10, 9)),
    "adaptive_max_pool1d": _layer(nn.AdaptiveMaxPool1d(4), randn(2, 3, 10)),
    "adaptive_max_pool3d": _layer(nn.AdaptiveMaxPool3d((2, 3, 2)), randn(2, 2, 5, 6, 7)),
    "conv3d_one_conv_node": _layer(nn.Conv3d(2, 3, 3, padding=(1, 0, 2), dilation=(1, 2, 1)), randn(2, 2, 4, 5, 4)),
    "conv3d_strided_via_index_tensors": _layer(nn.Conv3d(2, 3, 3, stride=2, padding=1), randn(2, 2, 4, 4, 4)),
    "max_pool3d": _layer(nn.MaxPool3d(2), randn(2, 2, 4, 4, 4)),
    "unfold": _layer(nn.Unfold(2, stride=2), randn(2, 3, 4, 4)),
    "upsample_nearest_whole_and_other": _layer(nn.Sequential(nn.Upsample(scale_factor=(2, 3)), nn.Upsample(size=(9, 8))),
                                               randn(2, 3, 4, 3)),
    "upsample_bilinear": _layer(nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear"),
                                              nn.Upsample(size=(5, 9), mode="bilinear", align_corners=True)),
                                randn(2, 3, 4, 3)),
    "interpolate_linear_trilinear": _fn(lambda m, x, y: (F.interpolate(x, size=7, mode="linear"),
                                                          F.interpolate(y, scale_factor=2, mode="trilinear")),
                                        (randn(2, 3, 5), randn(1, 2, 3, 2, 4))),
    "index_tensors_numpy_placement": _fn(
        lambda m, x: (x[torch.tensor([0, 2]), torch.tensor([[1], [3]])].sum(-1)  # to the front
                      + x[:, torch.tensor([1, 0]), torch.tensor([4, 4])].sum()  # adjacent: kept in place
                      + x[torch.tensor([1, 1]), :, torch.tensor([0, 3])].sum()), randn(3, 4, 5)),
    # normalisation
    "batch_norm1d_2d_input": _layer(_bn(nn.BatchNorm1d(5), 5), randn(4, 5)),
    "batch_norm1d_3d_input": _layer(_bn(nn.BatchNorm1d(3), 3), randn(4, 3, 6)),
    "batch_norm2d_no_affine": _layer(_bn(nn.BatchNorm2d(3, affine=False), 3), randn(2, 3, 4, 4)),
    "batch_norm2d_batch_stats": _layer(nn.BatchNorm2d(3, track_running_stats=False), randn(4, 3, 4, 4)),
    "layer_norm_2d": _layer(nn.LayerNorm((4, 5)), randn(3, 4, 5)),
    "layer_norm_no_affine": _layer(nn.LayerNorm(5, elementwise_affine=False), randn(3, 5)),
    "group_norm": _layer(nn.GroupNorm(2, 4), randn(3, 4, 5)),
    "group_norm_no_affine": _layer(nn.GroupNorm(3, 6, affine=False), randn(2, 6, 4, 3)),
    "instance_norm2d": _layer(nn.InstanceNorm2d(3, affine=True), randn(2, 3, 5, 6)),
    # recurrent
    "rnn_relu_2_layers": _fn(lambda m, x: m.rnn(x)[0], randn(5, 3, 4), rnn=nn.RNN(4, 6, 2, nonlinearity="relu")),
    "gru_bidirectional_batch_first": _fn(lambda m, x: m.rnn(x)[1], randn(3, 5, 4),
                                         rnn=nn.GRU(4, 6, batch_first=True, bidirectional=True)),
    "lstm_given_state": _fn(lambda m, x, h, c: m.rnn(x, (h, c))[1][1], (randn(5, 2, 4), randn(1, 2, 6), randn(1, 2, 6)),
                            rnn=nn.LSTM(4, 6)),
    "lstm_no_bias_all_outputs": _fn(lambda m, x: m.rnn(x)[0], randn(5, 2, 4), rnn=nn.LSTM(4, 3, bias=False)),
    # attention
    "multihead_attention_weights": _fn(lambda m, q, k: m.attn(q, k, k), (randn(2, 5, 8), randn(2, 7, 8)),
                                       attn=nn.MultiheadAttention(8, 2, batch_first=True)),
    "transformer_encoder_2_layers": _layer(nn.TransformerEncoder(
        nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0), num_layers=2), randn(6, 2, 16)),
}

TENSOR_OPS = {
    "arithmetic_with_scalars": lambda m, x: 2 - x * 3 + 1 / (x.abs() + 1) - x / 4 + 2 ** x + x ** 3,
    "arithmetic_broadcast": lambda m, x: (x + x[:1]) * x[:, :1] - x / (x.exp() + 1) + (x.abs() + 0.5).pow(x),
    "math": lambda m, x: x.exp().log() + x.abs().sqrt() + x.sin() + x.cos() - x.neg() + x.clamp(min=0.1),
    "rounding": lambda m, x: ((x * 3).floor() + (x * 3).ceil() + (x * 3).round() + x.sign() + (x * 3).trunc()
                              + (x * 4).long().sign().float()),
    "comparisons": lambda m, x: ((x > 0).float() + (x >= x[0]).float() + (x < 0.5).float() + (x <= 0).float()
                                 + (x == x).float() + (x != 0).float()),
    "logic_and_where": lambda m, x: torch.where((x > 0) & (x < 1), x, -x) + torch.where(x > 0.5, 1.0, 0.0)
                                    + x.masked_fill(x < -1, 0.0) + torch.where((x > 1) | (x < -1), x, 0),
    "maximum_minimum": lambda m, x: torch.maximum(x, x.t().t() * 0.5) - torch.minimum(x, -x),
    "reductions": lambda m, x: (x.sum() + x.mean() + x.sum(dim=(0, 1)) + x.max() - x.min() + x.amax(1).sum()
                                + x.amin(dim=0, keepdim=True).sum() + x.var(1).sum() + x.logsumexp(1).sum()),
    "max_with_indices": lambda m, x: x.max(dim=1).values * x.argmax(dim=1).float() + x.min(0)[1].float().sum(),
    "norm": lambda m, x: x.norm(dim=1) + x.norm(),
    "matmuls": lambda m, x: (x.unsqueeze(0).expand(3, -1, -1) @ x.t()).sum(0) + torch.matmul(x[0], x.t()),
    "shapes": lambda m, x: x.reshape(-1).view(4, 6).permute(1, 0).flatten().unsqueeze(1).squeeze(),
    "cat_stack_split": lambda m, x: (torch.cat(x.split(2, dim=1)[::-1], 1) + torch.cat(x.chunk(2, 0)[::-1], 0)
                                     + torch.stack([x, x * 2], dim=2).sum(2)),
    "indexing": lambda m, x: x[1] + x[:, 2].sum() + x[None, ..., -1].sum() + x[::2, 1:5:2].sum() + x[-2:, ::-1].sum(),
    "index_tensor": lambda m, x: x[torch.tensor([2, 0, 2])] * 2,
    "index_none": lambda m, x: x[None] + x[:, None].sum(1),
    "attention_causal": lambda m, x: F.scaled_dot_product_attention(x[None], x[None], x[None], is_causal=True),
    "no_grad_ops": lambda m, x: (x.argmax(1).float() + x.argmin().float() + (~(x > 0) | (x < -1)).float().sum(1)
                                 + (x > 0).all(1).float() + (x > 1).any().float() + (x > 0).logical_not().sum(1)
                                 + torch.isnan(x).float().sum(1) + ((x > 0) ^ (x > 1)).float().sum(1)),
    "repeat_interleave": lambda m, x: x.repeat_interleave(2, dim=1).sum(1) + x.repeat_interleave(3, dim=0)[::3].sum(1)
                                      + x.repeat_interleave(2)[::2].reshape(4, 6).sum(1),
    "gather": lambda m, x: x.gather(1, torch.tensor([[0, 5], [1, 1], [2, 3], [5, 0]])),
    "pad_repeat": lambda m, x: F.pad(x, (1, 2)).sum() + F.pad(x.unsqueeze(0), (2, 1), mode="reflect").sum()
                               + F.pad(x.unsqueeze(0), (1, 1, 1, 0), mode="replicate").sum() + x.repeat(2, 1).sum(),
    "cumsum_softmax": lambda m, x: x.cumsum(1) + torch.softmax(x, 0) + torch.log_softmax(x, dim=-1),
    "activations_functional": lambda m, x: F.relu(x) + F.leaky_relu(x, 0.3) + F.elu(x) + F.silu(x) + F.softplus(x)
                                           + F.hardtanh(x) + torch.sigmoid(x) + F.gelu(x, approximate="tanh"),
    "math_more": lambda m, x: (torch.tan(x * 0.3) + torch.asin(x.clamp(-0.9, 0.9)) + torch.acos(x.clamp(-0.9, 0.9))
                               + torch.atan(x) + torch.sinh(x) + torch.cosh(x) + torch.asinh(x) + torch.atanh(x * 0.1)
                               + torch.acosh(x.abs() + 1) + torch.log2(x.abs() + 1) + torch.log10(x.abs() + 1)
                               + torch.log1p(x.abs()) + torch.expm1(x) + torch.exp2(x) + torch.erf(x) + torch.erfc(x)
                               + torch.deg2rad(x) + torch.rad2deg(x) * 0.01),
    "remainder_divisions": lambda m, x: (torch.remainder(x, 0.7) + x % -0.4 + torch.floor_divide(x, 0.3)
                                         + torch.div(x, 0.3, rounding_mode="trunc") + (x * 5).long() % 3),
    "prod_norms_einsum": lambda m, x: (x.prod(1) + x.prod() + F.normalize(x, dim=1).sum(1)
                                       + F.cosine_similarity(x, x.flip(0), dim=1) + torch.einsum("ij,kj->ik", x, x).sum(1)),
    "topk_sort_argsort": lambda m, x: (x.topk(2, dim=1).values.sum(1) + x.topk(3, largest=False).indices.float().sum(1)
                                       + x.sort(dim=1, descending=True).values[:, 0] + x.argsort(1).float()[:, -1]
                                       + torch.sort(x, 0).values[0, 0]),
    "casts": lambda m, x: (x * 10).long().float() + x.double().float() + (x > 0).int().float(),
}


@pytest.mark.parametrize("case", sorted(LAYERS))
def test_layer_exports(case):
    torch.manual_seed(7)
    make_model, make_input = LAYERS[case]
    model = make_model()
    inputs = make_input() if not isinstance(make_input, tuple) else tuple(m() for m in make_input)
    assert_matches(model, inputs)


@pytest.mark.parametrize("case", sorted(TENSOR_OPS))
def test_tensor_op_exports(case):
    torch.manual_seed(8)
    assert_matches(Fn(TENSOR_OPS[case]), torch.randn(4, 6))


@pytest.mark.parametrize("template", [t.key for t in templates()])
def test_canvas_templates_export_with_a_dynamic_batch(template):
    spec = next(t for t in templates() if t.key == template).build()
    torch.manual_seed(9)
    model = compile_spec(spec)
    shape = tuple(model.input_shape)
    if template == "transformer":  # token ids
        make = lambda n: torch.randint(0, 16, (n,) + shape)  # noqa: E731
    else:
        make = lambda n: torch.randn(n, *shape)  # noqa: E731
    assert_matches(model, make(3), make(6), dynamic_axes={"x0": {0: "batch"}})


def test_recurrent_layers_use_onnx_recurrent_operators():
    proto = assert_matches(Fn(lambda m, x: m.a(x)[0] + m.b(x)[0] + m.c(x)[0],
                              a=nn.LSTM(3, 4), b=nn.GRU(3, 4), c=nn.RNN(3, 4)), torch.randn(5, 2, 3))
    assert {"LSTM", "GRU", "RNN"} <= op_types(proto)


def test_a_stride_one_conv3d_exports_as_one_onnx_conv():
    proto = assert_matches(nn.Conv3d(2, 3, (3, 1, 2), padding=(1, 0, 1), groups=1), torch.randn(2, 2, 4, 5, 4))
    assert op_types(proto) == {"Conv"}
