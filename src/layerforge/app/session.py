"""One training run as the window sees it: starts the worker thread, hands its events to the views,
and ends it cleanly (stop within one batch, then join the thread).

Events reach the views when the window draws a frame (its frame clock calls ``deliver``), and at once
for the start and the end of a run, which the worker announces."""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QThread, Signal

from ..engine import get_num_threads, set_num_threads
from ..engine.threads import available_cpus
from ..training import (BatchEnd, EpochEnd, PredictionSnapshot, RunFailed, RunFinished, RunStarted, RunStopped,
                        Trainer)
from .worker import TrainingWorker

IDLE, RUNNING, PAUSED, STOPPING = "idle", "running", "paused", "stopping"


class TrainingSession(QObject):
    """Signals carry the Trainer's event objects, in the GUI thread, in the order the Trainer sent
    them, except that the batch ends of one delivery arrive together, as one list."""

    stateChanged = Signal(str)
    runStarted = Signal(object)
    batchesEnded = Signal(object)     # the BatchEnd events gathered since the last delivery
    epochEnded = Signal(object)
    snapshot = Signal(object)
    runEnded = Signal(object)       # RunFinished, RunStopped or RunFailed
    threadFinished = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.state = IDLE
        self.trainer: Trainer | None = None
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self.last_end = None
        self._blas_threads_before: int | None = None

    @property
    def active(self) -> bool:
        """True from start until the worker thread has finished."""
        return self._thread is not None

    def start(self, trainer: Trainer) -> None:
        if self.active:
            raise RuntimeError("a run is already in progress")
        self.trainer = trainer
        self.last_end = None
        self._thread = QThread()
        self._thread.setObjectName("trainingThread")
        self._worker = TrainingWorker(trainer)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.eventsReady.connect(self.deliver)
        # Direct: quit() is thread-safe, and a queued call would never run while the GUI thread waits
        # in ``wait()`` for the thread to end (closing the window mid-run).
        self._worker.done.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._thread.finished.connect(self._on_thread_finished)
        self._set_state(RUNNING)
        self._leave_a_core_for_the_window(trainer)
        self._thread.start()

    def pause(self) -> None:
        if self.state == RUNNING and self._worker is not None:
            self._worker.pause()
            self._set_state(PAUSED)

    def resume(self) -> None:
        if self.state == PAUSED and self._worker is not None:
            self._worker.resume()
            self._set_state(RUNNING)

    def stop(self) -> None:
        if self._worker is not None and self.state in (RUNNING, PAUSED):
            self._worker.stop()
            self._set_state(STOPPING)

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until the worker thread has ended (after ``stop``); True when it has."""
        if self._thread is None:
            return True
        finished = self._thread.wait(timeout_ms)
        if finished:
            self._on_thread_finished()
        return finished

    def deliver(self) -> bool:
        """Hand what the worker queued to the views, as signals (the frame clock's feed). False: the
        session draws nothing itself."""
        if self._worker is None:
            return False
        # Every batch end of this delivery goes out in one batchesEnded (the charts append them in one
        # go), after the epoch ends and snapshots among them and before the run's end.
        batches = []
        for event in self._worker.take_events():
            if isinstance(event, BatchEnd):
                batches.append(event)
            elif isinstance(event, EpochEnd):
                self.epochEnded.emit(event)
            elif isinstance(event, PredictionSnapshot):
                self.snapshot.emit(event)
            elif isinstance(event, RunStarted):
                self.runStarted.emit(event)
            elif isinstance(event, (RunFinished, RunStopped, RunFailed)):
                if batches:
                    self.batchesEnded.emit(batches)
                    batches = []
                self.last_end = event
                self.runEnded.emit(event)
        if batches:
            self.batchesEnded.emit(batches)
        return False

    def _on_thread_finished(self) -> None:
        if self._thread is None:
            return
        self.deliver()  # whatever the worker queued after the last frame
        thread, worker = self._thread, self._worker
        self._thread = self._worker = None
        thread.wait()
        del thread, worker  # both are owned by Python; dropping them frees them in this thread
        if self._blas_threads_before is not None:
            set_num_threads(self._blas_threads_before)
            self._blas_threads_before = None
        self._set_state(IDLE)
        self.threadFinished.emit()

    def _leave_a_core_for_the_window(self, trainer: Trainer) -> None:
        """A CPU run's matrix products use one thread fewer than there are CPUs (while it runs).

        The window draws its charts on a CPU too; when every CPU also runs a thread of numpy's BLAS
        pool, a matrix product waits for the one thread the drawing took. Measured on 2 CPUs with the
        digits CNN: 316 steps/s with two BLAS threads beside the window, 358 with one (headless, two
        threads make 385)."""
        if not str(trainer.device).startswith("cpu"):
            return
        before = get_num_threads()
        wanted = max(1, min(before, available_cpus() - 1))
        if wanted != before:
            self._blas_threads_before = before
            set_num_threads(wanted)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.stateChanged.emit(state)
