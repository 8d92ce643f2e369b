"""The window's Tab order: palette, canvas, inspector, data, training (Train after its settings), then the
results; and round again.

Qt's focus chain follows the order widgets were made, and panels that rebuild their fields (the
inspector, for each layer selected) append the new fields at the end of the window's chain. So the
order is not set once: when the focus moves and just before a Tab or Shift+Tab moves it, the chain is
put back in the order of the window's regions (within a region, top to bottom and left to right).
"""
from __future__ import annotations

import weakref

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication, QWidget

TAB_KEYS = (Qt.Key.Key_Tab, Qt.Key.Key_Backtab)
WATCHED = "focusOrderWatched"   # a widget's property: its Tab key puts the chain in order first


class FocusOrder(QObject):
    def __init__(self, window: QWidget, regions: list[QWidget]):
        super().__init__(window)
        # Weak references: the application's focusChanged signal must not keep a closed window alive
        # (windows are freed by reference counting, not by a garbage collection inside Qt's event loop).
        self._window = weakref.ref(window)
        self._regions = [weakref.ref(region) for region in regions]
        # focusObjectChanged, not focusChanged: that one also hands over the widget losing the focus,
        # which may be half destroyed (an inspector field rebuilt away), and a Python wrapper made for
        # it then is freed later, by a garbage collection, after Qt has deleted the widget.
        QApplication.instance().focusObjectChanged.connect(self._focus_changed)   # dropped when self goes

    @property
    def window(self) -> QWidget | None:
        return self._window()

    @property
    def regions(self) -> list[QWidget]:
        return [region for region in (ref() for ref in self._regions) if region is not None]

    def tab_stops(self) -> list[QWidget]:
        """The widgets Tab can stop at, region by region, each region's as they are read (top to
        bottom, left to right); what no region holds comes last. Found with findChildren, not by walking the focus chain
        from Python: that walk, right after the inspector rebuilt its fields, made wrappers that broke
        other widgets' (a later call said the run controls were deleted)."""
        window = self.window
        if window is None:
            return []
        grouped, seen = [], set()
        for holder in self.regions + [window]:
            group = []
            for widget in [holder] + holder.findChildren(QWidget):
                key = id(widget)
                # A combo box's list lives in a popup window of its own: not a stop of this window.
                if key not in seen and _is_tab_stop(widget) and widget.window() is window:
                    seen.add(key)
                    group.append(widget)
            grouped += sorted(group, key=lambda w: _reading_position(w, window))
        return grouped

    def apply(self) -> None:
        stops = self.tab_stops()
        for first, second in zip(stops, stops[1:]):
            QWidget.setTabOrder(first, second)

    def _focus_changed(self, _new: QObject | None) -> None:
        # Not now: the focus moves while a widget is being destroyed (an inspector field rebuilt away,
        # its siblings still in the chain), and touching those from Python makes wrappers of
        # half-destroyed widgets. Once the event loop is back, everything in the chain is whole.
        QTimer.singleShot(0, self, self._settle)   # dropped if the window goes first

    def _settle(self) -> None:
        window = self.window
        focus = QApplication.focusWidget()
        if window is None or focus is None or focus.window() is not window:
            return
        self.apply()
        if not focus.property(WATCHED):
            focus.setProperty(WATCHED, True)
            focus.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and event.key() in TAB_KEYS:
            self.apply()
        return False


def _is_tab_stop(widget: QWidget) -> bool:
    # Not the window itself, and not the inner part of a compound widget (a spin box's line edit, a
    # view's viewport: it hands its focus to its owner, whom setTabOrder would move in its place).
    return (bool(widget.focusPolicy() & Qt.FocusPolicy.TabFocus) and not widget.isWindow()
            and widget.focusProxy() is None)


def _reading_position(widget: QWidget, window: QWidget) -> tuple[int, int]:
    """Top to bottom, then left to right, within a region (rows a few pixels apart count as one)."""
    corner = widget.mapTo(window, QPoint(0, 0))
    return corner.y() // 8, corner.x()
