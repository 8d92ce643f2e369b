"""The layers' health on the canvas: each node's badge (and, for a model of two input features, its
units' maps over the input plane) follows the Trainer's LayerHealth reports.

A report reaches the views as the workspace's ``TrainerReport``; the badges show the latest one of
the current run, stay when the run ends, and clear when a new run (or project) replaces it.
"""
from __future__ import annotations

from ..training import LayerHealth
from ..workspace import events as ev


class HealthViews:
    """Subscribes the canvas's health badges to ``window.workspace``. ``latest``: the last report
    per node id, ``step`` the step it was measured at and ``plane_features`` the names of the two
    input features its unit maps are drawn over."""

    def __init__(self, window):
        self.window = window
        self.latest: dict = {}
        self.step = 0
        self.plane_features: tuple = ()   # the input features the unit maps are drawn over (across, up)
        hub = window.workspace.events
        hub.connect(self._trainer_report, ev.TrainerReport)
        hub.connect(self._run_replaced, ev.RunReplaced)

    def badge(self, node_id: str):
        node = self.window.canvas.model_scene.nodes.get(node_id)
        return node.health_badge if node is not None else None

    def _trainer_report(self, event: ev.TrainerReport) -> None:
        health = event.event
        if not isinstance(health, LayerHealth):
            return
        self.step, self.plane_features = health.step, tuple(health.plane_features)
        nodes = self.window.canvas.model_scene.nodes
        for node_id, report in health.layers.items():
            self.latest[node_id] = report
            node = nodes.get(node_id)
            if node is None:
                continue
            node.health_badge.show_report(report, health.step)
            if report.unit_maps is not None:
                node.unit_maps.set_maps(report.unit_maps, health.plane_features)

    def _run_replaced(self, event: ev.RunReplaced) -> None:
        shown, self.latest, self.step, self.plane_features = self.latest, {}, 0, ()
        nodes = self.window.canvas.model_scene.nodes
        for node_id, report in shown.items():
            if node_id in nodes:
                nodes[node_id].health_badge.clear()
                if report.unit_maps is not None:
                    nodes[node_id].unit_maps.set_maps(None)   # whether they are shown stays
