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
