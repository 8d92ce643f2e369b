"""Data > Get dataset…: download with progress in a worker (the window keeps running), Cancel,
the error with Retry and Import from file… when offline, and the project using the data after;
an example whose data is not cached offers the download and refuses Train with the reason."""
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import dataset_server as ds  # noqa: E402

from layerforge.data.remote_datasets import is_cached  # noqa: E402


@pytest.fixture
def served(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERFORGE_DATA_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LAYERFORGE_DATASET_MIRROR", raising=False)
    files = ds.mnist_files()
    server = ds.DatasetServer({f"/m/{name}": data for name, data in files.items()})
    ds.register_test_dataset(monkeypatch, "mnist", files, [server.url + "/m/"], title="MNIST")
    server.source = files
    yield server
    server.close()


def _open_dialog(window):
    window.findChild(QAction, "actionGetDataset").trigger()
    dialog = window.dataset_actions.dialog
    assert dialog.isVisible()
    return dialog


def test_data_menu_holds_get_dataset(window):
    menu = window.dataset_actions.menu
    assert menu.objectName() == "dataMenu" and menu.title() == "&Data"
    assert window.findChild(QAction, "actionGetDataset") in menu.actions()


def test_download_runs_in_a_worker_and_the_project_uses_the_data(window, qtbot, served):
    dialog = _open_dialog(window)
    dialog.select("mnist")
    assert dialog.table.item(dialog.names.index("mnist"), 3).text() == "not downloaded"
    served.behaviour["/m/train-images-idx3-ubyte.gz"] = "slow"   # long enough to watch the window run
    dialog.download_button.click()
    assert dialog.job is not None and not dialog.download_button.isEnabled()
    ticks = []
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=5000)
    start = time.monotonic()
    while time.monotonic() - start < 0.3:   # the GUI thread turns while the download goes on
        qtbot.wait(20)
        ticks.append(time.monotonic())
    assert len(ticks) >= 5 and max(np.diff(ticks)) < 0.25
    dialog.cancel_download()
    qtbot.waitUntil(lambda: dialog.job is None, timeout=5000)
    assert "Cancelled" in dialog.status.text() and not is_cached("mnist")
    assert window.workspace.source["kind"] == "builtin"   # nothing changed
    served.behaviour.clear()
    dialog.download_button.click()   # resumes and finishes
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    workspace = window.workspace
    assert workspace.source == {"kind": "download", "name": "mnist", "subset": "all"}
    assert workspace.dataset.x.shape == (80, 1, 28, 28)
    assert any(r for p, r in served.requests if p == "/m/train-images-idx3-ubyte.gz" and r)   # Range
    assert "MNIST" in window.dataset_panel.combo.currentText()
    assert window.statusBar().currentMessage().startswith("The project now uses MNIST")


def test_offline_shows_the_error_retry_and_import_from_file(window, qtbot, served, monkeypatch, tmp_path):
    for name in served.source:
        served.behaviour[f"/m/{name}"] = "404"
    dialog = _open_dialog(window)
    dialog.select("mnist")
    dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.job is None, timeout=5000)
    assert dialog.retry_button.isVisible() and dialog.import_button.isEnabled()
    assert "could not download MNIST" in dialog.status.text() and "HTTP 404" in dialog.status.text()
    paths = []
    for name, data in served.source.items():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: (paths, ""))
    dialog.import_button.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    assert is_cached("mnist") and window.workspace.dataset.x.shape == (80, 1, 28, 28)


def test_a_project_on_missing_data_offers_the_download_and_refuses_train(window, qtbot, served, tmp_path):
    workspace = window.workspace
    path = workspace.save_as(tmp_path / "digits.lfproj")
    document = json.loads(path.read_text())
    document["data"] = {"kind": "download", "name": "mnist"}   # e.g. made on a machine that had it
    path.write_text(json.dumps(document))
    assert window.projects.open_path(path)
    qtbot.waitUntil(lambda: window.banner.action_button.text() == "Get MNIST…", timeout=3000)
    assert "MNIST (not downloaded)" in window.dataset_panel.combo.currentText()
    window.training_panel.train_button.click()
    qtbot.wait(50)
    assert not window.run.running
    assert "MNIST is not downloaded yet" in window.statusBar().currentMessage()
    window.dataset_actions.offer_download()
    window.banner.action_button.click()
    dialog = window.dataset_actions.dialog
    assert dialog.isVisible() and dialog.selected == "mnist"
    dialog.download_button.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    assert workspace.dataset is not None and workspace.data_unavailable == ""


