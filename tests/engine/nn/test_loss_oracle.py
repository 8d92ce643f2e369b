"""Every loss against PyTorch: values and gradients, for each reduction and option.

``compare`` runs the same function by name from ``torch.nn.functional`` and from Layerforge's
``functional_losses`` on the same arrays, then backpropagates the same random upstream gradient and
compares the gradients of the inputs listed in ``grads``.
"""
from __future__ import annotations

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.nn import functional_losses as LF

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
TF = torch.nn.functional

REDUCTIONS = ["none", "mean", "sum"]
DEVICES = ["cpu", pytest.param("cuda", marks=[
    pytest.mark.gpu, pytest.mark.skipif(not lf.cuda.is_available(), reason="no CUDA GPU/cupy")])]


def _pair(value, requires_grad, device):
    if isinstance(value, np.ndarray):
        ours = lf.tensor(value, device=device, requires_grad=requires_grad)
        theirs = torch.tensor(value, requires_grad=requires_grad)
        return ours, theirs
    return value, value


def compare(name, args, kwargs=None, grads=(0,), device="cpu", atol=2e-5, rtol=2e-5, seed=0):
    kwargs = kwargs or {}
    pairs = [_pair(a, i in grads, device) for i, a in enumerate(args)]
    kw_pairs = {k: _pair(v, False, device) for k, v in kwargs.items()}
    ours = getattr(LF, name)(*[p[0] for p in pairs], **{k: p[0] for k, p in kw_pairs.items()})
    theirs = getattr(TF, name)(*[p[1] for p in pairs], **{k: p[1] for k, p in kw_pairs.items()})
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.dtype.name == str(theirs.dtype).rsplit(".", 1)[-1]
    np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy(), rtol=rtol,
                               atol=atol)
    if not grads:
        return
    upstream = np.random.default_rng(seed).standard_normal(tuple(theirs.shape)).astype(
        theirs.detach().numpy().dtype)
    ours.backward(lf.tensor(upstream, device=device))
    theirs.backward(torch.tensor(upstream))
    for i in grads:
        np.testing.assert_allclose(pairs[i][0].grad.cpu().numpy(), pairs[i][1].grad.numpy(),
                                   rtol=rtol, atol=atol, err_msg=f"gradient of argument {i}")


def _rand(*shape, seed=1, low=-2.0, high=2.0, dtype=np.float32):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(dtype)


def _classes(*shape, n_classes, seed=2):
    return np.random.default_rng(seed).integers(0, n_classes, shape).astype(np.int64)


def _probs(*shape, seed=3):
    logits = np.random.default_rng(seed).standard_normal(shape)
    e = np.exp(logits)
    return (e / e.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)).astype(np.float32)


# ------------------------------------------------------------------------------ regression
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, options", [
    ("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.5}),
    ("smooth_l1_loss", {"beta": 0.0}), ("huber_loss", {}), ("huber_loss", {"delta": 2.5}),
])
def test_regression_losses_match_torch(name, options, reduction, device):
    compare(name, [_rand(4, 5), _rand(4, 5, seed=9)], {"reduction": reduction, **options},
            grads=(0, 1), device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_weighted_regression_losses_match_torch(name, reduction):
    compare(name, [_rand(3, 4), _rand(3, 4, seed=4)],
            {"reduction": reduction, "weight": _rand(3, 4, seed=5, low=0.1, high=2.0)}, grads=(0, 1))


def test_integer_regression_target_is_promoted_like_torch():
    compare("mse_loss", [_rand(6), np.arange(6, dtype=np.int64)])


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_broadcasting_target_warns_and_still_matches_torch(name):
    x, y = _rand(4, 3), _rand(4, 1, seed=7)
    with pytest.warns(UserWarning, match=r"Using a target size .* that is different to the input size"):
        compare(name, [x, y], grads=(0, 1))


def test_same_shapes_do_not_warn(recwarn):
    LF.mse_loss(lf.tensor(_rand(3)), lf.tensor(_rand(3, seed=2)))
    assert not [w for w in recwarn if "target size" in str(w.message)]


def test_non_broadcastable_target_names_both_shapes():
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match=r"\(4, 3\).*\(2,\)"):
        LF.mse_loss(lf.tensor(_rand(4, 3)), lf.tensor(_rand(2)))


# ------------------------------------------------------------------------------ cross-entropy
CE_OPTIONS = [
    {},
    {"label_smoothing": 0.2},
    {"weight": _rand(5, seed=11, low=0.2, high=2.0)},
    {"ignore_index": 1},
    {"weight": _rand(5, seed=12, low=0.2, high=2.0), "ignore_index": 3, "label_smoothing": 0.3},
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", CE_OPTIONS, ids=lambda o: "-".join(o) or "plain")
@pytest.mark.parametrize("shape", [(6, 5), (3, 5, 4), (2, 5, 3, 2)], ids=str)
def test_cross_entropy_with_indices_matches_torch(shape, options, reduction, device):
    target = _classes(shape[0], *shape[2:], n_classes=5)
    compare("cross_entropy", [_rand(*shape), target], {"reduction": reduction, **options},
            device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.1}])
