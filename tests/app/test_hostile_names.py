"""A project's name is the user's (or a downloaded file's) text: the window never turns it into a path
outside the folder it proposes."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QAction

from layerforge.app.persist import file_name_for
from window_support import boxes, files, isolated, app_window, train  # noqa: F401

HOSTILE = ["../../outside/x", "a/b\\c", "evil\n\x00name", "..", "con:*?\"<>|", "", " . "]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_proposed_file_name_is_one_plain_name(name):
    proposed = file_name_for(name, ".lfproj")
    assert Path(proposed).name == proposed and proposed.endswith(".lfproj")
    assert not any(char in proposed for char in '/\\\n\x00:*?"<>|') and not proposed.startswith(".")


def test_save_as_and_export_propose_a_file_in_the_home_folder_whatever_the_name(qtbot, app_window, boxes,
                                                                                  files, isolated):
    window = app_window
    train(qtbot, window, epochs=1)
    window.workspace.name = "../../outside/evil"   # as a project file may call itself
    window.workspace.path = None
    for action in ("actionSaveAs", "actionExportWeights", "actionExportOnnx"):
        files.save_path = None          # the user cancels: only the proposal matters here
        window.findChild(QAction, action).trigger()
        proposed = Path(files.proposed[-1])
        assert proposed.parent == isolated, (action, proposed)
        assert "outside_evil" in proposed.name   # still recognisably the project's name
