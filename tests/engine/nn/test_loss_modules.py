"""Loss modules (buffers, options, state_dict keys), clear errors for bad targets, numerical gradients."""
from __future__ import annotations

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.nn import functional_losses as LF
from layerforge.engine.nn import loss as L


def _t(array, requires_grad=False):
    return lf.tensor(np.asarray(array), requires_grad=requires_grad)


def _rand(*shape, seed=0, low=-2.0, high=2.0, dtype=np.float32):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(dtype)


# ------------------------------------------------------------------------------ errors
def test_float_target_where_indices_are_expected_says_what_to_do():
    with pytest.raises(RuntimeError, match=r"integer \(int64\).*shape \(4,\).*float32.*\(4, 5\).*\.long\(\)"):
        LF.cross_entropy(_t(_rand(4, 3)), _t(_rand(4, 5)))


def test_integer_target_with_input_shape_is_rejected_as_probabilities():
    with pytest.raises(RuntimeError, match="class probabilities.*floating point, got int64"):
        LF.cross_entropy(_t(_rand(4, 3)), _t(np.zeros((4, 3), dtype=np.int64)))


def test_class_index_out_of_range_names_the_index_and_class_count():
    with pytest.raises(IndexError, match=r"Target 7 is out of bounds.*\[0, 2\].*C=3"):
        LF.cross_entropy(_t(_rand(3, 3)), _t(np.array([0, 7, 1])))
    with pytest.raises(IndexError, match=r"Target -5 is out of bounds"):
        LF.nll_loss(_t(_rand(3, 3)), _t(np.array([0, -5, 1])))


def test_target_batch_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(4,\).*\(4, 3\).*\(3,\)"):
        LF.cross_entropy(_t(_rand(4, 3)), _t(np.array([0, 1, 2])))


def test_wrong_class_weight_length_is_reported():
    with pytest.raises(RuntimeError, match="all 3 classes.*\\[4\\]"):
        LF.cross_entropy(_t(_rand(4, 3)), _t(np.array([0, 1, 2, 1])), weight=_t(np.ones(4, np.float32)))


def test_ignore_index_with_probability_target_is_rejected():
    with pytest.raises(RuntimeError, match="ignore_index is not supported"):
        LF.cross_entropy(_t(_rand(4, 3)), _t(_rand(4, 3, low=0, high=1)), ignore_index=1)


def test_label_smoothing_out_of_range_is_rejected():
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0"):
        LF.cross_entropy(_t(_rand(4, 3)), _t(np.array([0, 1, 2, 1])), label_smoothing=1.5)


def test_binary_losses_require_equal_shapes_and_float_targets():
    with pytest.raises(ValueError, match="Using a target size"):
        LF.binary_cross_entropy(_t(_rand(4, low=0, high=1)), _t(_rand(4, 1, low=0, high=1)))
    with pytest.raises(ValueError, match="must be the same as input size"):
        LF.binary_cross_entropy_with_logits(_t(_rand(4)), _t(_rand(2, 2, low=0, high=1)))
    with pytest.raises(RuntimeError, match=r"floating-point.*int64.*\.float\(\)"):
        LF.binary_cross_entropy_with_logits(_t(_rand(3)), _t(np.array([1, 0, 1])))


def test_binary_cross_entropy_rejects_values_outside_zero_one():
    with pytest.raises(RuntimeError, match="between 0 and 1.*with_logits"):
        LF.binary_cross_entropy(_t(np.array([1.5], np.float32)), _t(np.array([1.0], np.float32)))


def test_unknown_reduction_is_rejected():
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        LF.mse_loss(_t(_rand(3)), _t(_rand(3)), reduction="foo")
    with pytest.raises(ValueError, match="batchmean is not a valid"):
        LF.l1_loss(_t(_rand(3)), _t(_rand(3)), reduction="batchmean")


def test_legacy_size_average_and_reduce_still_work_with_a_warning():
    x, y = _t(_rand(5)), _t(_rand(5, seed=1))
    with pytest.warns(UserWarning, match="reduction='sum'"):
        summed = LF.mse_loss(x, y, size_average=False)
    assert np.isclose(summed.item(), float(((x.numpy() - y.numpy()) ** 2).sum()), rtol=1e-6)


# ------------------------------------------------------------------------------ numerical gradients
def test_cross_entropy_gradient_matches_finite_differences_in_float64():
    x = lf.tensor(_rand(3, 4, 2, dtype=np.float64), requires_grad=True)
    target = _t(np.array([[0, 3], [1, 2], [2, 2]]))
    weight = _t(np.array([0.5, 1.0, 2.0, 1.5]))
    assert lf.gradcheck(lambda a: LF.cross_entropy(a, target, weight=weight, ignore_index=2,
                                                   label_smoothing=0.2), [x])


