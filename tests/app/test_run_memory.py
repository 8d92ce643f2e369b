"""Pressing Train on a model the machine cannot hold: the window says why, with the numbers, and stays
usable (Train enabled, settings and the model editable). A MemoryError used to escape the Train handler
and the window showed nothing at all."""
from __future__ import annotations

from PySide6.QtCore import Qt

from layerforge.workspace import run_operations
from layerforge.engine.ops import dense
from layerforge.training import memory, trainer as trainer_module

GIB = 2 ** 30


class _ArrayMemoryError(MemoryError):
    """Stands in for numpy's private class of the same name."""


def press_train(qtbot, window) -> None:
    button = window.training_panel.train_button
    assert button.isEnabled(), "Train is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def assert_usable(window) -> None:
    panel = window.training_panel
    assert not window.run.running
    assert panel.train_button.isEnabled() and not panel.stop_button.isEnabled()
    assert all(widget.isEnabled() for widget in panel.settings_widgets)
    assert not window.document.read_only and window.inspector.form_host.isEnabled()


def widen(window, width: int) -> None:
    ids = {node.name: node_id for node_id, node in window.document.spec.nodes.items()}
    for name in ("fc1", "fc2"):
        window.document.set_param(ids[name], "out_features", width)


def test_train_on_a_model_too_big_for_the_machine_shows_the_numbers_and_stays_usable(window, qtbot, monkeypatch):
    monkeypatch.setattr(memory, "host_available", lambda: int(18.2 * GIB))

    def compile_spec(spec):
        raise AssertionError("the model was built although it cannot fit")
    monkeypatch.setattr(trainer_module, "compile_spec", compile_spec)
    widen(window, 100_000)
    press_train(qtbot, window)
    qtbot.waitUntil(lambda: window.banner.isVisible() and window.banner.level == "error", timeout=5_000)
    text = window.banner.text
    assert text.startswith("Cannot train: the model needs about 298 GiB (parameters 37.3 GiB, gradients 37.3 GiB")
    assert "but this machine has 18.2 GiB available" in text
    assert "make the layers smaller (fc2: Linear 100000 -> 100000 holds 10.0 G parameters)" in text
    assert window.statusBar().currentMessage() == text
    assert_usable(window)
    assert window.run.runs_started == 0


def test_an_allocation_that_fails_mid_run_fails_the_run_in_the_banner_and_unlocks_the_window(window, qtbot,
                                                                                              monkeypatch):
    def backward(self, g):
        raise _ArrayMemoryError("Unable to allocate 2.00 GiB for an array with shape (16, 33554432) and data "
                                "type float32")
    monkeypatch.setattr(dense.Linear, "backward", backward)
    window.training_panel.epochs_spin.setValue(3)
    press_train(qtbot, window)
    qtbot.waitUntil(lambda: window.run.runs_started == 1 and not window.run.running, timeout=20_000)
    assert window.banner.level == "error"
    text = window.banner.text
    assert text.startswith("Training failed: out of memory during epoch 1, batch 1 of ")
    assert "MemoryError: Unable to allocate 2.00 GiB for an array with shape (16, 33554432)" in text
    assert "use a smaller batch size or smaller layers" in text
    assert "learning rate" not in text   # it would not help: the advice is the memory's
    assert_usable(window)


def test_a_memory_error_from_anywhere_in_building_a_run_is_shown_not_raised(window, qtbot, monkeypatch):
    def trainer(*args, **kwargs):
        raise MemoryError("Unable to allocate 64.0 GiB for an array with shape (4, 4294967296)")
    monkeypatch.setattr(run_operations, "Trainer", trainer)
    press_train(qtbot, window)
    assert window.banner.level == "error"
    assert window.banner.text == ("Cannot train: out of memory while building the model: Unable to allocate "
                                  "64.0 GiB for an array with shape (4, 4294967296)")
    assert_usable(window)


def test_a_memory_error_that_escapes_the_trainer_still_ends_the_run_in_the_banner(window, qtbot, monkeypatch):
    def run(self):
        raise MemoryError("Unable to allocate 8.00 GiB for an array with shape (2, 1073741824)")
    monkeypatch.setattr(trainer_module.Trainer, "run", run)
    press_train(qtbot, window)
    qtbot.waitUntil(lambda: window.run.runs_started == 1 and not window.run.running, timeout=10_000)
    assert window.banner.level == "error"
    assert window.banner.text == ("Training failed: the run stopped unexpectedly at epoch 0, step 0: MemoryError: "
                                  "Unable to allocate 8.00 GiB for an array with shape (2, 1073741824); use a "
                                  "smaller batch size or smaller layers.")
    assert_usable(window)
