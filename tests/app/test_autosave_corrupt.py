"""An autosave that cannot be recovered is offered once, then kept aside; a strange or unwritable
autosave folder never stops the app from starting."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import shiboken6
from PySide6.QtWidgets import QMessageBox

from layerforge.app.autosave import autosave_folder
from layerforge.workspace.autosave import AUTOSAVE_MAX_BYTES
from layerforge.graph import compile_spec
from layerforge.training import save_project
from window_support import boxes, close_window, files, isolated, open_window  # noqa: F401

# Screenshots go to LAYERFORGE_SHOTS when it is set (to look at them, or refresh docs/), else into the
# test's own temporary folder.
SHOTS = os.environ.get("LAYERFORGE_SHOTS")


def leave_autosave(folder: Path, stem: str = "autosave-4242", project: bytes = b'{"format": "layerfo',
                   weights: bytes | None = None) -> Path:
    """What a crashed Layerforge leaves behind (no pid in the note: its owner is gone)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.lfproj").write_bytes(project)
    if weights is not None:
        (folder / f"{stem}.weights.safetensors").write_bytes(weights)
    (folder / f"{stem}.json").write_text(json.dumps({"name": "broken", "saved_at": time.time(),
                                                     "original_path": None}), encoding="utf-8")
    return folder / f"{stem}.lfproj"


def start_window(qtbot):
    window = open_window(qtbot)
    restored = window.commands.start()
    return window, restored


def test_a_corrupt_autosave_is_offered_once_then_kept_aside_and_never_offered_again(qtbot, isolated, boxes, files):
    left = leave_autosave(autosave_folder())
    boxes.answer = QMessageBox.StandardButton.Yes
    window, restored = start_window(qtbot)
    assert not restored
    assert len(boxes.texts("question")) == 1
    warnings = boxes.texts("warning")
    assert len(warnings) == 1, warnings
    moved = next(autosave_folder().glob("autosave-4242.failed-*/autosave-4242.lfproj"))
    assert str(moved) in warnings[0] and "not valid JSON" in warnings[0]
    assert moved.read_bytes() == b'{"format": "layerfo'               # kept as it was, for a bug report
    assert (moved.parent / "autosave-4242.json").is_file()
    assert not left.exists()
    close_window(window)

    boxes.shown.clear()
    again, restored = start_window(qtbot)
    assert not restored and boxes.shown == []                          # not offered, no message
    close_window(again)


def test_a_damaged_autosave_moves_aside_with_its_weights(qtbot, isolated, boxes, files):
    # A real autosave with trained weights, then its project file damaged (a disk error, a filesystem
    # that lies about a flush): the weights go with it, so the kept project still finds them.
    window = open_window(qtbot, crash_later=True)
    window.document.set_param("n2", "out_features", 24)
    saver, stem = window.commands.autosaver, window.commands.autosaver.stem
    project, _ = window.workspace.project()
    save_project(project, saver.path, compile_spec(project.spec).state_dict())
    saver.meta_path.write_text(json.dumps({"name": project.name, "saved_at": time.time()}), encoding="utf-8")
    saver.change_timer.stop()
    saver.period_timer.stop()
    shiboken6.delete(window)
    weights = autosave_folder() / f"{stem}.weights.safetensors"
    saver.path.write_text(saver.path.read_text(encoding="utf-8").replace('"version": 1', '"version": "one"'),
                          encoding="utf-8")
    assert '"version": "one"' in saver.path.read_text(encoding="utf-8")

    boxes.answer = QMessageBox.StandardButton.Yes
    again, restored = start_window(qtbot)
    assert not restored
    (warning,) = boxes.texts("warning")
    assert "'version' must be a positive whole number" in warning
    aside = next(autosave_folder().glob(f"{stem}.failed-*"))
    assert sorted(p.name for p in aside.iterdir()) == [f"{stem}.json", f"{stem}.lfproj", f"{stem}.weights.safetensors"]
    assert not weights.exists() and not (autosave_folder() / f"{stem}.lfproj").exists()
    assert again.document.spec.nodes["n2"].params["out_features"] == 16   # the example, untouched
    close_window(again)


def test_a_fifo_or_huge_autosave_is_not_opened_and_not_offered(qtbot, isolated, boxes, files):
    folder = autosave_folder()
    os.mkfifo(folder / "autosave-5151.lfproj")    # opening it would block the app forever
    huge = leave_autosave(folder, "autosave-6262", project=b"{}")
    os.truncate(huge, AUTOSAVE_MAX_BYTES + 1)      # sparse: large on paper, nothing read
    boxes.answer = QMessageBox.StandardButton.Yes
    window, restored = start_window(qtbot)
    assert not restored and boxes.texts("question") == []
    warnings = boxes.texts("warning")
    assert len(warnings) == 1 and "named pipe (FIFO)" in warnings[0] and "MiB" in warnings[0], warnings
    assert not (folder / "autosave-5151.lfproj").exists() and not huge.exists()
    assert next(folder.glob("autosave-5151.failed-*/autosave-5151.lfproj")).is_fifo()
    close_window(window)

    boxes.shown.clear()
    again, _ = start_window(qtbot)
    assert boxes.shown == []
    close_window(again)


def test_an_autosave_folder_that_cannot_be_made_leaves_the_app_working(qtbot, isolated, boxes, files):
    from layerforge.app.autosave import autosave_location
    blocker = autosave_location().parent
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where the data folder should be")   # root ignores permissions; this it cannot
    window, restored = start_window(qtbot)
    assert not restored and boxes.shown == []
    saver = window.commands.autosaver
    window.document.set_param("n2", "out_features", 24)
    assert window.is_dirty
    assert not saver.save_now()
    assert "Autosave is off" in window.statusBar().currentMessage()
    assert str(autosave_location()) in window.statusBar().currentMessage()
    close_window(window)


def test_screenshot_of_the_failed_recovery_message(qtbot, isolated, boxes, files, tmp_path):
    leave_autosave(autosave_folder())
    boxes.answer = QMessageBox.StandardButton.Yes
    window, _ = start_window(qtbot)
    ((kind, title, text),) = [entry for entry in boxes.shown if entry[0] == "warning"]
    # The same box QMessageBox.warning shows, built here so that it can be grabbed without blocking.
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, window)
    box.show()
    qtbot.waitExposed(box)
    shots = Path(SHOTS) if SHOTS else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    assert box.grab().save(str(shots / "dialog-autosave-kept-aside.png"))
    box.close()
    close_window(window)
