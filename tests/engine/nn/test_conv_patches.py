"""Conv2d's patch-row CPU layout (ops/conv_patches.py: enough channels, output rows of at most 16)
gives PyTorch's outputs and all three gradients: paddings from none to k - 1, 'same'
with an even kernel (uneven padding), non-square kernels, strides (a ResNet's downsampling 3x3 and
1x1, uneven strides, a padding past the kernel's size), no bias, float64, a batch split into chunks
with a short last one, and a layer whose input needs no gradient; it agrees with the layouts it
replaces, and it is taken only where it pays (that it keeps no batch's columns on large planes is
in test_conv_by_image.py)."""
import numpy as np
import pytest

from layer_oracle import assert_sums_close, conv_and_grads
from layerforge.engine.ops import conv, conv_patches

pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")

# a 16x16 output plane (columns rebuilt in backward) and smaller ones (columns kept from forward)
CASES = [dict(kernel=(3, 3), padding=1, size=(16, 16)),
         dict(kernel=(3, 3), padding=1, size=(20, 24), out=4),   # long rows, few outputs
         dict(kernel=(3, 3), padding=1, size=(8, 8)),
         dict(kernel=(5, 5), padding=2, size=(6, 10)),
         dict(kernel=(3, 3), padding=0, size=(18, 18)),
         dict(kernel=(5, 5), padding=4, size=(12, 12)),
         dict(kernel=(3, 5), padding=(2, 1), size=(14, 18)),
         dict(kernel=(4, 4), padding="same", size=(16, 16)),
         dict(kernel=(3, 3), padding=1, size=(16, 16), bias=False),
         dict(kernel=(3, 3), padding=1, size=(32, 32), stride=2),     # a 16x16 output: rebuilt
         dict(kernel=(3, 3), padding=1, size=(16, 16), stride=2),     # an 8x8 output: kept
         dict(kernel=(1, 1), padding=0, size=(16, 16), stride=2, channels=64),   # a residual shortcut
         dict(kernel=(3, 3), padding=(1, 0), size=(15, 17), stride=(2, 3)),
         dict(kernel=(3, 3), padding=3, size=(9, 9), stride=3),
         dict(kernel=(4, 4), padding=0, size=(16, 16), stride=4)]                # a patch embedding


def _arrays(case, dtype=np.float32, batch=5, channels=16, seed=7):
    channels = case.get("channels", channels)
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((batch, channels) + case["size"]).astype(dtype),
            rng.standard_normal((case.get("out", 6), channels) + case["kernel"]).astype(dtype),
            rng.standard_normal(case.get("out", 6)).astype(dtype))


def _run(engine, arrays, case, input_grad=True):
    x, w, b = arrays
    return conv_and_grads(engine, x, w, b if case.get("bias", True) else None, input_grad,
                          padding=case["padding"], stride=case.get("stride", 1))


def _takes_the_path(monkeypatch):
    taken = []
    forward = conv_patches.forward

    def spy(node, *args):
        taken.append(node)
        return forward(node, *args)
    monkeypatch.setattr(conv_patches, "forward", spy)
    return taken


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # PyTorch's note on its own copy
@pytest.mark.parametrize("chunk_bytes", [1, 1 << 20], ids=["one_image_per_chunk", "whole_batch"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}{v}" for k, v in c.items()))
def test_matches_pytorch(case, chunk_bytes, monkeypatch):
    monkeypatch.setattr(conv_patches, "CHUNK_BYTES", chunk_bytes)
    monkeypatch.setattr(conv.Conv2d, "CHUNK_BYTES", chunk_bytes)   # (a strided input gradient's chunks)
    taken = _takes_the_path(monkeypatch)
    arrays = _arrays(case)
    out, grads = _run("ours", arrays, case)
    assert taken, "the case should take the patch-row layout"
    expected, expected_grads = _run("torch", arrays, case)
    assert_sums_close(out, expected)
    for mine, reference in zip(grads, expected_grads):
        assert_sums_close(mine, reference, rtol=1e-4, atol=1e-4)


def test_float64_and_chunks_with_a_short_last_one(monkeypatch):
    case = dict(kernel=(3, 3), padding=1, size=(16, 16))
    arrays = _arrays(case, dtype=np.float64, batch=7)
    # three images' columns a chunk: 3 + 3 + 1 (forward's and the weight gradient's loops)
    monkeypatch.setattr(conv_patches, "CHUNK_BYTES", 3 * 256 * 16 * 9 * 8)
    out, grads = _run("ours", arrays, case)
    expected, expected_grads = _run("torch", arrays, case)
    assert out.dtype == np.float64 and all(g.dtype == np.float64 for g in grads)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
    for mine, reference in zip(grads, expected_grads):
        np.testing.assert_allclose(mine, reference, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("stride", [1, 2])
def test_agrees_with_the_other_layouts_and_skips_an_input_gradient_nobody_needs(stride, monkeypatch):
    case = dict(kernel=(3, 3), padding=1, size=(16, 16), stride=stride)
    arrays = _arrays(case, batch=4, channels=32, seed=2)
    patches = _run("ours", arrays, case, input_grad=False)
    monkeypatch.setattr(conv.Conv2d, "PATCHES", False)
    other = _run("ours", arrays, case, input_grad=False)
    assert_sums_close(patches[0], other[0], rtol=1e-4, atol=1e-4)
    assert patches[1][0] is None and other[1][0] is None
    for a, b in zip(patches[1][1:], other[1][1:]):
        assert_sums_close(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape, weight, stride, groups, expected", [
    ((8, 16, 16, 16), (32, 16, 3, 3), (1, 1), 1, True),    # the CIFAR-10 example's second stage
    ((8, 16, 16, 32), (32, 16, 3, 3), (1, 1), 1, False),   # rows of 32, more outputs than inputs
    ((8, 32, 24, 24), (32, 32, 3, 3), (1, 1), 1, True),    # rows of 24, as many outputs as inputs
    ((8, 32, 48, 48), (64, 32, 3, 3), (1, 1), 1, False),   # rows of 48, 64 outputs
    ((8, 16, 8, 8), (32, 16, 3, 3), (1, 1), 1, True),      # the digits examples' 8x8 planes
    ((8, 3, 16, 16), (16, 3, 3, 3), (1, 1), 1, False),     # a first layer's 3 channels
    ((8, 32, 26, 26), (64, 32, 3, 3), (1, 1), 1, False),   # a 24x24 output plane (MNIST's conv2)
    ((8, 16, 32, 32), (32, 16, 3, 3), (2, 2), 1, True),    # strided to a 16x16 plane
    ((8, 64, 56, 56), (128, 64, 3, 3), (2, 2), 1, False),  # strided to rows of 28, more outputs
    ((8, 16, 16, 16), (32, 8, 3, 3), (1, 1), 2, False),    # grouped
    ((8, 64, 16, 16), (64, 64, 1, 1), (1, 1), 1, False),   # 1x1 on 16x16: no window copy to save
    ((8, 64, 8, 8), (128, 64, 1, 1), (1, 1), 1, True),     # 1x1 on 8x8: its columns kept
])
def test_taken_only_where_it_pays(shape, weight, stride, groups, expected):
    pad = weight[2] // 2
    node = conv.Conv2d(stride, ((pad, pad), (pad, pad)), (1, 1), groups, False)
    node.forward(np.zeros(shape, np.float32), np.zeros(weight, np.float32))
    assert node.patches is expected
    node.release()
