"""The real app (``layerforge.app.main``) comes with its commands (install_commands): it offers back what a crashed session
left, and a clean quit removes the autosave and remembers the layout. Runs in a fresh interpreter with
its own home folder."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from layerforge.training import example_project_path, load_project, save_project

APP = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
import layerforge.app as lf
asked = []
def answer(parent, title, text, *args, **kwargs):
    asked.append(title)   # restore the autosave; on quit, discard the recovered (unsaved) work
    return QMessageBox.StandardButton.Discard if title == "Unsaved changes" else QMessageBox.StandardButton.Yes
QMessageBox.question = staticmethod(answer)
app = QApplication(sys.argv)
QTimer.singleShot(1500, app.quit)
code = lf.main(sys.argv)
window = [w for w in app.topLevelWidgets() if w.objectName() == 'mainWindow'][0]
print(code, asked, window.windowTitle(), len(window.document.spec.nodes), sep='|')
"""


def run_app(home, *args):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(home), XDG_DATA_HOME=str(home / "data"),
               XDG_CONFIG_HOME=str(home / "config"))
    done = subprocess.run([sys.executable, "-c", APP, *map(str, args)], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1].split("|")


def test_the_app_offers_a_crashed_sessions_autosave_then_quits_cleanly(tmp_path):
    home = tmp_path / "home"
    folder = home / "data" / "Layerforge" / "Layerforge" / "autosave"
    folder.mkdir(parents=True)
    project, _ = load_project(example_project_path("sine"))
    project.name = "lost work"
    save_project(project, folder / "autosave-999999.lfproj")
    (folder / "autosave-999999.json").write_text(json.dumps({"pid": 999999, "name": "lost work"}))

    code, asked, title, nodes = run_app(home)
    assert code == "0" and "Recover unsaved work?" in asked
    assert title == "lost work* — Layerforge" and int(nodes) == len(project.spec.nodes)
    assert not any(folder.glob("autosave-999999.*"))         # recovered into this session, which then quit
    assert (home / "config" / "Layerforge" / "Layerforge.ini").is_file()   # the layout, remembered

    code, asked, title, nodes = run_app(home)
    assert asked == "[]" and title == "spiral — Layerforge"   # a clean quit leaves nothing to recover


def test_the_app_opens_a_project_named_on_the_command_line(tmp_path):
    project, _ = load_project(example_project_path("sine"))
    project.name = "curve fit"
    path = save_project(project, tmp_path / "curve.lfproj")
    code, asked, title, nodes = run_app(tmp_path / "home", path)
    assert code == "0" and asked == "[]" and title == "curve fit — Layerforge"
