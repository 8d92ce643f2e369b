"""The window fits the screen it is on: a 1280x720 laptop shows every control of the side column, the
run controls and the status bar without sideways scrolling or cut labels; a 2560x1440 monitor gives its
room to the canvas and the charts, the model centred. Fit to view keeps text readable, the charts keep
a minimum height and uncrowded axes, and the banner floats over the canvas without moving its nodes.

The screen is simulated: the window asks window_geometry.available_geometry for the screen's area.
"""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QFontInfo, QImage, QPainter
from PySide6.QtWidgets import (QAbstractButton, QAbstractSpinBox, QApplication, QComboBox, QLabel, QLineEdit,
                               QProgressBar, QScrollArea, QWidget)

from layerforge.app import create_main_window, window_geometry
from layerforge.app.canvas.view import FIT_MAX_ZOOM, READABLE_TEXT_PX, readable_zoom
from layerforge.app.charts import MIN_VIEW_HEIGHT, TrainingCharts
from layerforge.app.side_column import TAB_NAMES
from layerforge.app.window_commands import install_commands
from window_support import boxes, close_window, files, isolated  # noqa: F401

LAPTOP = QRect(0, 0, 1280, 720 - 40)       # a 1280x720 screen less a 40 px task bar
MONITOR = QRect(0, 0, 2560, 1440 - 40)
CONTROLS = (QAbstractButton, QComboBox, QAbstractSpinBox, QLineEdit, QLabel, QProgressBar)


@pytest.fixture
def screen(monkeypatch):
    """``screen(rect)`` makes ``rect`` the available area of the screen every window opens on."""
    def use(rect: QRect) -> None:
        monkeypatch.setattr(window_geometry, "available_geometry", lambda widget=None: QRect(rect))
    return use


def open_app(qtbot, example: str = "spiral"):
    """The window as the app opens it (its commands installed), at the size it chose for the screen."""
    window = create_main_window(example)
    qtbot.addWidget(window)
    install_commands(window)
    window.show()
    qtbot.waitExposed(window)
    settle(qtbot)
    return window


def settle(qtbot) -> None:
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(20)


def window_rect_of(widget: QWidget) -> QRect:
    return QRect(widget.mapTo(widget.window(), QPoint(0, 0)), widget.size())


def clipped_by(widget: QWidget) -> QWidget | None:
    """The first ancestor (a scroll area's viewport, a panel, the window) that cuts ``widget`` off."""
    rect = window_rect_of(widget)
    parent = widget.parentWidget()
    while parent is not None:
        if not window_rect_of(parent).contains(rect):
            return parent
        parent = parent.parentWidget()
    return None


def assert_shown_whole(widget: QWidget) -> None:
    name = widget.objectName() or type(widget).__name__
    text = widget.text() if hasattr(widget, "text") and callable(widget.text) else ""
    assert widget.isVisible(), f"{name} {text!r} is hidden"
    assert clipped_by(widget) is None, f"{name} {text!r} is cut off by {clipped_by(widget).objectName()!r}"
    if isinstance(widget, QLabel) and not widget.wordWrap() and widget.text():
        assert widget.width() >= widget.minimumSizeHint().width(), f"label {text!r} is cut short"
    if isinstance(widget, QAbstractButton) and widget.text():
        assert widget.width() >= widget.minimumSizeHint().width(), f"button {text!r} is cut short"


def visible_controls(root: QWidget) -> list[QWidget]:
    return [w for w in root.findChildren(QWidget) if isinstance(w, CONTROLS) and w.isVisible()
            and not w.objectName().startswith("qt_") and w.width() > 0]


def assert_no_sideways_scrolling(root: QWidget) -> None:
    for area in root.findChildren(QScrollArea):
        if area.isVisible() and area.widget() is not None:
            assert area.widget().width() <= area.viewport().width(), f"{area.objectName()} is wider than its view"
            assert area.horizontalScrollBar().maximum() == 0, f"{area.objectName()} can scroll sideways"