def test_probability_cross_entropy_gradient_matches_finite_differences():
    x = lf.tensor(_rand(3, 4, dtype=np.float64), requires_grad=True)
    p = lf.tensor(_rand(3, 4, seed=3, low=0.1, high=1.0, dtype=np.float64), requires_grad=True)
    assert lf.gradcheck(lambda a, b: LF.cross_entropy(a, b, label_smoothing=0.1, reduction="sum"),
                        [x, p])


def test_bce_with_logits_gradient_matches_finite_differences():
    x = lf.tensor(_rand(4, 3, dtype=np.float64), requires_grad=True)
    y = lf.tensor(_rand(4, 3, seed=5, low=0, high=1, dtype=np.float64), requires_grad=True)
    pos = _t(np.array([0.5, 2.0, 3.0]))
    assert lf.gradcheck(lambda a, b: LF.binary_cross_entropy_with_logits(a, b, pos_weight=pos), [x, y])


@pytest.mark.parametrize("name, extra", [("smooth_l1_loss", {"beta": 0.7}), ("huber_loss", {"delta": 0.6}),
                                         ("kl_div", {"reduction": "batchmean"})])
def test_other_loss_gradients_match_finite_differences(name, extra):
    x = lf.tensor(_rand(3, 4, dtype=np.float64), requires_grad=True)
    y = lf.tensor(_rand(3, 4, seed=8, low=0.1, high=1.0, dtype=np.float64), requires_grad=True)
    assert lf.gradcheck(lambda a, b: getattr(LF, name)(a, b, **extra), [x, y])


# ------------------------------------------------------------------------------ modules
def test_loss_modules_hold_options_and_call_the_functions():
    x = _t(_rand(6, 4), requires_grad=True)
    target = _t(np.array([0, 1, 2, 3, 1, 0]))
    weight = _t(np.array([1.0, 2.0, 0.5, 1.0], np.float32))
    module = L.CrossEntropyLoss(weight=weight, ignore_index=1, label_smoothing=0.1, reduction="sum")
    expected = LF.cross_entropy(x, target, weight=weight, ignore_index=1, label_smoothing=0.1,
                                reduction="sum")
    assert np.isclose(module(x, target).item(), expected.item())
    assert module.weight is weight and module.ignore_index == 1 and module.reduction == "sum"
    assert L.SmoothL1Loss(beta=0.5).beta == 0.5 and L.HuberLoss(delta=2.0).delta == 2.0
    assert L.KLDivLoss(reduction="batchmean", log_target=True).log_target is True


def test_loss_module_outputs_equal_functional_for_every_module():
    x, y = _t(_rand(3, 4, low=0.05, high=0.95)), _t(_rand(3, 4, seed=2, low=0.05, high=0.95))
    pairs = [(L.MSELoss(), LF.mse_loss), (L.L1Loss(reduction="sum"), lambda a, b: LF.l1_loss(a, b, reduction="sum")),
             (L.SmoothL1Loss(), LF.smooth_l1_loss), (L.HuberLoss(), LF.huber_loss),
             (L.BCELoss(), LF.binary_cross_entropy), (L.BCEWithLogitsLoss(), LF.binary_cross_entropy_with_logits),
             (L.KLDivLoss(reduction="batchmean"), lambda a, b: LF.kl_div(a, b, reduction="batchmean"))]
    for module, function in pairs:
        assert np.isclose(module(x, y).item(), function(x, y).item()), type(module).__name__
    log_p = lf.log_softmax(x, 1)
    assert np.isclose(L.NLLLoss()(log_p, _t(np.array([0, 3, 1]))).item(),
                      LF.nll_loss(log_p, _t(np.array([0, 3, 1]))).item())


def test_weights_are_buffers_with_torch_state_dict_keys():
    torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
    weight, pos = np.array([1.0, 2.0, 3.0], np.float32), np.array([0.5, 4.0, 1.0], np.float32)
    cases = [
        (L.CrossEntropyLoss(weight=_t(weight)), torch.nn.CrossEntropyLoss(weight=torch.tensor(weight))),
        (L.NLLLoss(weight=_t(weight)), torch.nn.NLLLoss(weight=torch.tensor(weight))),
        (L.BCELoss(weight=_t(weight)), torch.nn.BCELoss(weight=torch.tensor(weight))),
        (L.BCEWithLogitsLoss(weight=_t(weight), pos_weight=_t(pos)),
         torch.nn.BCEWithLogitsLoss(weight=torch.tensor(weight), pos_weight=torch.tensor(pos))),
        (L.BCEWithLogitsLoss(pos_weight=_t(pos)), torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos))),
        (L.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()),
    ]
    for ours, theirs in cases:
        ours_state, their_state = ours.state_dict(), theirs.state_dict()
        assert list(ours_state) == list(their_state)
        for key in their_state:
            np.testing.assert_array_equal(ours_state[key].numpy(), their_state[key].numpy())
        assert list(ours.parameters()) == []
