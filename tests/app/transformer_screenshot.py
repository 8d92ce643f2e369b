"""Save the screenshot of issue #18 for the docs: the transformer example after training, the whole
window in the dark theme on a 1600x900 screen.

    python tests/app/transformer_screenshot.py [output folder, default docs/]

Writes transformer-after-training.png. Runs with its own temporary home folder and settings.
"""
from __future__ import annotations

import sys
from pathlib import Path

from screenshot_support import screenshot_app, train_fresh  # noqa: E402  (first: it sets how Qt starts)

from craft_screenshots import open_window, stand_in_screen  # noqa: E402

EPOCHS = 15


def main(folder: Path) -> Path:
    app = screenshot_app(folder)
    stand_in_screen(1600, 900)
    window = open_window(app, "transformer_sequences")
    train_fresh(app, window, EPOCHS)
    path = folder / "transformer-after-training.png"
    window.grab().save(str(path))
    window.close()
    return path


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "docs"))
