"""Running a Trainer: events, pause/resume/stop from another thread, divergence, determinism, errors."""
import math
import threading
import time

import numpy as np
import pytest

from layerforge import engine
from layerforge.data import ArrayDataset
from layerforge.graph import ModelSpec
from layerforge.training import (BatchEnd, EpochEnd, PredictionSnapshot, RunFailed, RunFinished, RunStarted,
                                 RunStopped, Trainer, TrainingError, TrainingSettings)
from spec_cases import chain


class Recorder:
    """A listener that keeps every event and wakes waiters when a batch ends."""

    def __init__(self):
        self.events = []
        self.batch = threading.Event()

    def __call__(self, event):
        self.events.append(event)
        if isinstance(event, BatchEnd):
            self.batch.set()

    def of(self, kind):
        return [e for e in self.events if isinstance(e, kind)]


def _weights(state):
    return {key: value.numpy().copy() for key, value in state.items()}


def test_events_arrive_in_order_with_metrics_confusion_and_snapshots(spiral, template_run):
    spec, settings = template_run("mlp_classifier", spiral, epochs=3, snapshot_every=2)
    recorder = Recorder()
    result = Trainer(spec, spiral, settings, recorder).run()
    kinds = [type(e).__name__ for e in recorder.events]
    assert kinds[0] == "RunStarted" and kinds[-1] == "RunFinished"
    started = recorder.events[0]
    assert (started.n_train, started.n_val, started.device) == (240, 60, "cpu")
    assert started.steps_per_epoch == math.ceil(240 / settings.batch_size)
    batches = recorder.of(BatchEnd)
    assert [b.step for b in batches] == list(range(1, 3 * started.steps_per_epoch + 1))
    epochs = recorder.of(EpochEnd)
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert set(epochs[0].train) == set(epochs[0].val) == {"loss", "accuracy"}
    assert epochs[-1].confusion.shape == (3, 3) and epochs[-1].confusion.sum() == 60
    assert np.trace(epochs[-1].confusion) / 60 == pytest.approx(epochs[-1].val["accuracy"])
    assert epochs[-1].eta_s == 0 and epochs[0].eta_s >= 0
    assert [s.epoch for s in recorder.of(PredictionSnapshot)] == [0, 2, 3]   # before training, every 2nd, last
    finished = recorder.of(RunFinished)[0]
    assert finished.reason == "completed" and finished.epochs_run == 3 and set(finished.final) == {"train", "val"}
    assert result.history["train_loss"] == [e.train["loss"] for e in epochs]
    assert len(result.history["step_loss"]) == len(batches)


def test_boundary_snapshot_covers_the_data_with_a_class_grid(spiral, template_run):
    spec, settings = template_run("mlp_classifier", spiral, epochs=1)
    recorder = Recorder()
    Trainer(spec, spiral, settings, recorder).run()
    snapshot = recorder.of(PredictionSnapshot)[-1]
    assert snapshot.kind == "boundary2d"
    data = snapshot.data
    assert data["xx"].shape == data["yy"].shape == data["grid"].shape == data["confidence"].shape
    assert data["probs"].shape == data["xx"].shape + (3,)
    assert np.allclose(data["probs"].sum(axis=-1), 1.0, atol=1e-5)
    assert data["xx"].min() < spiral.x[:, 0].min() and data["yy"].max() > spiral.x[:, 1].max()  # raw units
    assert data["x"].shape == (240, 2) and data["labels"].shape == data["pred"].shape == (240,)
    assert list(data["class_names"]) == spiral.class_names


def test_curve_and_image_snapshots(sine, digits, template_run):
    recorder = Recorder()
    spec, settings = template_run("mlp_regressor", sine, epochs=1)
    Trainer(spec, sine, settings, recorder).run()
    curve = recorder.of(PredictionSnapshot)[-1]
    assert curve.kind == "curve1d" and curve.data["x_grid"].shape == curve.data["y_pred"].shape
    assert curve.data["x_data"].shape == curve.data["y_data"].shape == (160,)
    recorder = Recorder()
    spec, settings = template_run("lenet", digits, epochs=1)
    Trainer(spec, digits, settings, recorder).run()
    images = recorder.of(PredictionSnapshot)[-1]
    assert images.kind == "images" and images.data["images"].shape == (16, 8, 8)
    assert images.data["true"].shape == images.data["pred"].shape == (16,)
    first = recorder.of(PredictionSnapshot)[0]
    assert np.array_equal(first.data["images"], images.data["images"])   # the same sample every time


