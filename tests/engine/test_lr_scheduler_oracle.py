"""Learning-rate schedules against torch.optim.lr_scheduler: identical lrs over 100 steps."""
import math

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine import optim
from layerforge.engine.optim import lr_scheduler

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")

STEPS = 100


def _optimizer(lib, name="SGD", **kwargs):
    module = torch.optim if lib is torch else optim
    a = lib.zeros(2, requires_grad=True)
    b = lib.zeros(3, requires_grad=True)
    groups = [{"params": [a]}, {"params": [b], "lr": 0.3}]
    return getattr(module, name)(groups, lr=0.1, **kwargs)


def _warmup(epoch):
    return min(1.0, (epoch + 1) / 10) * 0.95 ** epoch


CASES = [
    ("StepLR", {"step_size": 7}),
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [10, 30, 30, 75]}),
    ("MultiStepLR", {"milestones": [5, 50], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.97}),
    ("CosineAnnealingLR", {"T_max": 100}),
    ("CosineAnnealingLR", {"T_max": 30, "eta_min": 0.001}),  # past T_max it rises again
    ("LambdaLR", {"lr_lambda": _warmup}),
    ("LambdaLR", {"lr_lambda": [_warmup, lambda e: 1 / (1 + e)]}),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 101}),
    ("OneCycleLR", {"max_lr": [1.0, 2.0], "epochs": 10, "steps_per_epoch": 11,
                    "anneal_strategy": "linear"}),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 120, "three_phase": True, "pct_start": 0.25,
                    "div_factor": 10.0, "final_div_factor": 100.0}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 0.1, "end_factor": 0.5, "total_iters": 40}),
    ("ConstantLR", {}),
    ("ConstantLR", {"factor": 0.25, "total_iters": 60}),
    ("PolynomialLR", {"total_iters": 50, "power": 2.0}),
    ("PolynomialLR", {}),
    ("MultiplicativeLR", {"lr_lambda": lambda e: 0.97}),
    ("MultiplicativeLR", {"lr_lambda": [lambda e: 0.95, lambda e: 1.0 if e < 20 else 0.9]}),
    ("CosineAnnealingWarmRestarts", {"T_0": 10}),
    ("CosineAnnealingWarmRestarts", {"T_0": 5, "T_mult": 2, "eta_min": 0.01}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 7}),
    ("CyclicLR", {"base_lr": [0.01, 0.02], "max_lr": 0.2, "step_size_up": 5, "step_size_down": 9,
                  "mode": "triangular2", "base_momentum": 0.7, "max_momentum": 0.95}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 6, "mode": "exp_range", "gamma": 0.97}),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4, "scale_fn": lambda x: 0.5 ** x,
                  "scale_mode": "iterations", "cycle_momentum": False}),
]


def _lrs_and_momenta(lib, name, kwargs, optimizer_name="SGD", optimizer_kwargs=None):
    opt = _optimizer(lib, optimizer_name,
                     **({"momentum": 0.9} if optimizer_kwargs is None else optimizer_kwargs))
    module = torch.optim.lr_scheduler if lib is torch else lr_scheduler
    sched = getattr(module, name)(opt, **kwargs)
    history = [(sched.get_last_lr(), [g.get("momentum", g.get("betas")) for g in opt.param_groups])]
    for _ in range(STEPS):
        opt.step()
        sched.step()
        history.append((sched.get_last_lr(), [g.get("momentum", g.get("betas")) for g in opt.param_groups]))
        assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr()
    return history


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_learning_rates_equal_torch(name, kwargs):
    ours = _lrs_and_momenta(lf, name, kwargs)
    theirs = _lrs_and_momenta(torch, name, kwargs)
    assert [lrs for lrs, _ in ours] == [lrs for lrs, _ in theirs]  # exactly: same float operations
    assert [m for _, m in ours] == [m for _, m in theirs]
    assert len({tuple(lrs) for lrs, _ in ours}) > 1, "the schedule never changed the lr"


