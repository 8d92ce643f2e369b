"""The image-by-image convolution's input gradient with a stride: the padded input split into
stride x stride phase planes, one long shifted add per kernel offset in its phase, then each phase
copied into the input's gradient. PyTorch's gradients, including rows and columns no window reaches
(stride larger than the kernel, leftover rows), odd sizes, dilation and unequal strides."""
import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.ops import conv

from layer_oracle import conv_and_grads

pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")

CASES = {  # (C, O, H, W), kernel, options
    "3x3_stride_2": ((3, 5, 32, 32), 3, dict(stride=2, padding=1)),
    "3x3_stride_2_odd_plane": ((3, 5, 33, 35), 3, dict(stride=2, padding=1)),
    "5x5_stride_2": ((2, 4, 32, 34), 5, dict(stride=2, padding=2)),
    "1x1_stride_2": ((4, 3, 32, 32), 1, dict(stride=2)),
    "3x3_stride_3_leftover_rows": ((2, 3, 50, 49), 3, dict(stride=3)),
    "2x2_stride_2": ((3, 4, 32, 32), 2, dict(stride=2)),
    "3x3_stride_3_padding_1": ((2, 3, 48, 49), 3, dict(stride=3, padding=1)),
    "5x5_stride_3_padding_2": ((2, 3, 47, 50), 5, dict(stride=3, padding=2)),
    "3x3_stride_2_dilation_2": ((2, 3, 36, 36), 3, dict(stride=2, padding=2, dilation=2)),
    "unequal_strides": ((2, 3, 32, 20), (3, 2), dict(stride=(2, 1), padding=(1, 0))),
    "4x4_stride_2_no_padding": ((2, 3, 34, 34), 4, dict(stride=2)),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_strided_convolution_gradients_match_pytorch(case, monkeypatch):
    (c, o, h, w), kernel, options = CASES[case]
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, c, h, w)).astype(np.float32)
    weight = rng.standard_normal((o, c, kh, kw)).astype(np.float32)
    bias = rng.standard_normal(o).astype(np.float32)
    taken = []
    original = conv.Conv2d._backward_by_image
    monkeypatch.setattr(conv.Conv2d, "_backward_by_image",
                        lambda node, *args: taken.append(node.stride) or original(node, *args))
    ours, ours_grads = conv_and_grads("ours", x, weight, bias, **options)
    theirs, their_grads = conv_and_grads("torch", x, weight, bias, **options)
    assert taken and tuple(taken[0]) != (1, 1)  # the image-by-image layout, with its stride
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    for got, expected, what in zip(ours_grads, their_grads, ("input", "weight", "bias")):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4, err_msg=what)


def test_a_strided_first_layer_computes_no_input_gradient():
    x = lf.tensor(np.random.default_rng(1).standard_normal((2, 3, 32, 32)).astype(np.float32))
    layer = lf.nn.Conv2d(3, 4, 3, stride=2, padding=1)
    layer(x).sum().backward()
    assert x.grad is None and layer.weight.grad is not None
