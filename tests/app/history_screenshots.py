"""Save the screenshots of issue #16 for the docs: two runs compared (their curves overlaid, what
changed between them), and the epoch slider showing an early epoch's decision boundary.

    python tests/app/history_screenshots.py [output folder, default docs/]

Writes runs-compared-1600x900-dark.png and epoch-slider-1600x900-dark.png. Runs with its own
temporary home folder and settings.
"""
from __future__ import annotations

import sys
from pathlib import Path

from screenshot_support import pump, screenshot_app, train_fresh  # noqa: E402  (first: it sets how Qt starts)

from craft_screenshots import open_window, stand_in_screen  # noqa: E402


def main(folder: Path) -> None:
    app = screenshot_app(folder)
    stand_in_screen(1600, 900)
    window = open_window(app, "spiral")
    window.training_panel.lr_spin.show_value(0.003, force=True)
    window.commit_settings()
    train_fresh(app, window, 40)
    fc1 = next(n for n, node in window.document.spec.nodes.items() if node.name == "fc1")
    window.document.set_param(fc1, "out_features", 32)
    window.training_panel.lr_spin.show_value(0.02, force=True)
    window.commit_settings()
    train_fresh(app, window, 40)
    window.workspace.rename_run(1, "baseline")
    window.runs_panel.select([1, 2])
    pump(app, 0.5)
    window.grab().save(str(folder / "runs-compared-1600x900-dark.png"))

    window.runs_panel.select([])
    replay = window.replay
    replay.slider.setValue(replay.epochs.index(4))
    pump(app, 0.5)
    window.grab().save(str(folder / "epoch-slider-1600x900-dark.png"))
    window.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "docs")
