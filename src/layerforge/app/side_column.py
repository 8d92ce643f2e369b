"""The window's right column [sideColumn]: the layer inspector, the data and the training settings,
with the run controls (Train, Pause, Stop and the progress bar) always in view at its foot.

Where the column is tall enough, the panels are stacked: the inspector above, the data and training
panels below it [rightSplitter]. On a short screen (a 1280x720 laptop) they would be squeezed into
scroll areas and cut off, so they become three tabs [sideTabs] instead, one panel at a time. The column
never scrolls sideways: it is never narrower than its panels' narrowest width, and its scroll areas
scroll up and down only.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtWidgets import QScrollArea, QSplitter, QTabBar, QVBoxLayout, QWidget

LAYER_TAB, DATA_TAB, TRAINING_TAB = range(3)
TAB_NAMES = ("Layer", "Data", "Training")
INSPECTOR_MIN_HEIGHT = 170   # stacked, the inspector keeps at least this (its title, shape and error)


class VerticalScrollArea(QScrollArea):
    """A scroll area that scrolls up and down only: never narrower than what it holds can be, so
    nothing is cut at the right and focus moving to a field never scrolls it sideways."""

    def __init__(self, content: QWidget, name: str, parent=None):
        super().__init__(parent)
        self.setObjectName(name)
        self.setWidgetResizable(True)
        self.setWidget(content)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        content.installEventFilter(self)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        content = self.widget()
        if content is None:
            return hint
        width = (content.minimumSizeHint().width() + 2 * self.frameWidth()
                 + self.verticalScrollBar().sizeHint().width())
        return QSize(max(hint.width(), width), hint.height())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()   # a wider editor in the inspector widens the column, never cuts it
        return False


class SideColumn(QWidget):
    def __init__(self, inspector: QWidget, dataset_panel: QWidget, training_panel, parent=None):
        super().__init__(parent)
        self.setObjectName("sideColumn")
        self.inspector = inspector
        self.dataset_panel = dataset_panel
        self.training_panel = training_panel
        self.inspector_scroll = VerticalScrollArea(inspector, "inspectorScroll")
        run_column = QWidget()
        run_column.setObjectName("runColumn")
        run_layout = QVBoxLayout(run_column)
        run_layout.setContentsMargins(0, 0, 0, 0)
        run_layout.addWidget(dataset_panel)
        run_layout.addWidget(training_panel)
        run_layout.addStretch(1)
        self.run_column = run_column
        self.run_scroll = VerticalScrollArea(run_column, "runScroll")
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("rightSplitter")
        self.splitter.addWidget(self.inspector_scroll)
        self.splitter.addWidget(self.run_scroll)
        self.splitter.setChildrenCollapsible(False)
        # The inspector takes what the column gains or loses; the data and training panels keep their size.
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.tabs = QTabBar()
        self.tabs.setObjectName("sideTabs")
        self.tabs.setAccessibleName("Panels")
        for name in TAB_NAMES:
            self.tabs.addTab(name)
        self.tabs.setExpanding(True)
        self.tabs.setDocumentMode(True)
        self.tabs.currentChanged.connect(lambda _index: self._show_panels())
        self.run_controls = training_panel.run_controls
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 4, 4)   # the buttons clear the window's edge
        layout.setSpacing(4)
        layout.addWidget(self.tabs)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.run_controls)
        self.compact = False
        self._settling = False
        self.run_scroll.installEventFilter(self)
        run_column.installEventFilter(self)
        self._show_panels()

    # -- the two arrangements --------------------------------------------------------------------

    def stacked_height(self) -> int:
        """The height the panels need stacked (without the run controls below them)."""
        return INSPECTOR_MIN_HEIGHT + self.splitter.handleWidth() + self._run_height()

    def _run_height(self) -> int:
        layout = self.run_column.layout()
        margins = layout.contentsMargins()
        return (self.dataset_panel.sizeHint().height() + layout.spacing() + self.training_panel.sizeHint().height()
                + margins.top() + margins.bottom())

    def set_compact(self, compact: bool) -> None:
        """Tabs (``True``) or the panels stacked; the tab shown is the one holding the focus, if any."""
        if compact == self.compact:
            return
        self.compact = compact
        if compact:
            focus = self.focusWidget()
            for index, panel in ((LAYER_TAB, self.inspector), (DATA_TAB, self.dataset_panel),
                                 (TRAINING_TAB, self.training_panel)):
                if focus is not None and (focus is panel or panel.isAncestorOf(focus)):
                    self.tabs.setCurrentIndex(index)
        self._show_panels()

    def show_tab(self, index: int) -> None:
        """Bring a panel into view (in the stacked arrangement all of them are)."""
        self.tabs.setCurrentIndex(index)

    def show_layer_tab(self, node_ids) -> None:
        """A layer chosen on the canvas: show its settings where the panels are in tabs."""
        if self.compact and node_ids:
            self.tabs.setCurrentIndex(LAYER_TAB)

    def _show_panels(self) -> None:
        tab = self.tabs.currentIndex()
        self.tabs.setVisible(self.compact)
        self.inspector_scroll.setVisible(not self.compact or tab == LAYER_TAB)
        self.run_scroll.setVisible(not self.compact or tab != LAYER_TAB)
        self.dataset_panel.setVisible(not self.compact or tab == DATA_TAB)
        self.training_panel.setVisible(not self.compact or tab == TRAINING_TAB)
        if not self.compact:
            self._give_run_panels_room()

    def _give_run_panels_room(self) -> None:
        """Stacked, the data and training panels get the height they need (the inspector the rest, and
        at least INSPECTOR_MIN_HEIGHT): they are never cut off while the inspector could give way."""
        if self.compact or self._settling:
            return
        sizes = self.splitter.sizes()
        total = sum(sizes)
        if len(sizes) != 2 or total <= 0:
            return
        wanted = min(self._run_height(), max(0, total - INSPECTOR_MIN_HEIGHT))
        if sizes[1] < wanted:
            self._settling = True
            try:
                self.splitter.setSizes([total - wanted, wanted])
            finally:
                self._settling = False

    # -- events ----------------------------------------------------------------------------------

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        room = self.height() - self.run_controls.sizeHint().height() - self.layout().spacing()
        self.set_compact(room < self.stacked_height())
        self._give_run_panels_room()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if (watched is self.run_scroll and kind == QEvent.Type.Resize) or (
                watched is self.run_column and kind == QEvent.Type.LayoutRequest):
            # A restored splitter state, a dragged handle or a panel that grew (the optimizer's own
            # settings shown): once the splitter has settled, see that the panels still fit.
            QTimer.singleShot(0, self, self._give_run_panels_room)
        return False
