"""Save screenshots of the main window before, during and after training, for each task type.

    python tests/app/screenshots.py [output folder, default docs/]

Writes screenshot-<example>-{before,during,after}.png at 1400x900. "During" pauses the run at a
fixed epoch so the picture is reproducible, then lets it finish.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from screenshot_support import pump  # noqa: E402  (first: it sets how Qt starts)

from PySide6.QtWidgets import QApplication  # noqa: E402

from layerforge.app import create_main_window  # noqa: E402
from layerforge.app.window_commands import install_commands  # noqa: E402

# example -> (epochs for the run, epoch at which to take the "during" picture)
RUNS = {"spiral": (200, 40), "sine": (300, 25), "digits": (15, 3)}


def shoot(app: QApplication, example: str, folder: Path) -> None:
    window = create_main_window(example)
    commands = install_commands(window)  # the window as the app shows it: import button, File/Run/View menus
    commands.projects.ask_unsaved = lambda: "discard"  # closing after the run: no modal question offscreen
    window.resize(1400, 900)
    window.show()
    pump(app, 0.3)
    window.grab().save(str(folder / f"screenshot-{example}-before.png"))
    epochs, during = RUNS[example]
    window.training_panel.epochs_spin.setValue(epochs)
    window.training_panel.train_button.click()
    deadline = time.monotonic() + 120
    while window.run.running and time.monotonic() < deadline:
        pump(app, 0.02)  # idles between events as a person's event loop does (the frame clock measures it)
        run = window.workspace.run
        if run is not None and run.last_epoch >= during and window.workspace.run_state == "running":
            window.training_panel.pause_button.click()
            pump(app, 1.5)  # the frame clock draws what arrived before the pause
            window.grab().save(str(folder / f"screenshot-{example}-during.png"))
            window.training_panel.pause_button.click()
            during = 10 ** 9
    pump(app, 1.5)
    window.grab().save(str(folder / f"screenshot-{example}-after.png"))
    window.close()


def main(argv: list[str]) -> None:
    folder = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[2] / "docs"
    folder.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    for example in RUNS:
        shoot(app, example, folder)
        print(f"saved {example} screenshots in {folder}")


if __name__ == "__main__":
    main(sys.argv)
