"""Every layer against PyTorch with copied weights: outputs, input and parameter gradients, buffers,
in train and eval mode. One line per case (see layer_oracle.py)."""
from __future__ import annotations

import numpy as np
import pytest
from layer_oracle import check_layer

import layerforge.engine as lf

CUDA = pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(
    not lf.cuda.is_available(), reason="no CUDA GPU/cupy")])

CASES = {
    # dense
    "linear": (lambda nn: nn.Linear(7, 5), [(4, 7)]),
    "linear_3d_input_no_bias": (lambda nn: nn.Linear(6, 3, bias=False), [(2, 5, 6)]),
    "linear_1d_input": (lambda nn: nn.Linear(4, 3), [(4,)]),
    "bilinear": (lambda nn: nn.Bilinear(3, 4, 5), [(6, 3), (6, 4)]),
    "identity": (lambda nn: nn.Identity(), [(3, 4)]),
    "flatten": (lambda nn: nn.Flatten(), [(2, 3, 4, 5)]),
    "flatten_middle": (lambda nn: nn.Flatten(1, 2), [(2, 3, 4, 5)]),
    "unflatten": (lambda nn: nn.Unflatten(1, (2, 5)), [(3, 10)]),
    # convolution
    "conv1d": (lambda nn: nn.Conv1d(3, 4, 3), [(2, 3, 10)]),
    "conv1d_stride_pad_dil": (lambda nn: nn.Conv1d(2, 4, 3, stride=2, padding=2, dilation=2),
                              [(2, 2, 11)]),
    "conv1d_same_groups": (lambda nn: nn.Conv1d(4, 6, 4, padding="same", groups=2), [(2, 4, 9)]),
    "conv2d": (lambda nn: nn.Conv2d(3, 4, 3), [(2, 3, 7, 8)]),
    "conv2d_stride_pad_tuple": (lambda nn: nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=(1, 2)),
                                [(2, 3, 9, 7)]),
    "conv2d_same_even_kernel": (lambda nn: nn.Conv2d(2, 3, 4, padding="same"), [(2, 2, 6, 7)]),
    "conv2d_valid": (lambda nn: nn.Conv2d(2, 3, 3, padding="valid"), [(1, 2, 5, 5)]),
    "conv2d_dilation": (lambda nn: nn.Conv2d(2, 3, 3, dilation=(2, 3), padding=1), [(2, 2, 9, 10)]),
    "conv2d_groups_no_bias": (lambda nn: nn.Conv2d(4, 6, 3, groups=2, bias=False), [(2, 4, 6, 6)]),
    "conv2d_depthwise": (lambda nn: nn.Conv2d(3, 3, 3, groups=3, padding=1), [(2, 3, 5, 5)]),
    "conv2d_reflect": (lambda nn: nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"),
                       [(2, 2, 5, 6)]),
    "conv2d_unbatched": (lambda nn: nn.Conv2d(2, 3, 3), [(2, 5, 5)]),
    "conv_transpose2d": (lambda nn: nn.ConvTranspose2d(3, 4, 3), [(2, 3, 5, 5)]),
    "conv_transpose2d_stride_pad_outpad": (
        lambda nn: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
        [(2, 3, 4, 5)]),
    "conv_transpose2d_groups_dilation": (
        lambda nn: nn.ConvTranspose2d(4, 6, (2, 3), stride=(1, 2), groups=2, dilation=2,
                                      bias=False), [(2, 4, 4, 4)]),
    # pooling
    "max_pool2d": (lambda nn: nn.MaxPool2d(2), [(2, 3, 8, 8)]),
    "max_pool2d_odd_floor": (lambda nn: nn.MaxPool2d(2), [(2, 3, 7, 9)]),
    "max_pool2d_overlap_pad": (lambda nn: nn.MaxPool2d(3, stride=2, padding=1), [(2, 2, 9, 8)]),
    "max_pool2d_dilation": (lambda nn: nn.MaxPool2d(2, stride=1, dilation=2), [(1, 2, 6, 6)]),
    "max_pool2d_ceil": (lambda nn: nn.MaxPool2d(3, stride=2, ceil_mode=True), [(2, 2, 8, 10)]),
    "max_pool1d": (lambda nn: nn.MaxPool1d(3, stride=2, padding=1), [(2, 3, 10)]),
    "max_pool1d_ceil": (lambda nn: nn.MaxPool1d(2, ceil_mode=True), [(2, 3, 9)]),
    "avg_pool2d": (lambda nn: nn.AvgPool2d(2), [(2, 3, 8, 8)]),
    "avg_pool2d_pad": (lambda nn: nn.AvgPool2d(3, stride=2, padding=1), [(2, 2, 7, 8)]),
    "avg_pool2d_no_pad_count": (
        lambda nn: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), [(2, 2, 7, 8)]),
    "avg_pool2d_ceil": (lambda nn: nn.AvgPool2d(3, stride=2, ceil_mode=True), [(2, 2, 8, 9)]),
    "avg_pool2d_ceil_pad": (lambda nn: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True,
                                                    count_include_pad=False), [(1, 2, 8, 9)]),
    "avg_pool1d": (lambda nn: nn.AvgPool1d(3, stride=2, padding=1), [(2, 3, 10)]),
    "adaptive_avg_pool2d_divisible": (lambda nn: nn.AdaptiveAvgPool2d((2, 3)), [(2, 3, 8, 9)]),
    "adaptive_avg_pool2d_uneven": (lambda nn: nn.AdaptiveAvgPool2d(3), [(2, 3, 7, 8)]),
    "adaptive_avg_pool2d_global": (lambda nn: nn.AdaptiveAvgPool2d(1), [(2, 3, 5, 5)]),
    "adaptive_avg_pool2d_none": (lambda nn: nn.AdaptiveAvgPool2d((None, 2)), [(2, 3, 5, 6)]),
    # normalisation
    "batch_norm1d_2d_input": (lambda nn: nn.BatchNorm1d(5), [(8, 5)]),
    "batch_norm1d_3d_input": (lambda nn: nn.BatchNorm1d(3), [(4, 3, 6)]),
    "batch_norm2d": (lambda nn: nn.BatchNorm2d(3), [(4, 3, 5, 5)]),
    "batch_norm2d_no_affine": (lambda nn: nn.BatchNorm2d(3, affine=False), [(4, 3, 5, 5)]),
    "batch_norm2d_momentum": (lambda nn: nn.BatchNorm2d(3, momentum=0.3, eps=1e-3), [(4, 3, 4, 4)]),
    "batch_norm2d_no_running_stats": (lambda nn: nn.BatchNorm2d(3, track_running_stats=False),
                                      [(4, 3, 4, 4)]),
    # rows of 32 positions and more: BLAS sums and dot products (ops/normalization.py _row_sums)
    "batch_norm2d_blas_rows": (lambda nn: nn.BatchNorm2d(3), [(4, 3, 8, 6)]),
    "batch_norm1d_blas_rows_no_affine": (lambda nn: nn.BatchNorm1d(2, affine=False), [(3, 2, 40)]),
    "layer_norm": (lambda nn: nn.LayerNorm(6), [(3, 4, 6)]),
    "layer_norm_2d_shape": (lambda nn: nn.LayerNorm((4, 6), eps=1e-3), [(3, 4, 6)]),
    "layer_norm_no_affine": (lambda nn: nn.LayerNorm(6, elementwise_affine=False), [(5, 6)]),
    "layer_norm_no_bias": (lambda nn: nn.LayerNorm(6, bias=False), [(5, 6)]),
    "layer_norm_long_rows": (lambda nn: nn.LayerNorm(40), [(3, 5, 40)]),
    "layer_norm_2d_shape_no_bias": (lambda nn: nn.LayerNorm((4, 8), bias=False), [(3, 4, 8)]),
    # activations
    "relu": (lambda nn: nn.ReLU(), [(4, 6)]),
    "leaky_relu": (lambda nn: nn.LeakyReLU(0.2), [(4, 6)]),
    "elu": (lambda nn: nn.ELU(alpha=0.7), [(4, 6)]),
    "gelu": (lambda nn: nn.GELU(), [(4, 6)]),
    "gelu_tanh": (lambda nn: nn.GELU(approximate="tanh"), [(4, 6)]),
    "silu": (lambda nn: nn.SiLU(), [(4, 6)]),
    "sigmoid": (lambda nn: nn.Sigmoid(), [(4, 6)]),
    "tanh": (lambda nn: nn.Tanh(), [(4, 6)]),
    "softmax": (lambda nn: nn.Softmax(dim=1), [(4, 6)]),
    "log_softmax": (lambda nn: nn.LogSoftmax(dim=-1), [(3, 4, 6)]),
    "softplus": (lambda nn: nn.Softplus(), [(4, 6)]),
    "softplus_beta_threshold": (lambda nn: nn.Softplus(beta=2.0, threshold=1.0), [(4, 6)]),
    "hardtanh": (lambda nn: nn.Hardtanh(-0.5, 0.8), [(4, 6)]),
    "relu6": (lambda nn: nn.ReLU6(), [(4, 6)]),
}


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("case", list(CASES))
def test_layer_matches_torch(case, train):
    build, shapes = CASES[case]
    check_layer(build, *shapes, train=train)


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("device", [CUDA])
def test_layer_matches_torch_on_gpu(case, train, device):
    build, shapes = CASES[case]
    check_layer(build, *shapes, train=train, device=device)


