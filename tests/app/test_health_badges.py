"""The layers' health on the canvas: a layer whose ReLUs die while the window trains gets a warning
badge that explains itself on hover; a healthy run shows none; a new run clears them."""
from __future__ import annotations

import numpy as np

from layerforge.app.health_views import HealthViews
from layerforge.graph import ModelSpec
from layerforge.training import TrainingSettings, example_project_path, load_project, save_project


def relu_spec() -> ModelSpec:
    spec = ModelSpec()
    previous = None
    for index, (layer_type, params) in enumerate((("Input", {"shape": [2]}), ("Linear", {"out_features": 16}),
                                                  ("ReLU", {}), ("Linear", {"out_features": 16}), ("ReLU", {}),
                                                  ("Linear", {"out_features": 3}))):
        node = spec.add_node(layer_type, params, position=(170.0 * index, 0.0))
        if previous is not None:
            spec.connect(previous.id, node.id)
        previous = node
    return spec


def open_project(window, path, spec: ModelSpec, settings: TrainingSettings) -> None:
    project, _ = load_project(example_project_path("spiral"))
    project.spec, project.settings, project.history = spec, settings, {}
    save_project(project, path)
    window.workspace.open(path, discard=True)


def train(qtbot, window) -> None:
    assert window.run.restart()
    qtbot.waitUntil(lambda: not window.run.running and window.workspace.run.ended, timeout=60_000)


def badges(window) -> dict:
    """Node name -> badge, for the badges shown."""
    spec = window.workspace.spec
    return {spec.nodes[node_id].name: node.health_badge
            for node_id, node in window.canvas.model_scene.nodes.items() if node.health_badge.isVisible()}


# Adam at 0.5 on the spiral: within a few epochs relu2 outputs 0 for every sample (seed 0).
DYING = TrainingSettings(optimizer="adam", learning_rate=0.5, epochs=6, device="cpu", snapshot_every=0)
HEALTHY = TrainingSettings(optimizer="adam", learning_rate=0.01, epochs=6, device="cpu", snapshot_every=0)


def test_a_dying_relu_layer_gets_a_badge_that_explains_itself(window, qtbot, tmp_path):
    views = HealthViews(window)
    open_project(window, tmp_path / "dying.lfproj", relu_spec(), DYING)
    train(qtbot, window)
    assert window.workspace.run.status == "finished"
    shown = badges(window)
    assert "relu2" in shown
    badge = shown["relu2"]
    assert "most ReLU units in relu2 (after fc2) are dead" in badge.text
    assert "lower the learning rate or try LeakyReLU" in badge.text
    assert badge.report.severity == "warning" and views.latest[badge.report.node_id] is badge.report
    assert "relu1" not in shown or shown["relu1"].report.verdict == "dead"   # only real trouble is shown
    card = badge.show_card()
    assert card is not None and card.isVisible() and card.scene() is window.canvas.model_scene
    assert "relu2 (ReLU): Dead units" in card.plain_text and "Most ReLU units in relu2" in card.plain_text
    assert "dead units 100%" in card.plain_text or "dead units" in card.plain_text
    assert card.report.activations is not None and card.report.gradients is not None
    # The card is drawn above every node, not under the next one.
    assert card.zValue() > max(node.zValue() for node in window.canvas.model_scene.nodes.values())
    badge.hide_card()
    assert badge.card is None and card.scene() is None


