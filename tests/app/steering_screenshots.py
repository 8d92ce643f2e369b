"""Save the screenshot of issue #15 for the docs: a run steered twice while it trained (the learning
rate lowered, then the batch size raised), each change marked on the curves where it took effect.

    python tests/app/steering_screenshots.py [output folder, default docs/]

Writes run-steered-1600x900-dark.png. Runs with its own temporary home folder and settings.
"""
from __future__ import annotations

import sys
from pathlib import Path

from screenshot_support import pump, screenshot_app  # noqa: E402  (first: it sets how Qt starts)

from craft_screenshots import open_window, stand_in_screen  # noqa: E402


def steer_at(app, window, epoch: int, **changes) -> None:
    """Pause once the run has passed ``epoch``, change the settings as the panel's fields do, resume."""
    while window.run.running and window.workspace.trainer_step < epoch * window.workspace.run.steps_per_epoch:
        pump(app, 0.002)
    window.training_panel.pause_button.click()
    pump(app, 0.2)
    window.workspace.set_settings(**changes)
    window.training_panel.pause_button.click()


def main(folder: Path) -> None:
    app = screenshot_app(folder)
    stand_in_screen(1600, 900)
    window = open_window(app, "spiral")
    panel = window.training_panel
    panel.epochs_spin.setValue(60)
    panel.lr_spin.show_value(0.03, force=True)
    window.commit_settings()
    panel.train_button.click()
    steer_at(app, window, 18, learning_rate=0.006)
    steer_at(app, window, 36, batch_size=64)
    while window.run.running:
        pump(app, 0.05)
    pump(app, 0.5)
    window.grab().save(str(folder / "run-steered-1600x900-dark.png"))
    window.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "docs")
