"""Save the layer-health screenshot for the docs (issue #16): a ReLU MLP trained on the spiral with
too high a learning rate, its dying layer's warning badge on the canvas and the card hovering it
shows (what it means, what to try, the figures, histograms of activations and gradients).

    python tests/app/health_screenshot.py [output file, default docs/health-badge.png]

Runs offscreen, with its own temporary home folder and settings.
"""
from __future__ import annotations

import sys
from pathlib import Path

from screenshot_support import SCRATCH, pump, screenshot_app  # noqa: E402  (first: it sets how Qt starts)

from PySide6.QtCore import QRectF, Qt  # noqa: E402

from layerforge.app import create_main_window  # noqa: E402
from layerforge.app.window_commands import install_commands  # noqa: E402
from test_health_badges import DYING, open_project, relu_spec  # noqa: E402


def main(path: Path) -> None:
    app = screenshot_app(path.parent)
    window = create_main_window("spiral")
    install_commands(window).projects.ask_unsaved = lambda: "discard"
    views = window.health_views
    window.resize(1400, 900)
    window.show()
    pump(app, 0.5)
    open_project(window, SCRATCH / "dying.lfproj", relu_spec(), DYING)
    pump(app, 0.3)
    window.run.restart()
    while window.run.running or not window.workspace.run.ended:
        pump(app, 0.05)
    pump(app, 0.3)
    scene = window.canvas.model_scene
    node_id = next(node_id for node_id, node in scene.nodes.items() if node.health_badge.isVisible()
                   and views.latest[node_id].verdict == "dead")
    badge = scene.nodes[node_id].health_badge
    card = badge.show_card()
    # Frame the model and the card, a little zoomed in, as a person looking at that layer would.
    before = window.workspace.spec.inputs_of(node_id)[0].source
    area = (scene.nodes[before].sceneBoundingRect().united(card.sceneBoundingRect())
            .adjusted(-30, -60, 30, 60))
    window.canvas.fitInView(QRectF(area), Qt.AspectRatioMode.KeepAspectRatio)
    pump(app, 0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    window.canvas.grab().save(str(path))
    print(f"saved {path}: {badge.text}")
    window.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/health-badge.png"))
