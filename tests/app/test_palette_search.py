"""Palette search ranks a layer's name above its description, and its description above its category."""
from __future__ import annotations

from PySide6.QtCore import Qt


def search(window, qtbot, text: str) -> list[str]:
    palette = window.palette_panel
    palette.search_box.clear()
    qtbot.keyClicks(palette.search_box, text)
    return palette.visible_layers()


def test_typing_lin_lists_linear_first_and_pooling_layers_last(window, qtbot):
    shown = search(window, qtbot, "lin")
    assert shown[:2] == ["Linear", "Bilinear"]
    # GELU matches through its description ("linear unit"), the pooling layers only through "Pooling".
    pooling = [shown.index(name) for name in ("MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d")]
    assert shown.index("GELU") < min(pooling)


def test_a_name_match_beats_a_description_match(window, qtbot):
    # "sha" is in Input's description ("one sample's shape") and in the name Reshape.
    shown = search(window, qtbot, "sha")
    assert shown[0] == "Reshape"
    assert "Input" in shown


def test_enter_adds_the_best_match_and_clearing_brings_the_groups_back(window, qtbot):
    palette = window.palette_panel
    before = set(window.document.spec.nodes)
    search(window, qtbot, "sha")
    qtbot.keyClick(palette.search_box, Qt.Key.Key_Return)
    added = set(window.document.spec.nodes) - before
    assert [window.document.spec.nodes[node].type for node in added] == ["Reshape"]
    palette.search_box.clear()
    groups = [palette.tree.topLevelItem(i).text(0) for i in range(palette.tree.topLevelItemCount())]
    assert groups[:2] == ["Input/Output", "Dense"]
    assert palette.visible_layers()[:2] == ["Input", "Linear"]
