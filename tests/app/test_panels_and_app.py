"""The training panel's generated settings, the canvas's quick-fix link, read-only editing during a
run, and the app's entry point."""
from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QCheckBox
from layerforge.training import OPTIMIZERS, SCHEDULES


def choose(combo, data) -> None:
    index = combo.findData(data)
    assert index >= 0
    combo.setCurrentIndex(index)


def test_optimizer_and_schedule_settings_come_from_their_declarations(window, qtbot):
    panel = window.training_panel
    choose(panel.optimizer_combo, "sgd")
    qtbot.mouseClick(panel.optimizer_toggle, Qt.MouseButton.LeftButton)
    assert panel.optimizer_box.isVisible()
    assert set(panel.optimizer_editors) == {p.name for p in OPTIMIZERS["sgd"].params}
    momentum = panel.optimizer_editors["momentum"]
    assert momentum.maximum() < 1.0 and "momentum" in momentum.toolTip()
    momentum.setValue(0.9)
    nesterov = panel.optimizer_editors["nesterov"]
    assert isinstance(nesterov, QCheckBox)
    nesterov.setChecked(True)
    choose(panel.schedule_combo, "step")
    assert set(panel.schedule_editors) == {p.name for p in SCHEDULES["step"].params}
    panel.schedule_editors["step_size"].setValue(7)
    panel.lr_spin.setValue(0.05)
    settings = panel.settings()
    assert settings.optimizer == "sgd" and settings.optimizer_params["momentum"] == 0.9
    assert settings.optimizer_params["nesterov"] is True
    assert settings.schedule == {"type": "step", "step_size": 7, "gamma": 0.5}
    assert settings.learning_rate == 0.05
    assert window.windowTitle().startswith("spiral*")


def test_small_float_settings_keep_their_value(window):
    panel = window.training_panel
    choose(panel.optimizer_combo, "adam")
    eps = panel.optimizer_editors["eps"]
    assert eps.value() == 1e-8 and eps.text() == "1e-08"
    assert panel.settings().optimizer_params["eps"] == 1e-8


def test_the_fix_link_under_a_red_node_repairs_it(window, qtbot):
    ids = {n.name: i for i, n in window.document.spec.nodes.items()}
    window.document.set_param(ids["input1"], "shape", "1, 4")
    node = window.canvas.model_scene.nodes[ids["fc1"]]
    link = node.quick_fix_item
    assert link.isVisible() and "Flatten" in link.toPlainText()
    canvas = window.canvas
    canvas.centerOn(link.sceneBoundingRect().center())
    where = canvas.mapFromScene(link.sceneBoundingRect().center())
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert window.document.report.ok
    window.action_undo.trigger()
    assert not window.document.report.ok


def test_dragging_a_node_during_training_snaps_back_with_a_message(window, qtbot):
    panel = window.training_panel
    panel.epochs_spin.setValue(5000)
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.workspace.run is not None and bool(window.workspace.run.device), timeout=10_000)
    scene, canvas = window.canvas.model_scene, window.canvas
    item = next(iter(scene.nodes.values()))
    before = item.pos()
    start = item.sceneBoundingRect().center() + QPointF(0, 8)
    viewport = canvas.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(start))
    qtbot.mouseMove(viewport, canvas.mapFromScene(start + QPointF(40, 60)))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(start + QPointF(40, 60)))
    assert item.pos() == before
    port = scene.nodes[list(scene.nodes)[-1]].output_port
    assert not scene.begin_wire(port)
    assert "training" in window.statusBar().currentMessage().lower()
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.run.running, timeout=5_000)


def test_main_opens_the_window_and_returns_when_the_app_quits(tmp_path):
    # In a fresh interpreter: quitting the shared QApplication would end the event loops of later tests.
    code = ("import sys\n"
            "from PySide6.QtCore import QTimer\n"
            "from PySide6.QtWidgets import QApplication\n"
            "import layerforge.app as lf\n"
            "app = QApplication(sys.argv)\n"
            "QTimer.singleShot(500, app.quit)\n"
            "code = lf.main([])\n"
            "windows = [w for w in app.topLevelWidgets() if w.objectName() == 'mainWindow']\n"
            "print(code, windows[0].windowTitle())\n")
    # Its own home: the app remembers its layout and autosaves, which must not touch the real one.
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_DATA_HOME=str(tmp_path / "data"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0 spiral — Layerforge"
