"""Conv2d's image-by-image CPU path (large output planes, one group) gives PyTorch's outputs and
gradients: strides, padding, dilation, odd sizes, a batch split into several chunks (and a last short
one), no bias, and a first layer whose input needs no gradient; it agrees with the whole-batch
(C, N, H, W) path it replaced, and it (and the patch-row layout) does not keep the batch's columns
between forward and backward."""
import numpy as np
import pytest

from layer_oracle import assert_sums_close, conv_and_grads
from layerforge.engine.ops import conv

pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")

CASES = [dict(stride=1, padding=0, dilation=1),
         dict(stride=2, padding=(1, 2), dilation=1),
         dict(stride=(1, 2), padding=2, dilation=(2, 1)),
         dict(stride=1, padding=1, dilation=1, bias=False)]


def _run(engine, arrays, case, input_grad=True):
    x, w, b = arrays
    options = {k: v for k, v in case.items() if k != "bias"}
    return conv_and_grads(engine, x, w, b if case.get("bias", True) else None, input_grad, **options)


@pytest.mark.parametrize("chunk_bytes", [1, 1 << 20], ids=["one_image_per_chunk", "whole_batch"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}{v}" for k, v in c.items()))
def test_by_image_matches_pytorch(case, chunk_bytes, monkeypatch):
    monkeypatch.setattr(conv.Conv2d, "PLANE_FOR_CHANNELS_FIRST", 0)
    monkeypatch.setattr(conv.Conv2d, "CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(7)
    arrays = (rng.standard_normal((5, 3, 13, 11)).astype(np.float32),
              rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
              rng.standard_normal(4).astype(np.float32))
    out, grads = _run("ours", arrays, case)
    expected, expected_grads = _run("torch", arrays, case)
    assert_sums_close(out, expected)
    for mine, reference in zip(grads, expected_grads):
        assert_sums_close(mine, reference, rtol=1e-4, atol=1e-4)


def test_chunks_of_several_images_with_a_short_last_one(monkeypatch):
    monkeypatch.setattr(conv.Conv2d, "PLANE_FOR_CHANNELS_FIRST", 0)
    rng = np.random.default_rng(1)
    arrays = (rng.standard_normal((7, 2, 9, 9)).astype(np.float32),
              rng.standard_normal((3, 2, 3, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32))
    monkeypatch.setattr(conv.Conv2d, "CHUNK_BYTES", 3 * 2 * 9 * 49 * 4)  # 3 images a chunk: 3 + 3 + 1
    out, grads = _run("ours", arrays, {"padding": 0})
    expected, expected_grads = _run("torch", arrays, {"padding": 0})
    assert_sums_close(out, expected)
    for mine, reference in zip(grads, expected_grads):
        assert_sums_close(mine, reference, rtol=1e-4, atol=1e-4)


def test_agrees_with_the_whole_batch_layout_and_skips_a_first_layers_input_gradient(monkeypatch):
    monkeypatch.setattr(conv.Conv2d, "PLANE_FOR_CHANNELS_FIRST", 0)
    rng = np.random.default_rng(2)
    arrays = (rng.standard_normal((4, 3, 20, 20)).astype(np.float32),
              rng.standard_normal((8, 3, 3, 3)).astype(np.float32), rng.standard_normal(8).astype(np.float32))
    by_image = _run("ours", arrays, {"padding": 1}, input_grad=False)
    monkeypatch.setattr(conv.Conv2d, "BY_IMAGE", False)
    whole = _run("ours", arrays, {"padding": 1}, input_grad=False)
    assert_sums_close(by_image[0], whole[0])
    assert by_image[1][0] is None and whole[1][0] is None
    for a, b in zip(by_image[1][1:], whole[1][1:]):
        assert_sums_close(a, b)


@pytest.mark.parametrize("x_shape, pads, layout, bound", [
    ((16, 8, 26, 26), 0, "by_image", 16 * 8 * 26 * 26 * 4),      # the input itself
    ((16, 16, 16, 16), 1, "patches", 16 * 16 * 18 * 18 * 4),     # its padded copy (conv_patches.py)
], ids=["image_by_image", "patch_rows"])
def test_forward_keeps_the_input_not_the_batchs_columns(x_shape, pads, layout, bound):
    node = conv.Conv2d((1, 1), ((pads, pads), (pads, pads)), (1, 1), 1, False)
    node.forward(np.zeros(x_shape, np.float32), np.zeros((4, x_shape[1], 3, 3), np.float32))
    assert node.__dict__[layout]
    kept = [v for v in vars(node).values() if isinstance(v, np.ndarray)]
    assert max(a.nbytes for a in kept) <= bound  # the columns would be 9x the input
    node.release()
