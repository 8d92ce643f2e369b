"""The menu a right-click on a layer opens: each edit it offers, one undo step each."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMenu


def ids_by_name(window) -> dict[str, str]:
    return {node.name: node_id for node_id, node in window.workspace.spec.nodes.items()}


def model(window):
    spec = window.workspace.spec
    return ({n: (node.type, node.name) for n, node in spec.nodes.items()},
            sorted((e.source, e.target, e.index) for e in spec.edges))


def right_click(window, qtbot, node_id: str) -> QMenu:
    """Right-click the middle of a node's card as a person does; the menu that opens."""
    canvas = window.canvas
    item = canvas.model_scene.nodes[node_id]
    canvas.ensureVisible(item)
    pos = canvas.mapFromScene(item.mapToScene(item.shape().boundingRect().center()))
    qtbot.mousePress(canvas.viewport(), Qt.MouseButton.RightButton, pos=pos)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, canvas.viewport().mapToGlobal(pos))
    QApplication.sendEvent(canvas.viewport(), event)
    qtbot.mouseRelease(canvas.viewport(), Qt.MouseButton.RightButton, pos=pos)
    menu = canvas.context_menu
    assert menu is not None and menu.isVisible(), "no menu opened over the node"
    return menu


def action(menu: QMenu, *path: str):
    """The action at ``path`` ("Insert after", "Regularization", "Dropout"), by its text without '&'."""
    for step, text in enumerate(path):
        found = next((a for a in menu.actions() if a.text().replace("&", "") == text), None)
        assert found is not None, f"no {text!r} in {[a.text() for a in menu.actions()]}"
        if step < len(path) - 1:
            menu = found.menu()
    return found


def pick(menu: QMenu, *path: str) -> None:
    chosen = action(menu, *path)
    assert chosen.isEnabled(), f"{path} is disabled: {chosen.toolTip()}"
    chosen.trigger()
    menu.close()


def test_insert_after_and_before_from_the_menu_wire_the_layer_in_line(window, qtbot):
    ids = ids_by_name(window)
    before = model(window)
    pick(right_click(window, qtbot, ids["tanh1"]), "Insert after", "Regularization", "Dropout")
    spec = window.workspace.spec
    dropout = ids_by_name(window)["dropout1"]
    assert [e.source for e in spec.inputs_of(dropout)] == [ids["tanh1"]]
    assert [e.target for e in spec.outputs_of(dropout)] == [ids["fc2"]]
    assert window.canvas.model_scene.selected_node_ids() == [dropout]
    window.action_undo.trigger()
    assert model(window) == before

    pick(right_click(window, qtbot, ids["fc2"]), "Insert before", "Normalization", "BatchNorm1d")
    spec = window.workspace.spec
    (norm,) = [n for n, node in spec.nodes.items() if node.type == "BatchNorm1d"]
    assert [e.source for e in spec.inputs_of(norm)] == [ids["tanh1"]]
    assert [e.source for e in spec.inputs_of(ids["fc2"])] == [norm]
    assert window.document.report.ok
    window.action_undo.trigger()
    assert model(window) == before


def test_replace_rename_duplicate_disconnect_and_delete_are_one_undo_step_each(window, qtbot):
    ids = ids_by_name(window)
    before = model(window)
    tanh = ids["tanh1"]

    pick(right_click(window, qtbot, tanh), "Replace with", "Activation", "ReLU")
    nodes, edges = model(window)
    assert nodes[tanh][0] == "ReLU" and edges == before[1]
    window.action_undo.trigger()
    assert model(window) == before

    window.canvas.ask_layer_name = lambda current: "squash"
    pick(right_click(window, qtbot, tanh), "Rename…")
    assert window.workspace.spec.nodes[tanh].name == "squash"
    window.action_undo.trigger()
    assert model(window) == before

    pick(right_click(window, qtbot, tanh), "Duplicate")
    nodes, edges = model(window)
    (copy,) = set(nodes) - set(before[0])
    assert nodes[copy][0] == "Tanh" and edges == before[1]
    window.action_undo.trigger()
    assert model(window) == before

    pick(right_click(window, qtbot, tanh), "Disconnect")
    spec = window.workspace.spec
    assert tanh in spec.nodes and not spec.inputs_of(tanh) and not spec.outputs_of(tanh)
    window.action_undo.trigger()
    assert model(window) == before

    pick(right_click(window, qtbot, tanh), "Delete")
    assert tanh not in window.workspace.spec.nodes
    window.action_undo.trigger()
    assert model(window) == before


def test_the_menu_says_why_it_cannot_edit_while_a_run_trains(window, qtbot):
    ids = ids_by_name(window)
    before = model(window)
    machine = window.workspace._machine
    machine.state = "paused"   # a run holds the model
    window.set_editing_locked(True)
    try:
        assert window.document.read_only
        menu = right_click(window, qtbot, ids["fc2"])
        first = menu.actions()[0]
        assert "training" in first.text() and not first.isEnabled()
        for path in (("Insert before",), ("Insert after",), ("Replace with",), ("Rename…",), ("Duplicate",),
                     ("Disconnect",), ("Delete",)):
            assert not action(menu, *path).isEnabled(), path
            assert "training" in action(menu, *path).toolTip(), path
        action(menu, "Delete").trigger()   # even a triggered action changes nothing
        menu.close()
        assert model(window) == before
    finally:
        machine.state = "idle"
        window.set_editing_locked(False)


def test_deleting_a_middle_layer_can_reconnect_its_neighbours_in_one_undo_step(window, qtbot):
    ids = ids_by_name(window)
    before = model(window)
    pick(right_click(window, qtbot, ids["tanh1"]), "Delete and reconnect")
    spec = window.workspace.spec
    assert ids["tanh1"] not in spec.nodes
    assert [e.source for e in spec.inputs_of(ids["fc2"])] == [ids["fc1"]]
    assert window.document.report.ok
    window.action_undo.trigger()
    assert model(window) == before
    # The end of the chain has no neighbours to join: only a plain Delete is offered.
    menu = right_click(window, qtbot, ids["fc3"])
    assert "Delete and reconnect" not in [a.text().replace("&", "") for a in menu.actions()]
    menu.close()