def test_a_healthy_run_shows_no_badge_and_a_new_run_clears_the_old_ones(window, qtbot, tmp_path):
    views = HealthViews(window)
    open_project(window, tmp_path / "dying.lfproj", relu_spec(), DYING)
    train(qtbot, window)
    assert "relu2" in badges(window)   # they stay after the run ended

    open_project(window, tmp_path / "healthy.lfproj", relu_spec(), HEALTHY)
    assert badges(window) == {} and views.latest == {}   # another project: another model
    open_project(window, tmp_path / "dying2.lfproj", relu_spec(), DYING)
    train(qtbot, window)
    assert "relu2" in badges(window)
    window.training_panel.lr_spin.setValue(HEALTHY.learning_rate)   # the same model again, more gently
    assert window.run.restart()
    assert badges(window) == {}           # the new run starts without the old run's badges
    qtbot.waitUntil(lambda: not window.run.running and window.workspace.run.ended, timeout=60_000)
    assert window.workspace.run.status == "finished"
    assert window.workspace.run.settings.learning_rate == HEALTHY.learning_rate
    assert views.latest and [r.text for r in views.latest.values() if not r.ok] == []
    assert badges(window) == {}


def test_a_two_feature_models_units_show_over_the_input_plane_from_the_context_menu(window, qtbot, tmp_path):
    from layerforge.app.canvas.context_menu import node_menu

    views = HealthViews(window)
    ids = {node.name: node_id for node_id, node in window.workspace.spec.nodes.items()}
    menu = node_menu(window.canvas, ids["tanh1"])
    entry = next(a for a in menu.actions() if a.objectName() == "showUnitMaps")
    assert not entry.isEnabled() and "two input features" in entry.toolTip()   # nothing measured yet
    window.training_panel.epochs_spin.setValue(3)
    train(qtbot, window)
    maps = window.canvas.model_scene.nodes[ids["tanh1"]].unit_maps
    assert maps.maps.shape == (16, 24, 24) and not maps.isVisible()   # measured, not asked for
    assert views.latest[ids["tanh1"]].unit_maps is not None

    menu = node_menu(window.canvas, ids["tanh1"])
    entry = next(a for a in menu.actions() if a.objectName() == "showUnitMaps")
    assert entry.isEnabled() and entry.isCheckable() and not entry.isChecked()
    entry.trigger()
    assert maps.isVisible() and len(maps.images) == 16 and maps.boundingRect().height() >= 4 * 22
    # Each picture is its own unit's output, not one picture repeated.
    assert not np.allclose(maps.maps[0], maps.maps[1]) and maps.images[0] != maps.images[1]
    assert maps.images[0].width() == maps.images[0].height() == 24
    assert "x1 (across) and x2 (up)" in maps.toolTip()
    # The maps follow the theme (their zero is the chart's background).
    from layerforge.app import theme
    before, previous = maps.images[0].copy(), theme.name()
    theme.set_theme("dark" if previous == "light" else "light")
    try:
        assert maps.images[0] != before
    finally:
        theme.set_theme(previous)
    assert maps.images[0] == before

    menu = node_menu(window.canvas, ids["tanh1"])
    entry = next(a for a in menu.actions() if a.objectName() == "showUnitMaps")
    assert entry.isChecked()
    entry.trigger()
    assert not maps.isVisible()


def test_a_tables_unit_maps_follow_the_features_picked_for_its_boundary_while_it_trains(window, qtbot):
    views = HealthViews(window)
    window.workspace.choose_builtin("iris")
    window.use_matching_model()
    window.training_panel.epochs_spin.setValue(5000)   # far more than the test waits for: it ends with Stop
    assert window.run.restart()
    qtbot.waitUntil(lambda: views.step > 1, timeout=30_000)
    names = list(window.workspace.dataset.feature_names)
    assert views.plane_features == (names[0], names[1])   # the first two, until the person picks
    window.replay.features_box.setChecked(True)
    window.replay.feature_combos[0].setCurrentIndex(2)
    window.replay.feature_combos[1].setCurrentIndex(3)
    assert window.workspace.settings.view_features == [2, 3]
    qtbot.waitUntil(lambda: views.plane_features == (names[2], names[3]), timeout=30_000)
    window.run.stop()
    qtbot.waitUntil(lambda: not window.run.running, timeout=30_000)
    shown = [node.unit_maps for node in window.canvas.model_scene.nodes.values() if node.unit_maps.maps is not None]
    assert shown and all(f"{names[2]} (across) and {names[3]} (up)" in maps.toolTip() for maps in shown)
