"""The frame clock: one timer draws everything that changed (charts, predictions, progress).

While a model trains, the GUI thread and the training thread share one interpreter lock, so every
millisecond the GUI thread computes is a millisecond the run may not get. The clock therefore
measures the GUI thread's CPU time between frames (the frame itself and the repaints pyqtgraph
schedules after it, event delivery, everything) and stretches or shrinks the interval so that the
GUI thread stays near ``budget`` of the wall time: at most 30 frames a second when drawing is
cheap, fewer when it is not, never fewer than one a second. Heavy views (charts, predictions) take
turns, one per frame, so no single frame (an event-loop stall) paints everything at once. A frame
with nothing to draw (no run, or a paused one) is followed by the next one after ``IDLE_INTERVAL_MS``
at the soonest, so an idle window does not wake 60 times a second.
"""
from __future__ import annotations

import time
from typing import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QWidget

MIN_INTERVAL_MS = 16    # heavy views take turns: each is drawn at most ~30 times a second
MAX_INTERVAL_MS = 1000  # live views never freeze for longer than this
IDLE_INTERVAL_MS = 100  # after a frame that found nothing new
# The GUI thread's share of the wall time while a model trains. A frame of the main window costs
# ~25 ms of GUI-thread time while a model trains beside it (~8 ms alone: the two threads take turns
# with the interpreter lock), and training loses about that much. Measured on 2 CPUs with the
# spiral MLP at ~1,300 steps/s (tests/benchmarks/bench_gui.py): 0.1 left training at ~88 % of
# headless speed; 0.06 keeps it at ~93 %, drawing ~2 frames a second at full speed.
DEFAULT_BUDGET = 0.06


class FrameClock(QObject):
    def __init__(self, parent=None, budget: float = DEFAULT_BUDGET):
        super().__init__(parent)
        self.budget = budget
        self._feeds: list[Callable[[], object]] = []
        self._jobs: list[tuple[Callable[[], bool], QWidget]] = []
        self._light_jobs: list[tuple[Callable[[], bool], QWidget]] = []
        self._turn = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.frame)
        self.interval_ms = MIN_INTERVAL_MS
        self.frames = 0
        self.drawn_frames = 0  # frames that brought at least one view up to date
        self.gui_share = 0.0
        self._last_cpu = time.thread_time()
        self._last_wall = time.perf_counter()
        self._timer.start(self.interval_ms)

    def add_feed(self, feed: Callable[[], object]) -> None:
        """``feed()`` runs first in every frame (and in ``flush``): it brings new data to the views,
        e.g. the training events queued since the last frame."""
        self._feeds.append(feed)

    def add(self, update: Callable[[], bool], widget: QWidget, light: bool = False) -> None:
        """``update()`` brings ``widget`` up to date and returns True when it changed (then it is
        repainted). Light jobs run every frame; the others take turns."""
        (self._light_jobs if light else self._jobs).append((update, widget))

    def set_running(self, running: bool) -> None:
        """Stop drawing frames (False) or start again (True) at the pace kept before the stop; a
        benchmark holds the views still with it. The time stopped does not count as idle time,
        which would otherwise start a burst of frames."""
        if not running:
            self._timer.stop()
        elif not self._timer.isActive():
            self._last_cpu, self._last_wall = time.thread_time(), time.perf_counter()
            self._timer.start(self.interval_ms)

    def flush(self) -> None:
        """Bring every view up to date now (the run ended: show its final state at once)."""
        self._feed()
        for update, widget in self._jobs + self._light_jobs:
            _draw(update, widget)

    def frame(self) -> None:
        drew = False
        try:
            self._feed()
            # The next heavy job with something new, starting after the one drawn last.
            for offset in range(len(self._jobs)):
                index = (self._turn + offset) % len(self._jobs)
                if _draw(*self._jobs[index]):
                    drew = True
                    self._turn = index + 1
                    break
            for update, widget in self._light_jobs:
                drew = _draw(update, widget) or drew
        finally:
            self.frames += 1
            self.drawn_frames += drew
            interval = self._next_interval()
            self._timer.start(interval if drew else max(interval, IDLE_INTERVAL_MS))

    def _feed(self) -> None:
        for feed in self._feeds:
            feed()

    def _next_interval(self) -> int:
        cpu, wall = time.thread_time(), time.perf_counter()
        spent, elapsed = cpu - self._last_cpu, wall - self._last_wall
        self._last_cpu, self._last_wall = cpu, wall
        if elapsed > 0:
            self.gui_share = spent / elapsed
            # Proportional step, damped (square root) so one slow frame does not freeze the views.
            factor = max(0.25, min(4.0, (self.gui_share / self.budget) ** 0.5))
            self.interval_ms = int(min(MAX_INTERVAL_MS, max(MIN_INTERVAL_MS, self.interval_ms * factor)))
        return self.interval_ms


def _draw(update: Callable[[], bool], widget: QWidget) -> bool:
    """Run one view's update; repaint the view when it changed and is shown. True when it changed."""
    changed = update()
    if changed and widget.isVisible():
        widget.update()
    return bool(changed)
