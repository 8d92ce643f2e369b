"""Training settings and the loss / optimizer / schedule registries the GUI fills its combos from."""
import json

import pytest

from layerforge import engine
from layerforge.graph import Param
from layerforge.training import (LOSSES, OPTIMIZERS, SCHEDULES, TrainingError, TrainingSettings,
                                 default_loss_for, losses_for)
from layerforge.training.build import Schedule, make_loss, make_optimizer


def test_settings_round_trip_through_json_keeps_every_field():
    settings = TrainingSettings(loss="huber", loss_params={"delta": 0.5}, optimizer="sgd",
                                optimizer_params={"momentum": 0.9, "nesterov": True}, learning_rate=0.05,
                                schedule={"type": "step", "step_size": 3, "gamma": 0.5}, epochs=7, batch_size=16,
                                device="cpu", seed=3, val_fraction=0.25, test_fraction=0.1, standardize=False,
                                early_stopping_patience=4, keep_best=False, snapshot_every=2, target="values",
                                grad_clip_norm=1.0)
    again = TrainingSettings.from_dict(json.loads(json.dumps(settings.to_dict())))
    assert again == settings
    assert again.optimizer_params == {"momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0, "nesterov": True}


def test_pytorch_names_and_betas_are_accepted():
    settings = TrainingSettings(loss="CrossEntropyLoss", optimizer="AdamW", optimizer_params={"betas": [0.8, 0.99]})
    assert (settings.loss, settings.optimizer) == ("cross_entropy", "adamw")
    assert (settings.optimizer_params["beta1"], settings.optimizer_params["beta2"]) == (0.8, 0.99)


@pytest.mark.parametrize("changes, words", [
    ({"loss": "hinge"}, ["unknown loss 'hinge'", "cross_entropy"]),
    ({"optimizer": "lbfgs"}, ["unknown optimizer", "adam"]),
    ({"optimizer": "sgd", "optimizer_params": {"momentum": 2}}, ["momentum", "out of range"]),
    ({"optimizer": "sgd", "optimizer_params": {"gamma": 1}}, ["SGD has no parameter 'gamma'", "momentum"]),
    ({"learning_rate": 0}, ["learning_rate must be > 0"]),
    ({"learning_rate": float("nan")}, ["learning_rate must be a finite number"]),
    ({"epochs": 0}, ["epochs must be >= 1"]),
    ({"batch_size": 2.5}, ["batch_size must be a whole number"]),
    ({"device": "gpu"}, ["device must be 'cpu', 'cuda', 'cuda:N' or 'auto'"]),
    ({"device": "cpu\n"}, ["device must be 'cpu', 'cuda', 'cuda:N' or 'auto'"]),   # "$" matches before "\n"
    ({"val_fraction": 0.6, "test_fraction": 0.5}, ["leaves nothing to train on"]),
    ({"schedule": {"type": "step", "step_size": 0}}, ["step_size", "out of range"]),
    ({"schedule": {"step_size": 3}}, ["must be null or an object with a 'type'"]),
    ({"target": "pixels"}, ["target must be one of"]),
])
def test_bad_settings_name_the_field_and_what_is_accepted(changes, words):
    with pytest.raises(TrainingError) as caught:
        TrainingSettings(**changes)
    for word in words:
        assert word in str(caught.value)


def test_unknown_keys_in_a_stored_settings_dict_are_refused():
    with pytest.raises(TrainingError, match="unknown training setting.*'lr'"):
        TrainingSettings.from_dict({"lr": 0.1})


def test_registries_declare_labels_tasks_and_typed_parameters():
    for table in (LOSSES, OPTIMIZERS, SCHEDULES):
        for name, choice in table.items():
            assert choice.name == name and choice.label and choice.doc
            for param in choice.params:
                assert isinstance(param, Param)
                assert param.parse(param.default) == param.default
    assert LOSSES["cross_entropy"].suits("classification") and not LOSSES["mse"].suits("classification")
    assert default_loss_for("classification") == "cross_entropy"
    assert default_loss_for("regression") == default_loss_for("reconstruction") == "mse"
    assert losses_for("regression")[0] == "mse" and "cross_entropy" not in losses_for("regression")


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_builds_and_takes_a_step(name):
    weight = engine.nn.Parameter(engine.tensor([1.0, -2.0]))
    optimizer = make_optimizer([weight], TrainingSettings(optimizer=name, learning_rate=0.1))
    (weight * weight).sum().backward()
    optimizer.step()
    assert not engine.equal(weight.detach(), engine.tensor([1.0, -2.0]))


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_every_schedule_builds_and_changes_the_rate_as_declared(name):
    weight = engine.nn.Parameter(engine.tensor([1.0]))
    settings = TrainingSettings(optimizer="sgd", learning_rate=0.1, epochs=4, schedule={"type": name})
    optimizer = make_optimizer([weight], settings)
    schedule = Schedule(optimizer, settings, steps_per_epoch=5)
    rates = []
    for _ in range(4):
        for _ in range(5):
            optimizer.step()
            schedule.after_batch()
        schedule.after_epoch(monitored_loss=1.0)
        rates.append(optimizer.param_groups[0]["lr"])
    if name in ("none", "plateau", "step", "multistep"):   # step_size 10 / patience 10 / milestones 30: flat
        assert rates == [0.1] * 4
    else:
        assert rates[-1] < 0.1


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_gives_a_finite_scalar(name):
    loss = make_loss(TrainingSettings(loss=name))
    outputs = engine.tensor([[0.2, -0.3, 0.5], [1.0, 0.1, -0.4]])
    if name in ("cross_entropy", "nll"):
        target = engine.tensor([2, 0])
        outputs = engine.log_softmax(outputs, dim=1) if name == "nll" else outputs
    else:
        target = engine.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
    value = loss(outputs, target)
    assert value.shape == () and engine.isfinite(value).item()
