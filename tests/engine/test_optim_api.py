"""The Optimizer base: groups, argument checks, zero_grad, closures, state dicts (no torch needed)."""
import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine import optim


def _param(*values):
    return lf.tensor(list(values) or [1.0, 2.0], requires_grad=True)


@pytest.mark.parametrize("make,message", [
    (lambda p: optim.SGD(p, lr=-1), "Invalid learning rate: -1"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True),
     "Nesterov momentum requires a momentum and zero dampening"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (lambda p: optim.AdamW(p, eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (lambda p: optim.RMSprop(p, alpha=-0.1), "Invalid alpha value: -0.1"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "Invalid lr_decay value: -1"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-1),
     "Invalid initial_accumulator_value value: -1"),
    (lambda p: optim.Adadelta(p, rho=1.5), "Invalid rho value: 1.5"),
])
def test_invalid_options_are_refused_in_pytorchs_words(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make([_param()])


@pytest.mark.parametrize("make", [lambda p: optim.Adam(p, fused=True, foreach=True),
                                  lambda p: optim.AdamW(p, fused=True, foreach=True),
                                  lambda p: optim.SGD(p, lr=0.1, fused=True, foreach=True)])
def test_fused_and_foreach_together_are_refused_as_in_pytorch(make):
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together."):
        make([_param()])


def test_params_must_be_an_ordered_collection_of_leaf_tensors():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {_param()}}], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(_param(), lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([_param() * 2], lr=0.1)


def test_add_param_group_fills_defaults_and_refuses_duplicates():
    a, b = _param(), _param()
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([a, a], lr=0.1)


def test_named_parameters_keep_their_names():
    a, b = _param(), _param()
    opt = optim.Adam([("layer.weight", a), ("layer.bias", b)])
    assert opt.param_groups[0]["param_names"] == ["layer.weight", "layer.bias"]
    assert [x is y for x, y in zip(opt.param_groups[0]["params"], (a, b))] == [True, True]


def test_zero_grad_sets_to_none_or_zeros_in_place():
    p = _param()
    opt = optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    opt.zero_grad()
    assert p.grad is None
    (p * p).sum().backward()
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad and p.grad.tolist() == [0.0, 0.0]


def test_step_skips_params_without_grad_and_returns_closure_loss():
    used, unused = _param(1.0, 2.0), _param(5.0)
    opt = optim.SGD([used, unused], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (used * used).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 5.0
    assert used.tolist() == [0.0, 0.0]  # p - 0.5 * 2p
    assert unused.tolist() == [5.0] and unused not in opt.state


def test_step_changes_parameters_in_place_without_recording_history():
    p = _param()
    storage = p._data
    opt = optim.Adam([p], lr=0.1)
    (p * p).sum().backward()
    opt.step()
    assert p._data is storage and p.grad_fn is None and p.requires_grad


def test_state_dict_format_matches_pytorchs():
    a, b, c = _param(), _param(), _param()
    opt = optim.SGD([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1, momentum=0.9)
    for p in (a, b, c):
        (p * p).sum().backward()
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert set(sd["state"]) == {0, 1, 2}
    assert sd["state"][2]["momentum_buffer"].tolist() == (c.grad).tolist()
    assert sd["param_groups"][1]["lr"] == 0.5


def test_load_state_dict_checks_group_shapes():
    opt = optim.SGD([_param(), _param()], lr=0.1)
    other = optim.SGD([_param()], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict(other.state_dict())
    two_groups = optim.SGD([{"params": [_param()]}, {"params": [_param()]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(two_groups.state_dict())


def test_loaded_state_takes_the_parameters_dtype():
    p64 = lf.tensor([1.0, 2.0], dtype=lf.float64, requires_grad=True)
    opt = optim.Adam([p64])
    state = {"state": {0: {"step": lf.tensor(2.0), "exp_avg": lf.ones(2), "exp_avg_sq": lf.ones(2)}},
             "param_groups": [dict(opt.state_dict()["param_groups"][0])]}
    opt.load_state_dict(state)
    assert opt.state[p64]["exp_avg"].dtype == lf.float64
    assert opt.state[p64]["step"].dtype == lf.float32  # the step count is not cast (as PyTorch)


def test_adagrad_state_exists_before_the_first_step():
    p = _param()
    opt = optim.Adagrad([p], initial_accumulator_value=0.25)
    assert opt.state[p]["sum"].tolist() == [0.25, 0.25]
    late = _param()
    opt.add_param_group({"params": [late]})
    (late * late).sum().backward()
    opt.step()
    assert opt.state[late]["step"].item() == 1.0


def test_lr_changes_between_steps_take_effect():
    p = _param(1.0)
    opt = optim.SGD([p], lr=0.1)
    p.grad = lf.tensor([1.0])
    opt.step()
    opt.param_groups[0]["lr"] = 0.5
    opt.step()
    assert p.item() == pytest.approx(1.0 - 0.1 - 0.5)


@pytest.mark.parametrize("name", ["SGD", "Adam", "LBFGS"])
def test_step_hooks_run_around_every_optimizer_step_as_torch(name):
    real_torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")

    def run(lib):
        w = lib.tensor([1.0, -2.0], requires_grad=True)
        opt = getattr(lib.optim, name)([w], lr=0.1)
        calls = []
        pre = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", float(w.detach()[0]))))
        opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", round(float(w.detach()[0]), 6))))

        def closure():
            opt.zero_grad()
            loss = (w * w).sum()
            loss.backward()
            return loss

        closure()
        opt.step(closure)
        pre.remove()
        closure()
        opt.step(closure)
        return calls

    assert run(lf) == run(real_torch)
