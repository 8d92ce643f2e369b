"""Nothing lost: autosave to the platform's data folder, recovery after a crash, the question on
quitting with unsaved changes; and the window's look and layout remembered between runs."""
from __future__ import annotations

import os

import shiboken6
from PySide6.QtCore import QRect, QStandardPaths
from PySide6.QtGui import QAction, QKeySequence, QPalette
from PySide6.QtWidgets import QApplication, QSplitter

from layerforge.app import window_geometry
from layerforge.app.autosave import autosave_folder
from window_support import boxes, close_window, files, isolated, open_window, app_window, train  # noqa: F401


def edit_model(window) -> None:
    window.document.set_param("n2", "out_features", 24)


def test_autosave_goes_to_the_standard_data_folder_and_a_crash_offers_it_back(qtbot, isolated, boxes, files):
    window = open_window(qtbot, crash_later=True)
    saver = window.commands.autosaver
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    assert saver.path.is_relative_to(base) and str(isolated) in str(saver.path)
    assert not saver.save_now()           # nothing unsaved: nothing written
    edit_model(window)
    window.training_panel.epochs_spin.setValue(2)
    train(qtbot, window, epochs=2)
    qtbot.waitUntil(lambda: saver.saves > 0, timeout=5_000)   # written a moment after the change
    assert saver.path.is_file() and saver.path.with_name(f"{saver.stem}.weights.safetensors").is_file()
    weights = {k: v.numpy().copy() for k, v in window.workspace.project()[1].items()}

    # A crash: the window goes away without closing (no close event, no clean shutdown).
    window.commands.autosaver.change_timer.stop()
    window.commands.autosaver.period_timer.stop()
    shiboken6.delete(window)
    assert saver_path_exists()

    boxes.answer = boxes.answer.Yes
    again = open_window(qtbot)
    assert again.commands.start()
    assert any("did not close properly" in text for text in boxes.texts("question"))
    assert again.document.spec.nodes["n2"].params["out_features"] == 24
    assert again.is_dirty and "*" in again.windowTitle()          # recovered, not yet saved
    restored = again.workspace.project()[1]
    assert restored is not None
    for key, value in weights.items():
        assert (restored[key].numpy() == value).all()
    assert len(again.charts.loss_points()[0]) > 0

    # Quitting after choosing Discard is a clean shutdown: the autosave is gone.
    boxes.answer = boxes.answer.Discard
    again.close()
    assert not again.isVisible()
    assert not saver_path_exists()


def saver_path_exists() -> bool:
    return any(autosave_folder().glob("autosave-*.lfproj"))


def test_declining_recovery_deletes_the_autosave(qtbot, isolated, boxes, files):
    window = open_window(qtbot, crash_later=True)
    edit_model(window)
    assert window.commands.autosaver.save_now()
    shiboken6.delete(window)
    boxes.answer = boxes.answer.Discard
    again = open_window(qtbot)
    assert not again.commands.start()
    assert not saver_path_exists()
    assert again.document.spec.nodes["n2"].params["out_features"] == 16
    close_window(again)


def test_quitting_with_unsaved_changes_asks_save_discard_cancel(app_window, boxes, files, tmp_path):
    window = app_window
    edit_model(window)
    boxes.answer = boxes.answer.Cancel
    window.close()
    assert window.isVisible() and boxes.shown[-1][1] == "Unsaved changes"

    boxes.answer = boxes.answer.Save
    files.save_path = str(tmp_path / "kept.lfproj")
    window.close()
    assert not window.isVisible()
    assert (tmp_path / "kept.lfproj").is_file() and not saver_path_exists()


def test_theme_follows_the_choice_and_layout_is_remembered(qtbot, isolated, boxes, files, monkeypatch):
    # A screen the remembered size fits (a size that does not fit is not restored: test_screen_fit.py).
    monkeypatch.setattr(window_geometry, "available_geometry", lambda widget=None: QRect(0, 0, 1920, 1040))
    window = open_window(qtbot)
    appearance = window.commands.appearance
    window.findChild(QAction, "actionThemeDark").trigger()
    assert appearance.dark
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() < 100
    window.findChild(QAction, "actionThemeLight").trigger()
    assert not appearance.dark
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() > 150

    window.resize(1150, 540)
    qtbot.waitUntil(lambda: window.height() == 540)
    size = window.size()
    splitter = window.findChild(QSplitter, "centerSplitter")
    splitter.setSizes([150, 330])
    sizes = splitter.sizes()
    close_window(window)

    again = open_window(qtbot)
    assert again.commands.appearance.theme == "light"
    again.commands.start()
    # The offscreen screen is 800 pixels wide, and restoreGeometry keeps windows on screen: the height shows it.
    qtbot.waitUntil(lambda: again.height() == size.height(), timeout=2_000)
    assert again.findChild(QSplitter, "centerSplitter").sizes() == sizes
    close_window(again)


def test_every_common_action_has_a_distinct_shortcut(app_window):
    names = ["actionNew", "actionOpen", "actionSave", "actionSaveAs", "actionImportData", "actionExportWeights",
             "actionExportOnnx", "actionExportPytorch", "actionPredict", "actionTrain", "actionPause", "actionStop",
             "actionUndo", "actionRedo"]
    keys = {}
    for name in names:
        action = app_window.findChild(QAction, name)
        assert action is not None, name
        assert not action.shortcut().isEmpty(), f"{name} has no shortcut"
        keys[name] = action.shortcut().toString(QKeySequence.SequenceFormat.PortableText)
    assert len(set(keys.values())) == len(keys), keys
    assert keys["actionSave"] == QKeySequence(QKeySequence.StandardKey.Save).toString()


def test_a_dark_system_gets_the_dark_theme(qtbot, isolated, boxes, files):
    from layerforge.app.appearance import dark_palette
    light = QApplication.palette()
    QApplication.setPalette(dark_palette())   # what a dark desktop gives the app at start
    try:
        window = open_window(qtbot)
        assert window.commands.appearance.theme == "system" and window.commands.appearance.dark
        summary = window.dataset_panel.summary
        assert "#b0bec5" in summary.styleSheet()                 # captions readable on dark
        window.findChild(QAction, "actionThemeLight").trigger()
        assert "#455a64" in summary.styleSheet()
        close_window(window)
    finally:
        QApplication.setPalette(light)


def test_an_autosave_of_a_running_instance_is_not_offered(qtbot, isolated, boxes, files):
    import json
    import subprocess
    import sys
    window = open_window(qtbot, crash_later=True)
    edit_model(window)
    assert window.commands.autosaver.save_now()
    shiboken6.delete(window)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        # Pretend the autosave belongs to another Layerforge that is still open.
        folder, stem = autosave_folder(), f"autosave-{other.pid}"
        mine = sorted(folder.iterdir())
        for file in mine:
            file.rename(folder / file.name.replace(f"autosave-{os.getpid()}", stem))
        meta_path = folder / f"{stem}.json"
        meta_path.write_text(json.dumps({**json.loads(meta_path.read_text()), "pid": other.pid}))
        before = sorted(p.name for p in folder.iterdir())
        again = open_window(qtbot)
        assert not again.commands.start() and not boxes.texts("question")
        edit_model(again)
        assert again.commands.autosaver.save_now()                   # its own file, beside the other's
        close_window(again)
        assert sorted(p.name for p in folder.iterdir()) == before   # the other instance's files are untouched
    finally:
        other.kill()
        other.wait()
