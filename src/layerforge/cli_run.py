"""The terminal side of a headless training run: Ctrl+C that stops it cleanly, and the progress it prints.

Used by ``layerforge train`` (cli.py); no Qt, nothing but the standard library and the Trainer's events.
"""
from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


def _run_interruptibly(trainer):
    """Run in a worker thread; Ctrl+C stops training after the current batch.

    Ctrl+C is caught by a signal handler, not as KeyboardInterrupt: an interrupted Thread.join can
    return before the thread has ended (a CPython bug), which lost the result. A second Ctrl+C stops
    waiting for the batch: the run is abandoned and None returned (nothing is saved either way).
    """
    outcome: dict = {}
    done = threading.Event()

    def work():
        try:
            outcome["result"] = trainer.run()
        except BaseException as error:  # re-raised in the main thread below
            outcome["error"] = error
        finally:
            done.set()

    presses = []

    def on_interrupt(signum, frame):
        presses.append(time.monotonic())
        trainer.stop()
        if len(presses) == 1:
            print("\nlayerforge: stopping after the current batch (Ctrl+C again to quit at once)",
                  file=sys.stderr, flush=True)

    worker = threading.Thread(target=work, name="layerforge-train", daemon=True)
    with _sigint_handler(on_interrupt):
        worker.start()
        try:
            while not done.wait(0.05):
                if len(presses) > 1:
                    return None     # the daemon worker ends with the process
        except KeyboardInterrupt:   # where no handler could be installed (not the main thread)
            trainer.stop()
            if not done.wait(5.0):
                return None
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")


class _sigint_handler:
    """Install ``handler`` for SIGINT while inside; a no-op where signals cannot be set (a thread)."""

    def __init__(self, handler):
        self.handler, self.previous = handler, None

    def __enter__(self):
        import signal
        if threading.current_thread() is threading.main_thread():
            try:
                self.previous = signal.signal(signal.SIGINT, self.handler)
            except (ValueError, OSError):
                self.previous = None
        return self

    def __exit__(self, *exc) -> None:
        import signal
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def _deferred_interrupts(message: str):
    """Ctrl+C during a save says it will stop once the file is written (the save itself is atomic,
    but an interrupted one only wastes the run just finished)."""
    def on_interrupt(signum, frame):
        print(f"\n{message}", file=sys.stderr, flush=True)
    return _sigint_handler(on_interrupt)


class ProgressPrinter:
    """Trainer listener for a terminal: a progress bar (only on a terminal) and a line per epoch.
    A layer that turns unhealthy (dead units, vanishing gradients, ...) gets a warning on ``err``, once
    per layer and kind of trouble, even when quiet."""

    BAR_WIDTH = 24

    def __init__(self, out: TextIO, err: TextIO, quiet: bool = False):
        self.out, self.err, self.quiet = out, err, quiet
        self.bar = not quiet and hasattr(err, "isatty") and err.isatty()
        self.total_epochs = self.steps = 0
        self._last_draw = 0.0
        self.warned: set[tuple[str, str]] = set()   # (node id, verdict) already warned about

    def __call__(self, event) -> None:
        from layerforge.training import (BatchEnd, EpochEnd, LayerHealth, RunFailed, RunFinished, RunStarted,
                                         RunStopped)
        if isinstance(event, RunStarted):
            self.total_epochs, self.steps = event.total_epochs, event.steps_per_epoch
            self._say(f"training on {event.device} ({event.device_reason}): {event.n_train} training / "
                      f"{event.n_val} validation samples, {event.total_epochs} epochs of {event.steps_per_epoch} "
                      f"steps, {event.param_count:,} parameters")
        elif isinstance(event, BatchEnd) and self.bar:
            now = time.monotonic()
            in_epoch = (event.step - 1) % self.steps + 1
            if now - self._last_draw > 0.1 or in_epoch == self.steps:
                self._last_draw = now
                done = int(self.BAR_WIDTH * in_epoch / self.steps)
                self.err.write(f"\repoch {event.epoch}/{self.total_epochs} [{'#' * done}{'.' * (self.BAR_WIDTH - done)}]"
                               f" {in_epoch}/{self.steps} loss {event.loss:.4f}")
                self.err.flush()
        elif isinstance(event, EpochEnd):
            self._clear_bar()
            width = len(str(self.total_epochs))
            line = (f"epoch {event.epoch:>{width}}/{self.total_epochs}  train {_metrics(event.train)}"
                    + (f"  val {_metrics(event.val)}" if event.val else "")
                    + f"  lr {event.lr:.3g}  {event.elapsed_s:.1f}s (eta {event.eta_s:.0f}s)")
            self._say(line)
        elif isinstance(event, RunFinished):
            self._clear_bar()
            how = "finished" if event.reason == "completed" else "stopped early (no improvement)"
            summary = "  ".join(f"{split} {_metrics(values)}" for split, values in event.final.items())
            print(f"{how} after {event.epochs_run} epochs; best epoch {event.best_epoch}: {summary}", file=self.out)
        elif isinstance(event, LayerHealth):
            self._warn_unhealthy(event)
        elif isinstance(event, (RunFailed, RunStopped)):
            self._clear_bar()

    def _warn_unhealthy(self, event) -> None:
        for report in event.unhealthy:
            if (report.node_id, report.verdict) in self.warned:
                continue
            self.warned.add((report.node_id, report.verdict))
            self._clear_bar()
            print(f"layerforge: warning: epoch {event.epoch}, step {event.step}: {report.text}", file=self.err,
                  flush=True)

    def _say(self, line: str) -> None:
        if not self.quiet:
            print(line, file=self.out, flush=True)

    def clear(self) -> None:
        self._clear_bar()

    def _clear_bar(self) -> None:
        if self.bar:
            self.err.write("\r" + " " * (self.BAR_WIDTH + 60) + "\r")
            self.err.flush()


def _metrics(values: dict) -> str:
    parts = []
    for name, value in values.items():
        if name == "accuracy":
            parts.append(f"acc {100 * value:.1f}%")
        elif name == "r2":
            parts.append(f"R2 {value:.4f}")
        else:
            parts.append(f"{name} {value:.4g}")
    return " ".join(parts)