def test_on_a_1280x720_screen_every_control_is_in_view_whole(qtbot, screen, isolated, boxes, files):
    screen(LAPTOP)
    window = open_app(qtbot)
    try:
        frame = window.frameGeometry().size() - window.geometry().size()
        outer = window.size() + (frame if frame.height() > 0 else window_geometry.FRAME_GUESS)
        assert outer.width() <= LAPTOP.width() and outer.height() <= LAPTOP.height(), window.size()
        assert window.width() >= LAPTOP.width() - 10, "the window should use the laptop's whole width"
        assert window.height() >= LAPTOP.height() - 60
        status = window.statusBar()
        assert status.isVisible() and window.rect().contains(window_rect_of(status))
        panel = window.training_panel
        # A layer with an error and its quick fix, shown in the inspector.
        ids = {node.name: node_id for node_id, node in window.document.spec.nodes.items()}
        window.document.set_param(ids["input1"], "shape", "1, 2")
        window.canvas.model_scene.select_nodes([ids["fc1"]])
        settle(qtbot)
        assert window.inspector.fix_button.text(), "the model should offer a quick fix"
        side = window.side_column
        tabs = range(len(TAB_NAMES)) if side.compact else [None]
        for tab in tabs:
            if tab is not None:
                qtbot.mouseClick(side.tabs, Qt.MouseButton.LeftButton, pos=side.tabs.tabRect(tab).center())
                settle(qtbot)
                assert side.tabs.currentIndex() == tab
            for button in (panel.train_button, panel.pause_button, panel.stop_button, panel.progress):
                assert_shown_whole(button)
            controls = visible_controls(side)
            assert len(controls) >= 4
            for control in controls:
                assert_shown_whole(control)
            assert_no_sideways_scrolling(side)
        # Every panel was shown, the inspector's error and quick fix among them.
        for widget in (window.inspector.error_label, window.inspector.fix_button, panel.lr_spin, panel.device_combo,
                       window.dataset_panel.combo, window.commands.import_button):
            side.show_tab(next(i for i, p in enumerate((window.inspector, window.dataset_panel, panel))
                               if p.isAncestorOf(widget)))
            settle(qtbot)
            assert_shown_whole(widget)
        # Moving the focus through the training settings never scrolls the column sideways.
        side.show_tab(2)
        settle(qtbot)
        for field in (panel.loss_combo, panel.optimizer_combo, panel.lr_spin, panel.epochs_spin, panel.device_combo):
            field.setFocus()
            settle(qtbot)
            assert_no_sideways_scrolling(side)
        # The canvas keeps a useful share of the height, and its text stays readable.
        assert window.canvas.viewport().height() >= 250
        window.canvas.fit_to_view()
        assert window.canvas.zoom_level >= readable_zoom() - 1e-6
        assert window.charts.height() >= window.charts.minimumHeight() > 0
    finally:
        close_window(window)


def test_the_panels_stack_where_the_window_is_tall_and_a_chosen_layer_shows_its_tab(qtbot, screen, isolated, boxes,
                                                                                   files):
    screen(LAPTOP)
    window = open_app(qtbot)
    try:
        side = window.side_column
        assert side.compact, "a 1280x720 screen has no room for the three panels stacked"
        side.show_tab(2)
        node = next(iter(window.document.spec.nodes))
        window.canvas.model_scene.select_nodes([node])
        assert side.tabs.currentIndex() == 0, "choosing a layer on the canvas shows its settings"
        window.resize(1400, 1000)
        settle(qtbot)
        assert not side.compact and not side.tabs.isVisible()
        for widget in (window.inspector, window.dataset_panel, window.training_panel):
            assert widget.isVisible()
        assert_shown_whole(window.training_panel.device_combo)   # the data and training panels are not cut
    finally:
        close_window(window)