def test_sequence_table_and_reconstruction_snapshots(digits, template_run):
    from layerforge.data import load_dataset

    waves = load_dataset("waveforms", n_samples=100)
    iris = load_dataset("iris")
    cases = [("lstm_classifier", waves, "sequence", "sequences", (8, 32, 1)),
             ("mlp_classifier", iris, "table", "x", (16, 4)),
             ("autoencoder", digits, "reconstruction", "images", (16, 8, 8))]
    for key, dataset, kind, field, shape in cases:
        spec, settings = template_run(key, dataset, epochs=1)
        recorder = Recorder()
        Trainer(spec, dataset, settings, recorder).run()
        snapshot = recorder.of(PredictionSnapshot)[-1]
        assert snapshot.kind == kind and snapshot.data[field].shape == shape
        if kind == "reconstruction":
            assert snapshot.data["reconstructions"].shape == shape
        else:
            assert snapshot.data["pred"].shape == snapshot.data["true"].shape == shape[:1]


def test_a_test_split_is_held_out_and_scored_at_the_end(spiral, template_run):
    spec, settings = template_run("mlp_classifier", spiral, epochs=2, val_fraction=0.2, test_fraction=0.2)
    recorder = Recorder()
    result = Trainer(spec, spiral, settings, recorder).run()
    started = recorder.of(RunStarted)[0]
    assert (started.n_train, started.n_val, started.n_test) == (180, 60, 60)
    assert set(result.final) == {"train", "val", "test"} and "accuracy" in result.final["test"]


def test_pause_resume_and_stop_act_within_one_batch_from_another_thread(spiral, template_run):
    spec, settings = template_run("mlp_classifier", spiral, epochs=50, batch_size=1, snapshot_every=0)
    recorder = Recorder()
    trainer = Trainer(spec, spiral, settings, recorder)
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(result=trainer.run()))
    worker.start()
    try:
        assert recorder.batch.wait(10)
        trainer.pause()
        paused_at = len(recorder.of(BatchEnd))
        time.sleep(0.3)
        assert trainer.paused
        assert len(recorder.of(BatchEnd)) <= paused_at + 1   # the batch in flight may finish, no more
        held = len(recorder.of(BatchEnd))
        time.sleep(0.2)
        assert len(recorder.of(BatchEnd)) == held
        recorder.batch.clear()
        trainer.resume()
        assert recorder.batch.wait(10)                       # training goes on
        trainer.stop()
        stopped_at = len(recorder.of(BatchEnd))
    finally:
        trainer.stop()
        worker.join(30)
    assert not worker.is_alive()
    assert len(recorder.of(BatchEnd)) <= stopped_at + 1
    assert isinstance(recorder.events[-1], RunStopped)
    assert recorder.events[-1].step == len(recorder.of(BatchEnd))
    assert outcome["result"].status == "stopped"


def test_predict_from_another_thread_during_training_is_consistent(spiral, template_run):
    spec, settings = template_run("mlp_classifier", spiral, epochs=30, snapshot_every=0)
    trainer = Trainer(spec, spiral, settings)
    worker = threading.Thread(target=trainer.run)
    worker.start()
    predictions = []
    while worker.is_alive():
        predictions.append(trainer.predict(spiral.x[:50]))
    worker.join()
    assert predictions and all(p.shape == (50, 3) and np.isfinite(p).all() for p in predictions)
    final = trainer.predict(spiral.x[:50])
    trainer.model.eval()
    x = trainer.problem.model_inputs(spiral.x[:50])
    with engine.no_grad():
        direct = trainer.model(engine.from_numpy(x)).numpy()
    assert np.array_equal(final, direct)


