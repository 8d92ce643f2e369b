"""What the screenshot scripts share; imported before Qt, since it sets how Qt starts.

Qt draws offscreen, and the scripts run with a scratch home folder (``SCRATCH / "home"``), so they
never read or write the person's own settings, recent files or autosaves.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
SCRATCH = Path(tempfile.mkdtemp(prefix="layerforge-shots-"))
os.environ["HOME"] = str(SCRATCH / "home")
(SCRATCH / "home").mkdir()


def pump(app, seconds: float) -> None:
    """Let the window run (and a training thread report) for ``seconds``."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)


def screenshot_app(folder: Path):
    """The QApplication of a screenshot script, its settings in the scratch folder, and ``folder``
    (where the pictures go) made."""
    from PySide6.QtCore import QSettings, QStandardPaths
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    QStandardPaths.setTestModeEnabled(True)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(SCRATCH / "settings"))
    folder.mkdir(parents=True, exist_ok=True)
    return app


def train_fresh(app, window, epochs: int) -> None:
    """Train ``epochs`` afresh (Restart where Continue is offered) and let the window catch up."""
    panel = window.training_panel
    panel.epochs_spin.setValue(epochs)
    (panel.restart_button if panel.restart_button.isVisible() else panel.train_button).click()
    pump(app, 0.2)
    while window.run.running:
        pump(app, 0.05)
    pump(app, 0.5)
