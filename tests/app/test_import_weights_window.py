"""File > Import weights… in the window: choose a file, read what matched and what did not, import,
and the window uses the imported weights (Predict, the Runs list, Continue). The Qt-free operation
is tested in tests/workspace/test_import_weights.py."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog

from layerforge import engine
from layerforge.graph import compile_spec
from layerforge.workspace.weights_import import ImportedRun
from window_support import app_window, boxes, close_window, files, isolated, open_window  # noqa: F401

INPUTS = np.random.default_rng(5).standard_normal((4, 2)).astype(np.float32)


def _trigger(window, files, path):
    files.open_path = str(path)
    window.findChild(QAction, "actionImportWeights").trigger()
    return window.weights_import.last_dialog


def _partial_file(window, path):
    """fc1 from another model, fc2.weight of the wrong shape, an extra tensor; fc3 missing."""
    state = compile_spec(window.workspace.spec).state_dict()
    engine.save({"fc1.weight": engine.ones(*state["fc1.weight"].shape) * 0.5, "fc1.bias": engine.zeros(16),
                 "fc2.weight": engine.ones(3, 3), "decoder.bias": engine.ones(2)}, path)
    return path


def test_the_action_is_in_the_file_menu(app_window):
    action = app_window.findChild(QAction, "actionImportWeights")
    assert action is not None and action.isEnabled() and action.text().replace("&", "") == "Import weights…"
    file_menu = next(a.menu() for a in app_window.menuBar().actions() if a.text().replace("&", "") == "File")
    file_menu.aboutToShow.emit()
    names = [a.objectName() for a in file_menu.actions()]
    assert names.index("actionImportWeights") == names.index("actionImportData") + 1


def test_the_dialog_lists_mismatches_before_anything_changes_then_imports(qtbot, app_window, files, tmp_path):
    window = app_window
    path = _partial_file(window, tmp_path / "partial.npz")
    runs_before = list(window.workspace.runs)
    dialog = _trigger(window, files, path)
    assert dialog is not None and dialog.isVisible() and dialog.objectName() == "importWeightsDialog"
    rows = dialog.rows()
    assert rows[0] == ("Wrong shape", "fc2.weight", "fc2.weight", "[16, 16]", "[3, 3]")
    assert ("Missing from the file", "fc3.weight", "", "[3, 16]", "") in rows
    assert ("Not in the model", "", "decoder.bias", "", "[2]") in rows
    assert [r[1] for r in rows if r[0] == "Matched"] == ["fc1.weight", "fc1.bias"]
    assert "2 of 6 model tensors matched" in dialog.headline.text()
    assert "keep a fresh initialisation" in dialog.explanation.text() or "keep the weights of" in dialog.explanation.text()
    assert window.workspace.runs == runs_before   # nothing applied while the person reads

    apply_button = dialog.apply_button
    assert apply_button.isEnabled()
    apply_button.click()
    qtbot.waitUntil(lambda: isinstance(window.workspace.run, ImportedRun))
    run = window.workspace.run
    assert run.name == "Imported partial.npz" and run in window.workspace.runs
    np.testing.assert_array_equal(run.weights["fc1.weight"].numpy(), 0.5)
    assert "Imported partial.npz" in window.statusBar().currentMessage()
    assert window.findChild(QAction, "actionPredict").isEnabled()
    assert window.workspace.predict(INPUTS).outputs.shape == (4, 3)


def test_cancel_imports_nothing(qtbot, app_window, files, tmp_path):
    window = app_window
    before = window.workspace.run
    dialog = _trigger(window, files, _partial_file(window, tmp_path / "partial.npz"))
    dialog.reject()
    assert window.workspace.run is before and dialog.result() == QDialog.DialogCode.Rejected
    assert "Nothing was imported" in window.statusBar().currentMessage()


def test_a_file_that_matches_nothing_cannot_be_applied(app_window, files, tmp_path):
    path = tmp_path / "encoder.npz"
    engine.save({"encoder.weight": engine.ones(5, 5)}, path)
    dialog = _trigger(app_window, files, path)
    assert not dialog.apply_button.isEnabled()
    assert "Nothing in encoder.npz matches" in dialog.headline.text()
    rows = dialog.rows()
    assert ("Not in the model", "", "encoder.weight", "", "[5, 5]") in rows
    assert [r[1] for r in rows if r[0] == "Missing from the file"] == list(compile_spec(app_window.workspace.spec)
                                                                          .state_dict())


def test_a_file_that_is_not_weights_shows_why_and_changes_nothing(app_window, boxes, files, tmp_path):
    path = tmp_path / "evil.pt"
    path.write_bytes(b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00trueq\x00\x85R.")
    before = app_window.workspace.run
    app_window.weights_import.last_dialog = None
    assert _trigger(app_window, files, path) is None
    kind, title, text = boxes.shown[-1]
    assert kind == "warning" and title == "Cannot import the weights"
    assert "refused global posix.system" in text and "Nothing was imported" in text
    assert app_window.workspace.run is before


def test_a_pytorch_checkpoint_imports_and_predicts_as_torch(qtbot, app_window, files, tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch writes the checkpoint imported here")
    window = app_window
    window.workspace.set_settings(standardize=False)
    torch.manual_seed(2)
    model = compile_spec(window.workspace.spec, nn=torch.nn).eval()
    path = tmp_path / "from_torch.pth"
    torch.save({"epoch": 9, "model_state_dict": model.state_dict()}, path)
    dialog = _trigger(window, files, path)
    assert all(row[0] == "Matched" for row in dialog.rows()) and len(dialog.rows()) == 6
    dialog.apply_button.click()
    qtbot.waitUntil(lambda: isinstance(window.workspace.run, ImportedRun))
    with torch.no_grad():
        expected = model(torch.from_numpy(INPUTS)).numpy()
    np.testing.assert_allclose(window.workspace.predict(INPUTS).outputs, expected, rtol=1e-5, atol=1e-6)


def test_the_action_is_disabled_while_training(qtbot, isolated, boxes, files):
    window = open_window(qtbot)
    try:
        action = window.findChild(QAction, "actionImportWeights")
        window.training_panel.epochs_spin.setValue(200)
        window.training_panel.train_button.click()
        qtbot.waitUntil(lambda: window.workspace.busy)
        assert not action.isEnabled()
        window.workspace.stop()
        qtbot.waitUntil(lambda: not window.run.running, timeout=30_000)
        assert action.isEnabled()
    finally:
        close_window(window)
