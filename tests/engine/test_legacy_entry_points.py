"""PyTorch's top-level entry points with integer reductions or their own argument order (torch.kl_div,
torch.batch_norm, ...), torch.feature_dropout and the in-place dropouts, nonzero_static, and the
samplers torch.poisson / torch.binomial, against PyTorch: values, gradients, running statistics,
PyTorch's exception types, and the samplers' distributions."""
import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import check, torch


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


def _targets(m, x):
    return (x.detach() > 0).to(x.dtype) * 2 - 1  # +-1 labels of the input's shape


LOSSES = [
    case("kl_div", lambda m, x, t: [m.kl_div(x.log_softmax(-1), t.softmax(-1), r) for r in (0, 1, 2)] +
         [m.kl_div(x, t, 2, log_target=True)], [(3, 4), (3, 4)]),
    case("bce_with_logits", lambda m, x, t, w: [m.binary_cross_entropy_with_logits(x, t.sigmoid(), w.detach(),
                                                                                    w[0].detach(), r)
                                                for r in (0, 1, 2)], [(3, 4), (3, 4), (4,)]),
    case("cosine_embedding", lambda m, a, b: [m.cosine_embedding_loss(a, b, _targets(m, a[:, 0]), 0.2, r)
                                              for r in (0, 1, 2)], [(3, 4), (3, 4)]),
    case("margin_ranking", lambda m, a, b: [m.margin_ranking_loss(a, b, _targets(m, a - b), 0.1, r)
                                            for r in (0, 1, 2)], [(5,), (5,)]),
    case("hinge_embedding", lambda m, x: [m.hinge_embedding_loss(x, _targets(m, x), 1.5, r) for r in (0, 1, 2)],
         [(3, 4)]),
    case("triplet_margin", lambda m, a, p, n: [m.triplet_margin_loss(a, p, n, 1.0, 2, 1e-6, swap, r)
                                               for r, swap in ((0, False), (1, True), (2, False))],
         [(3, 4), (3, 4), (3, 4)]),
    case("poisson_nll", lambda m, x, t: [m.poisson_nll_loss(x, t.abs(), True, full, 1e-8, r)
                                         for r, full in ((0, False), (1, True), (2, False))] +
         [m.poisson_nll_loss(x.abs() + 0.1, t.abs(), False, False, 1e-8, 1)], [(3, 4), (3, 4)]),
]


@pytest.mark.parametrize("fn, shapes, options", LOSSES)
def test_losses_with_integer_reductions_match_torch(fn, shapes, options):
    check(fn, shapes, **options)


def test_ctc_loss_with_integer_reduction_matches_torch():
    # PyTorch's CTC gradient assumes log_probs come out of log_softmax: compare through one
    logits = np.random.default_rng(0).normal(size=(6, 2, 5))
    targets, input_lengths, target_lengths = np.array([[1, 2, 3], [2, 2, 0]]), [6, 5], [3, 2]
    for reduction in (0, 1, 2):
        ours = lf.tensor(logits, requires_grad=True)
        theirs = torch.tensor(logits, requires_grad=True)
        got = lf.ctc_loss(ours.log_softmax(2), lf.tensor(targets), input_lengths, target_lengths, 0, reduction, False)
        expected = torch.ctc_loss(theirs.log_softmax(2), torch.tensor(targets), input_lengths, target_lengths, 0,
                                  reduction, False)
        np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-9)
        got.sum().backward()
        expected.sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("training", [True, False])
def test_batch_and_instance_norm_entry_points_match_torch(training):
    x = np.random.default_rng(1).normal(size=(4, 3, 5))
    stats = {m: (m.zeros(3, dtype=m.float64), m.ones(3, dtype=m.float64)) for m in (lf, torch)}
    outs = {}
    for m in (lf, torch):
        mean, var = stats[m]
        w, b = m.tensor([1.0, 2.0, 0.5], dtype=m.float64), m.tensor([0.0, 1.0, -1.0], dtype=m.float64)
        outs[m] = (m.batch_norm(m.tensor(x), w, b, mean, var, training, 0.2, 1e-5, True),
                   m.instance_norm(m.tensor(x), w, b, None, None, True, 0.1, 1e-5, False))
    for ours, theirs in zip(outs[lf], outs[torch]):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(stats[lf], stats[torch]):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10)


