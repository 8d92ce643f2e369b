"""The layers' health while a model trains: dead ReLUs, saturation, vanishing and exploding
gradients, each named with advice; histograms; how often it is measured; that it can be turned off."""
import math

import numpy as np
import pytest

from layerforge import engine
from layerforge.graph import compile_spec
from layerforge.training import BatchEnd, LayerHealth, PredictionSnapshot, Trainer, TrainingSettings
from layerforge.training.health import (HEALTH_EVERY, HISTOGRAM_BINS, PLANE_GRID, classify, histogram,
                                        unit_share)
from spec_cases import chain


def mlp(activation="ReLU", units=16, depth=2, classes=3):
    layers = [("Input", {"shape": [2]})]
    for _ in range(depth):
        layers += [("Linear", {"out_features": units}), (activation, {})]
    return chain(*layers, ("Linear", {"out_features": classes}))


def health_events(spec, dataset, settings, initial_state=None, **kwargs):
    events = []
    result = Trainer(spec, dataset, settings, events.append, initial_state=initial_state, **kwargs).run()
    return result, events


def by_name(event: LayerHealth) -> dict:
    return {report.name: report for report in event.layers.values()}


def dying_relu_run(spiral):
    """fc2's bias far below anything its inputs can reach: relu2 outputs 0 for every sample."""
    spec = mlp("ReLU")
    model = compile_spec(spec)
    state = model.state_dict()
    state["fc2.bias"] = state["fc2.bias"] - 50.0
    settings = TrainingSettings(optimizer="sgd", learning_rate=1.0, epochs=2, batch_size=32, device="cpu",
                                snapshot_every=0)
    return health_events(spec, spiral, settings, initial_state=state)


def test_a_dying_relu_layer_is_named_dead_with_advice(spiral):
    _, events = dying_relu_run(spiral)
    reports = [by_name(e) for e in events if isinstance(e, LayerHealth)]
    assert reports
    for layers in reports:
        relu2 = layers["relu2"]
        assert relu2.verdict == "dead" and relu2.severity == "warning"
        assert relu2.dead_share == 1.0
        assert "relu2" in relu2.text and "fc2" in relu2.text and "dead (100%)" in relu2.text
        assert "lower the learning rate" in relu2.text and "LeakyReLU" in relu2.text
        # Nothing reaches the layers below the dead units.
        assert layers["fc2"].verdict == "vanishing" and layers["fc2"].grad_norm == 0.0
        assert layers["relu1"].verdict == "ok"


def test_a_healthy_spiral_model_gets_no_warning(spiral, template_run):
    spec, settings = template_run("mlp_classifier", spiral, epochs=20, snapshot_every=0)
    result, events = health_events(spec, spiral, settings)
    assert result.ok
    healths = [e for e in events if isinstance(e, LayerHealth)]
    assert healths and all(not e.unhealthy for e in healths)
    last = by_name(healths[-1])
    assert {r.layer_type for r in last.values()} >= {"Linear"}
    for report in last.values():
        assert report.text == "" and report.severity == "ok"
        if report.layer_type == "Linear":
            assert report.grad_norm > 0 and 0 < report.update_ratio < 0.1 and report.weight_norm > 0


def test_reports_arrive_every_few_steps_from_the_first_to_the_last(spiral):
    settings = TrainingSettings(epochs=3, batch_size=7, device="cpu", snapshot_every=0)  # 35 steps an epoch
    _, events = health_events(mlp(), spiral, settings)
    last = max(e.step for e in events if isinstance(e, BatchEnd))
    assert last % HEALTH_EVERY != 0
    expected = [1] + list(range(HEALTH_EVERY, last + 1, HEALTH_EVERY)) + [last]
    healths = [e for e in events if isinstance(e, LayerHealth)]
    assert [e.step for e in healths] == expected
    assert all(by_name(e)["fc1"].unit_maps is not None and e.plane is not None for e in healths)
    for index, event in enumerate(events):   # each right after its own step's BatchEnd
        if isinstance(event, LayerHealth):
            assert isinstance(events[index - 1], BatchEnd) and events[index - 1].step == event.step
            assert events[index - 1].epoch == event.epoch


