"""Issue #16: for a table of classes (iris: four features) the person picks two features and sees the
decision boundary on that plane of their own data, the other features held at their means."""
from __future__ import annotations

import numpy as np

from window_support import boxes, click, files, isolated, app_window  # noqa: F401


def test_picking_two_features_draws_the_boundary_over_them(qtbot, app_window):
    window = app_window
    window.workspace.choose_builtin("iris")
    window.use_matching_model()
    replay = window.replay
    assert replay.features_row.isVisible() and replay.feature_combos[0].count() == 4
    panel = window.training_panel
    panel.epochs_spin.setValue(30)
    click(qtbot, panel.restart_button if panel.restart_button.isVisible() else panel.train_button)
    qtbot.waitUntil(lambda: not window.run.running and window.workspace.run.ended, timeout=30_000)
    window.predictions.draw_pending()
    assert window.workspace.run.kept_snapshot.kind == "table"   # rows of predictions, by default

    replay.features_box.setChecked(True)
    replay.feature_combos[0].setCurrentIndex(2)
    replay.feature_combos[1].setCurrentIndex(3)
    assert window.workspace.settings.view_features == [2, 3]
    snapshot = window.workspace.run.kept_snapshot
    assert snapshot.kind == "boundary2d" and list(snapshot.data["features"]) == [2, 3]
    window.predictions.draw_pending()
    plot = window.predictions.plot_widget
    assert window.predictions.stack.currentWidget() is plot
    names = list(window.workspace.dataset.feature_names)
    assert names[2] in plot.getAxis("bottom").labelText and names[3] == plot.getAxis("left").labelText
    # The plane really is the two features with the rest at their training means: the grid predicts
    # what the model predicts for those inputs.
    dataset = window.workspace.dataset
    xx = snapshot.data["xx"]
    assert np.isclose(xx.min(), dataset.x[:, 2].min() - 0.1 * np.ptp(dataset.x[:, 2]), rtol=1e-4)
    replay.features_box.setChecked(False)
    assert window.workspace.settings.view_features is None
    assert window.workspace.run.kept_snapshot.kind == "table"


def test_the_slice_is_offered_only_for_tables_of_classes(qtbot, app_window):
    window = app_window   # the spiral: two features, drawn as a plane already
    assert not window.replay.features_row.isVisible()
    window.workspace.choose_builtin("sine")   # a curve: no plane to pick
    assert not window.replay.features_row.isVisible()
    window.workspace.choose_builtin("iris")
    assert window.replay.features_row.isVisible()
