"""Exporting a trained model from the File menu, then loading each export back: the weights into a
fresh window, the ONNX model in onnxruntime, the PyTorch code in PyTorch."""
from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
from PySide6.QtGui import QAction

from layerforge.export import read_weights
from layerforge.training.inference import Predictor
from window_support import boxes, close_window, files, isolated, open_project, open_window, app_window, train  # noqa: F401


def export(window, files, action: str, path) -> list:
    files.save_path = str(path)
    window.findChild(QAction, action).trigger()
    exports = window.commands.exports
    dialog = exports.last_dialog
    assert dialog is not None and dialog.isVisible()
    return exports.last_paths, dialog.text


def raw_inputs(window, n=32) -> np.ndarray:
    return window.dataset_panel.dataset.x[:n]


def test_export_before_training_says_to_train_first(app_window, boxes, files, tmp_path):
    files.save_path = str(tmp_path / "w.safetensors")
    app_window.findChild(QAction, "actionExportWeights").trigger()
    assert "Press Train" in boxes.texts("information")[-1]
    assert list(tmp_path.iterdir()) == [tmp_path / "home"]


def test_export_weights_onnx_and_pytorch_and_load_them_back(qtbot, app_window, boxes, files, tmp_path):
    window = app_window
    train(qtbot, window, epochs=3)
    project, weights = window.workspace.project()
    expected = Predictor(project, weights).outputs(raw_inputs(window))

    # Weights: into a fresh window's project, which then predicts the same.
    paths, text = export(window, files, "actionExportWeights", tmp_path / "spiral_weights")
    assert paths == [tmp_path / "spiral_weights.safetensors"] and paths[0].is_file()
    assert "Wrote the weights" in text and "safetensors" in text
    state, metadata = read_weights(paths[0])
    fresh = open_window(qtbot)
    fresh_project, _ = fresh.workspace.project()
    fresh_project.normalization, fresh_project.data_info = project.normalization, project.data_info
    open_project(fresh, fresh_project, state)
    assert fresh.workspace.project()[1] is not None
    again, loaded = fresh.workspace.project()
    np.testing.assert_allclose(Predictor(again, loaded).outputs(raw_inputs(window)), expected, rtol=1e-5, atol=1e-6)
    close_window(fresh)

    # ONNX: onnxruntime gives the same outputs on the raw data (standardisation is built in).
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime checks the ONNX export")
    paths, text = export(window, files, "actionExportOnnx", tmp_path / "spiral.onnx")
    assert "onnxruntime.InferenceSession" in text
    session = ort.InferenceSession(str(paths[0]))
    (onnx_out,) = session.run(None, {"input": raw_inputs(window)})
    np.testing.assert_allclose(onnx_out, expected, rtol=1e-4, atol=1e-5)

    # PyTorch: model.py with its weights gives the same outputs; the message gives the torchrun line.
    paths, text = export(window, files, "actionExportPytorch", tmp_path / "spiral_pytorch")
    folder = tmp_path / "spiral_pytorch"
    assert {p.name for p in paths} >= {"model.py", "train.py", "weights.safetensors", "README.txt"}
    assert "torchrun" in text and str(folder) in text
    torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
    spec = importlib.util.spec_from_file_location("exported_spiral_model", folder / "model.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        model = module.load_model()
        with torch.no_grad():
            out = model(module.standardize(torch.from_numpy(raw_inputs(window)))).numpy()
    finally:
        sys.modules.pop(spec.name, None)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_a_failed_export_says_why_and_writes_nothing(qtbot, app_window, boxes, files, tmp_path):
    window = app_window
    train(qtbot, window, epochs=1)
    blocker = tmp_path / "taken"
    blocker.write_text("a file where the PyTorch folder should go")
    files.save_path = str(blocker)
    window.findChild(QAction, "actionExportPytorch").trigger()
    assert "Nothing was exported" in boxes.texts("warning")[-1] and "is a file" in boxes.texts("warning")[-1]
    assert blocker.read_text() == "a file where the PyTorch folder should go"
