"""Save the screenshots of issue #21's Code panel, Analyze dialog and exported diagram for the docs.

    python tests/app/code_view_screenshot.py [output folder, default docs/]

Writes code-view.png (the whole window, dark theme, the Code panel open beside the canvas with a
layer selected), analyze.png (Model > Analyze), and diagram-example.svg / diagram-example.png (File >
Export diagram of the residual example). Runs with its own temporary home folder and settings.
"""
from __future__ import annotations

import sys
from pathlib import Path

from screenshot_support import pump, screenshot_app  # noqa: E402  (first: it sets how Qt starts)

from PySide6.QtCore import QPoint, QRect, QSize  # noqa: E402

from layerforge.app import create_main_window, window_geometry  # noqa: E402
from layerforge.app.window_commands import install_commands  # noqa: E402

EXAMPLE = "digits_residual"
SCREEN = (2560, 1440)   # a monitor: the Code panel opens at its full width beside the canvas


def main(folder: Path) -> None:
    app = screenshot_app(folder)
    area = QRect(QPoint(0, 0), QSize(SCREEN[0], SCREEN[1] - 32))
    window_geometry.available_geometry = lambda widget=None: area
    window = create_main_window(EXAMPLE)
    commands = install_commands(window)
    commands.projects.ask_unsaved = lambda: "discard"
    commands.appearance.set_theme("dark")
    window_geometry.fit_to_screen(window)
    window.show()
    pump(app, 0.5)
    parts = window.code_and_analysis
    parts.action_code.trigger()
    pump(app, 0.5)
    window.canvas.fit_to_view()
    scene = window.canvas.model_scene
    scene.select_nodes([window.workspace.spec.node_by_name("conv2").id])
    pump(app, 0.5)
    window.grab().save(str(folder / "code-view.png"))

    dialog = parts.show_analysis()
    pump(app, 0.5)
    dialog.grab().save(str(folder / "analyze.png"))
    dialog.close()

    scene.clearSelection()
    for suffix in (".svg", ".png"):
        parts.export_diagram_to(folder / f"diagram-example{suffix}")
    window.close()
    pump(app, 0.2)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "docs")
