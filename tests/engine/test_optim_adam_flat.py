"""Adam's flat update for small models gives exactly the per-parameter loop's results and keeps
PyTorch's state semantics (state tensors updated in place, state_dict round trips, mixed steps)."""
import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.optim import Adam


def _model_and_grads(seed=0):
    rng = np.random.default_rng(seed)
    params = [lf.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
              for s in ((16, 2), (16,), (1, 16), (1,))]
    grads = [[rng.standard_normal(p.shape).astype(np.float32) for p in params] for _ in range(6)]
    return params, grads


def _run(optimizer, params, grads):
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = lf.tensor(g)
        optimizer.step()
    return [p.detach().numpy().copy() for p in params]


@pytest.mark.parametrize("options", [{}, {"weight_decay": 0.1}, {"maximize": True},
                                     {"weight_decay": 0.1, "decoupled_weight_decay": True}])
def test_flat_update_equals_the_per_parameter_loop_bit_for_bit(options, monkeypatch):
    params, grads = _model_and_grads()
    optimizer = Adam(params, lr=0.01, **options)
    flat = _run(optimizer, params, grads)
    assert optimizer.__dict__.get("_flat_cache"), "the small model did not take the flat path"
    params, grads = _model_and_grads()
    monkeypatch.setattr(Adam, "FLAT_MAX_ELEMENTS", 0)  # forces the per-parameter loop
    loop = _run(Adam(params, lr=0.01, **options), params, grads)
    for a, b in zip(flat, loop):
        np.testing.assert_array_equal(a, b)


def test_state_tensors_follow_later_steps_and_a_state_dict_round_trip_continues_exactly():
    params, grads = _model_and_grads()
    optimizer = Adam(params, lr=0.01)
    _run(optimizer, params, grads[:3])
    held = optimizer.state_dict()["state"][0]["exp_avg"]
    before = held.numpy().copy()
    saved = {"state": {k: {n: (v.clone() if isinstance(v, lf.Tensor) else v) for n, v in st.items()}
                       for k, st in optimizer.state_dict()["state"].items()},
             "param_groups": optimizer.state_dict()["param_groups"]}
    weights = [p.detach().numpy().copy() for p in params]
    uninterrupted = _run(optimizer, params, grads[3:])
    assert not np.array_equal(held.numpy(), before)  # the state dict holds the live tensors, as PyTorch

    restored = [lf.tensor(w, requires_grad=True) for w in weights]
    resumed = Adam(restored, lr=0.01)
    resumed.load_state_dict(saved)
    for a, b in zip(_run(resumed, restored, grads[3:]), uninterrupted):
        np.testing.assert_array_equal(a, b)


def test_a_parameter_joining_late_keeps_its_own_step_count():
    params, grads = _model_and_grads()
    optimizer = Adam(params, lr=0.01)
    for p, g in zip(params[:3], grads[0][:3]):
        p.grad = lf.tensor(g)
    optimizer.step()  # the last parameter has no gradient yet
    _run(optimizer, params, grads[1:3])
    assert [float(optimizer.state[p]["step"]) for p in params] == [3.0, 3.0, 3.0, 2.0]
    params2, _ = _model_and_grads()
    reference = Adam(params2, lr=0.01)
    for p, g in zip(params2[:3], grads[0][:3]):
        p.grad = lf.tensor(g)
    reference.step()
    reference.FLAT_MAX_ELEMENTS = 0
    for a, b in zip(_run(reference, params2, grads[1:3]), [p.detach().numpy() for p in params]):
        np.testing.assert_array_equal(a, b)