def test_on_a_2560x1440_screen_the_room_goes_to_the_canvas_and_charts_and_the_model_is_centred(
        qtbot, screen, isolated, boxes, files):
    screen(MONITOR)
    window = open_app(qtbot)
    try:
        assert window.width() >= 2000 and window.height() >= 1100
        assert window.palette_panel.width() <= 260 and window.side_column.width() <= 460
        assert window.canvas.width() >= 1500 and window.canvas.height() >= 550
        assert window.charts.height() >= 450 and window.charts.width() >= 700
        assert_model_centred(window)
        assert window.canvas.zoom_level == pytest.approx(FIT_MAX_ZOOM, abs=0.01)
        # Opened smaller, then enlarged (a restored or maximized window): the model follows, centred.
        window.resize(1300, 650)
        settle(qtbot)
        window.canvas.fit_to_view()
        small = window.canvas.zoom_level
        window.resize(2400, 1300)
        settle(qtbot)
        assert_model_centred(window)
        assert window.canvas.zoom_level >= small
        # Not once the person has zoomed: their view stays theirs.
        window.canvas.zoom(0.8)
        zoom = window.canvas.zoom_level
        window.resize(2000, 1100)
        settle(qtbot)
        assert window.canvas.zoom_level == pytest.approx(zoom)
    finally:
        close_window(window)


def assert_model_centred(window) -> None:
    canvas = window.canvas
    rect = None
    for item in canvas.model_scene.nodes.values():
        rect = item.sceneBoundingRect() if rect is None else rect.united(item.sceneBoundingRect())
    centre = canvas.mapFromScene(rect.center())
    middle = canvas.viewport().rect().center()
    # fit_to_view leaves a little more room below the model than above it (for shape labels).
    assert abs(centre.x() - middle.x()) <= 40 and abs(centre.y() - middle.y()) <= 40, (centre, middle)


def test_a_remembered_size_is_restored_only_where_it_fits(qtbot, screen, isolated, boxes, files):
    screen(MONITOR)
    window = open_app(qtbot)
    window.resize(2300, 1250)
    settle(qtbot)
    close_window(window)   # closing remembers the layout

    window = open_app(qtbot)
    restored = []
    window.restoreGeometry = restored.append   # Qt itself would clamp it to the real (offscreen) screen
    try:
        assert window.commands.appearance.restore_layout(), "the same screen: the size is restored"
        normal, maximized = window_geometry.saved_geometry(restored[0])
        assert (normal.width(), normal.height(), maximized) == (2300, 1250, False)
    finally:
        close_window(window)

    screen(LAPTOP)
    window = open_app(qtbot)
    try:
        opened = window.size()
        assert not window.commands.appearance.restore_layout(), "a 2300x1250 window does not fit a laptop"
        assert window.size() == opened and window_geometry.fits_screen(window)
    finally:
        close_window(window)


def test_opening_sizes_follow_the_screen():
    assert window_geometry.opening_size(QSize(1276, 640)) == QSize(1276, 640)     # a laptop: all of it
    assert window_geometry.opening_size(QSize(1916, 1000)).height() == 1000
    large = window_geometry.opening_size(QSize(2556, 1360))
    assert 2200 <= large.width() < 2556 and 1200 <= large.height() < 1360        # most of a large one


def test_fit_to_view_never_shrinks_text_below_readable(window, qtbot):
    center = window.splitters["center"]
    total = sum(center.sizes())
    center.setSizes([150, total - 150])   # a canvas squeezed to 150 px
    window.splitters["main"].setSizes([200, 500, 700])
    settle(qtbot)
    canvas = window.canvas
    canvas.fit_to_view()
    zoom = canvas.zoom_level
    assert zoom >= readable_zoom() - 1e-6
    assert QFontInfo(QApplication.font()).pixelSize() * zoom >= READABLE_TEXT_PX - 0.01
    # The model does not fit whole: it is shown from its start, the input layer in view.
    first = min(canvas.model_scene.nodes.values(), key=lambda item: item.scenePos().x())
    top_left = canvas.mapFromScene(first.sceneBoundingRect().topLeft())
    assert canvas.viewport().rect().contains(top_left)
    # Zooming out by hand still goes further (an overview), Fit to view comes back to readable.
    for _ in range(10):
        canvas.zoom(0.8)
    assert canvas.zoom_level < readable_zoom()
    canvas.fit_to_view()
    assert canvas.zoom_level == pytest.approx(zoom)


