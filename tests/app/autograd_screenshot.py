"""Screenshots of the computational graph view, the parameter inspector and the step-through (dark theme),
and the time to draw the graph of each shipped example.

    python tests/app/autograd_screenshot.py [folder]     (default: docs/)

Writes autograd-graph.png, parameter-inspector.png and step-through.png; prints each example's node
count and draw time (layout, scene items and one paint of the view, the median of 5 draws).
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from screenshot_support import pump, screenshot_app, train_fresh  # noqa: E402

from layerforge.app import create_main_window  # noqa: E402
from layerforge.app.window_commands import install_commands  # noqa: E402
from layerforge.training import example_projects  # noqa: E402


def open_window(app):
    window = create_main_window("spiral")
    commands = install_commands(window)
    commands.projects.ask_unsaved = lambda: "discard"
    commands.appearance.set_theme("dark")
    window.resize(1400, 900)
    window.show()
    pump(app, 0.5)
    return window


def draw_times(app, window) -> None:
    view = window.see_inside_graph.view
    for name in example_projects():
        window.workspace.open_example(name, discard=True)
        pump(app, 0.2)
        view.step()
        if view.graph is None:
            print(f"{name:20s} not drawn: {view.status.text()}")
            continue
        times = []
        for _ in range(5):   # the items and their first paint
            started = time.perf_counter()
            view.draw()
            view.canvas.viewport().grab()
            times.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        view.step()
        step_ms = (time.perf_counter() - started) * 1000
        print(f"{name:20s} {len(view.graph.nodes):3d} nodes  draw {statistics.median(times):6.1f} ms  "
              f"step (forward+backward+draw) {step_ms:6.1f} ms")


def main(folder: Path) -> None:
    app = screenshot_app(folder)
    window = open_window(app)
    train_fresh(app, window, 30)
    graph = window.see_inside_graph
    graph.dock.setFloating(True)
    graph.dock.show()
    graph.dock.resize(1900, 470)
    pump(app, 0.3)
    view = graph.view
    view.step()
    view.inspect(view.graph.named("fc2.weight")[0])
    pump(app, 0.3)
    view.grab().save(str(folder / "autograd-graph.png"))
    view.inspector.grab().save(str(folder / "parameter-inspector.png"))

    graph.step_through_node(window.workspace.spec.node_by_name("fc1").id)
    dialog = view.dialogs[-1]
    dialog.resize(1000, 580)
    dialog.sample.setValue(4)
    for _ in range(2):   # forward, then backward: the gradients of x, the weight and the bias
        dialog.step()
    pump(app, 0.3)
    dialog.grab().save(str(folder / "step-through.png"))
    dialog.close()
    draw_times(app, window)
    window.close()
    pump(app, 0.2)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "docs")