def test_reports_hold_histograms_of_activations_and_gradients(spiral):
    settings = TrainingSettings(epochs=1, device="cpu", snapshot_every=0)
    _, events = health_events(mlp("Tanh"), spiral, settings)
    event = next(e for e in events if isinstance(e, LayerHealth))
    assert list(by_name(event)) == ["fc1", "tanh1", "fc2", "tanh2", "fc3"]   # the model's order
    for report in event.layers.values():
        for hist in (report.activations, report.gradients):
            assert hist.counts.shape == (HISTOGRAM_BINS,) and hist.edges.shape == (HISTOGRAM_BINS + 1,)
            assert np.all(np.diff(hist.edges) > 0)
    tanh = by_name(event)["tanh1"]
    assert tanh.activations.counts.sum() == 32 * 16   # one batch of 16 units
    assert -1 <= tanh.activations.edges[0] and tanh.activations.edges[-1] <= 1
    assert tanh.saturated_share is not None and tanh.dead_share is None
    fc1 = by_name(event)["fc1"]
    assert fc1.gradients.counts.sum() == 2 * 16 + 16   # its weights' and bias's gradients


def test_health_can_be_turned_off(spiral):
    settings = TrainingSettings(epochs=2, device="cpu", snapshot_every=0)
    result, events = health_events(mlp(), spiral, settings, health=False)
    assert result.ok and not any(isinstance(e, LayerHealth) for e in events)


def test_a_huge_learning_rate_is_reported_as_exploding_gradients(spiral):
    settings = TrainingSettings(optimizer="sgd", learning_rate=200.0, epochs=1, device="cpu", snapshot_every=0)
    _, events = health_events(mlp("Tanh"), spiral, settings)
    first = next(e for e in events if isinstance(e, LayerHealth))
    assert first.step == 1
    exploding = [r for r in first.unhealthy if r.verdict == "exploding"]
    assert exploding and all(r.severity == "error" and r.update_ratio > 1 for r in exploding)
    assert all(r.name in r.text and "lower the learning rate" in r.text for r in exploding)


def test_saturated_tanh_units_are_reported(spiral):
    spec = mlp("Tanh")
    state = compile_spec(spec).state_dict()
    state["fc1.weight"] = state["fc1.weight"] * 200.0   # pre-activations far past tanh's knee
    settings = TrainingSettings(optimizer="sgd", learning_rate=1e-4, epochs=1, device="cpu", snapshot_every=0)
    _, events = health_events(spec, spiral, settings, initial_state=state)
    tanh1 = by_name(next(e for e in events if isinstance(e, LayerHealth)))["tanh1"]
    assert tanh1.verdict == "saturated" and tanh1.saturated_share > 0.5
    assert "tanh1 (after fc1)" in tanh1.text and "saturated" in tanh1.text


def test_vanishing_and_exploding_verdicts_on_constructed_figures():
    healthy = {"grad_norm": 0.5, "weight_norm": 2.0, "update_ratio": 0.01}
    assert classify("fc1", "Linear", healthy, largest_grad=1.0) == ("ok", "")
    verdict, text = classify("fc1", "Linear", {**healthy, "grad_norm": 1e-6}, largest_grad=1.0)
    assert verdict == "vanishing" and "fc1" in text and "vanished" in text
    assert classify("fc1", "Linear", {**healthy, "grad_norm": 0.0}, largest_grad=0.0)[0] == "ok"   # nothing to learn
    assert classify("fc1", "Linear", {**healthy, "grad_norm": math.nan}, largest_grad=1.0)[0] == "exploding"
    assert classify("fc1", "Linear", {**healthy, "grad_norm": 5e3}, largest_grad=5e3)[0] == "exploding"
    verdict, text = classify("fc1", "Linear", {**healthy, "update_ratio": 3.0}, largest_grad=1.0)
    assert verdict == "exploding" and "300%" in text and "gradient clipping" in text
    # A sigmoid output layer sure of its answers is not a problem; a hidden one is.
    assert classify("out", "Sigmoid", {"saturated_share": 0.9}, 1.0, is_output=True)[0] == "ok"
    assert classify("sig1", "Sigmoid", {"saturated_share": 0.9}, 1.0)[0] == "saturated"
    assert classify("relu1", "ReLU", {"dead_share": 0.4}, 1.0)[0] == "ok"


