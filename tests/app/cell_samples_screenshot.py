"""Save the screenshot of a confusion cell's samples for the docs (issue #16, "Errors you can click"):
the digits example trained briefly, in the dark theme, its busiest mistake clicked.

    python tests/app/cell_samples_screenshot.py [output file, default docs/confusion-cell-samples.png]

Runs offscreen, with its own temporary home folder and settings.
"""
from __future__ import annotations

import sys
from pathlib import Path

from screenshot_support import pump, screenshot_app  # noqa: E402  (first: it sets how Qt starts)

import numpy as np  # noqa: E402

from layerforge.app import create_main_window  # noqa: E402
from layerforge.app.window_commands import install_commands  # noqa: E402

EPOCHS = 1   # one epoch leaves a cell of mistakes worth a gallery


def main(path: Path) -> None:
    app = screenshot_app(path.parent)
    window = create_main_window("digits_cnn")
    install_commands(window).appearance.set_theme("dark")
    errors = window.cell_errors
    window.resize(1400, 900)
    window.show()
    pump(app, 0.5)
    window.training_panel.epochs_spin.setValue(EPOCHS)
    window.training_panel.train_button.click()
    pump(app, 0.5)
    while window.run.running:
        pump(app, 0.1)
    pump(app, 0.5)
    matrix = np.array(window.predictions.confusion.matrix)
    np.fill_diagonal(matrix, -1)
    true, predicted = (int(v) for v in np.unravel_index(np.argmax(matrix), matrix.shape))
    dialog = errors.open_cell(true, predicted)
    if dialog is None:
        raise SystemExit(f"the cell did not open: {window.statusBar().currentMessage()}")
    while not dialog.ready:
        pump(app, 0.05)
    pump(app, 0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(path))
    print(f"{path}: {dialog.title.text()}")
    dialog.close()
    window.close()
    pump(app, 0.2)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "docs" / "confusion-cell-samples.png")
