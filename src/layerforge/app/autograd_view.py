"""The computational graph view [autogradView]: the graph one forward pass of the current model on one
batch builds in the engine, left to right from the batch and the parameters through each operation to
the loss, every node grouped under the canvas layer that built it. Step [autogradStep] runs forward and
backward on the next batch of the training data (with the run's kept weights, or the initial ones)
without changing any weight, and colours each node by the norm of its output's gradient on a log scale.
Clicking a node shows its tensor in the parameter inspector; double-clicking a layer steps through it.

While shown and a run trains, it follows the run: every few seconds it steps with the run's weights
as they are then (copied between two of the run's batches; its own pass draws no number from the
run's random stream), so vanishing or exploding gradients show while they happen.

It costs nothing while hidden: the workspace's events only mark it out of date, and it builds again
(one forward pass) when it is shown; no timer runs.
"""
from __future__ import annotations

import time

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (QGraphicsScene, QGraphicsView, QHBoxLayout, QLabel, QMenu, QPushButton, QSplitter,
                               QVBoxLayout, QWidget)

from ..training import TrainingError
from ..training.autograd_graph import GraphProbe
from ..workspace import events as ev
from . import theme
from .autograd_items import (LOG_HIGH, LOG_LOW, FoldBadgeItem, GraphNodeItem, GroupFrameItem, edge_item,
                             leaf_edge_item, legend_pixmap)
from .autograd_layout import layout
from .parameter_inspector import ParameterInspector

MIN_ZOOM = 0.35
LIVE_INTERVAL_MS = 3000   # while shown and training: a step with the run's weights this often
STALE_EVENTS = (ev.ProjectReplaced, ev.ModelChanged, ev.DataChanged, ev.SettingsChanged, ev.RunReplaced,
                ev.RunEnded, ev.RunStateChanged)


class GraphCanvas(QGraphicsView):
    """The scene's view: click a node to inspect it, double-click a layer to step through it, click a
    "× k" badge to unfold a run; Ctrl+wheel zooms."""

    nodeClicked = Signal(object)
    layerActivated = Signal(str)
    foldToggled = Signal(str)
    zoomed = Signal()

    def __init__(self, scene: QGraphicsScene):
        super().__init__(scene)
        self.setObjectName("autogradCanvas")
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

    def mousePressEvent(self, event) -> None:
        item = self.itemAt(event.position().toPoint())
        if isinstance(item, FoldBadgeItem):
            self.foldToggled.emit(item.fold.key)
            return
        super().mousePressEvent(event)
        if isinstance(item, GraphNodeItem):
            self.nodeClicked.emit(item.node)

    def mouseDoubleClickEvent(self, event) -> None:
        group = self._group_at(event.position().toPoint())
        if group is not None:
            self.layerActivated.emit(group)
            return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event) -> None:
        group = self._group_at(event.pos())
        if group is None:
            return
        menu = QMenu(self)
        action = menu.addAction(f"Step through {group}…")
        action.triggered.connect(lambda: self.layerActivated.emit(group))
        menu.exec(event.globalPos())

    def _group_at(self, pos) -> str | None:
        for item in self.items(pos):
            if isinstance(item, GraphNodeItem) and item.node.group:
                return item.node.group
            if isinstance(item, GroupFrameItem):
                return item.group
        return None

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            factor = 1.15 if event.angleDelta().y() > 0 else 1 / 1.15
            self.scale(factor, factor)
            self.zoomed.emit()
            return
        super().wheelEvent(event)