@pytest.mark.parametrize("case", ["conv2d_groups_no_bias", "conv_transpose2d_stride_pad_outpad",
                                  "max_pool2d_ceil", "avg_pool2d_ceil_pad", "batch_norm2d",
                                  "layer_norm", "gelu", "linear"])
def test_layer_matches_torch_in_float64(case):
    build, shapes = CASES[case]
    check_layer(build, *shapes, dtype=np.float64)


@pytest.mark.parametrize("momentum", [0.1, None], ids=["ema", "cumulative"])
@pytest.mark.parametrize("norm", ["BatchNorm1d", "BatchNorm2d"])
def test_batch_norm_running_stats_over_several_batches(norm, momentum):
    shape = (6, 3) if norm == "BatchNorm1d" else (5, 3, 4, 4)
    _, ours = check_layer(lambda nn: getattr(nn, norm)(3, momentum=momentum), shape, steps=4)
    assert int(ours.num_batches_tracked.item()) == 4
    # eval mode then normalises with the accumulated statistics
    check_layer(lambda nn: getattr(nn, norm)(3, momentum=momentum), shape, train=False)


@pytest.mark.parametrize("device", ["cpu", CUDA])
def test_embedding_with_padding_idx_gets_no_gradient_on_the_padding_row(device):
    _, ours = check_layer(lambda nn: nn.Embedding(10, 4, padding_idx=2), (5, 7), integer_high=10, device=device)
    assert np.all(ours.weight.grad.cpu().numpy()[2] == 0)


