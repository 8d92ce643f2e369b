"""What a prediction snapshot carries for sequences and tables: enough for a view to draw the inputs
it predicted on and compare each prediction with the truth, and no more (it crosses threads at
every epoch)."""
from __future__ import annotations

import numpy as np

from layerforge.data import ArrayDataset, load_dataset
from layerforge.graph import get_template
from layerforge.training import PredictionSnapshot, Trainer, TrainingSettings


def snapshots(spec, dataset, settings) -> list[PredictionSnapshot]:
    got = []
    Trainer(spec, dataset, settings, lambda event: got.append(event)
            if isinstance(event, PredictionSnapshot) else None).run()
    return got


def rows_of(dataset: ArrayDataset, shown: np.ndarray) -> np.ndarray:
    """The index in ``dataset`` of each shown input (the inputs are distinct)."""
    flat = dataset.x.reshape(len(dataset), -1)
    return np.array([int(np.flatnonzero(np.all(np.isclose(flat, row, atol=1e-6), axis=1))[0])
                     for row in shown.reshape(len(shown), -1)])


def sequence_regression(n: int = 120, steps: int = 24) -> ArrayDataset:
    """Denoise: a noisy wave in, the clean wave (one value per step) out."""
    rng = np.random.default_rng(3)
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    clean = 5.0 + 3.0 * np.sin(np.linspace(0, 2 * np.pi, steps)[None, :] + phase)
    noisy = clean + rng.normal(0, 0.3, clean.shape)
    return ArrayDataset("denoise", "regression", noisy[:, :, None], clean)


def test_a_sequence_classifier_sends_a_few_input_waves_with_their_true_and_predicted_classes():
    waves = load_dataset("waveforms", n_samples=200)
    spec = get_template("lstm_classifier").spec(seq_len=32, features=1, num_classes=4)
    shots = snapshots(spec, waves, TrainingSettings(epochs=2, device="cpu"))
    last = shots[-1]
    assert last.kind == "sequence"
    sequences = last.data["sequences"]
    # A handful of whole waves (each drawn in a plot of its own), in the data's units, not standardised.
    assert 1 <= len(sequences) <= 8 and sequences.shape[1:] == (32, 1)
    rows = rows_of(waves, sequences)
    assert np.allclose(waves.x[rows], sequences, atol=1e-6)
    assert np.array_equal(last.data["true"], waves.y[rows])
    assert last.data["pred"].shape == (len(sequences),) and set(last.data["pred"]) <= {0, 1, 2, 3}
    assert list(last.data["class_names"]) == waves.class_names
    assert np.array_equal(shots[0].data["sequences"], sequences)   # the same waves at every epoch


def test_a_sequence_regression_sends_its_inputs_with_predicted_and_true_sequences_in_data_units():
    data = sequence_regression()
    spec = get_template("lstm_classifier").spec(seq_len=24, features=1, num_classes=24)   # LSTM -> Linear(24)
    shots = snapshots(spec, data, TrainingSettings(loss="mse", target="values", epochs=3, device="cpu"))
    last = shots[-1]
    assert last.kind == "sequence"
    rows = rows_of(data, last.data["sequences"])
    assert 1 <= len(rows) <= 8
    assert np.allclose(last.data["true"], data.y[rows])
    assert last.data["pred"].shape == (len(rows), 24)
    # Standardisation is undone: the predictions live around the targets' mean of 5, not around 0.
    assert abs(float(np.mean(last.data["pred"])) - 5.0) < 2.0


def test_a_table_regression_sends_predicted_and_actual_values_for_the_validation_rows():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, (300, 3))
    y = 100.0 + 2 * x[:, 0] - x[:, 1] + 0.5 * x[:, 2] ** 2
    table = ArrayDataset("houses", "regression", x, y, feature_names=["rooms", "age", "size"])
    spec = get_template("mlp_regressor").spec(in_features=3, out_features=1)
    last = snapshots(spec, table, TrainingSettings(loss="mse", epochs=5, device="cpu"))[-1]
    assert last.kind == "table"
    true, pred = last.data["true"], last.data["pred"]
    # Every validation row (60 of 300), enough for a predicted-against-actual scatter, not 16.
    assert true.shape == pred.shape == (60, 1)
    assert np.isin(true[:, 0], y.astype(np.float32)).all()
    assert np.all(np.isfinite(pred)) and float(np.median(pred)) > 50.0   # in the targets' units


