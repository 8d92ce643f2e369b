"""Save the screenshots of issue #14 for the docs: the window after the things that used to leave it
showing another state than the project's.

    python tests/app/workspace_screenshots.py [output folder, default docs/]

Writes screenshot-reopened-project.png (a trained spiral project saved, then opened in a new window),
screenshot-regression-import-after-training.png (a regression CSV imported and trained after a
classification run) and screenshot-new-after-run.png (File > New after a stopped run). Runs with its
own temporary home folder and settings.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from screenshot_support import SCRATCH, pump  # noqa: E402  (first: it sets how Qt starts)

import numpy as np  # noqa: E402
from PySide6.QtCore import QSettings, QStandardPaths  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from layerforge.app import create_main_window  # noqa: E402
from layerforge.app.window_commands import install_commands  # noqa: E402


def train(app, window, epochs: int, stop_after_s: float | None = None) -> None:
    window.training_panel.epochs_spin.setValue(epochs)
    window.training_panel.train_button.click()
    started = time.monotonic()
    while window.run.running:
        pump(app, 0.05)
        if stop_after_s is not None and time.monotonic() - started > stop_after_s:
            window.training_panel.stop_button.click()
            stop_after_s = None
    pump(app, 0.5)


def new_window(app):
    window = create_main_window("spiral")
    commands = install_commands(window)
    commands.projects.ask_unsaved = lambda: "discard"
    window.resize(1400, 900)
    window.show()
    pump(app, 0.3)
    return window


def prices_csv(path: Path) -> Path:
    rng = np.random.default_rng(1)
    lines = ["size,price"]
    for _ in range(200):
        x = rng.uniform(0, 300)
        lines.append(f"{x:.2f},{2.0 * x + 0.002 * x * x + rng.normal(0, 8):.2f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main(folder: Path) -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    QStandardPaths.setTestModeEnabled(True)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(SCRATCH / "settings"))
    folder.mkdir(parents=True, exist_ok=True)

    window = new_window(app)
    train(app, window, 60)
    window.commands.projects.save_to(SCRATCH / "spiral_trained.lfproj")
    window.close()
    reopened = new_window(app)
    reopened.commands.projects.open_path(SCRATCH / "spiral_trained.lfproj")
    pump(app, 0.8)
    reopened.grab().save(str(folder / "screenshot-reopened-project.png"))

    dialog = reopened.commands.open_import_dialog()
    dialog.csv_tab.path_row.edit.setText(str(prices_csv(SCRATCH / "prices.csv")))
    pump(app, 0.2)
    dialog.import_button.click()
    pump(app, 0.3)
    reopened.banner.action_button.click()   # Use a matching model
    train(app, reopened, 80)
    reopened.grab().save(str(folder / "screenshot-regression-import-after-training.png"))
    reopened.close()

    window = new_window(app)
    train(app, window, 3000, stop_after_s=2.0)
    window.commands.projects.new_project()
    pump(app, 0.8)
    window.grab().save(str(folder / "screenshot-new-after-run.png"))
    window.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "docs")
