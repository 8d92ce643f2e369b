"""The frame clock: one timer draws everything that changed (charts, predictions, progress).

While a model trains, the GUI thread and the training thread share one interpreter lock, so every
millisecond the GUI thread computes is a millisecond the run may not get. The clock therefore
measures the GUI thread's CPU time between frames (the frame itself and the repaints pyqtgraph
schedules after it, event delivery, everything) and stretches or shrinks the interval so that the
GUI thread stays near ``budget`` of the wall time: at most 30 frames a second when drawing is
cheap, fewer when it is not, never fewer than one a second. Heavy views (charts, predictions) take
turns, one per frame, so no single frame (an event-loop stall) paints everything at once.
"""
from __future__ import annotations

import time
from typing import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QWidget

MIN_INTERVAL_MS = 16    # heavy views take turns: each is drawn at most ~30 times a second
MAX_INTERVAL_MS = 1000  # live views never freeze for longer than this


class FrameClock(QObject):
    def __init__(self, parent=None, budget: float = 0.1):
        super().__init__(parent)
        self.budget = budget
        self._jobs: list[tuple[Callable[[], bool], QWidget]] = []
        self._light_jobs: list[tuple[Callable[[], bool], QWidget]] = []
        self._turn = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.frame)
        self.interval_ms = MIN_INTERVAL_MS
        self.frames = 0
        self.gui_share = 0.0
        self._last_cpu = time.thread_time()
        self._last_wall = time.perf_counter()
        self._timer.start(self.interval_ms)

    def add(self, update: Callable[[], bool], widget: QWidget, light: bool = False) -> None:
        """``update()`` brings ``widget`` up to date and returns True when it changed (then it is
        repainted). Light jobs run every frame; the others take turns."""
        (self._light_jobs if light else self._jobs).append((update, widget))

    def flush(self) -> None:
        """Bring every view up to date now (the run ended: show its final state at once)."""
        for update, widget in self._jobs + self._light_jobs:
            if update() and widget.isVisible():
                widget.update()

    def frame(self) -> None:
        try:
            jobs = list(self._light_jobs)
            if self._jobs:
                # The next heavy job with something new, starting after the one drawn last.
                for offset in range(len(self._jobs)):
                    index = (self._turn + offset) % len(self._jobs)
                    update, widget = self._jobs[index]
                    if update():
                        self._turn = index + 1
                        if widget.isVisible():
                            widget.update()
                        break
            for update, widget in jobs:
                if update() and widget.isVisible():
                    widget.update()
        finally:
            self.frames += 1
            self._timer.start(self._next_interval())

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