def test_one_cycle_cycles_adam_beta1_like_torch():
    kwargs = {"max_lr": 0.01, "total_steps": 101}
    ours = _lrs_and_momenta(lf, "OneCycleLR", kwargs, "Adam", {})
    theirs = _lrs_and_momenta(torch, "OneCycleLR", kwargs, "Adam", {})
    assert ours == [(lrs, [tuple(b) for b in betas]) for lrs, betas in theirs]
    lowest = min(range(len(ours)), key=lambda i: ours[i][1][0][0])
    highest_lr = max(range(len(ours)), key=lambda i: ours[i][0][0])
    assert lowest == highest_lr  # beta1 is at its lowest when the lr peaks
    assert ours[lowest][1][0][0] == pytest.approx(0.85, abs=1e-4)


def test_one_cycle_refuses_to_step_past_total_steps():
    opt = _optimizer(lf, momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=5)
    for _ in range(5):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 6 times"):
        sched.step()


def test_one_cycle_needs_momentum_or_betas_to_cycle():
    opt = optim.Adagrad([lf.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="momentum or beta1"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)


PLATEAU_CASES = [
    {},
    {"patience": 2, "factor": 0.5},
    {"mode": "max", "patience": 1, "threshold": 0.05},
    {"patience": 0, "threshold_mode": "abs", "threshold": 0.1, "cooldown": 3},
    {"patience": 1, "min_lr": [0.02, 0.05], "factor": 0.3},
    {"patience": 1, "min_lr": 0.0999, "eps": 1e-3},
]


@pytest.mark.parametrize("kwargs", PLATEAU_CASES, ids=[str(k) for k in PLATEAU_CASES])
def test_reduce_on_plateau_equals_torch(kwargs):
    rng = np.random.default_rng(0)
    # A noisy, mostly flat metric with a few real improvements: plateaus are common.
    metrics = np.maximum.accumulate(rng.random(STEPS))[::-1] + 0.05 * rng.random(STEPS)
    results = []
    for lib in (lf, torch):
        opt = _optimizer(lib, momentum=0.9)
        module = torch.optim.lr_scheduler if lib is torch else lr_scheduler
        sched = module.ReduceLROnPlateau(opt, **kwargs)
        lrs = []
        for value in metrics:
            opt.step()
            sched.step(float(value))
            lrs.append(sched.get_last_lr())
        results.append((lrs, sched.num_bad_epochs, sched.cooldown_counter, sched.best))
    assert results[0] == results[1]
    assert len({tuple(lrs) for lrs in results[0][0]}) > 1, "the lr was never reduced"


def test_reduce_on_plateau_rejects_bad_options():
    opt = _optimizer(lf)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="lowest")
    with pytest.raises(ValueError, match="expected 2 min_lrs"):
        lr_scheduler.ReduceLROnPlateau(opt, min_lr=[0.1])


@pytest.mark.parametrize("name,kwargs", [("StepLR", {"step_size": 4}),
                                         ("CosineAnnealingLR", {"T_max": 20}),
                                         ("MultiStepLR", {"milestones": [3, 9]}),
                                         ("OneCycleLR", {"max_lr": 1.0, "total_steps": 40})])
def test_scheduler_state_dict_resumes_the_schedule(name, kwargs):
    reference_opt = _optimizer(lf, momentum=0.9)
    reference = getattr(lr_scheduler, name)(reference_opt, **kwargs)
    for _ in range(15):
        reference.step()
    saved_sched, saved_opt = reference.state_dict(), reference_opt.state_dict()
    resumed_opt = _optimizer(lf, momentum=0.9)
    resumed = getattr(lr_scheduler, name)(resumed_opt, **kwargs)
    resumed_opt.load_state_dict(saved_opt)
    resumed.load_state_dict(saved_sched)
    for _ in range(20):
        reference.step()
        resumed.step()
        assert resumed.get_last_lr() == reference.get_last_lr()


