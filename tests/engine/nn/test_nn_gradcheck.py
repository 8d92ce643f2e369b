"""Float64 numerical gradient checks of every nn kernel, needing no torch (one random direction,
central differences: see layerforge.engine.gradcheck)."""
from __future__ import annotations

import numpy as np
import pytest

import layerforge.engine as lf
import layerforge.engine.nn.functional as F


def _inputs(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [lf.tensor(rng.standard_normal(s), dtype=lf.float64, requires_grad=True) for s in shapes]


CASES = {
    "linear": (lambda x, w, b: F.linear(x, w, b), [(3, 4), (2, 4), (2,)]),
    "conv2d_stride_pad_dil": (lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2),
                                                       dilation=(1, 2)),
                              [(2, 2, 6, 7), (3, 2, 3, 2), (3,)]),
    "conv2d_groups": (lambda x, w: F.conv2d(x, w, groups=2, padding="same"),
                      [(2, 4, 5, 5), (4, 2, 2, 3)]),
    "conv1d": (lambda x, w: F.conv1d(x, w, stride=2), [(2, 3, 9), (2, 3, 3)]),
    "conv_transpose2d": (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1,
                                                            output_padding=1, dilation=1),
                         [(2, 2, 3, 4), (2, 3, 3, 3), (3,)]),
    "conv_transpose2d_groups": (lambda x, w: F.conv_transpose2d(x, w, groups=2, dilation=2),
                                [(1, 4, 3, 3), (4, 1, 2, 2)]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), [(2, 2, 7, 6)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
                   [(2, 2, 7, 6)]),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (3, 4)), [(2, 2, 7, 6)]),
    "batch_norm": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                   [(4, 3, 2, 2), (3,), (3,)]),
    "batch_norm_blas_rows": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                             [(2, 3, 6, 6), (3,), (3,)]),
    "group_norm_blas_rows": (lambda x, w, b: F.group_norm(x, 2, w, b), [(2, 4, 4, 9), (4,), (4,)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (2, 3), w, b), [(4, 2, 3), (2, 3), (2, 3)]),
    "layer_norm_2d_shape": (lambda x, w, b: F.layer_norm(x, (3, 7), w, b), [(2, 3, 7), (3, 7), (3, 7)]),
    # (no padding_idx here: its zero gradient is a deliberate departure from the true derivative)
    "embedding": (lambda w: F.embedding(lf.tensor([[0, 2, 2], [1, 0, 3]]), w),
                  [(4, 3)]),
    "gelu": (lambda x: F.gelu(x), [(3, 5)]),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), [(3, 5)]),
    "elu": (lambda x: F.elu(x, 0.5), [(3, 5)]),
    "silu": (lambda x: F.silu(x), [(3, 5)]),
    "softplus": (lambda x: F.softplus(x, beta=2.0, threshold=3.0), [(3, 5)]),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.3), [(3, 5)]),
    "bilinear": (lambda a, b, w: F.bilinear(a, b, w), [(3, 2), (3, 4), (5, 2, 4)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_gradients_match_central_differences(name):
    fn, shapes = CASES[name]
    assert lf.gradcheck(fn, _inputs(*shapes))
