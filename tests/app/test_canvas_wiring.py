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
