"""The training worker: a QObject living in a QThread that runs ``Trainer.run()``.

The Trainer calls its listener from the training thread for every batch. Waking the GUI thread for
each one would cost both threads a hand-over of the interpreter lock per batch, so events are queued
here and one ``eventsReady`` signal (delivered queued, in the GUI thread) announces "there is
something to take": at once for the start and the end of the run, for everything else (batch ends,
epoch ends, snapshots) at most every ``ANNOUNCE_S`` (the views redraw no faster anyway; a small
model finishes hundreds of epochs a second, and waking the GUI for each cost the run ~15% of its
speed). The session also polls, so nothing announced late waits for long (a paused run, say). Pause, resume and stop go straight to the
Trainer, which is thread-safe and acts within one batch.
"""
from __future__ import annotations

import threading
import time
import traceback
from collections import deque

from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from ..training import RunFailed, RunFinished, RunStarted, RunStopped

URGENT = (RunStarted, RunFinished, RunStopped, RunFailed)

ANNOUNCE_S = 0.1


class TrainingWorker(QObject):
    eventsReady = Signal()
    done = Signal()

    def __init__(self, trainer):
        super().__init__()
        self.trainer = trainer
        self._events: deque = deque()
        self._lock = threading.Lock()
        self._announced = False
        self._last_announce = 0.0
        self.result = None
        trainer.listener = self._listen

    @Slot()
    def run(self) -> None:
        try:
            self.result = self.trainer.run()
        except Exception as error:  # the Trainer reports its own failures; this is a last resort
            traceback.print_exc()
            self._listen(RunFailed(reason=f"training stopped unexpectedly: {error}",
                                   epoch=getattr(self.trainer, "epoch", 0), step=getattr(self.trainer, "step", 0)))
        finally:
            # Hand the worker back to the GUI thread so it is deleted there once the thread has ended.
            app = QCoreApplication.instance()
            if app is not None:
                self.moveToThread(app.thread())
            self.done.emit()

    def _listen(self, event) -> None:
        now = time.monotonic()
        with self._lock:
            self._events.append(event)
            due = isinstance(event, URGENT) or now - self._last_announce >= ANNOUNCE_S
            announce = due and not self._announced
            if announce:
                self._announced, self._last_announce = True, now
        if announce:
            self.eventsReady.emit()

    def take_events(self) -> list:
        with self._lock:
            events = list(self._events)
            self._events.clear()
            self._announced = False
        return events

    def pause(self) -> None:
        self.trainer.pause()

    def resume(self) -> None:
        self.trainer.resume()

    def stop(self) -> None:
        self.trainer.stop()
