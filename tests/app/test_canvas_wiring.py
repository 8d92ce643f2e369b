"""Adding layers where they belong: wired in, not left alone on the canvas."""
from __future__ import annotations

from PySide6.QtCore import Qt


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
