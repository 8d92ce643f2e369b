"""The dark theme darkens the whole window (canvas, charts, predictions, confusion matrix, banner), and
text keeps a contrast of at least 4.5:1 on what it is drawn on, in both themes, measured on the
rendered widgets: backgrounds are read from the pixels drawn, text colours from the pixels of the
glyphs (on the canvas, zoomed in so that the strokes are whole pixels) or from the colour the widget
draws its text in."""
from __future__ import annotations

import weakref
from collections import Counter

import pytest
from PySide6.QtCore import QPoint, QRect, QRectF
from PySide6.QtGui import QAction, QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication, QLabel

from layerforge.app import theme
from layerforge.app.canvas.node_item import HEADER_HEIGHT, NODE_HEIGHT, NODE_WIDTH
from layerforge.app.theme import contrast_ratio, relative_luminance
from window_support import boxes, close_window, files, isolated, open_window, train, wait  # noqa: F401

MIN_CONTRAST = 4.5


@pytest.fixture(autouse=True)
def light_afterwards():
    yield
    theme.set_theme("light")   # the theme is the application's: the next test starts light


def choose_theme(window, qtbot, which: str) -> None:
    """View > Theme > Dark (or Light), through the menu's own action."""
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "View")
    theme_menu = next(a.menu() for a in view_menu.actions() if a.menu() is not None
                      and a.menu().objectName() == "themeMenu")
    action = theme_menu.findChild(QAction, f"actionTheme{which.capitalize()}")
    assert action in theme_menu.actions()
    action.trigger()
    wait(qtbot, 0.2)


def image_of(widget) -> QImage:
    return widget.grab().toImage()


def background(image: QImage, rect: QRect | None = None) -> QColor:
    """The colour most of ``rect`` is painted in."""
    rect = image.rect() if rect is None else rect.intersected(image.rect())
    counts = Counter(image.pixel(x, y) for x in range(rect.left(), rect.right() + 1, 2)
                     for y in range(rect.top(), rect.bottom() + 1, 2))
    return QColor.fromRgb(counts.most_common(1)[0][0])


def line_contrasts(image: QImage, rect: QRect) -> list[float]:
    """For each line of text in ``rect`` (a run of rows with ink in it), the contrast between the
    background and the glyph pixel that differs from it most; a faint line is not hidden by a stronger
    one beside it."""
    back = background(image, rect)
    rect = rect.intersected(image.rect())
    rows = [[QColor.fromRgb(image.pixel(x, y)) for x in range(rect.left(), rect.right() + 1)]
            for y in range(rect.top(), rect.bottom() + 1)]
    ratios, line = [], []
    for row in rows + [[]]:
        best = max((contrast_ratio(pixel, back) for pixel in row), default=1.0)
        if best > 1.3:
            line.append(best)
        elif line:
            ratios.append(max(line))
            line = []
    return ratios


def is_dark(color: QColor) -> bool:
    return relative_luminance(color) < 0.05


def label_contrast(label: QLabel) -> float:
    """The label's text colour (its style sheet's, as Qt resolved it) on the pixels behind it."""
    label.ensurePolished()
    text = label.palette().color(label.foregroundRole())
    window = label.window()
    top_left = label.mapTo(window, QPoint(0, 0))
    behind = background(image_of(window), QRect(top_left, label.size()))
    return contrast_ratio(text, behind)


def emptiest_cell(table) -> QColor:
    """The rendered colour of the cell with the smallest count (the matrix's background colour)."""
    cells = [(int(table.item(r, c).text() or 0), r, c) for r in range(table.rowCount()) for c in range(table.columnCount())]
    _count, row, col = min(cells)
    rect = table.visualItemRect(table.item(row, col))
    return QColor.fromRgb(image_of(table.viewport()).pixel(rect.left() + 2, rect.top() + 2))


@pytest.fixture
def trained(qtbot, isolated, boxes, files):
    window = open_window(qtbot)
    train(qtbot, window, epochs=2)
    wait(qtbot, 0.3)
    yield window
    close_window(window)


def test_dark_theme_darkens_canvas_charts_predictions_data_confusion_matrix_and_banner(trained, qtbot):
    window = trained
    assert window.banner.isVisible()
    choose_theme(window, qtbot, "dark")
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() < 100
    views = {"canvas": window.canvas.viewport(), "charts": window.charts,
             "predictions": window.predictions.plot_widget, "data preview": window.dataset_panel.preview,
             "banner": window.banner}
    for name, widget in views.items():
        assert widget.isVisible(), name
        assert is_dark(background(image_of(widget))), f"the {name} stays light in the dark theme"
    assert is_dark(emptiest_cell(window.predictions.confusion.table)), "the confusion matrix stays light"
    choose_theme(window, qtbot, "light")
    for name, widget in views.items():
        assert not is_dark(background(image_of(widget))), f"the {name} stays dark in the light theme"
    assert not is_dark(emptiest_cell(window.predictions.confusion.table)), "the confusion matrix stays dark"


