"""Steering a run the way a PyTorch user does, editing ``param_groups`` between steps (issue #15): the
engine's trajectory equals PyTorch's for the same edits, for each optimizer the Trainer offers."""
import numpy as np
import pytest

import layerforge.engine as lf

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")

EDITS = {8: {"lr": 0.003}, 16: {"lr": 0.02, "weight_decay": 0.01}}   # at step: new group values


def trajectory(lib, make_optimizer, edits=EDITS, steps: int = 24):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 5)).astype(np.float64)
    y = rng.normal(size=(32, 1)).astype(np.float64)
    w0 = rng.normal(size=(1, 5)).astype(np.float64)
    model = lib.nn.Linear(5, 1).double()
    with lib.no_grad():
        model.weight.copy_(lib.tensor(w0))
        model.bias.zero_()
    optimizer = make_optimizer(lib, model.parameters())
    xs, ys, losses = lib.tensor(x), lib.tensor(y), []
    for step in range(steps):
        for key, value in edits.get(step, {}).items():
            for group in optimizer.param_groups:
                group[key] = value
        optimizer.zero_grad()
        loss = ((model(xs) - ys) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.item()))
    return np.array(losses), model.weight.detach().numpy().copy()


OPTIMIZERS = {
    "sgd": lambda lib, p: lib.optim.SGD(p, lr=0.01, momentum=0.9),
    "adam": lambda lib, p: lib.optim.Adam(p, lr=0.01),
    "adamw": lambda lib, p: lib.optim.AdamW(p, lr=0.01),
    "rmsprop": lambda lib, p: lib.optim.RMSprop(p, lr=0.01, momentum=0.5),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_editing_param_groups_mid_run_follows_pytorch(name):
    ours, our_weight = trajectory(lf, OPTIMIZERS[name])
    theirs, their_weight = trajectory(torch, OPTIMIZERS[name])
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(our_weight, their_weight, rtol=1e-10, atol=1e-12)
    unsteered = trajectory(lf, OPTIMIZERS[name], edits={})[0]
    np.testing.assert_array_equal(ours[:9], unsteered[:9])
    assert not np.allclose(ours[9:], unsteered[9:]), "the edits changed the run from the next step on"