def test_import_dialog_reads_idx_files(qtbot, tmp_path):
    from layerforge.app.dialogs.import_dialog import ImportDialog

    for name, data in ds.mnist_files().items():
        (tmp_path / name).write_bytes(data)
    dialog = ImportDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.tabs.setCurrentWidget(dialog.idx_tab)
    assert dialog.tabs.tabText(dialog.tabs.currentIndex()) == "IDX (MNIST format)"
    dialog.idx_tab.path_row.edit.setText(str(tmp_path / "train-images-idx3-ubyte.gz"))
    dialog.idx_tab.labels_row.edit.setText(str(tmp_path / "train-labels-idx1-ubyte.gz"))
    assert dialog.import_button.isEnabled() and dialog.error_text == ""
    assert dialog.dataset.x.shape == (60, 1, 28, 28) and dialog.source["kind"] == "idx"
    assert "60 images of 1×28×28" in dialog.idx_tab.summary.text()
    assert not dialog.idx_tab.preview.pixmap().isNull()
    (tmp_path / "cut.gz").write_bytes(ds.idx_bytes(np.zeros((5, 28, 28), np.uint8))[:100])
    dialog.idx_tab.path_row.edit.setText(str(tmp_path / "cut.gz"))
    assert not dialog.import_button.isEnabled() and "cut short" in dialog.error_text


def test_augmentation_in_the_data_panel_is_saved_with_the_project(window, qtbot, tmp_path):
    panel = window.dataset_panel
    assert not panel.augment_row.isVisible()   # spiral: points, nothing to crop or flip
    assert window.open_example("digits_cnn")
    assert panel.augment_row.isVisible()
    panel.crop_check.click()
    panel.padding_spin.setValue(2)
    panel.flip_check.click()
    assert window.workspace.source["augment"] == {"crop_padding": 2, "hflip": True}
    assert window.workspace.dataset.augment == {"crop_padding": 2, "hflip": True}
    path = window.workspace.save_as(tmp_path / "digits.lfproj")
    assert json.loads(path.read_text())["data"]["augment"] == {"crop_padding": 2, "hflip": True}
    assert window.open_example("spiral") and not panel.crop_check.isChecked()
    assert window.projects.open_path(path)
    assert panel.crop_check.isChecked() and panel.padding_spin.value() == 2 and panel.flip_check.isChecked()
    panel.crop_check.click()
    assert window.workspace.source["augment"] == {"hflip": True}


def test_mnist_example_opens_with_the_offer_then_trains_once_downloaded(window, qtbot, served):
    assert window.open_example("mnist_mlp")
    qtbot.waitUntil(lambda: window.banner.action_button.text() == "Get MNIST…", timeout=3000)
    assert "trains on MNIST, which is not downloaded yet" in window.banner.text
    window.banner.action_button.click()
    dialog = window.dataset_actions.dialog
    dialog.download_button.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    workspace = window.workspace
    assert workspace.dataset.x.shape == (80, 1, 28, 28) and workspace.name == "mnist_mlp"
    assert workspace.fit_problem is None


def test_the_data_box_lists_the_downloadable_datasets(window, qtbot, served):
    combo = window.dataset_panel.combo
    before = combo.currentText()
    index = combo.findData("download:mnist")
    assert combo.itemText(index) == "MNIST — download…"
    combo.setCurrentIndex(index)
    dialog = window.dataset_actions.dialog
    assert dialog is not None and dialog.isVisible() and dialog.selected == "mnist"
    assert combo.currentText() == before   # still the data in use
    dialog.download_button.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    assert combo.currentIndex() == index and combo.currentText() == "MNIST — classification (downloaded)"
    combo.setCurrentIndex(combo.findData("spiral"))
    assert window.workspace.source["kind"] == "builtin"
    combo.setCurrentIndex(index)   # back to MNIST: the loaded data is used again, no dialog
    assert window.workspace.source["name"] == "mnist" and window.workspace.dataset.x.shape == (80, 1, 28, 28)
