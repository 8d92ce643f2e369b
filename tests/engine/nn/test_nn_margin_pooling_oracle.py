"""Multi-class margin losses, the triplet loss with a distance function, power-average pooling and the
``*_with_indices`` spellings of max pooling, against PyTorch: values and every gradient, each
reduction, weights, unbatched input, PyTorch's exception types; the modules' names and reprs."""
import sys
from pathlib import Path

import numpy as np
import pytest

import layerforge.engine as lf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_oracle import DEVICES, check, torch  # noqa: E402


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


def F(m):
    return m.nn.functional


def _labels(m, x, classes):
    return (x.detach().abs() * 7).long() % classes


CASES = [
    case("multi_margin", lambda m, x: [F(m).multi_margin_loss(x, _labels(m, x[:, 0], 5), reduction=r)
                                       for r in ("none", "mean", "sum")], [(4, 5)]),
    case("multi_margin_p2_weight", lambda m, x, w: F(m).multi_margin_loss(x, _labels(m, x[:, 1], 5), p=2, margin=0.7,
                                                                          weight=w.detach().abs()),
         [(4, 5), (5,)]),
    case("multi_margin_unbatched", lambda m, x: m.nn.MultiMarginLoss()(x, _labels(m, x[0], 5)), [(5,)]),
    case("multilabel_margin", lambda m, x: [F(m).multilabel_margin_loss(x, m.tensor([[3, 0, -1, 1], [1, 2, 3, -1]]),
                                                                        reduction=r) for r in ("none", "mean", "sum")],
         [(2, 4)]),
    case("multilabel_margin_module", lambda m, x: m.nn.MultiLabelMarginLoss()(x, m.tensor([2, -1, 0, 0])), [(4,)]),
    case("triplet_with_distance", lambda m, a, p, n: (
        F(m).triplet_margin_with_distance_loss(a, p, n),
        F(m).triplet_margin_with_distance_loss(a, p, n, distance_function=lambda x, y: (x - y).abs().sum(-1),
                                               margin=2.0, swap=True, reduction="sum"),
        m.nn.TripletMarginWithDistanceLoss(distance_function=m.nn.PairwiseDistance(), reduction="none")(a, p, n)),
        [(3, 4), (3, 4), (3, 4)]),
    case("lp_pool", lambda m, x1, x2, x3: (F(m).lp_pool1d(x1, 2.0, 3), F(m).lp_pool1d(x1, 3, 2, stride=1, ceil_mode=True),
                                           F(m).lp_pool2d(x2, 2, (2, 3)), m.nn.LPPool2d(1.5, 2, stride=1)(x2),
                                           F(m).lp_pool3d(x3, 2, 2), m.nn.LPPool3d(2, (1, 2, 2))(x3)),
         [(2, 3, 7), (1, 2, 5, 6), (1, 2, 4, 4, 4)], low=0.1, high=2.0),
    case("with_indices", lambda m, x: (F(m).max_pool1d_with_indices(x[0], 2), F(m).max_pool2d_with_indices(x, 2, 1),
                                       F(m).adaptive_max_pool1d_with_indices(x[0], 3),
                                       F(m).adaptive_max_pool2d_with_indices(x, (2, 2))), [(2, 3, 5, 6)]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", CASES)
def test_margin_losses_and_pools_match_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


@pytest.mark.parametrize("call", [
    pytest.param(lambda m: m.nn.functional.multi_margin_loss(m.ones(2, 3), m.zeros(2, dtype=m.long), p=3), id="p"),
    pytest.param(lambda m: m.nn.MultiMarginLoss(p=3), id="module_p"),
    pytest.param(lambda m: m.nn.TripletMarginWithDistanceLoss(margin=0.0), id="margin"),
])
def test_invalid_arguments_raise_torchs_exception_type(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(Exception) as ours:
        call(lf)
    assert type(ours.value) is type(theirs.value), f"{ours.value!r} where torch raises {theirs.value!r}"


def test_module_reprs_and_names_match_torch():
    for build in (lambda nn: nn.LPPool2d(2, 3), lambda nn: nn.LPPool1d(1.5, 2, stride=1, ceil_mode=True),
                  lambda nn: nn.MultiMarginLoss(), lambda nn: nn.MultiLabelMarginLoss()):
        assert repr(build(lf.nn)) == repr(build(torch.nn))
    weights = lf.nn.MultiMarginLoss(weight=lf.ones(3)).state_dict()
    assert list(weights) == list(torch.nn.MultiMarginLoss(weight=torch.ones(3)).state_dict())
    np.testing.assert_array_equal(weights["weight"].numpy(), np.ones(3, dtype=np.float32))


def test_gradcheck_of_margin_losses_and_lp_pool():
    rng = np.random.default_rng(4)
    x = lf.tensor(rng.uniform(-1, 1, (3, 4)), dtype=lf.float64, requires_grad=True)
    pooled = lf.tensor(rng.uniform(0.2, 1.5, (1, 2, 4, 4)), dtype=lf.float64, requires_grad=True)
    target = lf.tensor([1, 3, 0])
    F = lf.nn.functional
    assert lf.gradcheck(lambda x: (F.multi_margin_loss(x, target, reduction="none"),
                                   F.multi_margin_loss(x, target, p=2, margin=0.5),
                                   F.multilabel_margin_loss(x, lf.tensor([[1, -1, 0, 0], [3, 2, -1, 0], [0, 1, 2, 3]])),
                                   F.triplet_margin_with_distance_loss(x, x.flip(0), x * 0.5)), [x])
    assert lf.gradcheck(lambda p: (F.lp_pool2d(p, 2, 2), F.lp_pool2d(p, 3.0, (2, 1), stride=1)), [pooled])
