"""The desktop application (PySide6 + pyqtgraph). The only part of Layerforge that imports Qt.

``main(argv)`` runs the app (the ``layerforge`` command without a subcommand); ``create_main_window()``
builds the window without starting an event loop (tests, screenshots, benchmarks).
"""
from __future__ import annotations

import sys

from ._compat import make_singletons_immortal

make_singletons_immortal()


def create_main_window(example: str = "spiral"):
    """A ready main window opened on an example project (a QApplication must exist)."""
    from .main_window import MainWindow
    return MainWindow(example)


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    argv = list(sys.argv if argv is None else argv)
    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("Layerforge")
    app.setOrganizationName("Layerforge")
    window = create_main_window()
    window.show()
    return app.exec()


__all__ = ["create_main_window", "main"]
