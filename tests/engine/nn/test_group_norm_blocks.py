"""GroupNorm's forward (instance norm's too) a cache-sized block of whole samples at a time where two
or more fit one (``ops/normalization.py``, ``GroupNorm._forward_by_samples``): PyTorch's outputs,
gradients and running statistics over many blocks with a short last one, and past a block (the
whole-array passes); where the path is taken."""
import numpy as np
import pytest

import layerforge.engine as lf
from layer_oracle import check_layer

pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")


@pytest.mark.parametrize("build, shape, options", [
    # many blocks, the last one short (a float64 sample of 128 KiB, two a block)
    (lambda nn: nn.GroupNorm(4, 16), (37, 16, 32, 32), {}),
    # without weights, over several blocks, with running statistics
    (lambda nn: nn.InstanceNorm2d(8, track_running_stats=True), (9, 8, 24, 24), {"steps": 2}),
    # samples too large for two a block: the whole-array passes
    (lambda nn: nn.GroupNorm(2, 64), (3, 64, 16, 17), {}),
], ids=["group_norm_many_blocks", "instance_norm_running_stats", "past_a_block"])
def test_matches_pytorch(build, shape, options):
    check_layer(build, shape, dtype=np.float64, **options)


@pytest.mark.parametrize("shape, dtype, by_samples", [((37, 16, 32, 32), np.float32, True),
                                                      ((9, 8, 24, 24), np.float64, True),
                                                      ((2, 64, 32, 32), np.float32, False),
                                                      ((3, 64, 16, 17), np.float64, False)])
def test_group_norm_takes_whole_samples_a_block_at_a_time_where_two_fit(monkeypatch, shape, dtype, by_samples):
    from layerforge.engine.ops import normalization
    taken = []
    original = normalization.GroupNorm._forward_by_samples

    def spy(self, *args):
        taken.append(args[0].shape)
        return original(self, *args)
    monkeypatch.setattr(normalization.GroupNorm, "_forward_by_samples", spy)
    x = lf.tensor(np.random.default_rng(0).standard_normal(shape).astype(dtype))
    out = lf.nn.GroupNorm(4, shape[1])(x).detach().numpy()
    assert bool(taken) == by_samples
    values = x.numpy().reshape(shape[0], 4, -1)
    expected = (values - values.mean(axis=2, keepdims=True)) / np.sqrt(values.var(axis=2, keepdims=True) + 1e-5)
    np.testing.assert_allclose(out, expected.reshape(shape), rtol=1e-5, atol=1e-5)