class AutogradView(QWidget):
    """See the module docstring. ``workspace``: the window's Workspace (read through its events)."""

    def __init__(self, workspace, parent=None):
        super().__init__(parent)
        self.setObjectName("autogradView")
        self.workspace = workspace
        self.probe: GraphProbe | None = None
        self.graph = None
        self.batch_number = 0
        self.expanded: set[str] = set()
        self.items: dict[str, GraphNodeItem] = {}
        self.frames: dict[str, GroupFrameItem] = {}
        self.stale = True
        self.live = False                 # the probe holds a running run's weights (copied at a step)
        self.live_timer = QTimer(self)    # runs only while shown and a run trains
        self.live_timer.setInterval(LIVE_INTERVAL_MS)
        self.live_timer.timeout.connect(self.follow_run)
        self.fit_pending = True
        self.auto_fit = True              # the graph is kept whole in the view until the person zooms
        self.builds = 0                   # forward passes this view asked for (tests read it)
        self.last_draw_ms = 0.0
        self.dialogs: list = []

        self.step_button = QPushButton("Step")
        self.step_button.setObjectName("autogradStep")
        self.step_button.setToolTip("Forward and backward on the next batch of the training data, with the "
                                    "current weights (they do not change), and show each node's gradient norm")
        self.step_button.clicked.connect(self.step)
        self.fit_button = QPushButton("Fit")
        self.fit_button.setObjectName("autogradFit")
        self.fit_button.setToolTip("Zoom to show the whole graph (Ctrl+wheel zooms)")
        self.fit_button.clicked.connect(self._fit_asked)
        self.status = QLabel("")
        self.status.setObjectName("autogradStatus")
        self.status.setWordWrap(True)
        legend = QLabel()
        legend.setPixmap(legend_pixmap(110, 12))
        legend.setToolTip("Gradient norm, log scale: violet vanishing, red exploding")
        low, high = QLabel(f"1e{int(LOG_LOW)}"), QLabel(f"1e{int(LOG_HIGH)}")
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 0)
        bar.addWidget(self.step_button)
        bar.addWidget(self.fit_button)
        bar.addWidget(self.status, 1)
        bar.addWidget(QLabel("‖grad‖"))
        bar.addWidget(low)
        bar.addWidget(legend)
        bar.addWidget(high)

        self.scene = QGraphicsScene(self)
        self.scene.setBackgroundBrush(theme.color("canvas.background"))
        self.canvas = GraphCanvas(self.scene)
        self.canvas.nodeClicked.connect(self.inspect)
        self.canvas.layerActivated.connect(self.step_through)
        self.canvas.foldToggled.connect(self.toggle_fold)
        self.canvas.zoomed.connect(lambda: setattr(self, "auto_fit", False))
        self.inspector = ParameterInspector()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("autogradSplitter")
        splitter.addWidget(self.canvas)
        splitter.addWidget(self.inspector)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([900, 360])
        splitter.setChildrenCollapsible(False)
        self.inspector.setMaximumWidth(480)
        layout_ = QVBoxLayout(self)
        layout_.setContentsMargins(0, 0, 0, 0)
        layout_.setSpacing(2)
        layout_.addLayout(bar)
        layout_.addWidget(splitter, 1)
        workspace.events.connect(self._on_change, *STALE_EVENTS)
        theme.follow(self, lambda view: view._retheme())

    # -- staying cheap -------------------------------------------------------------------------

    def _on_change(self, event) -> None:
        """The model, data, settings or weights changed: build again, now if shown, else when shown."""
        if isinstance(event, ev.RunStateChanged):
            self._time_live()   # the run's end is RunEnded: its kept weights are shown then
            return
        if isinstance(event, ev.ModelChanged) and not event.structure_changed:
            return   # a layer moved on the canvas: the same graph
        self.probe = None
        self.stale = True
        self.fit_pending = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.stale:
            self.refresh()
        self._time_live()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.live_timer.stop()

    def _time_live(self) -> None:
        if self.isVisible() and self.workspace.busy:
            if not self.live_timer.isActive():
                self.live_timer.start()
        else:
            self.live_timer.stop()

    def follow_run(self) -> None:
        """A step with the running run's weights as they are now (the timer's tick, while shown)."""
        workspace = self.workspace
        if not self.isVisible() or not workspace.busy:
            self.live_timer.stop()
            return
        if workspace.run_state != "running":
            return   # paused or stopping: the weights are the ones shown
        weights = workspace.live_weights()
        if weights is None:
            return
        if self.probe is not None:
            try:
                self.probe.model.load_state_dict(weights)
                self.probe.initial, self.live = False, True
            except (KeyError, RuntimeError, ValueError):
                self.probe = None   # built again from these weights
        self.step()

    def _retheme(self) -> None:
        self.scene.setBackgroundBrush(theme.color("canvas.background"))
        self.scene.update()

    # -- building --------------------------------------------------------------------------------

    def _ensure_probe(self) -> GraphProbe | None:
        if self.probe is not None:
            return self.probe
        workspace = self.workspace
        if workspace.dataset is None:
            raise TrainingError(workspace.data_unavailable or "no data is loaded: choose a dataset first")
        run = workspace.run
        live = workspace.live_weights()   # a run trains: its weights as they are now
        weights = live if live is not None else (run.weights if run is not None and run.usable else None)
        with workspace.between_batches():   # building draws random numbers: not from the run's stream
            self.probe = GraphProbe(workspace.spec, workspace.dataset, workspace.settings, weights)
        self.live = live is not None
        self.batch_number = 0
        return self.probe

    def weights_text(self) -> str:
        run = self.workspace.run
        if self.probe is None or self.probe.initial:
            return f"initial weights (seed {self.workspace.settings.seed})"
        if self.live and self.workspace.busy and run is not None:
            return f"run {run.number}'s weights at step {self.workspace.trainer_step} (live)"
        return f"run {run.number}'s weights (epoch {run.kept_epoch})" if run is not None else "trained weights"

    def refresh(self) -> None:
        """The graph of the current batch, without gradients (one forward pass)."""
        self._build(step=False)

    def step(self) -> None:
        """Forward and backward on the next batch; every node shows its gradient's norm."""
        if self.graph is not None and self.graph.stepped:
            self.batch_number += 1
        self._build(step=True)

    def _build(self, step: bool) -> None:
        self.stale = False
        try:
            probe = self._ensure_probe()
            self.builds += 1
            with self.workspace.between_batches():   # a dropout pass: not from the run's random stream
                graph = probe.graph(self.batch_number, step=step)
        except TrainingError as error:
            self.graph = None
            self.scene.clear()
            self.items, self.frames = {}, {}
            self.status.setText(f"Cannot build the graph: {error}")
            self.step_button.setEnabled(False)
            return
        self.step_button.setEnabled(True)
        selected = self.inspector.node
        self.graph = graph
        self.draw()
        what = "forward and backward" if graph.stepped else "forward only: press Step for gradients"
        self.status.setText(f"Batch {self.batch_number % probe.batches + 1} of {probe.batches} "
                            f"({len(graph.batch)} samples) · loss {graph.loss:.4g} · {self.weights_text()} · {what}")
        if selected is not None:   # the same tensor in the new graph, if it is still there
            same = [n for n in graph.nodes if (n.name, n.group, n.kind) == (selected.name, selected.group, selected.kind)]
            self.inspect(same[0] if same else None)

    def draw(self) -> None:
        started = time.perf_counter()
        graph = self.graph
        if graph is None:
            return
        self.scene.clear()
        self.items, self.frames = {}, {}
        placed = layout(graph, self.expanded)
        kinds = dict(graph.groups)
        folded_by_group = {}
        for fold in placed.folds.values():
            for group in fold.groups:
                folded_by_group[group] = fold
        for group, rect in placed.frames.items():
            frame = GroupFrameItem(group, kinds.get(group, ""), rect, folded_by_group.get(group))
            self.scene.addItem(frame)
            self.frames[group] = frame
        by_id = {n.id: n for n in graph.nodes}
        for node_id, rect in placed.positions.items():
            hidden = placed.stand_ins.get(node_id, [])
            item = GraphNodeItem(by_id[node_id], rect, [by_id[h].grad_norm for h in hidden])
            self.scene.addItem(item)
            self.items[node_id] = item
        line = theme.color("edge.line")
        for source, target in placed.edges:
            a, b = self.items[source], self.items[target]
            if by_id[source].kind == "param" and a.pos().x() == b.pos().x():
                start = a.mapToScene(0, a.boundingRect().height() / 2 - 2)
                end = b.mapToScene(0, 12)
                self.scene.addItem(leaf_edge_item(start, end, line))
            else:
                self.scene.addItem(edge_item(a.anchor_out(), b.anchor_in(), line))
        for key, fold in placed.folds.items():
            shown = [self.frames[g] for g in (fold.groups if key in self.expanded else fold.shown) if g in self.frames]
            if shown:
                right = max(f.pos().x() + f.boundingRect().width() for f in shown)
                top = min(f.pos().y() for f in shown)
                self.scene.addItem(FoldBadgeItem(fold, QPointF(right - 72, top - 12), key in self.expanded))
        self.scene.setSceneRect(QRectF(0, 0, placed.width + 20, placed.height + 20))
        if self.fit_pending or self.auto_fit:   # a new model is shown whole; a person's zoom stays
            self.fit_pending = False
            self.auto_fit = True
            self.fit(shrink_only=True)
        self.last_draw_ms = (time.perf_counter() - started) * 1000

    def _fit_asked(self) -> None:
        self.auto_fit = True
        self.fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.auto_fit and self.graph is not None:
            self.fit(shrink_only=True)

    def fit(self, shrink_only: bool = False) -> None:
        """Zoom so the whole graph shows (never below 35%; ``shrink_only``: never above 100% either)."""
        rect, room = self.scene.sceneRect(), self.canvas.viewport().rect()
        if rect.width() <= 0 or rect.height() <= 0 or room.width() <= 0:
            return
        scale = min(room.width() / rect.width(), room.height() / rect.height())
        scale = max(MIN_ZOOM, min(scale, 1.0) if shrink_only else scale)
        self.canvas.resetTransform()
        self.canvas.scale(scale, scale)

    def toggle_fold(self, key: str) -> None:
        self.expanded ^= {key}
        if self.graph is not None:
            self.draw()

    # -- acting on a node -------------------------------------------------------------------------

    def inspect(self, node) -> None:
        self.inspector.show_node(node)
        for item in self.items.values():
            item.setSelected(node is not None and item.node is node)

    def step_through(self, layer: str) -> None:
        """Open the step-through of ``layer`` (a canvas layer's name, or "loss")."""
        from .dialogs.step_through_dialog import StepThroughDialog

        try:
            probe = self._ensure_probe()
        except TrainingError as error:
            self.status.setText(f"Cannot step through {layer}: {error}")
            return
        dialog = StepThroughDialog(probe, layer, self)
        self.dialogs = [d for d in self.dialogs if d.isVisible()] + [dialog]
        dialog.show()
        dialog.raise_()