def test_a_table_classifier_sends_its_rows_with_the_feature_names():
    iris = load_dataset("iris")
    spec = get_template("mlp_classifier").spec(in_features=4, num_classes=3)
    last = snapshots(spec, iris, TrainingSettings(epochs=1, device="cpu"))[-1]
    assert last.kind == "table"
    rows = rows_of(iris, last.data["x"])
    assert np.array_equal(last.data["true"], iris.y[rows])
    assert list(last.data["feature_names"]) == iris.feature_names


def test_a_table_of_classes_draws_its_boundary_over_two_features_with_the_rest_at_their_means(template_run):
    """Issue #16: the plane of the person's own data, as TensorFlow Playground draws its plane."""
    from layerforge.training.snapshots import SnapshotMaker
    iris = load_dataset("iris")
    spec, settings = template_run("mlp_classifier", iris, epochs=20)
    trainer = Trainer(spec, iris, settings)
    trainer.run()
    from layerforge.training.trainer import _forward
    maker = SnapshotMaker(trainer.problem, settings.seed)
    forward = lambda x: _forward(trainer.model.eval(), x, "cpu")  # noqa: E731  (model-ready inputs)
    assert trainer.problem.normalization is not None, "a standardised table: the plane is in data units"
    snapshot = maker.make(20, forward, view_features=[2, 3])
    data = snapshot.data
    assert snapshot.kind == "boundary2d" and list(data["axes"]) == list(iris.feature_names[2:4])
    # each point's confidence is its largest class probability, picked at its predicted class
    assert data["confidence"].dtype == np.float32
    np.testing.assert_array_equal(data["confidence"], data["probs"].max(axis=-1))
    np.testing.assert_array_equal(data["grid"], data["probs"].argmax(axis=-1))
    means = trainer.problem.train.raw.x.mean(axis=0)
    for row, column in ((0, 0), (50, 70), (99, 99)):
        probe = means.copy()
        probe[2], probe[3] = data["xx"][row, column], data["yy"][row, column]
        expected = int(np.argmax(trainer.predict(probe[None, :].astype(np.float32))[0]))
        assert data["grid"][row, column] == expected
    assert data["x"].shape[1] == 2 and np.isin(data["x"][:, 0], iris.x[:, 2]).all()
    assert maker.make(20, forward).kind == "table", "without a pair: the rows, as before"
    assert maker.make(20, forward, view_features=[2, 9]).kind == "table", "no such feature: the rows"


def test_a_small_models_boundary_grid_goes_through_it_at_once_and_a_wide_ones_in_bounded_batches(
        template_run, monkeypatch):
    """The 10,000-point grid of a 2-D boundary: one batch for the spiral's small MLP; batches that keep
    the widest layer's output under SNAPSHOT_VALUES values for a wide one. The grid's labels are what
    the model predicts for those points, whatever the batch."""
    from layerforge.training import batching, snapshots as snapshot_module
    from layerforge.training.memory import largest_output
    spiral = load_dataset("spiral")
    spec, settings = template_run("mlp_classifier", spiral, epochs=2)
    batches = []
    real = batching.device_outputs
    monkeypatch.setattr(batching, "device_outputs",
                        lambda model, x, device, batch=batching.EVAL_BATCH: batches.append((len(x), batch))
                        or real(model, x, device, batch))
    trainer = Trainer(spec, spiral, settings)
    got = []
    trainer.listener = lambda event: got.append(event) if isinstance(event, PredictionSnapshot) else None
    trainer.run()
    grid_rows = snapshot_module.GRID_SIZE ** 2
    assert (grid_rows, trainer._snapshot_rows) in batches and trainer._snapshot_rows >= grid_rows
    data = got[-1].data
    grid = np.stack([data["xx"].ravel(), data["yy"].ravel()], axis=1).astype(np.float32)
    expected = np.argmax(trainer.predict(grid), axis=1)
    assert (data["grid"].ravel() == expected).mean() > 0.999   # (rounding may tip a point on the boundary)
    report = type("Report", (), {"nodes": {"a": type("N", (), {"output_shape": (4096,)})(),
                                           "b": type("N", (), {"output_shape": (3,)})()}})()
    rows = batching.snapshot_rows(largest_output(report))
    assert rows == batching.EVAL_BATCH and rows * 4096 <= batching.SNAPSHOT_VALUES
    report.nodes["a"].output_shape = (64, 8, 8)
    assert batching.snapshot_rows(largest_output(report)) == batching.SNAPSHOT_VALUES // 4096 == batching.EVAL_BATCH
    report.nodes["a"].output_shape = (16,)
    assert batching.snapshot_rows(largest_output(report)) == batching.SNAPSHOT_VALUES // 16
