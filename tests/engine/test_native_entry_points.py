"""PyTorch's lower-level entry points (torch.convolution, constant_pad_nd, native_layer_norm/
batch_norm/group_norm/dropout, norm_except_dim, grid_sampler, affine_grid_generator,
native_channel_shuffle) against PyTorch: values, statistics, dtypes and gradients."""
import warnings

import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import DEVICES, check, torch


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


CASES = [
    case("convolution_1d", lambda m, x, w, b: m.convolution(x, w, b, [2], [1], [1], False, [0], 1),
         [(2, 4, 7), (3, 4, 3), (3,)]),
    case("convolution_2d_groups", lambda m, x, w: m.convolution(x, w, None, [1, 1], [1, 0], [1, 2], False, [0, 0], 2),
         [(1, 4, 5, 6), (2, 2, 3, 2)]),
    case("convolution_transposed", lambda m, x, w: m.convolution(x, w, None, [2, 2], [1, 1], [1, 1], True, [1, 0], 1),
         [(1, 2, 3, 4), (2, 3, 3, 3)]),
    case("conv_tbc", lambda m, x, w, b: (m.conv_tbc(x, w, b), m.conv_tbc(x, w, b, 2)), [(6, 2, 3), (3, 3, 4), (4,)]),
    case("constant_pad_nd", lambda m, x: (m.constant_pad_nd(x, [1, 2]), m.constant_pad_nd(x, [0, 1, 2, 0], 3.5)),
         [(2, 3, 4)]),
    case("native_layer_norm", lambda m, x, w, b: m.native_layer_norm(x, [4], w, b, 1e-5), [(2, 3, 4), (4,), (4,)]),
    case("native_layer_norm_2d", lambda m, x: m.native_layer_norm(x, [3, 4], None, None, 1e-5), [(2, 3, 4)]),
    case("native_group_norm", lambda m, x, w, b: m.native_group_norm(x, w, b, 2, 4, 5, 2, 1e-5),
         [(2, 4, 5), (4,), (4,)]),
    case("norm_except_dim", lambda m, x: (m.norm_except_dim(x, 2, 0), m.norm_except_dim(x, 3, 1),
                                          m.norm_except_dim(x, 2, -1)), [(3, 4, 2)]),
    case("grid_sampler", lambda m, x, g: [m.grid_sampler(x, g, i, p, False) for i in (0, 1) for p in (0, 1, 2)]
         + [m.grid_sampler_2d(x, g, 0, 0, True)], [(1, 2, 4, 5), (1, 3, 3, 2)], grad=False),
    case("grid_sampler_3d", lambda m, x, g: m.grid_sampler_3d(x, g, 0, 1, False), [(1, 2, 3, 4, 5), (1, 2, 2, 3, 3)]),
    case("affine_grid_generator", lambda m, t: m.affine_grid_generator(t, [2, 1, 3, 4], False), [(2, 2, 3)]),
    case("native_channel_shuffle", lambda m, x: m.native_channel_shuffle(x, 2), [(2, 4, 3)], grad=False),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", CASES)
def test_native_entry_points_match_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


@pytest.mark.parametrize("training", [True, False])
def test_native_batch_norm_matches_torch(training):
    x = np.random.default_rng(3).normal(size=(4, 3, 5))
    results = []
    for m in (lf, torch):
        mean, var = m.zeros(3, dtype=m.float64), m.ones(3, dtype=m.float64)
        w = m.tensor([1.0, 2.0, 0.5], dtype=m.float64)
        out = m.native_batch_norm(m.tensor(x), w, None, mean, var, training, 0.1, 1e-5)
        results.append([o.numpy() for o in out] + [mean.numpy(), var.numpy()])
    for ours, theirs in zip(*results):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_native_dropout_returns_its_mask():
    lf.manual_seed(0)
    x = lf.ones(2000) * 3
    out, mask = lf.native_dropout(x, 0.25, True)
    assert mask.dtype == lf.bool and abs(1 - mask.numpy().mean() - 0.25) < 0.04
    np.testing.assert_allclose(out.numpy(), np.where(mask.numpy(), 4.0, 0.0))
    out, mask = lf.native_dropout(x, 0.25, False)
    theirs = torch.native_dropout(torch.ones(2000) * 3, 0.25, False)
    assert out.tolist() == theirs[0].tolist() and mask.tolist() == theirs[1].tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = lf.ones(3, requires_grad=True)
        lf.native_dropout(y, 0.5, True)[0].sum().backward()
    assert set(np.unique(y.grad.numpy())) <= {0.0, 2.0}


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5])
def test_embedding_max_norm_renormalises_the_rows_used_as_torch(norm_type):
    weights = np.random.default_rng(4).normal(size=(6, 3)) * 2
    indices = [[0, 2, 2], [5, 0, 1]]
    results = []
    for m in (lf, torch):
        layer = m.nn.Embedding(6, 3, max_norm=1.5, norm_type=norm_type).double()
        with m.no_grad():
            layer.weight.copy_(m.tensor(weights))
        out = layer(m.tensor(indices))
        (out * m.arange(18.0, dtype=m.float64).reshape(2, 3, 3)).sum().backward()
        results.append((out.detach().numpy(), layer.weight.detach().numpy(), layer.weight.grad.numpy(), repr(layer)))
    for ours, theirs in zip(*results):
        if isinstance(theirs, str):
            assert ours == theirs
        else:
            np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-12)
    w = lf.tensor(weights)
    assert lf.embedding_renorm_(w, lf.tensor([3]), 0.5, 2.0) is w
    np.testing.assert_allclose(w.numpy(), torch.embedding_renorm_(torch.tensor(weights), torch.tensor([3]), 0.5, 2.0))


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min", "prod"])
@pytest.mark.parametrize("initial", [None, 10.0])
def test_segment_reduce_matches_torch(reduce, initial):
    check(lambda m, d: (m.segment_reduce(d, reduce, lengths=m.tensor([2, 0, 4]), initial=initial),
                        m.segment_reduce(d, reduce, offsets=m.tensor([0, 2, 2, 6]), initial=initial)),
          vals=[np.array([1.0, 2.5, 3.0, -4.0, 5.5, 6.0])])
    check(lambda m, d: m.segment_reduce(d, reduce, lengths=m.tensor([1, 3]), initial=initial), [(4, 3)])


def test_segment_reduce_errors_as_torch():
    for m in (lf, torch):
        with pytest.raises(RuntimeError):
            m.segment_reduce(m.ones(4), "sum", lengths=m.tensor([1, 2]))
        with pytest.raises(RuntimeError):
            m.segment_reduce(m.ones(4), "median", lengths=m.tensor([4]))
