"""Adding layers where they belong: wired in, not left alone on the canvas."""
from __future__ import annotations

import warnings

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from layerforge.app.canvas import LAYER_MIME_TYPE


def add_from_palette(window, qtbot, layer_type: str) -> None:
    palette = window.palette_panel
    item = palette.layer_item(layer_type)
    palette.tree.scrollToItem(item)
    rect = palette.tree.visualItemRect(item)
    qtbot.mouseClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_a_layer_added_with_nothing_selected_is_wired_after_the_end_of_the_chain(window, qtbot):
    window.workspace.new(discard=True)
    window.canvas.model_scene.clearSelection()
    spec = window.document.spec
    (input_id,) = spec.nodes
    add_from_palette(window, qtbot, "Linear")
    spec = window.document.spec
    linear = next(n for n, node in spec.nodes.items() if node.type == "Linear")
    assert [e.source for e in spec.inputs_of(linear)] == [input_id]
    assert spec.nodes[linear].position[1] == spec.nodes[input_id].position[1]
    window.canvas.model_scene.clearSelection()
    add_from_palette(window, qtbot, "ReLU")
    spec = window.document.spec
    relu = next(n for n, node in spec.nodes.items() if node.type == "ReLU")
    assert [e.source for e in spec.inputs_of(relu)] == [linear]
    assert window.document.report.ok
    window.action_undo.trigger()
    assert relu not in window.document.spec.nodes and not window.document.spec.outputs_of(linear)


def test_activations_are_not_drawn_in_the_red_of_an_error(window):
    from PySide6.QtGui import QColor

    from layerforge.app.icons import category_color
    scene = window.canvas.model_scene
    relu_like = next(item for node_id, item in scene.nodes.items()
                     if window.document.spec.nodes[node_id].layer.category == "Activation")
    hue = category_color("Activation").hue()
    assert not (hue < 20 or hue > 340), "an activation's header is red, the colour of an error"
    assert category_color("Activation") != QColor("#c62828") and relu_like is not None


def model(window):
    spec = window.workspace.spec
    return ({n: (node.type, node.name) for n, node in spec.nodes.items()},
            sorted((e.source, e.target, e.index) for e in spec.edges))


def ids_by_name(window) -> dict[str, str]:
    return {node.name: node_id for node_id, node in window.workspace.spec.nodes.items()}


def wire_midpoint(window, source: str, target: str) -> QPoint:
    canvas = window.canvas
    (edge,) = [e for key, e in canvas.model_scene.edges.items() if key[:2] == (source, target)]
    canvas.ensureVisible(edge)
    return canvas.mapFromScene(edge.path().pointAtPercent(0.5))


def drag_layer_over(window, layer_type: str, where: QPoint, drop: bool = True):
    """Drag a layer type from the palette (its MIME type) over the canvas to ``where``, and drop it there."""
    canvas = window.canvas
    mime = QMimeData()
    mime.setData(LAYER_MIME_TYPE, layer_type.encode("utf-8"))
    with warnings.catch_warnings():  # PySide6 marks the QPoint constructor deprecated; Qt has no other
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(where, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(canvas.viewport(), enter)
        move = QDragMoveEvent(where, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                              Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(canvas.viewport(), move)
    assert move.isAccepted()
    if drop:
        event = QDropEvent(QPointF(where), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                           Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(canvas.viewport(), event)
    return mime


def test_a_layer_dropped_onto_a_wire_is_spliced_into_it_in_one_undo_step(window, qtbot):
    ids = ids_by_name(window)
    before = model(window)
    where = wire_midpoint(window, ids["tanh1"], ids["fc2"])
    drag_layer_over(window, "Dropout", where, drop=False)
    wire = window.canvas.model_scene.edges[(ids["tanh1"], ids["fc2"], 0)]
    assert wire.drop_target, "the wire under the dragged layer is not highlighted"
    others = [e for key, e in window.canvas.model_scene.edges.items() if key != wire.key]
    assert not any(e.drop_target for e in others)

    drag_layer_over(window, "Dropout", where)
    spec = window.workspace.spec
    dropout = ids_by_name(window)["dropout1"]
    assert [e.source for e in spec.inputs_of(dropout)] == [ids["tanh1"]]
    assert [e.target for e in spec.outputs_of(dropout)] == [ids["fc2"]]
    assert not spec.outputs_of(ids["tanh1"])[1:] and window.document.report.ok
    assert not any(e.drop_target for e in window.canvas.model_scene.edges.values())
    window.grab().save("/tmp/spliced_model.png")
    window.action_undo.trigger()
    assert model(window) == before


def test_a_long_node_subtitle_is_elided_inside_its_card_with_the_full_text_as_tooltip(window):
    from layerforge.app.canvas.node_item import NODE_WIDTH
    ids = ids_by_name(window)
    window.document.set_param(ids["input1"], "shape", [32, 1000, 1000])
    item = window.canvas.model_scene.nodes[ids["input1"]]
    subtitle = next(child for child in item.childItems() if child.toolTip() == item.subtitle_text)
    assert item.subtitle_text == "Input · shape 32x1000x1000"
    right = subtitle.mapToParent(subtitle.boundingRect().topRight()).x()
    assert right <= NODE_WIDTH - 8, "the subtitle runs past the card's edge"
    assert subtitle.text().endswith("…")


def test_a_card_shows_its_settings_rather_than_a_type_cut_short(window):
    """Where "Type · settings" is too wide for the card, the settings are what it shows (the full
    text stays the tooltip); a layer with nothing to set shows its type alone, not its category."""
    from layerforge.app.canvas.node_item import card_subtitle
    from layerforge.graph import Node

    attention = Node(id="a", type="TransformerEncoderBlock", name="encoder1",
                     params={"num_heads": 4, "dim_feedforward": 64})
    full, shown = card_subtitle(attention, fits=lambda text: len(text) <= 16)
    assert full == "TransformerEncoderBlock · 4 heads, ff 64" and shown == "4 heads, ff 64"
    assert card_subtitle(attention, fits=lambda text: True)[1] == full
    relu = Node(id="r", type="ReLU", name="relu1", params={})
    assert card_subtitle(relu, fits=lambda text: False) == ("ReLU", "ReLU")
    ids = ids_by_name(window)
    item = window.canvas.model_scene.nodes[ids["fc1"]]
    subtitle = next(child for child in item.childItems() if child.toolTip() == item.subtitle_text)
    assert "units" in subtitle.text() and not subtitle.text().endswith("…")