def test_a_unit_is_a_channel_of_an_image_and_dead_only_on_nearly_all_samples():
    flags = np.zeros((40, 3, 4, 4), dtype=bool)
    flags[:, 0] = True                 # channel 0 dead everywhere
    flags[:30, 1] = True               # channel 1 dead on three quarters of the samples only
    assert unit_share(flags) == pytest.approx(1 / 3)
    rows = np.zeros((40, 4), dtype=bool)
    rows[:, :3] = True
    rows[0, 2] = False                 # one sample in 40 is "nearly all"
    assert unit_share(rows) == 0.75
    assert histogram(np.array([np.nan, np.inf])) is None
    same = histogram(np.full(7, 2.0))
    assert same.counts.sum() == 7 and same.edges[0] < 2.0 < same.edges[-1]


def test_a_two_feature_model_maps_each_small_layers_units_over_the_input_plane(spiral):
    settings = TrainingSettings(epochs=2, device="cpu", snapshot_every=0, keep_best=False)
    spec = chain(("Input", {"shape": [2]}), ("Linear", {"out_features": 8}), ("Tanh", {}),
                 ("Linear", {"out_features": 32}), ("ReLU", {}), ("Linear", {"out_features": 3}))
    trainer = Trainer(spec, spiral, settings)
    events = []
    trainer.listener = events.append
    trainer.run()
    last = [e for e in events if isinstance(e, LayerHealth)][-1]
    x_min, x_max, y_min, y_max = last.plane
    assert x_min < spiral.x[:, 0].min() and spiral.x[:, 0].max() < x_max
    assert y_min < spiral.x[:, 1].min() and spiral.x[:, 1].max() < y_max
    layers = by_name(last)
    assert layers["fc1"].unit_maps.shape == layers["tanh1"].unit_maps.shape == (8, PLANE_GRID, PLANE_GRID)
    assert np.all(np.abs(layers["tanh1"].unit_maps) <= 1)
    assert layers["fc2"].unit_maps is None and layers["relu1"].unit_maps is None   # 32 units: too many to draw
    # The output layer's maps are the model's outputs over the plane: row = y, column = x, ascending.
    xs, ys = np.linspace(x_min, x_max, PLANE_GRID), np.linspace(y_min, y_max, PLANE_GRID)
    row, column = 5, 17
    logits = trainer.predict(np.array([[xs[column], ys[row]]], dtype=np.float32))[0]
    np.testing.assert_allclose(layers["fc3"].unit_maps[:, row, column], logits, rtol=1e-4, atol=1e-5)


def test_a_model_without_two_input_features_has_no_unit_maps(digits, template_run):
    spec, settings = template_run("lenet", digits, epochs=1, snapshot_every=0)
    events = []
    Trainer(spec, digits, settings, events.append).run()
    healths = [e for e in events if isinstance(e, LayerHealth)]
    assert healths and all(e.plane is None for e in healths)
    assert all(r.unit_maps is None for e in healths for r in e.layers.values())


