"""Who runs the Trainer: a thread (the headless app, the CLI, the Qt adapter's base) or the caller.

The workspace hands a runner a ``job``: ``job(listener)`` runs ``Trainer.run()`` with ``listener``
receiving every Trainer event, then returns the run's outcome. The runner calls ``on_events(list)``
with the events and finally ``on_done(outcome)``, each through ``post``: by default directly, under
a lock, in the training thread; the Qt adapter posts them to the GUI thread instead (and may gather
a frame's batch ends into one list).
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable

log = logging.getLogger(__name__)

Post = Callable[[Callable[..., None], Any], None]


class SynchronousRunner:
    """Runs the job in the calling thread: ``start_run`` returns when the run has ended (tests, the
    CLI). A callback may still pause, resume or stop it between batches."""

    def __init__(self):
        self.active = False

    def start(self, job, on_events, on_done) -> None:
        self.active = True
        try:
            outcome = job(lambda event: on_events([event]))
        finally:
            self.active = False
        on_done(outcome)

    def join(self, timeout: float | None = None) -> bool:
        return True


class ThreadRunner:
    """Runs the job in a ``threading.Thread``. ``post(function, argument)`` delivers the events and
    the outcome; the default calls ``function(argument)`` at once, under a lock."""

    def __init__(self, post: Post | None = None, name: str = "training"):
        self._lock = threading.Lock()
        self.post = post or self._direct
        self.name = name
        self._thread: threading.Thread | None = None

    def _direct(self, function, argument) -> None:
        with self._lock:
            function(argument)

    @property
    def active(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, job, on_events, on_done) -> None:
        if self.active:
            raise RuntimeError("this runner is already running a job")

        def work() -> None:
            outcome = job(lambda event: self.post(on_events, [event]))
            self.post(on_done, outcome)

        self._thread = threading.Thread(target=work, name=self.name, daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the job (and its last post) to end; True when it has."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()