def test_cross_entropy_unbatched_index_matches_torch(reduction, options):
    compare("cross_entropy", [_rand(5), np.array(3)], {"reduction": reduction, **options})


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.25},
                                     {"weight": _rand(4, seed=13, low=0.2, high=2.0)},
                                     {"weight": _rand(4, seed=14, low=0.2, high=2.0),
                                      "label_smoothing": 0.1}], ids=lambda o: "-".join(o) or "plain")
@pytest.mark.parametrize("shape", [(5, 4), (2, 4, 3), (4,)], ids=str)
def test_cross_entropy_with_probabilities_matches_torch(shape, options, reduction, device):
    compare("cross_entropy", [_rand(*shape), _probs(*shape)], {"reduction": reduction, **options},
            grads=(0, 1), device=device)


def test_cross_entropy_ignoring_every_target_gives_nan_mean_like_torch():
    compare("cross_entropy", [_rand(3, 4), np.array([2, 2, 2])], {"ignore_index": 2})


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, -1000.0, 0.0], [-500.0, 500.0, 499.0]], dtype=np.float32)
    compare("cross_entropy", [logits, np.array([1, 2])])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"weight": _rand(4, seed=15, low=0.2, high=2.0)},
                                     {"ignore_index": 0},
                                     {"weight": _rand(4, seed=16, low=0.2, high=2.0),
                                      "ignore_index": 2}], ids=lambda o: "-".join(o) or "plain")
@pytest.mark.parametrize("shape", [(7, 4), (2, 4, 5), (4,)], ids=str)
def test_nll_loss_matches_torch(shape, options, reduction):
    target = np.array(1) if len(shape) == 1 else _classes(shape[0], *shape[2:], n_classes=4)
    log_probs = np.log(_probs(*shape))
    compare("nll_loss", [log_probs, target], {"reduction": reduction, **options})


# ------------------------------------------------------------------------------ binary
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [None, "full", "row"])
def test_binary_cross_entropy_matches_torch(weight, reduction, device):
    probs = _rand(4, 3, low=0.02, high=0.98)
    target = _rand(4, 3, seed=8, low=0.0, high=1.0)
    options = {"reduction": reduction}
    if weight == "full":
        options["weight"] = _rand(4, 3, seed=5, low=0.1, high=2.0)
    elif weight == "row":
        options["weight"] = _rand(3, seed=6, low=0.1, high=2.0)
    compare("binary_cross_entropy", [probs, target], options, grads=(0, 1), device=device)


def test_binary_cross_entropy_clamps_log_at_minus_100_like_torch():
    probs = np.array([0.0, 1.0, 0.5, 1e-30], dtype=np.float32)
    target = np.array([1.0, 0.0, 1.0, 0.0], dtype=np.float32)
    out = LF.binary_cross_entropy(lf.tensor(probs), lf.tensor(target), reduction="none")
    np.testing.assert_allclose(out.numpy(), [100.0, 100.0, np.log(2.0), 0.0], rtol=1e-6, atol=1e-12)
    compare("binary_cross_entropy", [probs, target], {"reduction": "sum"}, grads=())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [
    {}, {"weight": _rand(5, 3, seed=5, low=0.1, high=2.0)}, {"pos_weight": _rand(3, seed=6, low=0.1, high=3.0)},
    {"weight": _rand(3, seed=7, low=0.1, high=2.0), "pos_weight": _rand(3, seed=8, low=0.1, high=3.0)},
], ids=lambda o: "-".join(o) or "plain")
def test_binary_cross_entropy_with_logits_matches_torch(options, reduction, device):
    logits = _rand(5, 3, low=-6, high=6)
    target = _rand(5, 3, seed=9, low=0.0, high=1.0)
    compare("binary_cross_entropy_with_logits", [logits, target], {"reduction": reduction, **options},
            grads=(0, 1), device=device)


def test_binary_cross_entropy_with_logits_is_finite_for_huge_logits():
    logits = np.array([100.0, -100.0, 88.0, -88.0, 0.0], dtype=np.float32)
    target = np.array([0.0, 1.0, 1.0, 0.0, 1.0], dtype=np.float32)
    compare("binary_cross_entropy_with_logits", [logits, target], {"reduction": "none"})


# ------------------------------------------------------------------------------ KL divergence
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", ["none", "sum", "batchmean", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(log_target, reduction, device):
    log_input = np.log(_probs(4, 5))
    target = _probs(4, 5, seed=21)
    if log_target:
        target = np.log(target)
    with np.errstate(all="ignore"):
        if reduction == "mean":
            with pytest.warns(UserWarning, match="batchmean"):
                compare("kl_div", [log_input, target], {"reduction": reduction, "log_target": log_target},
                        grads=(0, 1), device=device)
            return
        compare("kl_div", [log_input, target], {"reduction": reduction, "log_target": log_target},
                grads=(0, 1), device=device)


def test_kl_div_zero_target_contributes_nothing_like_torch():
    target = np.array([[0.0, 0.5, 0.5]], dtype=np.float32)
    compare("kl_div", [np.log(_probs(1, 3)), target], {"reduction": "sum"})
