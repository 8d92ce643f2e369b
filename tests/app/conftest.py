"""Fixtures for driving the real main window offscreen (pytest-qt)."""
from __future__ import annotations

import gc

import pytest

pytest.importorskip("pytestqt", reason="the GUI tests need pytest-qt")

from layerforge.app import create_main_window  # noqa: E402


@pytest.fixture(autouse=True)
def collect_closed_windows():
    """Collect each test's closed windows when its teardown is done and its training thread joined,
    not at a random allocation inside a later test's event loop (where PySide6's wrappers of
    half-destroyed widgets are freed while Qt delivers events)."""
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def closing_never_waits_for_an_answer(monkeypatch):
    """A window closed by pytest-qt's teardown while a run still trains (after a test that failed half
    way) would ask "Stop training and close?" in a modal box nobody answers, and hang the whole suite.
    Tests that check the question set the answer on their window."""
    from layerforge.app.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "confirm_close_during_training", lambda self: True)


@pytest.fixture
def window(qtbot):
    win = create_main_window("spiral")
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.confirm_close_during_training = lambda: True
    win.run.shutdown(10)
