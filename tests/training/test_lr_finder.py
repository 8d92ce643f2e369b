"""The learning-rate finder: an exponential sweep on a copy of the model, stopped on request or when
the loss blows up, and a suggestion that trains the spiral example well."""
import math
import threading

import numpy as np
import pytest

from layerforge.data import load_dataset
from layerforge.graph import ModelSpec
from layerforge.training import Trainer, TrainingError
from layerforge.training.examples import EXAMPLES, build_example
from layerforge.training.lr_finder import FinderProgress, LrFinder, suggest


@pytest.fixture(scope="module")
def spiral_example():
    """(spec, dataset, settings) of the shipped spiral example, on the CPU, without snapshots."""
    project = build_example(next(e for e in EXAMPLES if e.name == "spiral"))
    return project.spec, load_dataset("spiral"), project.settings.replace(device="cpu", snapshot_every=0)


def _weights(state):
    return {key: value.detach().cpu().numpy().copy() for key, value in state.items()}


def test_the_sweep_is_exponential_from_start_to_end_and_reported_step_by_step(spiral_example):
    spec, data, settings = spiral_example
    seen = []
    result = LrFinder(spec, data, settings, steps=30, start_lr=1e-6, end_lr=1e-2).run(seen.append)
    lrs = np.array(result.lrs)
    assert len(lrs) == 30 and not result.stopped     # a gentle range: nothing blows up
    assert lrs[0] == pytest.approx(1e-6) and lrs[-1] == pytest.approx(1e-2)
    assert np.all(np.diff(lrs) > 0)
    assert np.allclose(lrs[1:] / lrs[:-1], (1e-2 / 1e-6) ** (1 / 29))   # equal ratios: even steps on a log axis
    assert [p.step for p in seen] == list(range(1, 31)) and {p.steps for p in seen} == {30}
    assert [p.lr for p in seen] == result.lrs and [p.loss for p in seen] == result.losses
    assert [p.smoothed for p in seen] == result.smoothed
    assert isinstance(seen[0], FinderProgress)
    # The smoothed loss is the bias-corrected moving average: it starts at the first loss.
    assert result.smoothed[0] == pytest.approx(result.losses[0])


def test_the_sweep_ends_once_the_loss_blows_up(spiral_example):
    spec, data, settings = spiral_example
    result = LrFinder(spec, data, settings, steps=100, start_lr=1e-3, end_lr=1e4).run()
    assert 5 < len(result.lrs) < 100 and not result.stopped
    smoothed = result.smoothed
    assert smoothed[-1] > 4 * min(smoothed) or not math.isfinite(result.losses[-1])
    assert all(s <= 4 * min(smoothed[:i + 1]) for i, s in enumerate(smoothed[:-1]))   # not a step earlier
    assert "blows up" in result.why or "became" in result.why


def test_the_real_weights_are_untouched_and_the_sweep_starts_from_them(spiral_example):
    spec, data, settings = spiral_example
    trainer = Trainer(spec, data, settings.replace(epochs=15, learning_rate=0.05))
    assert trainer.run().ok
    trained = trainer.state_dict()
    before = _weights(trained)
    from_trained = LrFinder(spec, data, settings, initial_state=trained, steps=20, end_lr=1e-4).run()
    after = _weights(trained)
    assert before.keys() == after.keys() and all(np.array_equal(before[k], after[k]) for k in before)
    fresh = LrFinder(spec, data, settings, steps=20, end_lr=1e-4).run()
    # At rates too small to change anything, the trained weights' loss stays well under a fresh model's.
    assert np.mean(from_trained.losses) < 0.6 * np.mean(fresh.losses)


def test_weights_that_do_not_fit_the_model_are_refused(spiral_example):
    spec, data, settings = spiral_example
    with pytest.raises(TrainingError, match="do not fit the model"):
        LrFinder(spec, data, settings, initial_state={"nothing.weight": np.zeros(3)})


def test_stop_from_another_thread_keeps_what_was_swept(spiral_example):
    spec, data, settings = spiral_example
    finder = LrFinder(spec, data, settings, steps=100)
    reached, stop_called = threading.Event(), threading.Event()

    def listener(progress):
        if progress.step == 12:
            reached.set()
            stop_called.wait(10)

    outcome = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("result", finder.run(listener)))
    thread.start()
    assert reached.wait(30)
    finder.stop()
    stop_called.set()
    thread.join(30)
    result = outcome["result"]
    assert result.stopped and len(result.lrs) == len(result.losses) == len(result.smoothed) == 12
    assert result.lrs == pytest.approx(list(np.geomspace(1e-7, 10.0, 100)[:12]))


