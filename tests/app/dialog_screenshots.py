"""Save screenshots of the dialogs (import, export, predict), the File menu and the dark theme for the docs.

    python tests/app/dialog_screenshots.py [output folder, default docs/]

Writes dialog-import-csv.png, dialog-import-csv-error.png, dialog-import-images.png, dialog-export.png,
dialog-predict.png, dialog-predict-sketch.png, menu-file.png and window-dark.png. Runs with its own temporary home folder and settings.
"""
from __future__ import annotations

import sys
from pathlib import Path

from screenshot_support import SCRATCH, pump  # noqa: E402  (first: it sets how Qt starts)

import numpy as np  # noqa: E402
from PySide6.QtCore import QPointF, QSettings, QStandardPaths  # noqa: E402
from PySide6.QtGui import QColor, QImage, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication, QFileDialog  # noqa: E402

from layerforge.app import create_main_window  # noqa: E402
from layerforge.app.window_commands import install_commands  # noqa: E402


def flowers_csv(path: Path) -> Path:
    rng = np.random.default_rng(3)
    names = ["setosa", "versicolor", "virginica"]
    lines = ["sepal_length,sepal_width,petal_length,petal_width,species"]
    for i in range(150):
        k = i % 3
        values = rng.normal([5.0 + k * 0.9, 3.4 - k * 0.3, 1.5 + k * 2.0, 0.2 + k * 0.9], 0.25)
        cells = [f"{v:.1f}" for v in values]
        if i in (17, 64):
            cells[1] = ""
        lines.append(",".join(cells + [names[k]]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def shapes_folder(root: Path) -> Path:
    """Circles and squares in a few colours, drawn with Qt, as an image folder with two classes."""
    rng = np.random.default_rng(5)
    for shape in ("circles", "squares"):
        (root / shape).mkdir(parents=True)
        for i in range(9):
            image = QImage(32, 32, QImage.Format.Format_RGB32)
            image.fill(QColor("#fafafa"))
            painter = QPainter(image)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setBrush(QColor.fromHsv(int(rng.integers(0, 359)), 180, 220))
            painter.setPen(QColor("#37474f"))
            size = int(rng.integers(12, 24))
            x, y = (int(v) for v in rng.integers(2, 30 - size, size=2))
            (painter.drawEllipse if shape == "circles" else painter.drawRect)(x, y, size, size)
            painter.end()
            image.save(str(root / shape / f"{shape}_{i}.png"))
    return root


def train(app, window, epochs: int) -> None:
    window.training_panel.epochs_spin.setValue(epochs)
    window.training_panel.train_button.click()
    while window.run.running:
        pump(app, 0.05)


def main(folder: Path) -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    QStandardPaths.setTestModeEnabled(True)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(SCRATCH / "settings"))
    folder.mkdir(parents=True, exist_ok=True)
    window = create_main_window("spiral")
    commands = install_commands(window)
    window.resize(1400, 900)
    window.show()
    pump(app, 0.3)

    file_menu = window.menuBar().actions()[0].menu()
    file_menu.popup(window.mapToGlobal(window.rect().topLeft()))
    pump(app, 0.2)
    file_menu.grab().save(str(folder / "menu-file.png"))
    file_menu.hide()

    dialog = commands.open_import_dialog()
    dialog.csv_tab.path_row.edit.setText(str(flowers_csv(SCRATCH / "iris.csv")))
    dialog.csv_tab.missing_combo.setCurrentIndex(1)
    pump(app, 0.2)
    dialog.grab().save(str(folder / "dialog-import-csv.png"))
    dialog.csv_tab.missing_combo.setCurrentIndex(0)
    pump(app, 0.2)
    dialog.grab().save(str(folder / "dialog-import-csv-error.png"))
    dialog.tabs.setCurrentWidget(dialog.image_tab)
    dialog.image_tab.mode_combo.setCurrentIndex(1)
    dialog.image_tab.path_row.edit.setText(str(shapes_folder(SCRATCH / "shapes")))
    pump(app, 0.2)
    dialog.grab().save(str(folder / "dialog-import-images.png"))
    dialog.reject()

    train(app, window, 40)
    QFileDialog.getSaveFileName = staticmethod(lambda *a, **k: (str(SCRATCH / "spiral_pytorch"), ""))
    commands.exports.export_pytorch()
    pump(app, 0.2)
    commands.exports.last_dialog.grab().save(str(folder / "dialog-export.png"))
    commands.exports.last_dialog.close()

    predict = commands.action_predict.open_dialog()
    predict.input_edit.setText("0.3, -0.6")
    predict.predict_button.click()
    inputs = SCRATCH / "points.csv"
    inputs.write_text("x,y\n" + "".join(f"{np.cos(t):.2f},{np.sin(t):.2f}\n" for t in np.linspace(0, 6, 12)))
    predict.predict_file(str(inputs))
    pump(app, 0.2)
    predict.grab().save(str(folder / "dialog-predict.png"))
    predict.close()

    commands.projects.ask_unsaved = lambda: "discard"
    window.open_example("digits")
    pump(app, 0.2)
    train(app, window, 3)
    predict = commands.action_predict.open_dialog()
    # A "7": the top bar, then the diagonal down to the bottom left.
    predict.sketch.stroke([QPointF(1.5, 1.5), QPointF(6.5, 1.5), QPointF(3.0, 7.0)])
    predict.predict_button.click()
    pump(app, 0.2)
    predict.grab().save(str(folder / "dialog-predict-sketch.png"))
    predict.close()
    commands.appearance.set_theme("dark")
    pump(app, 0.3)
    window.grab().save(str(folder / "window-dark.png"))
    window.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs"))
