"""Fixtures and helpers for the GUI tests of the window's commands (import, export, projects, autosave, predict).

Every test runs with its own home folder, QStandardPaths in test mode and QSettings under tmp_path, so
nothing touches the real home; message boxes and file dialogs are answered by the test.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings, QStandardPaths, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox

from layerforge.app import create_main_window
from layerforge.app.window_commands import install_commands
from layerforge.graph import compile_spec, get_template
from layerforge.training import Project, TrainingSettings, save_project


class MessageBoxes:
    """Records every QMessageBox shown; answers questions with ``answer`` (a StandardButton)."""

    def __init__(self):
        self.shown: list[tuple[str, str, str]] = []   # (kind, title, text)
        self.answer = QMessageBox.StandardButton.Discard

    def texts(self, kind: str | None = None) -> list[str]:
        return [text for k, _title, text in self.shown if kind is None or k == kind]


class FileDialogs:
    """The paths the next file dialogs return (None: the user cancels)."""

    def __init__(self):
        self.open_path: str | None = None
        self.save_path: str | None = None
        self.asked: list[str] = []
        self.proposed: list[str] = []   # the path each save dialog opened on


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    QStandardPaths.setTestModeEnabled(True)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    yield home
    QStandardPaths.setTestModeEnabled(False)


@pytest.fixture
def boxes(monkeypatch):
    record = MessageBoxes()

    def shower(kind):
        def show(parent, title, text, *args, **kwargs):
            record.shown.append((kind, title, text))
            return record.answer if kind == "question" else QMessageBox.StandardButton.Ok
        return staticmethod(show)

    for kind in ("warning", "information", "critical", "question"):
        monkeypatch.setattr(QMessageBox, kind, shower(kind))
    return record


@pytest.fixture
def files(monkeypatch):
    record = FileDialogs()

    def get_open(parent, caption="", *args, **kwargs):
        record.asked.append(caption)
        return (record.open_path or "", "")

    def get_save(parent, caption="", directory="", *args, **kwargs):
        record.asked.append(caption)
        record.proposed.append(directory)
        return (record.save_path or "", "")

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(get_open))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(get_save))
    return record


def open_window(qtbot, example: str = "spiral", crash_later: bool = False):
    """A main window with its commands installed (install_commands); ``crash_later``: the test destroys it itself (a crash), so
    pytest-qt must not close it."""
    window = create_main_window(example)
    if not crash_later:
        qtbot.addWidget(window)
    install_commands(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    return window


def close_window(window) -> None:
    window.confirm_close_during_training = lambda: True
    window.commands.projects.ask_unsaved = lambda: "discard"
    window.run.shutdown(10)
    window.close()


def open_project(window, project, weights) -> Path:
    """Write ``project`` (with ``weights``) to a file of its own and open it with File > Open."""
    folder = Path(tempfile.mkdtemp(prefix="layerforge-test-"))
    path = folder / f"{project.name}.lfproj"
    save_project(project, path, weights)
    window.commands.projects.ask_unsaved = lambda: "discard"
    assert window.commands.projects.open_path(path), window.statusBar().currentMessage()
    return path


def open_predict(window):
    """Run > Predict…; the dialog it opened."""
    window.findChild(QAction, "actionPredict").trigger()
    return window.commands.action_predict.last_dialog


def open_untrained_curve(window):
    """A regression on the sine data (one input, column "x") opened with untrained weights; its
    Predict dialog."""
    window.dataset_panel.select("sine")
    spec = get_template("mlp_regressor").spec(in_features=1, out_features=1)
    project = Project("curve", spec, {"kind": "builtin", "name": "sine", "options": {}},
                      TrainingSettings(device="cpu", loss="mse"), data_info={"dataset": "sine", "target": "values"})
    open_project(window, project, compile_spec(spec).state_dict())
    return open_predict(window)


@pytest.fixture
def app_window(qtbot, isolated, boxes, files):
    window = open_window(qtbot)
    yield window
    close_window(window)


def click(qtbot, widget) -> None:
    assert widget.isEnabled(), f"{widget.objectName()} is disabled"
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def train(qtbot, window, epochs: int = 3, timeout: int = 30_000) -> None:
    """Press Train and wait for the run (and its thread) to end."""
    window.training_panel.epochs_spin.setValue(epochs)
    click(qtbot, window.training_panel.train_button)
    qtbot.waitUntil(lambda: not window.run.running, timeout=timeout)
    assert window.workspace.project()[1] is not None, window.banner.label.text()


def write_class_csv(path: Path, rows: int = 90, header: bool = True, missing_line: int | None = None) -> Path:
    """Two numeric features and a text class that depends on them (easy to learn)."""
    rng = np.random.default_rng(0)
    names = ["setosa", "versicolor", "virginica"]
    lines = ["length,width,species"] if header else []
    for i in range(rows):
        label = i % 3
        a, b = rng.normal(label * 2.0, 0.3), rng.normal(-label, 0.3)
        lines.append(f"{a:.3f},{b:.3f},{names[label]}")
    if missing_line is not None:
        index = missing_line - 1
        first, _, rest = lines[index].partition(",")
        lines[index] = "," + rest   # the first cell of that line left empty
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def snapshot_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def wait(qtbot, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        qtbot.wait(20)