def test_the_same_inputs_give_the_same_sweep(spiral_example):
    spec, data, settings = spiral_example
    first = LrFinder(spec, data, settings, steps=40).run()
    second = LrFinder(spec, data, settings, steps=40).run()
    assert first.losses == second.losses and first.suggestion == second.suggestion and first.why == second.why
    other_seed = LrFinder(spec, data, settings.replace(seed=1), steps=40).run()
    assert other_seed.losses != first.losses


def test_too_little_data_is_refused_with_the_reason(spiral_example):
    spec, data, settings = spiral_example
    with pytest.raises(TrainingError, match=r"too little data for a learning-rate sweep: dataset 'spiral' has only "
                                            r"6 samples, and the sweep needs at least 8"):
        LrFinder(spec, data.subset(np.arange(6)), settings)
    # 9 samples, but the validation split takes 2 of them.
    with pytest.raises(TrainingError, match=r"leaves only 7 samples of its 9 to train on .*smaller validation"):
        LrFinder(spec, data.subset(np.arange(9)), settings)
    # A training split smaller than one batch is fine: the same batch repeats.
    result = LrFinder(spec, data.subset(np.arange(12)), settings.replace(val_fraction=0.1), steps=10).run()
    assert len(result.lrs) == 10


def test_an_invalid_model_or_sweep_is_refused(spiral_example):
    _, data, settings = spiral_example
    spec = ModelSpec()
    spec.add_node("Input", {"shape": (2,)})
    spec.add_node("Linear", {"out_features": 3}, name="fc1")
    with pytest.raises(TrainingError, match="the model is not valid: Linear 'fc1' has no input"):
        LrFinder(spec, data, settings)
    good_spec = spiral_example[0]
    with pytest.raises(TrainingError, match="from a smaller positive learning rate to a larger one"):
        LrFinder(good_spec, data, settings, start_lr=1.0, end_lr=0.1)
    with pytest.raises(TrainingError, match="at least 5 steps"):
        LrFinder(good_spec, data, settings, steps=2)


def test_the_suggestion_is_the_steepest_fall_before_the_minimum():
    lrs = np.geomspace(1e-5, 1.0, 51)
    # A loss flat at 2, falling steepest around 1e-2 (the logistic's midpoint), lowest near 1e-1, then rising.
    position = np.log10(lrs)
    smoothed = 2 - 1.5 / (1 + np.exp(-6 * (position + 2))) + 3 * np.maximum(position + 1, 0) ** 2
    suggestion, why = suggest(lrs, smoothed)
    assert suggestion == pytest.approx(1e-2, rel=0.3)
    assert why.startswith(f"steepest fall of the loss, at {suggestion:.2g}, before its lowest point at")
    rising = np.linspace(1.0, 3.0, 30)
    assert suggest(np.geomspace(1e-5, 1.0, 30), rising)[0] is None
    assert "never fell" in suggest(np.geomspace(1e-5, 1.0, 30), rising)[1]
    assert suggest(lrs[:4], smoothed[:4])[0] is None


def test_a_flat_curve_gives_no_suggestion_and_a_shallow_one_a_weak_hint():
    lrs = np.geomspace(1e-7, 10.0, 100)
    rng = np.random.default_rng(0)
    # Noise about a level loss: its early wobbles must not pass for a fall.
    flat = 1.39 + 0.001 * rng.standard_normal(100)
    suggestion, why = suggest(lrs, flat, "it blows up at 10")
    assert suggestion is None and "hardly changed" in why and "before it blows up at 10" in why
    # A real fall of half a percent: a suggestion, with the warning that it is a weak one.
    shallow = 1.39 - 0.007 / (1 + np.exp(-4 * (np.log10(lrs) + 2)))
    suggestion, why = suggest(lrs, shallow)
    assert suggestion == pytest.approx(1e-2, rel=0.3) and why.endswith("so take this as a weak hint")
    assert "fell by only 0.5%" in why


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_suggestion_trains_the_spiral_example_well(spiral_example, seed):
    spec, data, settings = spiral_example
    settings = settings.replace(seed=seed)
    result = LrFinder(spec, data, settings).run()
    assert len(result.lrs) >= 80          # most of the way up the sweep before the loss blows up
    assert 1e-4 <= result.suggestion <= 1.0
    assert result.why.startswith(f"steepest fall of the loss, at {result.suggestion:.2g}, before")

    def val_loss_after_a_short_run(lr):
        run = Trainer(spec, data, settings.replace(epochs=40, learning_rate=lr)).run()
        assert run.ok
        return run.final["val"]["loss"]

    guessing = math.log(3)    # the loss of a model that spreads its bets evenly over the three arms
    at_suggestion = val_loss_after_a_short_run(result.suggestion)
    assert at_suggestion < 0.5 * guessing
    # Far below or above the suggestion, the same short run learns much less.
    assert val_loss_after_a_short_run(result.suggestion / 100) > 2 * at_suggestion
    assert val_loss_after_a_short_run(result.suggestion * 100) > 2 * at_suggestion
