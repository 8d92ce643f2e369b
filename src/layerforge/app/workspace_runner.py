"""The one Qt adapter between the workspace and its training thread.

The workspace hands :class:`QtRunner` a job (``Trainer.run()`` and the kept weights' evaluation);
a ``threading.Thread`` runs it, and everything the job reports goes into a queue instead of being
handled in the training thread. The GUI thread takes the queue when it draws a frame (the window's
frame clock calls ``deliver``), because the views cannot show anything faster than that anyway:
waking the GUI thread for every batch would make both threads hand the interpreter lock back and
forth, which slows a small model's run. The start and the end of a run are taken within a few
milliseconds by a light timer in the GUI thread that looks at a flag: the training thread never calls
into Qt (a signal emitted from a Python thread raced Qt's own teardown and the garbage collector, and
once crashed the process). The Trainer's events of one delivery reach the workspace as
one list, so a frame's batch ends become one RunProgress event. While a CPU run trains, the BLAS
pool leaves a core for the window (``training.cpu_share``).
"""
from __future__ import annotations

import threading
from collections import deque

from PySide6.QtCore import QObject, QTimer

from ..training import RunFailed, RunFinished, RunStarted, RunStopped
from ..training.cpu_share import leave_a_core_for_the_window
from ..workspace import ThreadRunner

URGENT = (RunStarted, RunFinished, RunStopped, RunFailed)


# How often the GUI thread looks for a run's start or end while a job runs: soon enough that the
# buttons and banner follow at once, rarely enough to cost the run nothing measurable.
URGENT_POLL_MS = 25


class QtRunner(QObject):
    """A workspace runner (``start``, ``join``, ``active``) whose posts are handled in the GUI thread."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._thread_runner = ThreadRunner(post=self._post)
        # deque.append and popleft are atomic: the training thread appends, the GUI thread pops,
        # and neither waits for the other on a lock for every batch.
        self._queue: deque = deque()
        self._announce_lock = threading.Lock()
        self._announced = False
        self._on_done = None
        self._urgent_poll = QTimer(self)
        self._urgent_poll.setInterval(URGENT_POLL_MS)
        self._urgent_poll.timeout.connect(self._deliver_if_urgent)

    @property
    def active(self) -> bool:
        """A job is running or its outcome has not been handed to the workspace yet."""
        return self._thread_runner.active or bool(self._queue)

    def start(self, job, on_events, on_done) -> None:
        self._on_done = on_done

        def job_leaving_a_core(listener):
            restore = []

            def listen(event) -> None:
                if isinstance(event, RunStarted):
                    put_back = leave_a_core_for_the_window(event.device, event.step_flops)
                    if put_back is not None:
                        restore.append(put_back)
                listener(event)
            try:
                return job(listen)
            finally:
                for put_back in restore:
                    put_back()

        self._thread_runner.start(job_leaving_a_core, on_events, on_done)
        self._urgent_poll.start()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the job's thread to end, then hand what it left to the workspace (GUI thread)."""
        ended = self._thread_runner.join(timeout)
        if ended:
            self.deliver()
        return ended

    def _post(self, function, argument) -> None:
        self._queue.append((function, argument))
        urgent = function is self._on_done or any(isinstance(event, URGENT) for event in argument)
        if urgent:
            with self._announce_lock:
                self._announced = True

    def _deliver_if_urgent(self) -> None:
        """The GUI thread's timer: hand over a run's start or end as soon as the training thread posts it."""
        if self._announced:
            self.deliver()
        if not self._thread_runner.active and not self._queue:
            self._urgent_poll.stop()

    def deliver(self) -> bool:
        """Hand everything queued to the workspace, in order, the Trainer's events of consecutive
        posts gathered into one list (the frame clock's feed). False: it draws nothing itself."""
        with self._announce_lock:
            self._announced = False
        pending, pop = [], self._queue.popleft
        for _ in range(len(self._queue)):
            pending.append(pop())
        events, handler = [], None
        for function, argument in pending:
            if function is self._on_done:
                if events:
                    handler(events)
                    events = []
                function(argument)
            else:
                if handler is not None and function is not handler and events:
                    handler(events)
                    events = []
                handler = function
                events.extend(argument)
        if events:
            handler(events)
        return False
