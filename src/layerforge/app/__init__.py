"""The desktop application (PySide6 + pyqtgraph). The only part of Layerforge that imports Qt.

``main(argv)`` runs the app (the ``layerforge`` command without a subcommand); ``create_main_window()``
builds the window without starting an event loop (tests, screenshots, benchmarks).
"""
from __future__ import annotations

import sys

from ._compat import make_singletons_immortal

make_singletons_immortal()


# How often (seconds) the interpreter hands its lock between threads. Python's 5 ms default makes the
# GUI thread wait up to 5 ms for the lock each time it comes back from Qt into Python while the
# training thread runs; a frame does that dozens of times. 1 ms keeps frames short (event-loop stalls
# small) at almost no cost to training, which only pays when the GUI actually wants the lock.
SWITCH_INTERVAL_S = 0.001


def create_main_window(example: str = "spiral"):
    """A ready main window opened on an example project (a QApplication must exist)."""
    from .main_window import MainWindow
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    return MainWindow(example)


def qt_start_problem(argv: list[str]) -> str | None:
    """Why Qt would abort the process when the QApplication is made (a platform plugin whose system
    libraries are missing, no display), or None. Qt's abort cannot be caught, so this asks first;
    LAYERFORGE_SKIP_QT_CHECK=1 skips the question, should it ever be wrong."""
    import os

    from ..qt_libraries import qt_display_problem, qt_platform_problem
    if os.environ.get("LAYERFORGE_SKIP_QT_CHECK") == "1":
        return None
    return qt_platform_problem(argv=argv) or qt_display_problem(argv=argv)


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    argv = list(sys.argv if argv is None else argv)
    if QApplication.instance() is None:
        problem = qt_start_problem(argv)
        if problem is not None:
            print(f"layerforge: error: {problem}", file=sys.stderr)
            return 1
    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName("Layerforge")
    app.setOrganizationName("Layerforge")
    # Lets Wayland and software centres match the window to the installed desktop entry and its icon.
    app.setDesktopFileName("io.github.layerforge.Layerforge")
    window = create_main_window()
    from .window_commands import install_commands
    # Data import, export, projects, autosave with crash recovery, themes and the remembered layout.
    projects = [arg for arg in argv[1:] if arg.lower().endswith(".lfproj")]   # e.g. a double-clicked file
    install_commands(window, start=True, project_path=projects[0] if projects else None)
    window.show()
    if not projects:   # the first start also shows the examples, beside the ready spiral project
        QTimer.singleShot(0, window.help_menu.offer_start_page)
    return app.exec()


__all__ = ["create_main_window", "main", "qt_start_problem"]
