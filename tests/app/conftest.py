"""Fixtures for driving the real main window offscreen (pytest-qt)."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt", reason="the GUI tests need pytest-qt")

from layerforge.app import create_main_window  # noqa: E402


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