def test_a_diverging_run_fails_with_a_reason_and_keeps_the_last_good_weights(sine, template_run, recwarn):
    spec, settings = template_run("mlp_regressor", sine, optimizer="sgd", learning_rate=1e6, epochs=20,
                                  snapshot_every=0)
    recorder = Recorder()
    trainer = Trainer(spec, sine, settings, recorder)
    good = {0: _weights(trainer.state_dict())}
    recorder_call = recorder.__call__

    def listener(event):
        recorder_call(event)
        if isinstance(event, EpochEnd):
            good[event.epoch] = _weights(trainer.state_dict())

    trainer.listener = listener
    result = trainer.run()
    failure = recorder.events[-1]
    assert isinstance(failure, RunFailed) and result.status == "failed"
    assert failure.kind == "diverged"   # the window's advice (a smaller learning rate) depends on it
    assert "learning rate 1e+06 is probably too high" in failure.reason
    assert f"at epoch {failure.epoch}, step {failure.step}" in failure.reason
    assert "restored" in failure.reason
    restored = _weights(trainer.state_dict())
    expected = good[max(good)]
    assert all(np.array_equal(restored[k], expected[k]) for k in expected)
    assert all(np.isfinite(v).all() for v in restored.values())
    # the run's own reason only: numpy's overflow warnings (a kernel's source line) stay off
    assert not [str(w.message) for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_a_loss_that_explodes_but_stays_finite_is_reported_as_diverging(spiral, template_run):
    # Tanh saturates, so at a huge learning rate the spiral's cross-entropy grows enormous without ever
    # becoming nan; the run must still stop and say why instead of "finishing" with a useless model.
    spec, settings = template_run("mlp_classifier", spiral, learning_rate=1e6, epochs=10, snapshot_every=0)
    recorder = Recorder()
    result = Trainer(spec, spiral, settings, recorder).run()
    failure = recorder.events[-1]
    assert isinstance(failure, RunFailed) and result.status == "failed"
    assert "times the untrained model's" in failure.reason
    assert "learning rate 1e+06 is probably too high" in failure.reason


def test_same_seed_same_settings_give_bit_identical_runs(spiral, template_run):
    spec, settings = template_run("mlp_classifier", spiral, epochs=3, snapshot_every=0)
    spec.insert_before(spec.node_by_name("fc2").id, "Dropout", {"p": 0.2})   # random during training too
    runs = [Trainer(spec, spiral, settings) for _ in range(2)]
    results = [trainer.run() for trainer in runs]
    assert results[0].history["step_loss"] == results[1].history["step_loss"]
    first, second = (_weights(trainer.state_dict()) for trainer in runs)
    assert all(np.array_equal(first[k], second[k]) for k in first)
    other = Trainer(spec, spiral, settings.replace(seed=1)).run()
    assert other.history["step_loss"] != results[0].history["step_loss"]


def test_early_stopping_and_keep_best_restore_the_best_epoch(spiral, template_run):
    spec, settings = template_run("mlp_classifier", spiral, epochs=200, learning_rate=0.05,
                                  early_stopping_patience=3, snapshot_every=0)
    recorder = Recorder()
    trainer = Trainer(spec, spiral, settings, recorder)
    best = {}

    def listener(event):
        recorder(event)
        if isinstance(event, EpochEnd) and event.best_epoch == event.epoch:
            best["weights"] = _weights(trainer.state_dict())

    trainer.listener = listener
    result = trainer.run()
    finished = recorder.of(RunFinished)[0]
    assert result.status == finished.reason == "early_stopping"
    assert finished.epochs_run < 200 and finished.epochs_run - finished.best_epoch == 3
    val_losses = result.history["val_loss"]
    assert finished.best_epoch == int(np.argmin(val_losses)) + 1
    kept = _weights(trainer.state_dict())
    assert all(np.array_equal(kept[k], best["weights"][k]) for k in kept)
    assert result.final["val"]["loss"] == pytest.approx(min(val_losses), rel=1e-5)


def test_invalid_graph_is_refused_before_training_with_the_graph_message(spiral):
    spec = ModelSpec()
    spec.add_node("Input", {"shape": (2,)})
    fc = spec.add_node("Linear", {"out_features": 3}, name="fc1")
    with pytest.raises(TrainingError, match="the model is not valid: Linear 'fc1' has no input"):
        Trainer(spec, spiral, TrainingSettings(device="cpu"))
    assert fc.name == "fc1"


def test_output_width_that_does_not_match_the_classes_names_both(spiral, template_run):
    spec, settings = template_run("mlp_classifier", spiral)
    spec.set_param(spec.node_by_name("fc3").id, "out_features", 5)
    with pytest.raises(TrainingError) as caught:
        Trainer(spec, spiral, settings)
    message = str(caught.value)
    assert "Linear 'fc3'" in message and "(5,)" in message and "3 classes" in message


def test_input_shape_mismatch_and_unsuitable_loss_are_explained(spiral, template_run):
    from layerforge.data import load_dataset

    spec, settings = template_run("mlp_classifier", spiral)
    with pytest.raises(TrainingError, match=r"Input 'input1' has shape \(2,\) but dataset 'iris' gives samples "
                                            r"of shape \(4,\): set the Input's shape to \(4,\)"):
        Trainer(spec, load_dataset("iris"), settings)
    with pytest.raises(TrainingError, match="the loss 'mse' .* does not suit classification.*cross_entropy"):
        Trainer(spec, spiral, settings.replace(loss="mse"))


def test_asking_for_cuda_without_a_gpu_says_why(spiral, template_run):
    if engine.cuda.is_available():
        pytest.skip("this machine has a usable GPU")
    spec, settings = template_run("mlp_classifier", spiral, device="cuda")
    with pytest.raises(TrainingError) as caught:
        Trainer(spec, spiral, settings)
    assert engine.cuda.unavailable_reason() in str(caught.value)


def test_auto_device_picks_the_cpu_for_a_small_model_and_says_why(spiral, template_run):
    spec, settings = template_run("mlp_classifier", spiral, device="auto", epochs=1)
    recorder = Recorder()
    Trainer(spec, spiral, settings, recorder).run()
    started = recorder.of(RunStarted)[0]
    assert started.device == "cpu" and "small" in started.device_reason


def test_a_trainer_runs_once(spiral, template_run):
    spec, settings = template_run("mlp_classifier", spiral, epochs=1)
    trainer = Trainer(spec, spiral, settings)
    trainer.run()
    with pytest.raises(TrainingError, match="already run"):
        trainer.run()


def test_binary_cross_entropy_with_one_logit_trains_a_two_class_problem(template_run):
    from layerforge.data import load_dataset

    moons = load_dataset("moons")
    spec, settings = template_run("mlp_classifier", moons, loss="bce_with_logits", epochs=60, snapshot_every=0)
    spec.set_param(spec.node_by_name("fc3").id, "out_features", 1)
    result = Trainer(spec, moons, settings).run()
    assert result.final["val"]["accuracy"] >= 0.9


def test_tiny_datasets_without_validation_monitor_the_training_loss(template_run):
    x = np.array([[0.0], [1.0], [2.0], [3.0]], dtype=np.float32)
    tiny = ArrayDataset("tiny", "regression", x, 2 * x)
    spec, settings = template_run("mlp_regressor", tiny, val_fraction=0.0, epochs=5, early_stopping_patience=2)
    recorder = Recorder()
    result = Trainer(spec, tiny, settings, recorder).run()
    assert result.ok and all(e.val == {} for e in recorder.of(EpochEnd))
    assert set(result.final) == {"train"}


def test_token_inputs_reach_an_embedding_as_integers_unscaled():
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 10, size=(300, 5))
    labels = (tokens == 3).any(axis=1).astype(np.int64)      # does token 3 occur?
    dataset = ArrayDataset("tokens", "classification", tokens.astype(np.float32), labels, class_names=["no", "yes"])
    spec = chain(("Input", {"shape": (5,), "dtype": "int64"}),
                 ("Embedding", {"num_embeddings": 10, "embedding_dim": 4}), ("Flatten", {}),
                 ("Linear", {"out_features": 16}), ("ReLU", {}), ("Linear", {"out_features": 2}))
    settings = TrainingSettings(epochs=40, learning_rate=0.02, device="cpu", snapshot_every=0)
    trainer = Trainer(spec, dataset, settings)
    result = trainer.run()
    assert trainer.normalization is None          # indices are never standardised
    assert result.final["val"]["accuracy"] >= 0.9
    assert trainer.predict_classes(tokens[:4].astype(np.float32))[0].tolist() == labels[:4].tolist()


def test_a_lone_last_sample_joins_the_previous_batch_so_batch_norm_can_train(digits, template_run):
    small = digits.subset(np.arange(81))   # 65 training samples: four batches of 16 and one left over
    spec, settings = template_run("residual_cnn", small, epochs=1, batch_size=16, val_fraction=0.2, snapshot_every=0)
    recorder = Recorder()
    trainer = Trainer(spec, small, settings, recorder)
    n_train = len(trainer.problem.train)
    assert n_train % 16 == 1
    result = trainer.run()
    assert result.ok and recorder.of(RunStarted)[0].steps_per_epoch == n_train // 16


def test_continuing_from_weights_that_do_not_fit_is_refused(spiral, template_run):
    spec, settings = template_run("mlp_classifier", spiral, epochs=1)
    state = Trainer(spec, spiral, settings).state_dict()
    state["fc1.weight"] = engine.zeros(4, 2)
    with pytest.raises(TrainingError, match="do not fit the model.*fc1.weight"):
        Trainer(spec, spiral, settings, initial_state=state)
