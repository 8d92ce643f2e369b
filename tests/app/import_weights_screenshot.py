"""Save a screenshot of File > Import weights…'s dialog for the docs: a PyTorch-style checkpoint
(prefixed names, one tensor of another shape, one the model lacks, the output layer missing) matched
against the spiral example, in the dark theme.

    python tests/app/import_weights_screenshot.py [output folder, default docs/]

Writes dialog-import-weights.png. Runs with its own temporary home folder and settings.
"""
from __future__ import annotations

import sys
from pathlib import Path

from screenshot_support import SCRATCH, pump, screenshot_app  # noqa: E402  (first: it sets how Qt starts)

from layerforge import engine  # noqa: E402
from layerforge.app import create_main_window  # noqa: E402
from layerforge.app.window_commands import install_commands  # noqa: E402
from layerforge.graph import compile_spec  # noqa: E402


def main(folder: Path) -> None:
    app = screenshot_app(folder)
    window = create_main_window("spiral")
    install_commands(window)
    window.commands.appearance.set_theme("dark")
    window.resize(1400, 900)
    window.show()
    pump(app, 0.5)
    state = compile_spec(window.workspace.spec).state_dict()
    checkpoint = {f"module.{key}": value for key, value in state.items() if not key.startswith("fc3")}
    checkpoint["module.fc2.weight"] = engine.zeros(8, 16)
    checkpoint["module.dropout.mask"] = engine.ones(16)
    path = SCRATCH / "finetuned_backbone.pt"
    engine.save({"epoch": 40, "model": checkpoint}, path)
    dialog = window.weights_import.review(path)
    dialog.show()
    pump(app, 0.5)
    dialog.grab().save(str(folder / "dialog-import-weights.png"))
    dialog.close()
    window.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "docs")
