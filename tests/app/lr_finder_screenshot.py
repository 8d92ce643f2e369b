"""Save the learning-rate finder's screenshot for the docs (issue #15): its dialog after a sweep on the
spiral example, in the dark theme.

    python tests/app/lr_finder_screenshot.py [output file, default docs/lr-finder.png]

Runs offscreen, with its own temporary home folder and settings.
"""
from __future__ import annotations

import sys
from pathlib import Path

from screenshot_support import pump, screenshot_app  # noqa: E402  (first: it sets how Qt starts)


from layerforge.app import create_main_window  # noqa: E402
from layerforge.app.dialogs.lr_finder_dialog import open_lr_finder  # noqa: E402
from layerforge.app.window_commands import install_commands  # noqa: E402


def main(path: Path) -> None:
    app = screenshot_app(path.parent)
    window = create_main_window("spiral")
    install_commands(window).appearance.set_theme("dark")
    window.resize(1280, 800)
    window.show()
    pump(app, 0.5)
    dialog = open_lr_finder(window)
    if dialog is None:
        raise SystemExit(f"the finder did not open: {window.statusBar().currentMessage()}")
    dialog.resize(720, 560)
    while dialog.result is None and not dialog.error:
        pump(app, 0.05)
    pump(app, 0.3)
    if dialog.error:
        raise SystemExit(dialog.error)
    path.parent.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(path))
    print(f"{path}: suggestion {dialog.result.suggestion:.3g} ({dialog.result.why})")
    dialog.close()
    window.close()
    pump(app, 0.2)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "docs" / "lr-finder.png")
