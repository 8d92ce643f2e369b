"""File > Export diagram: the model as SVG and PNG pictures, clean of the canvas's own state."""
from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest
from PySide6.QtGui import QAction, QImage

from layerforge.app import theme
from layerforge.app.canvas.diagram_export import DiagramError, export_diagram, png_size

from window_support import app_window, boxes, files, isolated  # noqa: F401 (fixtures)


def svg_text_content(path) -> str:
    root = ElementTree.parse(path).getroot()   # raises for anything that is not well-formed XML
    assert root.tag.endswith("svg")
    return " ".join(text for element in root.iter() for text in (element.text, element.tail) if text)


def test_svg_and_png_hold_the_model_and_leave_the_canvas_as_it_was(qtbot, window, tmp_path):
    scene = window.canvas.model_scene
    fc2 = window.workspace.spec.node_by_name("fc2").id
    scene.select_nodes([fc2])
    theme.set_theme("dark")
    try:
        svg = window.code_and_analysis.export_diagram_to(tmp_path / "model.svg")
        png = window.code_and_analysis.export_diagram_to(tmp_path / "model.png")
        assert theme.name() == "dark"   # drawn in the light theme, then put back
    finally:
        theme.set_theme("light")
    assert scene.selected_node_ids() == [fc2]
    words = svg_text_content(svg)
    for node in window.workspace.spec.nodes.values():
        assert node.name in words
    assert "(16,)" in words   # the shapes on the wires
    image = QImage(str(png))
    assert not image.isNull()
    expected = png_size(scene)
    assert (image.width(), image.height()) == (expected.width(), expected.height())
    items = [item for item in scene.nodes.values()]
    widest = max(item.sceneBoundingRect().right() for item in items) - min(item.sceneBoundingRect().left()
                                                                          for item in items)
    assert image.width() >= 2 * widest                     # twice the canvas's scale
    assert image.pixelColor(2, 2).name() == "#ffffff"     # white margin, not the canvas background
    assert [p.name for p in tmp_path.iterdir()] and all(p.suffix in (".svg", ".png") for p in tmp_path.iterdir())


def test_the_menu_item_asks_where_and_writes_the_file(qtbot, app_window, files, tmp_path):  # noqa: F811
    files.save_path = str(tmp_path / "figure")   # no ending typed: the chosen filter's is added
    app_window.findChild(QAction, "actionExportDiagram").trigger()
    written = tmp_path / "figure.svg"
    assert written.is_file() and "fc1" in svg_text_content(written)
    assert "Export diagram" in files.asked
    file_menu = next(a.menu() for a in app_window.menuBar().actions() if a.text().replace("&", "") == "File")
    file_menu.aboutToShow.emit()
    names = [a.menu().objectName() if a.menu() else a.objectName() for a in file_menu.actions()]
    assert names[names.index("exportMenu") + 1] == "actionExportDiagram"   # beside the other exports


def test_a_bad_ending_or_an_empty_canvas_is_refused(qtbot, window, tmp_path):
    scene = window.canvas.model_scene
    with pytest.raises(DiagramError, match=r"\.svg or \.png"):
        export_diagram(scene, tmp_path / "model.jpg")
    window.document.remove(list(window.workspace.spec.nodes))
    with pytest.raises(DiagramError, match="empty"):
        export_diagram(scene, tmp_path / "model.svg")
    assert list(tmp_path.iterdir()) == []
