"""Choosing the GPU in the window and pressing Train: the run trains there, the charts stream, and the
exported weights load on a machine without one. GPU-marked: on a device machine with cupy, and in CI
on the simulated GPU (LAYERFORGE_SIMULATED_GPU=1, see tests/gpu/simulated_cupy.py)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QAction

from layerforge.engine import backend, cuda
from layerforge.export import read_weights
from layerforge.workspace.events import RunBegan
from layerforge.training.inference import Predictor
from window_support import boxes, files, isolated, app_window, train  # noqa: F401

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not cuda.is_available(), reason="no CUDA GPU/cupy")]


def test_training_on_the_gpu_from_the_window_streams_and_exports_host_weights(qtbot, app_window, files, tmp_path):
    window = app_window
    combo = window.training_panel.device_combo
    combo.setCurrentIndex(combo.findData("cuda:0"))
    assert combo.currentData() == "cuda:0"
    started = []
    window.workspace.events.connect(lambda event: started.append(event.run), RunBegan)
    train(qtbot, window, epochs=4)

    assert started and started[0].device == "cuda:0", started
    assert window.device_label.text() == "Device: GPU 0"
    assert window.workspace.run.status == "finished", window.banner.label.text()
    steps, losses = window.charts.loss_points()
    assert len(steps) >= 4 and np.all(np.isfinite(losses))
    assert float(np.mean(losses[-5:])) < float(np.mean(losses[:5])), "the loss did not fall on the GPU"
    assert window.predictions.last_kind == "boundary2d"

    # What the window keeps and exports is host data: it predicts on the CPU, and a file written
    # from it loads where there is no GPU.
    project, weights = window.workspace.project()
    assert weights and not any(backend.is_gpu_array(v) for v in weights.values())
    x = window.dataset_panel.dataset.x[:64]
    expected = Predictor(project, weights).outputs(x)
    files.save_path = str(tmp_path / "gpu_weights")
    window.findChild(QAction, "actionExportWeights").trigger()
    (path,) = window.commands.exports.last_paths
    state, _ = read_weights(path)
    assert set(state) == set(weights) and all(isinstance(v, np.ndarray) for v in state.values())
    np.testing.assert_allclose(Predictor(project, state).outputs(x), expected, rtol=1e-6, atol=1e-6)


def test_auto_in_the_device_box_trains_a_small_model_on_the_cpu_and_says_why(qtbot, app_window):
    window = app_window
    combo = window.training_panel.device_combo
    combo.setCurrentIndex(combo.findData("auto"))
    assert window.training_panel.settings().device == "auto"
    started = []
    window.workspace.events.connect(lambda event: started.append(event.run), RunBegan)
    train(qtbot, window, epochs=2)
    assert started[0].device == "cpu" and "the model is small" in started[0].device_reason
    assert window.device_label.text() == "Device: CPU"
    assert combo.currentData() == "auto"  # the choice stays Auto for the next run
