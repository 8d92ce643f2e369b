"""A Trainer built with ``defer=True`` checks everything it can at once and builds the data's arrays and
the model in ``run()``'s thread (the window's Train answers at once at MNIST's size); it trains exactly
as one built eagerly, and a failure while preparing is reported as the run's failure."""
import threading

import numpy as np
import pytest

from layerforge.data import Normalization
from layerforge.data.dataset import DataError
from layerforge.training import RunFailed, RunStarted, Trainer, TrainingError
from layerforge.training.problem import Problem


def test_a_deferred_trainer_knows_the_run_at_once_and_builds_the_arrays_when_it_runs(spiral, template_run):
    spec, settings = template_run("mlp_classifier", spiral, epochs=2)
    deferred = Trainer(spec, spiral, settings, defer=True)
    assert not deferred.prepared and deferred.model is None and deferred.problem.train is None
    eager = Trainer(spec, spiral, settings)
    assert eager.prepared and len(eager.problem.train) == 240
    # What a window shows when Train is pressed is known before anything is built.
    assert deferred.problem.sizes == (240, 60, 0) and deferred.problem.task == "classification"
    assert (deferred.steps_per_epoch, deferred.total_epochs) == (eager.steps_per_epoch, eager.total_epochs)

    built_in = []
    original = Problem.prepare
    events = []

    def spy(problem):
        built_in.append(threading.current_thread())
        original(problem)
    Problem.prepare = spy
    try:
        deferred.listener = events.append
        worker = threading.Thread(target=deferred.run)
        worker.start()
        worker.join(60)
    finally:
        Problem.prepare = original
    assert built_in == [worker], "the arrays are built in the run's thread"
    assert isinstance(events[0], RunStarted) and events[0].n_train == 240
    eager.run()
    for (name, a), b in zip(eager.state_dict().items(), deferred.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


def test_a_failure_while_preparing_ends_the_run_with_the_reason(spiral, template_run, monkeypatch):
    spec, settings = template_run("mlp_classifier", spiral, epochs=2)
    trainer = Trainer(spec, spiral, settings, defer=True)

    def refuse(*args, **kwargs):
        raise DataError("feature 2 of dataset 'spiral' is not finite")
    monkeypatch.setattr(Normalization, "fit", refuse)
    events = []
    trainer.listener = events.append
    result = trainer.run()
    assert result.status == "failed" and result.epochs_run == 0
    assert result.reason == "cannot standardise the data: feature 2 of dataset 'spiral' is not finite"
    assert [type(e) for e in events] == [RunFailed] and events[0].reason == result.reason
    assert trainer.step == 0 and not trainer.prepared


def test_an_eager_trainer_still_refuses_in_its_constructor(spiral, template_run, monkeypatch):
    spec, settings = template_run("mlp_classifier", spiral, epochs=1)
    monkeypatch.setattr(Normalization, "fit", lambda *a, **k: (_ for _ in ()).throw(DataError("bad")))
    with pytest.raises(TrainingError, match="cannot standardise the data: bad"):
        Trainer(spec, spiral, settings)


def test_a_run_gives_back_the_engines_step_to_step_buffers_when_it_ends(spiral):
    """Large activations reuse pooled CPU buffers from step to step; once the run is over the pool is
    emptied (engine.cpu.empty_cache), so an idle window does not keep them."""
    from layerforge.engine.ops.buffer_pool import workspace
    from layerforge.training import TrainingSettings
    from spec_cases import chain

    spec = chain(("Input", {"shape": (2,)}), ("Linear", {"out_features": 2048}), ("ReLU", {}),
                 ("Linear", {"out_features": 3}))
    settings = TrainingSettings(epochs=1, batch_size=64, device="cpu", snapshot_every=0)
    seen = []

    class Watch(Trainer):
        def _train_epoch(self, epoch):
            result = super()._train_epoch(epoch)
            seen.append(workspace._bytes)   # held between steps while training
            return result
    Watch(spec, spiral, settings).run()
    assert seen and seen[0] > 0, "a 64 x 2048 ReLU output (512 KiB) is pooled during the run"
    assert workspace._bytes == 0 and not any(workspace._free.values())