@pytest.mark.parametrize("device", ["cpu", CUDA])
def test_embedding_repeated_indices_accumulate(device):
    check_layer(lambda nn: nn.Embedding(3, 4), (6, 5), integer_high=3, device=device)


@pytest.mark.parametrize("device", ["cpu", CUDA])
def test_embedding_large_gradient_with_repeats_and_padding_matches_torch(device):
    # 40 x 30 lookups of 16-wide rows (19,200 values: the flat scatter on the CPU), 50 rows, many repeats
    _, ours = check_layer(lambda nn: nn.Embedding(50, 16, padding_idx=7), (40, 30), integer_high=50,
                          device=device)
    assert np.all(ours.weight.grad.cpu().numpy()[7] == 0)


def test_max_pool_ties_send_the_gradient_to_the_first_maximum_like_torch():
    import layerforge.engine as lf

    from layer_oracle import torch

    x = np.ones((1, 1, 4, 4), dtype=np.float32)
    theirs = torch.tensor(x, requires_grad=True)
    ours = lf.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(theirs, 3, 1).sum().backward()
    lf.nn.functional.max_pool2d(ours, 3, 1).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_max_pool_propagates_nan_and_its_gradient_like_torch():
    from layer_oracle import torch

    x = np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4)
    x[0, 0, 1, 0] = np.nan
    theirs = torch.tensor(x, requires_grad=True)
    ours = lf.tensor(x, requires_grad=True)
    expected = torch.nn.functional.max_pool2d(theirs, 2)
    got = lf.nn.functional.max_pool2d(ours, 2)
    np.testing.assert_array_equal(got.detach().numpy(), expected.detach().numpy())
    expected.sum().backward()
    got.sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
