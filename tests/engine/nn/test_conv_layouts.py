"""Conv2d gives PyTorch's outputs and gradients in both of its internal layouts (channels-first for
large output planes, batch-last for small ones), for strides, padding, dilation and groups."""
import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.ops import conv

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")

CASES = [dict(stride=1, padding=0, dilation=1, groups=1),
         dict(stride=2, padding=(1, 2), dilation=1, groups=1),
         dict(stride=(1, 2), padding=2, dilation=(2, 1), groups=1),
         dict(stride=1, padding=1, dilation=1, groups=2),
         dict(stride=2, padding=1, dilation=1, groups=2)]   # grouped with a stride: not the flat planes


@pytest.mark.parametrize("plane_threshold", [0, 10 ** 9], ids=["channels_first", "batch_last"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}{v}" for k, v in c.items()))
def test_conv2d_matches_pytorch_in_both_layouts(plane_threshold, case, monkeypatch):
    monkeypatch.setattr(conv.Conv2d, "PLANE_FOR_CHANNELS_FIRST", plane_threshold)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 4, 11, 9)).astype(np.float32)
    w = rng.standard_normal((6, 4 // case["groups"], 3, 3)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    ours = [lf.tensor(a, requires_grad=True) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = lf.nn.functional.conv2d(*ours, **case)
    expected = torch.nn.functional.conv2d(*theirs, **case)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5)
    upstream = rng.standard_normal(tuple(expected.shape)).astype(np.float32)
    (out * lf.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_a_large_plane_takes_the_channels_first_layout_and_a_small_one_batch_last():
    node = conv.Conv2d((1, 1), ((0, 0), (0, 0)), (1, 1), 1, False)
    node.forward(np.zeros((1, 1, 18, 18), np.float32), np.zeros((1, 1, 3, 3), np.float32))
    assert node.batch_last is False  # 16x16 = 256 output positions
    node.forward(np.zeros((1, 1, 17, 17), np.float32), np.zeros((1, 1, 3, 3), np.float32))
    assert node.batch_last is True
