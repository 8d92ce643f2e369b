"""The menu a right-click on a layer opens: insert before / after, replace with, rename, duplicate,
disconnect, delete, and whether to show its units over the input plane. Each item is one edit of the document (one undo step); while a run trains the
model is read-only, so the edits are shown disabled with the reason at the top of the menu."""
from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QMenu

from ...graph import get_layer
from ...graph.catalog import categories, layers_in
from ..document import READ_ONLY_MESSAGE


def node_menu(canvas, node_id: str) -> QMenu:
    """The menu for the layer ``node_id`` on ``canvas`` (a ModelCanvas); not yet shown."""
    document = canvas.document
    node = document.spec.nodes[node_id]
    layer = get_layer(node.type)
    editable = not document.read_only
    menu = QMenu(canvas)
    menu.setObjectName("nodeContextMenu")
    menu.setToolTipsVisible(True)
    if not editable:
        reason = menu.addAction(READ_ONLY_MESSAGE)
        reason.setEnabled(False)
        menu.addSeparator()

    def select(new_id: str | None) -> None:
        if new_id is not None:
            canvas.model_scene.select_nodes([new_id])

    def edit(text: str, slot: Callable[[], object], enabled: bool = True, why: str = ""):
        action = menu.addAction(text, slot)
        action.setEnabled(editable and enabled)
        action.setToolTip(READ_ONLY_MESSAGE if not editable else why)
        return action

    error = canvas.model_scene.nodes[node_id].error
    fix = error.quick_fix if error is not None else None
    if fix is not None:
        edit(f"Quick fix: insert {fix.get('type')}", lambda f=dict(fix): document.apply_quick_fix(f))
        menu.addSeparator()
    takes_input = layer.max_inputs != 0
    _layer_submenu(menu, "Insert &before", lambda t: select(document.insert_before(node_id, t)),
                   editable and takes_input, "" if takes_input else f"Nothing can feed {node.type}: it has no input.")
    _layer_submenu(menu, "Insert &after", lambda t: select(document.insert_after(node_id, t)), editable)
    _layer_submenu(menu, "&Replace with", lambda t: select(document.replace_layer(node_id, t)), editable,
                   skip=node.type, with_inputs_only=False)
    menu.addSeparator()
    edit("Re&name…", lambda: canvas.rename_layer(node_id))
    edit("D&uplicate", lambda: select(document.duplicate(node_id)))
    wired = bool(document.spec.inputs_of(node_id) or document.spec.outputs_of(node_id))
    edit("Dis&connect", lambda: document.disconnect_all(node_id), wired, "" if wired else "It has no wires.")
    edit("&Delete", lambda: canvas.delete_nodes([node_id]))
    if document.reconnection(node_id):   # in the middle of a chain whose neighbours' shapes fit
        edit("Delete and rec&onnect", lambda: document.remove_and_reconnect(node_id))
    menu.addSeparator()
    steps = getattr(canvas.window(), "see_inside_graph", None)   # View > Computational graph's step-through
    if steps is not None and node.type != "Input":
        step = menu.addAction("Step &through…", lambda: steps.step_through_node(node_id))
        step.setObjectName("stepThroughLayer")
        step.setToolTip("Its operations on one sample, forward one at a time, then backpropagation")
    _unit_maps_entry(menu, canvas.model_scene.nodes[node_id].unit_maps)
    menu.addAction(canvas.action_copy)
    menu.addAction(canvas.action_auto_layout)
    menu.addAction(canvas.action_fit)
    return menu


def _unit_maps_entry(menu: QMenu, maps) -> None:
    """A view option, so it stays available while a run trains (the model is read-only then)."""
    action = menu.addAction("Show units over the input &plane", lambda: maps.set_shown(not maps.shown))
    action.setObjectName("showUnitMaps")
    action.setCheckable(True)
    action.setChecked(maps.shown)
    action.setEnabled(maps.maps is not None or maps.shown)
    action.setToolTip("Each unit's output over the plane of the two input features, drawn while the model "
                      "trains" if action.isEnabled() else
                      "Train a model with two input features: layers of up to 16 units can then show each "
                      "unit's output over the input plane")


def _layer_submenu(menu: QMenu, title: str, chosen: Callable[[str], None], enabled: bool, why: str = "",
                   skip: str = "", with_inputs_only: bool = True) -> QMenu:
    """A submenu of the catalog's layer types by category (as the palette groups them)."""
    sub = menu.addMenu(title)
    sub.setObjectName(title.replace("&", "").replace(" ", "_").lower())
    sub.setEnabled(enabled)
    sub.menuAction().setToolTip(READ_ONLY_MESSAGE if not enabled and not why else why)
    for category in categories():
        types = [layer.type for layer in layers_in(category)
                 if layer.type != skip and not (with_inputs_only and layer.max_inputs == 0)]
        if not types:
            continue
        group = sub.addMenu(category)
        for layer_type in types:
            group.addAction(layer_type, lambda t=layer_type: chosen(t))
    return sub
