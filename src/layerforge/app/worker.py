"""The training worker: a QObject living in a QThread that runs ``Trainer.run()``.

The Trainer calls its listener from the training thread for every batch. The worker only queues
what it hears; the GUI thread takes the queue when it draws a frame (the window's frame clock calls
``TrainingSession.deliver``), because the views cannot show anything faster than that anyway.
Waking the GUI thread for events makes both threads hand the interpreter lock back and forth, which
slows a small model's run; so only the start and the end of a run (``URGENT``) are announced with
the ``eventsReady`` signal, delivered queued in the GUI thread. Pause, resume and stop go straight
to the Trainer, which is thread-safe and acts within one batch.
"""
from __future__ import annotations

import threading
import traceback
from collections import deque

from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from ..training import RunFailed, RunFinished, RunStarted, RunStopped

URGENT = (RunStarted, RunFinished, RunStopped, RunFailed)


class TrainingWorker(QObject):
    eventsReady = Signal()
    done = Signal()

    def __init__(self, trainer):
        super().__init__()
        self.trainer = trainer
        # deque.append and popleft are atomic: the training thread appends, the GUI thread pops,
        # and neither waits for the other on a lock for every batch.
        self._events: deque = deque()
        self._announce_lock = threading.Lock()
        self._announced = False
        self.result = None
        trainer.listener = self._listen

    @Slot()
    def run(self) -> None:
        try:
            self.result = self.trainer.run()
        except Exception as error:  # the Trainer reports its own failures; this is a last resort
            traceback.print_exc()
            epoch, step = getattr(self.trainer, "epoch", 0), getattr(self.trainer, "step", 0)
            reason = f"the run stopped unexpectedly at epoch {epoch}, step {step}: {type(error).__name__}: {error}"
            if isinstance(error, MemoryError):
                self._listen(RunFailed(reason + "; use a smaller batch size or smaller layers", epoch, step,
                                       "out_of_memory"))
            else:
                self._listen(RunFailed(reason, epoch, step))
        finally:
            # Hand the worker back to the GUI thread so it is deleted there once the thread has ended.
            app = QCoreApplication.instance()
            if app is not None:
                self.moveToThread(app.thread())
            self.done.emit()

    def _listen(self, event) -> None:
        self._events.append(event)
        if isinstance(event, URGENT):
            with self._announce_lock:
                announce, self._announced = not self._announced, True
            if announce:
                self.eventsReady.emit()

    def take_events(self) -> list:
        """Everything queued so far, in order (GUI thread)."""
        with self._announce_lock:
            self._announced = False
        events, pop = [], self._events.popleft
        for _ in range(len(self._events)):
            events.append(pop())
        return events

    def pause(self) -> None:
        self.trainer.pause()

    def resume(self) -> None:
        self.trainer.resume()

    def stop(self) -> None:
        self.trainer.stop()
