"""Model > Analyze: the table of layers, sortable and copyable, following the model while open."""
from __future__ import annotations

import csv
import io

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication

from layerforge.app.dialogs.analyze_dialog import AnalyzeDialog
from layerforge.graph.analyze import analyze


def open_analysis(qtbot, window) -> AnalyzeDialog:
    window.findChild(QAction, "actionAnalyze").trigger()
    dialog = window.code_and_analysis.analyze_dialog
    qtbot.waitUntil(dialog.isVisible)
    return dialog


def column(dialog: AnalyzeDialog, index: int) -> list[str]:
    return [dialog.table.item(row, index).text() for row in range(dialog.table.rowCount())]


def test_analyze_lists_every_layer_with_the_numbers_of_the_cli(qtbot, window):
    menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Model")
    assert window.findChild(QAction, "actionAnalyze") in menu.actions()
    titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert titles.index("Model") < titles.index("Run")
    dialog = open_analysis(qtbot, window)
    analysis = analyze(window.workspace.spec)
    assert column(dialog, 0) == [layer.name for layer in analysis.layers]
    assert column(dialog, 2)[1] == "(16,)"
    assert column(dialog, 3)[1] == "48"                       # fc1: Linear(2, 16)
    assert column(dialog, 5)[1] == f"{16 * (2 * 2 + 1):,}"    # 2 multiply-adds and a bias per output
    totals = dialog.totals.text()
    assert f"{analysis.total_params:,}" in totals and f"{analysis.total_flops:,}" in totals
    assert "multiply-add counts as 2 FLOPs" in dialog.note.text()


def test_sorting_by_a_number_column_sorts_by_value(qtbot, window):
    dialog = open_analysis(qtbot, window)
    dialog.table.sortItems(5, Qt.SortOrder.DescendingOrder)
    flops = [int(text.replace(",", "")) for text in column(dialog, 5)]
    assert flops == sorted(flops, reverse=True)
    dialog.table.sortItems(4, Qt.SortOrder.AscendingOrder)   # "8 B" before "64 B", by bytes not by text
    names = column(dialog, 0)
    assert names[0] == "input1" and names.index("fc3") < names.index("fc1")


def test_copy_as_text_and_as_csv_and_a_double_clicked_row_selects_its_layer(qtbot, window):
    dialog = open_analysis(qtbot, window)
    row = column(dialog, 0).index("tanh2")
    rect = dialog.table.visualItemRect(dialog.table.item(row, 1))
    qtbot.mouseClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())   # as a hand does:
    qtbot.mouseDClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # press, then double
    assert window.canvas.model_scene.selected_node_ids() == [window.workspace.spec.node_by_name("tanh2").id]
    clipboard = QGuiApplication.clipboard()
    dialog.copy_csv_button.click()
    rows = list(csv.reader(io.StringIO(clipboard.text())))
    assert rows[0][0] == "layer" and rows[-1][0] == "total"
    assert [row[0] for row in rows[1:-1]] == column(dialog, 0)
    dialog.copy_text_button.click()
    assert clipboard.text() == analyze(window.workspace.spec).text()


def test_the_table_follows_the_model_while_open(qtbot, window):
    dialog = open_analysis(qtbot, window)
    fc1 = window.workspace.spec.node_by_name("fc1").id
    assert window.document.set_param(fc1, "out_features", 20)
    qtbot.waitUntil(lambda: column(dialog, 3)[1] == "60")
    dialog.close()
    window.document.set_param(fc1, "out_features", 8)
    again = open_analysis(qtbot, window)
    assert again is dialog and column(dialog, 3)[1] == "24"


def test_an_invalid_model_shows_its_problem(qtbot, window):
    spec = window.workspace.spec
    window.document.remove([spec.node_by_name("fc1").id])
    dialog = open_analysis(qtbot, window)
    assert dialog.problems.isVisible() and dialog.problems.text()
    assert "error" in column(dialog, 2) or "?" in column(dialog, 2)