def test_scheduler_and_optimizer_state_survive_save_and_load(tmp_path):
    opt = _optimizer(lf, momentum=0.9)
    sched = lr_scheduler.MultiStepLR(opt, milestones=[3, 9])
    for _ in range(5):
        sched.step()
    path = tmp_path / "checkpoint.safetensors"
    lf.save({"optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, path)
    checkpoint = lf.load(path)
    fresh_opt = _optimizer(lf, momentum=0.9)
    fresh = lr_scheduler.MultiStepLR(fresh_opt, milestones=[1])
    fresh_opt.load_state_dict(checkpoint["optimizer"])
    fresh.load_state_dict(checkpoint["scheduler"])
    for _ in range(6):
        sched.step()
        fresh.step()
    assert fresh.get_last_lr() == sched.get_last_lr()
    assert fresh.get_last_lr()[0] == pytest.approx(0.001)


def test_resuming_with_last_epoch_needs_initial_lr():
    opt = _optimizer(lf)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(opt, step_size=3, last_epoch=5)


def test_cosine_closed_form_with_explicit_epoch_matches_formula():
    opt = _optimizer(lf)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.01)
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(5)
    assert sched.get_last_lr()[0] == pytest.approx(0.01 + 0.09 * (1 + math.cos(math.pi / 2)) / 2)


def _combined(lib, kind):
    opt = _optimizer(lib, momentum=0.9)
    module = torch.optim.lr_scheduler if lib is torch else lr_scheduler
    if kind == "sequential":
        warmup = module.LinearLR(opt, start_factor=0.1, total_iters=5)
        decay = module.CosineAnnealingLR(opt, T_max=30)
        last = module.ExponentialLR(opt, gamma=0.9)
        sched = module.SequentialLR(opt, [warmup, decay, last], milestones=[5, 40])
    else:
        sched = module.ChainedScheduler([module.ConstantLR(opt, factor=0.5, total_iters=4),
                                         module.ExponentialLR(opt, gamma=0.95)])
    history = [sched.get_last_lr()]
    for _ in range(60):
        opt.step()
        sched.step()
        history.append(sched.get_last_lr())
        assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr()
    return history, sched


@pytest.mark.parametrize("kind", ["sequential", "chained"])
def test_sequential_and_chained_schedulers_equal_torch(kind):
    ours, ours_sched = _combined(lf, kind)
    theirs, _ = _combined(torch, kind)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
    state = ours_sched.state_dict()
    assert len(state["_schedulers"]) == len(ours_sched._schedulers)
    ours_sched.load_state_dict(state)


def test_warm_restarts_with_fractional_epochs_equal_torch():
    results = []
    for lib in (lf, torch):
        opt = _optimizer(lib)
        module = torch.optim.lr_scheduler if lib is torch else lr_scheduler
        sched = module.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=2, eta_min=0.001)
        values = []
        for epoch in [0.5, 1.25, 3.9, 4.0, 7.5, 12.0, 30.3, 2.0]:
            sched.step(epoch)
            values.append(sched.get_last_lr() + [sched.T_cur, sched.T_i, sched.last_epoch])
        results.append(values)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


@pytest.mark.parametrize("name, kwargs", [("LinearLR", {"start_factor": 0.2, "total_iters": 8}),
                                          ("ConstantLR", {"factor": 0.5, "total_iters": 3}),
                                          ("PolynomialLR", {"total_iters": 6, "power": 1.5})])
def test_explicit_epochs_use_torchs_closed_forms(name, kwargs):
    results = []
    for lib in (lf, torch):
        opt = _optimizer(lib)
        module = torch.optim.lr_scheduler if lib is torch else lr_scheduler
        sched = getattr(module, name)(opt, **kwargs)
        with pytest.warns(UserWarning):
            for epoch in (4, 1, 9, 0, 6):
                sched.step(epoch)
        results.append(sched.get_last_lr())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


@pytest.mark.parametrize("build", [
    lambda m, opt: m.LinearLR(opt, start_factor=0.0),
    lambda m, opt: m.ConstantLR(opt, factor=1.5),
    lambda m, opt: m.CosineAnnealingWarmRestarts(opt, T_0=0),
    lambda m, opt: m.SequentialLR(opt, [m.StepLR(opt, 2)], milestones=[3]),
    lambda m, opt: m.MultiplicativeLR(opt, lr_lambda=0.5),
])
def test_invalid_schedules_raise_torchs_exception_type(build):
    with pytest.raises(Exception) as theirs:
        build(torch.optim.lr_scheduler, _optimizer(torch))
    with pytest.raises(Exception) as ours:
        build(lr_scheduler, _optimizer(lf))
    assert type(ours.value) is type(theirs.value), f"{ours.value!r} where torch raises {theirs.value!r}"


def test_cyclic_lr_cycles_adam_beta1_like_torch():
    kwargs = {"base_lr": 0.001, "max_lr": 0.01, "step_size_up": 5}
    ours = _lrs_and_momenta(lf, "CyclicLR", kwargs, "Adam", {})
    theirs = _lrs_and_momenta(torch, "CyclicLR", kwargs, "Adam", {})
    assert ours == theirs
