"""Steering a Trainer while it trains (issue #15): live settings take effect at the next batch and are
recorded; a run continues exactly where it stopped (weights, optimizer state, schedule, counts, curves)."""
import numpy as np
import pytest

from layerforge.training import BatchEnd, EpochEnd, SettingsApplied, Trainer, TrainingError
from layerforge.training.steering import ResumeState, change_text, setting_changes


class Steer:
    """A listener that changes the settings once, when batch ``at`` has ended."""

    def __init__(self, at: int, **changes):
        self.at, self.changes, self.trainer, self.events = at, changes, None, []

    def __call__(self, event):
        self.events.append(event)
        if isinstance(event, BatchEnd) and event.step == self.at and self.changes:
            self.trainer.change_settings(self.trainer.settings.replace(**self.changes))

    def of(self, kind):
        return [e for e in self.events if isinstance(e, kind)]


def run_steered(spec, dataset, settings, at, **changes):
    steer = Steer(at, **changes)
    trainer = Trainer(spec, dataset, settings, steer)
    steer.trainer = trainer
    return trainer, trainer.run(), steer


def test_a_learning_rate_changed_mid_run_reaches_the_optimizer_at_the_next_batch_and_is_recorded(spiral, template_run):
    spec, settings = template_run("mlp_classifier", spiral, epochs=2, learning_rate=0.01, optimizer="sgd",
                                  optimizer_params={"momentum": 0.9})
    trainer, result, steer = run_steered(spec, spiral, settings, 5, learning_rate=0.003,
                                         optimizer_params={"momentum": 0.5})
    assert result.ok
    lrs = [e.lr for e in steer.of(BatchEnd)]
    assert lrs[:5] == [0.01] * 5 and set(lrs[5:]) == {0.003}, "from batch 6 on, at once"
    group = trainer.optimizer.param_groups[0]
    assert group["lr"] == 0.003 and group["momentum"] == 0.5
    applied = steer.of(SettingsApplied)
    assert len(applied) == 1 and applied[0].step == 5
    assert applied[0].text == "lr 0.01 -> 0.003, momentum 0.9 -> 0.5"
    assert applied[0].x == pytest.approx(5 / trainer.steps_per_epoch)
    assert trainer.changes == applied


def test_the_epochs_move_the_end_and_a_batch_size_starts_with_the_next_epoch(spiral, template_run):
    spec, settings = template_run("mlp_classifier", spiral, epochs=2, batch_size=32)
    trainer, result, steer = run_steered(spec, spiral, settings, 3, epochs=4, batch_size=64)
    assert result.epochs_run == 4 and [e.total_epochs for e in steer.of(EpochEnd)][-1] == 4
    per_epoch = {}
    for event in steer.of(BatchEnd):
        per_epoch[event.epoch] = per_epoch.get(event.epoch, 0) + 1
    n_train = len(trainer.problem.train)
    assert per_epoch[1] == -(-n_train // 32) and per_epoch[2] == -(-n_train // 64)
    xs = [e.x for e in steer.of(BatchEnd)]
    assert xs == sorted(xs) and xs[-1] == pytest.approx(4.0), "the epoch axis stays true across the change"
    applied = steer.of(SettingsApplied)
    assert [a.text for a in applied] == ["epochs 2 -> 4", "batch size 32 -> 64"]
    assert applied[1].x == 1.0 and applied[1].epoch == 2, "marked where it took effect: the next epoch's start"


def test_a_new_schedule_starts_from_the_learning_rate_setting_and_other_changes_are_refused(spiral, template_run):
    spec, settings = template_run("mlp_classifier", spiral, epochs=3, learning_rate=0.02)
    trainer, result, steer = run_steered(spec, spiral, settings, 2,
                                         schedule={"type": "step", "step_size": 1, "gamma": 0.5})
    epoch_lrs = [e.lr for e in steer.of(EpochEnd)]
    assert epoch_lrs == pytest.approx([0.02, 0.01, 0.005])
    with pytest.raises(TrainingError, match="seed cannot change while the model trains"):
        trainer.change_settings(trainer.settings.replace(seed=7))


def test_setting_changes_name_each_value():
    from layerforge.training import TrainingSettings
    old = TrainingSettings(optimizer="adam", learning_rate=0.01)
    new = old.replace(learning_rate=0.001, optimizer_params={**old.optimizer_params, "beta1": 0.8}, epochs=80)
    changes = setting_changes(old, new)
    assert ("learning_rate", 0.01, 0.001) in changes and ("beta1", 0.9, 0.8) in changes
    assert change_text([("learning_rate", 0.01, 0.001)]) == "lr 0.01 -> 0.001"


def test_continuing_carries_on_exactly_where_the_run_stopped(spiral, template_run):
    """Stopped after 3 epochs and continued for 2 more is the same run as 5 epochs straight."""
    spec, settings = template_run("mlp_classifier", spiral, epochs=5, learning_rate=0.01, optimizer="adam",
                                  keep_best=False, schedule={"type": "step", "step_size": 2, "gamma": 0.5})
    straight = Trainer(spec, spiral, settings)
    straight.run()

    first = Trainer(spec, spiral, settings.replace(epochs=3))
    first.run()
    resume = first.resume_state
    assert resume.epoch == 3 and resume.step == first.step and resume.scheduler is not None
    # Through a project's files: named arrays and JSON, no pickle.
    tensors, data = resume.pack()
    assert all(isinstance(v, np.ndarray) for v in tensors.values())
    import json
    restored = ResumeState.unpack(tensors, json.loads(json.dumps(data)), resume.history)
    second = Trainer(spec, spiral, settings, resume=restored)
    assert second.total_epochs == 5
    second.run()
    assert second.step == straight.step and second.history["epoch"] == [1, 2, 3, 4, 5]
    assert len(second.history["step_loss"]) == len(straight.history["step_loss"])
    for key, value in straight.state_dict().items():
        np.testing.assert_allclose(second.state_dict()[key].numpy(), value.numpy(), rtol=1e-5, atol=1e-6)
    moments = straight.optimizer.state_dict()["state"], second.optimizer.state_dict()["state"]
    for index, state in moments[0].items():
        np.testing.assert_allclose(moments[1][index]["exp_avg_sq"].numpy(), state["exp_avg_sq"].numpy(),
                                   rtol=1e-5, atol=1e-9)
    assert second.optimizer.param_groups[0]["lr"] == straight.optimizer.param_groups[0]["lr"]


def test_a_finished_run_continues_for_as_many_epochs_again(spiral, template_run):
    spec, settings = template_run("mlp_classifier", spiral, epochs=2)
    first = Trainer(spec, spiral, settings)
    first.run()
    second = Trainer(spec, spiral, settings, resume=first.resume_state)
    assert second.total_epochs == 4
    result = second.run()
    assert result.ok and second.history["epoch"] == [1, 2, 3, 4]


def test_a_mismatched_optimizer_state_is_refused_with_advice(spiral, template_run):
    spec, settings = template_run("mlp_classifier", spiral, epochs=1)
    first = Trainer(spec, spiral, settings)
    first.run()
    resume = first.resume_state
    broken = ResumeState(resume.weights, {"state": {}, "param_groups": []}, None, None, 1, first.step)
    with pytest.raises(TrainingError, match="restart instead"):
        Trainer(spec, spiral, settings, resume=broken)