def axis_label_rects(axis) -> list:
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [] if specs is None else [rect for rect, _flags, _text in specs[2]]


def test_charts_keep_a_minimum_height_uncrowded_axes_and_their_keys_inside(qtbot):
    charts = TrainingCharts()
    qtbot.addWidget(charts)
    charts.resize(300, 80)
    charts.show()
    qtbot.waitExposed(charts)
    settle(qtbot)
    assert charts.height() >= charts.minimumHeight() >= 3 * MIN_VIEW_HEIGHT
    plots = (charts.loss_plot, charts.metric_plot, charts.lr_plot)
    for plot in plots:
        assert plot.vb.height() >= MIN_VIEW_HEIGHT - 1
    # A run with a previous one: the longest colour key, at the narrowest width.
    charts.show_history({"epoch": [1, 2], "step_loss": [1.0, 0.8, 0.6, 0.5], "lr": [0.01, 0.01],
                         "val_loss": [0.9, 0.7], "val_accuracy": [0.5, 0.6], "train_accuracy": [0.5, 0.6]},
                        "classification", 2)
    charts.begin_run(2, "classification", 2)
    assert charts.has_previous
    charts.resize(charts.minimumWidth() or 300, charts.minimumHeight())
    settle(qtbot)
    width = charts.viewport().width()
    for plot in plots:
        right = charts.mapFromScene(plot.sceneBoundingRect().topRight()).x()
        assert right <= width + 1, "the plots are pushed past the chart's right edge"
        title = plot.titleLabel
        assert charts.mapFromScene(title.mapToScene(title.item.boundingRect().topRight())).x() <= width + 1
        for axis in (plot.getAxis("left"), plot.getAxis("bottom")):
            rects = sorted(axis_label_rects(axis), key=lambda r: (r.top(), r.left()))
            for a, b in zip(rects, rects[1:]):
                assert not a.intersects(b), f"{axis.orientation} axis labels overlap: {a} {b}"
    # The accuracy axis of a short plot: a few labels, not 0.2, 0.4, 0.6, 0.8 on top of each other.
    left = axis_label_rects(charts.metric_plot.getAxis("left"))
    assert 1 <= len(left) <= 3


def test_the_banner_floats_over_the_canvas_without_moving_its_nodes(window, qtbot):
    canvas = window.canvas
    node = next(iter(canvas.model_scene.nodes.values()))

    def where():
        point = canvas.mapFromScene(node.sceneBoundingRect().center())
        return canvas.viewport().mapTo(window, point), window_rect_of(canvas)

    before = where()
    window.banner.show_message("error", "Cannot train: the model's output does not fit the data. " * 3,
                               "Use a matching model", lambda: None)
    settle(qtbot)
    banner = window.banner
    assert banner.isVisible()
    assert where() == before, "the banner moved the canvas's nodes"
    placed = window_rect_of(banner)
    assert window_rect_of(canvas).contains(placed) and placed.top() - window_rect_of(canvas).top() <= 12
    assert placed.width() >= canvas.width() - 20, "the banner spans the canvas"
    assert banner.label.height() >= banner.label.heightForWidth(banner.label.width()), "its text is not cut"
    qtbot.mouseClick(banner.close_button, Qt.MouseButton.LeftButton)
    settle(qtbot)
    assert not banner.isVisible() and where() == before
    # The banner follows the canvas's width.
    banner.show_message("info", "Training finished.")
    window.resize(1200, 800)
    settle(qtbot)
    assert window_rect_of(banner).right() <= window_rect_of(canvas).right()
    # Text that wraps onto a second line at a laptop's width is shown whole (it was cut at 1280x720).
    banner.show_message("success", "Training finished after 80 epoch(s); kept the weights of epoch 69 (best "
                        "validation loss). Validation R² 0.999 (epoch 69).")
    window.resize(1100, 700)
    settle(qtbot)
    assert banner.label.height() >= banner.label.heightForWidth(banner.label.width()), "its text is not cut"
    assert banner.width() >= canvas.width() - 20
