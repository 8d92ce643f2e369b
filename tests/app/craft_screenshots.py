"""Save the screenshots of issue #22 for the docs: the window on a 1280x720 laptop screen and on a
2560x1440 monitor, in the dark theme, after training the LSTM example and an imported regression.

    python tests/app/craft_screenshots.py [output folder, default docs/]

Writes window-<width>x<height>-dark-lstm.png and window-<width>x<height>-dark-regression.png. The
window sizes itself for a stand-in screen of that size (window_geometry.available_geometry), as it
does for a real one. Runs with its own temporary home folder and settings.
"""
from __future__ import annotations

import sys
from pathlib import Path

from screenshot_support import SCRATCH, pump  # noqa: E402  (first: it sets how Qt starts)

from PySide6.QtCore import QPoint, QRect, QSettings, QSize, QStandardPaths  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from layerforge.app import create_main_window, window_geometry  # noqa: E402
from layerforge.app.window_commands import install_commands  # noqa: E402
from workspace_screenshots import prices_csv, train  # noqa: E402

SCREENS = ((1280, 720), (2560, 1440))
TASKBAR = 32   # px a desktop's panel takes from the screen's height


def stand_in_screen(width: int, height: int) -> None:
    area = QRect(QPoint(0, 0), QSize(width, height - TASKBAR))
    window_geometry.available_geometry = lambda widget=None: area


def open_window(app, example: str):
    window = create_main_window(example)
    commands = install_commands(window)
    commands.projects.ask_unsaved = lambda: "discard"
    commands.appearance.set_theme("dark")
    window_geometry.fit_to_screen(window)
    window.show()
    pump(app, 0.5)
    return window


def main(folder: Path) -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    QStandardPaths.setTestModeEnabled(True)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(SCRATCH / "settings"))
    folder.mkdir(parents=True, exist_ok=True)
    for width, height in SCREENS:
        stand_in_screen(width, height)
        window = open_window(app, "waveforms_lstm")
        train(app, window, 12)
        window.grab().save(str(folder / f"window-{width}x{height}-dark-lstm.png"))
        window.close()

        window = open_window(app, "spiral")
        dialog = window.commands.open_import_dialog()
        dialog.csv_tab.path_row.edit.setText(str(prices_csv(SCRATCH / "prices.csv")))
        pump(app, 0.2)
        dialog.import_button.click()
        pump(app, 0.3)
        window.banner.action_button.click()   # Use a matching model
        train(app, window, 80)
        window.grab().save(str(folder / f"window-{width}x{height}-dark-regression.png"))
        window.close()
        pump(app, 0.2)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "docs")
