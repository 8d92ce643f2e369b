"""Building a model as a person does: palette, canvas, inspector, undo/redo."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QAbstractSpinBox, QLineEdit, QWidget



def find(window, cls, name):
    widget = window.findChild(cls, name)
    assert widget is not None, f"no {cls.__name__} named {name!r} in the window"
    return widget


def node_ids_by_name(window):
    return {node.name: node_id for node_id, node in window.document.spec.nodes.items()}


def view_point(canvas, scene_point: QPointF) -> QPoint:
    return canvas.mapFromScene(scene_point)


def test_window_opens_on_the_spiral_example_ready_to_train(window):
    assert window.objectName() == "mainWindow"
    assert window.windowTitle() == "spiral — Layerforge"
    for name in ("layerPalette", "modelCanvas", "layerInspector", "datasetCombo", "lossCombo", "optimizerCombo",
                 "learningRateSpin", "epochsSpin", "batchSizeSpin", "deviceCombo", "trainButton", "pauseButton",
                 "stopButton", "trainingProgress", "lossPlot", "predictionView"):
        assert window.findChild(QWidget, name) is not None, name
    scene = window.canvas.model_scene
    assert len(scene.nodes) == 6 and len(scene.edges) == 5
    labels = sorted(edge.label_text for edge in scene.edges.values())
    assert labels == ["(16,)", "(16,)", "(16,)", "(16,)", "(2,)"]
    assert window.document.report.ok
    assert window.training_panel.train_button.isEnabled()


def test_palette_is_grouped_searchable_and_explains_each_layer(window):
    palette = find(window, QWidget, "layerPalette")
    groups = [palette.tree.topLevelItem(i).text(0) for i in range(palette.tree.topLevelItemCount())]
    assert groups[:3] == ["Input/Output", "Dense", "Convolution"]
    assert "Fully connected" in palette.layer_item("Linear").toolTip(0)
    assert not palette.layer_item("Linear").icon(0).isNull()
    palette.search_box.setText("conv")
    assert set(palette.visible_layers()) == {"Conv1d", "Conv2d", "ConvTranspose2d"}
    palette.search_box.clear()
    assert "Linear" in palette.visible_layers()


def test_double_click_adds_after_selection_and_undo_redo_restore(window, qtbot):
    ids = node_ids_by_name(window)
    scene = window.canvas.model_scene
    scene.select_nodes([ids["tanh1"]])
    palette = window.palette_panel
    item = palette.layer_item("Dropout")
    palette.tree.scrollToItem(item)
    rect = palette.tree.visualItemRect(item)
    qtbot.mouseClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    spec = window.document.spec
    dropout = node_ids_by_name(window)["dropout1"]
    assert [e.source for e in spec.inputs_of(dropout)] == [ids["tanh1"]]
    assert [e.target for e in spec.outputs_of(dropout)] == [ids["fc2"]]
    assert window.windowTitle() == "spiral* — Layerforge"
    assert window.document.report.ok
    window.action_undo.trigger()
    assert "dropout1" not in node_ids_by_name(window)
    assert [e.source for e in window.document.spec.inputs_of(ids["fc2"])] == [ids["tanh1"]]
    assert window.windowTitle() == "spiral — Layerforge"
    window.action_redo.trigger()
    assert "dropout1" in node_ids_by_name(window)
    assert len(scene.nodes) == 7
    # Enter on the highlighted layer adds it too, after the selected layer.
    scene.select_nodes([dropout])
    qtbot.keyClick(palette.tree, Qt.Key.Key_Return)
    dropout2 = node_ids_by_name(window)["dropout2"]
    assert [e.source for e in window.document.spec.inputs_of(dropout2)] == [dropout]


def test_dropping_a_layer_from_the_palette_puts_it_under_the_cursor(window):
    canvas = window.canvas
    palette = window.palette_panel
    mime = palette.tree.mimeData([palette.layer_item("Linear")])
    target = QPointF(100, 300)
    where = view_point(canvas, target)
    with warnings.catch_warnings():  # PySide6 marks the QPoint constructor deprecated; Qt has no other
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(where, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(canvas.viewport(), enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(where), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(canvas.viewport(), drop)
    node = window.document.spec.node_by_name("fc4")
    assert abs(node.position[0] + 60 - target.x()) < 2 and abs(node.position[1] + 29 - target.y()) < 2
    assert node.id in window.canvas.model_scene.nodes


def drag(qtbot, canvas, start: QPointF, end: QPointF) -> None:
    viewport = canvas.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=view_point(canvas, start))
    qtbot.mouseMove(viewport, view_point(canvas, (start + end) / 2))
    qtbot.mouseMove(viewport, view_point(canvas, end))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=view_point(canvas, end))


def test_wiring_ports_with_the_mouse_and_invalid_models_turn_red_with_a_fix(window, qtbot):
    ids = node_ids_by_name(window)
    document, scene, canvas = window.document, window.canvas.model_scene, window.canvas
    # Cut fc3 loose: the model now has two ends, and fc3 no input.
    document.remove([], [(ids["tanh2"], ids["fc3"], 0)])
    assert not document.report.ok
    assert scene.nodes[ids["fc3"]].error is not None
    assert "no input" in scene.nodes[ids["fc3"]].toolTip()
    out_port = scene.nodes[ids["tanh2"]].output_port
    in_port = scene.nodes[ids["fc3"]].input_port(0)
    canvas.centerOn(out_port.scenePos())
    drag(qtbot, canvas, out_port.scenePos(), in_port.scenePos())
    assert (ids["tanh2"], ids["fc3"], 0) in scene.edges
    assert document.report.ok and scene.nodes[ids["fc3"]].error is None


def test_inspector_edits_a_parameter_with_validation_and_undo(window, qtbot):
    ids = node_ids_by_name(window)
    window.canvas.model_scene.select_nodes([ids["fc1"]])
    inspector = find(window, QWidget, "layerInspector")
    editor = inspector.findChild(QAbstractSpinBox, "param_out_features")
    assert editor.minimum() == 1 and "number of output features" in editor.toolTip()
    editor.lineEdit().selectAll()
    qtbot.keyClicks(editor.lineEdit(), "32")
    qtbot.keyClick(editor.lineEdit(), Qt.Key.Key_Return)
    spec = window.document.spec
    assert spec.nodes[ids["fc1"]].params["out_features"] == 32
    assert window.canvas.model_scene.edges[(ids["fc1"], ids["tanh1"], 0)].label_text == "(32,)"
    assert "32" in inspector.params_label.text() or "96" in inspector.params_label.text()
    window.action_undo.trigger()
    assert window.document.spec.nodes[ids["fc1"]].params["out_features"] == 16
    assert editor.value() == 16


def test_typing_a_bad_tuple_is_flagged_live_and_a_quick_fix_repairs_the_model(window, qtbot):
    ids = node_ids_by_name(window)
    window.canvas.model_scene.select_nodes([ids["input1"]])
    shape = window.inspector.findChild(QLineEdit, "param_shape")
    shape.selectAll()
    qtbot.keyClicks(shape, "1, a")
    assert "border" in shape.styleSheet()  # flagged while typing
    shape.selectAll()
    qtbot.keyClicks(shape, "1, 2")
    assert shape.styleSheet() == ""
    qtbot.keyClick(shape, Qt.Key.Key_Return)
    report = window.document.report
    assert not report.ok and "insert Flatten" in report.errors[0].message
    fc1 = window.canvas.model_scene.nodes[ids["fc1"]]
    assert fc1.error is not None and fc1.quick_fix_item.isVisible()
    # Train is refused, with the reason shown.
    qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    assert not window.run.running
    assert window.banner.isVisible() and "Flatten" in window.banner.text
    window.canvas.model_scene.select_nodes([ids["fc1"]])
    fix = window.inspector.fix_button
    assert fix.isVisible() and "Flatten" in fix.text()
    qtbot.mouseClick(fix, Qt.MouseButton.LeftButton)
    assert window.document.report.ok
    assert any(node.type == "Flatten" for node in window.document.spec.nodes.values())


def test_delete_copy_paste_layout_fit_and_zoom(window, qtbot):
    ids = node_ids_by_name(window)
    canvas, scene, document = window.canvas, window.canvas.model_scene, window.document
    scene.select_nodes([ids["fc2"], ids["tanh2"]])
    canvas.setFocus()
    canvas.action_copy.trigger()
    canvas.action_paste.trigger()
    assert len(document.spec.nodes) == 8
    pasted = scene.selected_node_ids()
    assert len(pasted) == 2 and len(document.spec.edges) == 6  # the copied pair keeps its own wire
    canvas.action_delete.trigger()
    assert len(document.spec.nodes) == 6
    scene.select_nodes([ids["tanh1"]])
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert ids["tanh1"] not in document.spec.nodes
    window.action_undo.trigger()
    assert ids["tanh1"] in document.spec.nodes
    document.move({ids["fc3"]: (500.0, 400.0)})
    canvas.action_auto_layout.trigger()
    ys = {round(node.position[1]) for node in document.spec.nodes.values()}
    assert ys == {0}
    before = canvas.zoom_level
    wheel = QWheelEvent(QPointF(50, 50), QPointF(canvas.mapToGlobal(QPoint(50, 50))), QPoint(0, 0),
                        QPoint(0, 240), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas.viewport(), wheel)
    assert canvas.zoom_level > before
    canvas.action_fit.trigger()
    view_rect = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    assert all(view_rect.contains(item.sceneBoundingRect()) for item in scene.nodes.values())


def test_rubber_band_selects_several_nodes_and_dragging_moves_them_as_one_undo_step(window, qtbot):
    canvas, scene, document = window.canvas, window.canvas.model_scene, window.document
    items = list(scene.nodes.values())
    first, second = items[0], items[1]
    top_left = first.sceneBoundingRect().topLeft() - QPointF(10, 10)
    bottom_right = second.sceneBoundingRect().bottomRight() + QPointF(5, 10)
    drag(qtbot, canvas, top_left, bottom_right)
    assert set(scene.selected_node_ids()) == {first.node_id, second.node_id}
    old = document.spec.nodes[first.node_id].position
    grab = first.sceneBoundingRect().center() + QPointF(0, 8)
    drag(qtbot, canvas, grab, grab + QPointF(0, 80))
    new = document.spec.nodes[first.node_id].position
    assert abs(new[1] - old[1] - 80) < 3
    assert abs(document.spec.nodes[second.node_id].position[1] - new[1]) < 0.5
    window.action_undo.trigger()
    assert document.spec.nodes[first.node_id].position == old


def test_middle_button_drag_pans_the_canvas(window, qtbot):
    canvas = window.canvas
    viewport = canvas.viewport()
    centre_before = canvas.mapToScene(viewport.rect().center())
    start = viewport.rect().center()
    qtbot.mousePress(viewport, Qt.MouseButton.MiddleButton, pos=start)
    qtbot.mouseMove(viewport, start + QPoint(-120, -40))
    qtbot.mouseRelease(viewport, Qt.MouseButton.MiddleButton, pos=start + QPoint(-120, -40))
    moved = canvas.mapToScene(viewport.rect().center()) - centre_before
    scale = canvas.zoom_level
    assert abs(moved.x() - 120 / scale) < 2 and abs(moved.y() - 40 / scale) < 2
    assert len(window.workspace.undo_history) == 0  # panning is not an edit


def test_copying_layers_then_quitting_exits_cleanly(tmp_path):
    # Copied layers live in the system clipboard; quitting afterwards must not crash the process.
    script = (
        "from PySide6.QtWidgets import QApplication\n"
        "from layerforge.app import create_main_window\n"
        "app = QApplication([])\n"
        "window = create_main_window()\n"
        "canvas = window.canvas\n"
        "canvas.model_scene.select_nodes(list(window.document.spec.nodes)[:2])\n"
        "canvas.action_copy.trigger()\n"
        "canvas.action_paste.trigger()\n"
        "assert len(window.document.spec.nodes) == 8\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env=env)
    assert done.returncode == 0, done.stderr[-2000:]
