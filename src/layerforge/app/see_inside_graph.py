"""View > Computational graph and the step-through of a layer, attached by one call:
``install_autograd_view(window)``.

View > Computational graph (Ctrl+Shift+G) [actionShowAutograd] opens the graph view [autogradView] in a
dock [autogradDock]; it does no work while the dock is hidden. Double-clicking a layer on the canvas
(or a layer's frame in the graph) opens the step-through of that layer [stepThroughDialog].
Everything is reached from the returned :class:`SeeInsideGraph` (also ``window.see_inside_graph``).
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget

from .autograd_view import AutogradView
from .menus import menu_named

GRAPH_SHORTCUT = "Ctrl+Shift+G"


class SeeInsideGraph(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.view = AutogradView(window.workspace)
        self.dock = QDockWidget("Computational graph", window)
        self.dock.setObjectName("autogradDock")
        self.dock.setWidget(self.view)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        self.dock.hide()
        self.action = self.dock.toggleViewAction()
        self.action.setObjectName("actionShowAutograd")
        self.action.setText("Computational &graph")
        self.action.setShortcut(QKeySequence(GRAPH_SHORTCUT))
        self.action.setStatusTip("The graph one forward pass builds in the engine, with each node's gradient "
                                 "after a step")
        menu_named(window, "&View").addAction(self.action)
        window.addAction(self.action)   # the key works wherever the focus is
        window.canvas.viewport().installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        """A double-click on a layer of the canvas steps through it (the canvas gives it no other meaning)."""
        if event.type() == QEvent.Type.MouseButtonDblClick and event.button() == Qt.MouseButton.LeftButton:
            node_id = self._layer_at(event.position().toPoint())
            if node_id is not None:
                self.step_through_node(node_id)
                return True
        return False

    def _layer_at(self, pos) -> str | None:
        canvas = self.window.canvas
        for item in canvas.items(pos):
            while item is not None and not hasattr(item, "node_id"):
                item = item.parentItem()
            if item is not None:
                return item.node_id
        return None

    def step_through_node(self, node_id: str) -> None:
        """Open the step-through of the canvas layer ``node_id`` (nothing for the Input: it computes nothing)."""
        spec = self.window.workspace.spec
        node = spec.nodes.get(node_id)
        if node is None or node.type == "Input":
            return
        self.view.step_through(node.name)


def install_autograd_view(window) -> SeeInsideGraph:
    window.see_inside_graph = SeeInsideGraph(window)
    return window.see_inside_graph