def test_a_tables_units_show_over_the_two_features_picked_for_its_boundary_the_rest_at_their_means():
    from layerforge.data import load_dataset

    iris = load_dataset("iris")
    spec = chain(("Input", {"shape": [4]}), ("Linear", {"out_features": 8}), ("Tanh", {}),
                 ("Linear", {"out_features": 3}))
    settings = TrainingSettings(epochs=3, batch_size=8, device="cpu", snapshot_every=1, keep_best=False)
    trainer = Trainer(spec, iris, settings)
    events = []

    def listen(event):
        events.append(event)
        if isinstance(event, LayerHealth) and event.step == 1:   # picked while it trains, as in the window
            trainer.change_settings(settings.replace(view_features=[3, 2]))

    trainer.listener = listen
    trainer.run()
    healths = [e for e in events if isinstance(e, LayerHealth)]
    assert healths[0].plane_features == ("sepal length (cm)", "sepal width (cm)")   # the first two at first
    last = healths[-1]
    assert last.plane_features == ("petal width (cm)", "petal length (cm)")
    x_min, x_max, y_min, y_max = last.plane
    assert x_min < iris.x[:, 3].min() and iris.x[:, 3].max() < x_max
    # The output layer's map at a grid point is the model's output there, the other features at their means.
    xs, ys = np.linspace(x_min, x_max, PLANE_GRID), np.linspace(y_min, y_max, PLANE_GRID)
    point = trainer.problem.train.raw.x.mean(axis=0)
    point[3], point[2] = xs[20], ys[4]
    logits = trainer.predict(point[None].astype(np.float32))[0]
    np.testing.assert_allclose(by_name(last)["fc2"].unit_maps[:, 4, 20], logits, rtol=1e-4, atol=1e-5)
    # The decision boundary's snapshots follow the same choice.
    snapshots = [e for e in events if isinstance(e, PredictionSnapshot)]
    assert snapshots[0].kind == "table" and snapshots[-1].kind == "boundary2d"
    assert list(snapshots[-1].data["features"]) == [3, 2]
    # Features the data does not have: the first two, as before any choice.
    assert trainer.health.probe(1, view_features=[0, 9]).plane.features == (0, 1)


@pytest.mark.gpu
@pytest.mark.skipif(not engine.cuda.is_available(), reason=f"no CUDA GPU: {engine.cuda.unavailable_reason()}")
def test_on_a_gpu_the_reports_equal_the_cpus(spiral):
    spec = mlp("ReLU")
    state = compile_spec(spec).state_dict()   # the same weights for both (not drawn again per device)
    state["fc2.bias"] = state["fc2.bias"] - 50.0

    def run(device):
        settings = TrainingSettings(optimizer="sgd", learning_rate=0.1, epochs=1, device=device, snapshot_every=0)
        _, events = health_events(spec, spiral, settings, initial_state=state)
        return [e for e in events if isinstance(e, LayerHealth)]

    cpu, gpu = run("cpu"), run("cuda")
    assert [e.step for e in gpu] == [e.step for e in cpu] and gpu[0].plane == pytest.approx(cpu[0].plane)
    for on_cpu, on_gpu in zip(cpu, gpu):
        for node_id, expected in on_cpu.layers.items():
            got = on_gpu.layers[node_id]
            assert (got.verdict, got.dead_share) == (expected.verdict, expected.dead_share)
            assert type(got.activations.counts) is np.ndarray and type(got.unit_maps) is np.ndarray   # host arrays
            np.testing.assert_allclose(got.unit_maps, expected.unit_maps, rtol=1e-3, atol=1e-4)
            if expected.grad_norm is not None:
                assert got.grad_norm == pytest.approx(expected.grad_norm, rel=1e-3, abs=1e-6)


def test_a_failing_measurement_costs_the_report_not_the_run(spiral, monkeypatch, caplog):
    from layerforge.training import health

    def broken(values, bins=HISTOGRAM_BINS):
        raise ValueError("a bug in a histogram")

    monkeypatch.setattr(health, "histogram", broken)
    settings = TrainingSettings(epochs=2, device="cpu", snapshot_every=0)
    result, events = health_events(mlp(), spiral, settings)
    assert result.ok and result.epochs_run == 2
    assert not any(isinstance(e, LayerHealth) for e in events)
    assert "measuring the layers' health failed" in caplog.text and "a bug in a histogram" in caplog.text