@pytest.mark.parametrize("call", [
    pytest.param(lambda m: m.kl_div(m.zeros(2), m.ones(2), "mean"), id="reduction_as_a_name"),
    pytest.param(lambda m: m.feature_dropout(m.ones(2, 3), 1.5, True), id="feature_dropout_probability"),
    pytest.param(lambda m: m.dropout(m.ones(2, 3), -0.1, True), id="dropout_probability"),
    pytest.param(lambda m: m.alpha_dropout_(m.ones(2, 3), 2.0, True), id="alpha_dropout_probability"),
    pytest.param(lambda m: m.binomial(m.ones(2) * 5, m.full((2,), 0.5, requires_grad=True)).sum().backward(),
                 id="binomial_gradient"),
])
def test_invalid_arguments_raise_torchs_exception_type(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(Exception) as ours:
        call(lf)
    assert type(ours.value) is type(theirs.value), f"{ours.value!r} where torch raises {theirs.value!r}"


def test_feature_dropout_drops_whole_channels_and_scales_the_rest():
    lf.manual_seed(0)
    out = lf.feature_dropout(lf.ones(64, 8, 5), 0.25, True).numpy()
    assert (out == out[:, :, :1]).all()  # one draw per (sample, channel)
    assert set(np.unique(out)) == {0.0, np.float32(1.0 / 0.75)}
    assert abs((out[:, :, 0] == 0).mean() - 0.25) < 0.06
    assert lf.feature_dropout(lf.ones(2, 3), 0.5, False).tolist() == [[1.0] * 3] * 2
    t = lf.ones(1000)
    assert lf.dropout_(t, 0.5, True) is t and set(np.unique(t.numpy())) == {0.0, 2.0}
    u = lf.ones(4, 6, 2)
    assert lf.feature_dropout_(u, 0.5, True) is u and (u.numpy() == u.numpy()[:, :, :1]).all()


def test_feature_alpha_dropout_keeps_selus_moments_per_channel():
    lf.manual_seed(1)
    x = lf.randn(4000, 6, 3)
    for out in (lf.nn.functional.feature_alpha_dropout(x, 0.2, True), lf.feature_alpha_dropout(x, 0.2, True),
                lf.nn.FeatureAlphaDropout(0.2)(x)):
        values = out.numpy()
        dropped = np.isclose(values, values[..., :1]).all(-1) & ~np.isclose(x.numpy(), x.numpy()[..., :1]).all(-1)
        assert abs(dropped.mean() - 0.2) < 0.02  # whole channels fall to one value together
        assert abs(values.mean()) < 0.03 and abs(values.std() - 1.0) < 0.03  # the moments are kept
    assert lf.nn.FeatureAlphaDropout(0.2).eval()(x) is x
    with pytest.raises(RuntimeError):
        lf.feature_alpha_dropout(lf.ones(3), 0.5, True)
    with pytest.raises(RuntimeError):
        torch.feature_alpha_dropout(torch.ones(3), 0.5, True)
    assert repr(lf.nn.FeatureAlphaDropout(0.2)) == repr(torch.nn.FeatureAlphaDropout(0.2))


def test_nonzero_static_and_unsafe_split_match_torch():
    x = [[0, 1, 2], [3, 0, 0]]
    for size, fill in ((5, -1), (2, 7), (0, -1)):
        assert lf.nonzero_static(lf.tensor(x), size=size, fill_value=fill).tolist() == \
            torch.nonzero_static(torch.tensor(x), size=size, fill_value=fill).tolist()
    assert lf.tensor(x).nonzero_static(size=2).tolist() == torch.tensor(x).nonzero_static(size=2).tolist()
    assert [p.tolist() for p in lf.arange(5).unsafe_split_with_sizes([2, 3])] == [[0, 1], [2, 3, 4]]
    parts = lf.unsafe_split_with_sizes(lf.arange(6), [2, 4])
    assert [p.tolist() for p in parts] == [p.tolist() for p in torch.unsafe_split_with_sizes(torch.arange(6), [2, 4])]


def test_poisson_and_binomial_sample_their_distributions():
    lf.manual_seed(3)
    rates = lf.full((20000,), 3.5, requires_grad=True)
    draws = lf.poisson(rates)
    assert draws.dtype == lf.float32 and draws.requires_grad
    values = draws.detach().numpy()
    assert abs(values.mean() - 3.5) < 0.06 and abs(values.var() - 3.5) < 0.15
    assert (values == np.round(values)).all() and values.min() >= 0
    draws.sum().backward()
    assert rates.grad.tolist() == [0.0] * 20000  # PyTorch's gradient of poisson is zero
    counts = lf.binomial(lf.full((20000,), 10.0), lf.full((20000,), 0.3)).numpy()
    assert counts.min() >= 0 and counts.max() <= 10 and abs(counts.mean() - 3.0) < 0.05
    generator = lf.Generator().manual_seed(5)
    again = lf.Generator().manual_seed(5)
    assert lf.poisson(lf.ones(8), generator).tolist() == lf.poisson(lf.ones(8), again).tolist()
