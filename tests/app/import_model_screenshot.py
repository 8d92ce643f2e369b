"""Save docs/onnx-imported.png: a small residual CNN written in PyTorch, exported with torch.onnx.export,
imported with File > Import model… and shown on the canvas (the whole window, dark theme, digits data).

    python tests/app/import_model_screenshot.py [output folder, default docs/]

Needs torch (the model is PyTorch's, as a person would bring one). Runs with its own temporary home
folder and settings.
"""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

from screenshot_support import SCRATCH, pump  # noqa: E402  (first: it sets how Qt starts)

from PySide6.QtCore import QPoint, QRect, QSettings, QSize, QStandardPaths  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from layerforge.app import create_main_window, window_geometry  # noqa: E402
from layerforge.app.window_commands import install_commands  # noqa: E402


def residual_cnn_onnx(path: Path) -> Path:
    """A PyTorch model with a skip connection, exported by PyTorch's own (TorchScript) exporter."""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.conv = nn.Conv2d(channels, channels, 3, padding=1)
            self.bn = nn.BatchNorm2d(channels)

        def forward(self, x):
            return torch.relu(x + self.bn(self.conv(x)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(1, 12, 3, padding=1)
            self.act = nn.ReLU()
            self.block = Block(12)
            self.pool = nn.MaxPool2d(2)
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(12 * 4 * 4, 32), nn.GELU(), nn.Dropout(0.2),
                                      nn.Linear(32, 10))

        def forward(self, x):
            return self.head(self.pool(self.block(self.act(self.stem(x)))))

    torch.manual_seed(0)
    model = Net().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(2, 1, 8, 8),), str(path), dynamo=False, input_names=["image"],
                          output_names=["logits"], dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=17)
    return path


def main(folder: Path) -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    QStandardPaths.setTestModeEnabled(True)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(SCRATCH / "settings"))
    folder.mkdir(parents=True, exist_ok=True)
    area = QRect(QPoint(0, 0), QSize(1600, 1000))
    window_geometry.available_geometry = lambda widget=None: area
    window = create_main_window("digits_cnn")
    commands = install_commands(window)
    commands.projects.ask_unsaved = lambda: "discard"
    commands.appearance.set_theme("dark")
    window_geometry.fit_to_screen(window)
    window.show()
    pump(app, 0.5)
    model = residual_cnn_onnx(SCRATCH / "residual_cnn.onnx")
    assert window.model_import.import_path(model), window.statusBar().currentMessage()
    pump(app, 1.0)
    pump(app, 0.5)
    window.grab().save(str(folder / "onnx-imported.png"))
    window.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "docs")