@pytest.mark.parametrize("which", ["light", "dark"])
def test_text_reads_at_4_5_to_1_in_both_themes(trained, qtbot, which):
    window = trained
    choose_theme(window, qtbot, which)
    low = []

    # The banner's message, the confusion matrix's caption, the panels' captions.
    for label in (window.banner.label, window.predictions.confusion.caption, window.predictions.title):
        if label.isVisible() and label.text():
            ratio = label_contrast(label)
            if ratio < MIN_CONTRAST:
                low.append((label.objectName() or label.text()[:30], round(ratio, 2)))

    # Every confusion-matrix cell: its count's colour on the cell's rendered colour.
    table = window.predictions.confusion.table
    table_image = image_of(table.viewport())
    for row in range(table.rowCount()):
        for col in range(table.columnCount()):
            item = table.item(row, col)
            cell = table.visualItemRect(item)
            behind = QColor.fromRgb(table_image.pixel(cell.left() + 2, cell.top() + 2))
            ratio = contrast_ratio(item.foreground().color(), behind)
            if ratio < MIN_CONTRAST:
                low.append((f"confusion cell {row},{col}", round(ratio, 2)))

    # The charts: tick labels and titles on the rendered chart background.
    charts = window.charts
    chart_back = background(image_of(charts))
    for plot in (charts.loss_plot, charts.metric_plot, charts.lr_plot):
        for side in ("left", "bottom"):
            ratio = contrast_ratio(plot.getAxis(side).textPen().color(), chart_back)
            if ratio < MIN_CONTRAST:
                low.append((f"chart axis {side}", round(ratio, 2)))
        title_color = plot.titleLabel.item.toHtml().split("color:", 2)[-1][:7]
        if contrast_ratio(QColor(title_color), chart_back) < MIN_CONTRAST:
            low.append(("chart title", title_color))

    # The canvas, zoomed in so that glyph strokes cover whole pixels: each node's name on its header
    # and its type and settings on its body.
    canvas = window.canvas
    for _ in range(4):
        canvas.action_zoom_in.trigger()
    scene = canvas.model_scene
    for node_id, item in scene.nodes.items():
        canvas.centerOn(item)
        wait(qtbot, 0.05)
        image = image_of(canvas.viewport())

        def region(x, y, w, h):
            return canvas.mapFromScene(item.mapToScene(QRectF(x, y, w, h))).boundingRect()

        header = region(24, 3, NODE_WIDTH - 28, HEADER_HEIGHT - 4)
        body = region(6, HEADER_HEIGHT + 3, NODE_WIDTH - 12, NODE_HEIGHT - HEADER_HEIGHT - 6)
        lines = line_contrasts(image, header)[:1] + line_contrasts(image, body)
        assert len(lines) >= 2, f"node {node_id}: no text found"
        for number, ratio in enumerate(lines):
            if ratio < MIN_CONTRAST:
                low.append((f"node {node_id} line {number + 1}", round(ratio, 2)))
    assert not low, f"text below {MIN_CONTRAST}:1 in the {which} theme: {low}"


@pytest.mark.parametrize("which", ["light", "dark"])
def test_banner_levels_and_prediction_labels_read_in_both_themes(qtbot, isolated, boxes, files, which):
    window = open_window(qtbot, "digits_cnn")
    choose_theme(window, qtbot, which)
    train(qtbot, window, epochs=1, timeout=60_000)
    wait(qtbot, 0.3)
    low = []
    grid = window.predictions.image_grid
    assert grid.isVisible()
    captions = [caption for _picture, caption in grid.cells if caption.text()]
    assert captions
    for caption in captions:
        ratio = label_contrast(caption)
        if ratio < MIN_CONTRAST:
            low.append((caption.text(), round(ratio, 2)))
    for level in ("error", "warning", "info", "success"):
        window.banner.show_message(level, f"A {level} message to read")
        wait(qtbot, 0.05)
        banner_back = background(image_of(window.banner))
        assert is_dark(banner_back) == (which == "dark"), level
        ratio = label_contrast(window.banner.label)
        if ratio < MIN_CONTRAST:
            low.append((f"banner {level}", round(ratio, 2)))
    close_window(window)
    assert not low, f"text below {MIN_CONTRAST}:1 in the {which} theme: {low}"


def test_every_declared_text_colour_reads_on_its_background():
    for name, colours in theme.THEMES.items():
        for text, back in theme.TEXT_PAIRS:
            ratio = contrast_ratio(QColor(colours[text]), QColor(colours[back]))
            assert ratio >= MIN_CONTRAST, f"{name}: {text} on {back} is {ratio:.2f}:1"


def test_a_view_that_follows_the_theme_is_not_kept_alive_by_it(qtbot):
    label = QLabel("caption")
    calls = []
    theme.follow(label, lambda shown: calls.append(theme.name()))
    gone = weakref.ref(label)
    del label
    assert gone() is None          # freed by reference counting: the theme holds it weakly
    theme.set_theme("dark")
    assert calls == ["light"]      # and a view that is gone is not called
