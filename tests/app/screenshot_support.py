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
