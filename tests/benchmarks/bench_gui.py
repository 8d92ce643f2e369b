"""GUI responsiveness while training at full speed, and what the GUI costs the training.

    python tests/benchmarks/bench_gui.py [--epochs N] [--samples N] [--batch N] [--example spiral]
    python tests/benchmarks/bench_gui.py --example mnist-mlp     # MNIST's 60,000 images (issue #19)
    python tests/benchmarks/bench_gui.py --show code,graph       # with View > Code and the graph open

1. Headless: the Trainer alone (a no-op listener), steps per second.
2. GUI: the same run started with the window's Train button; live charts, predictions and
   progress update as usual. Training throughput is measured the same way as headless.
   A round is a headless and a GUI run back to back (in ABBA order); the median of ``--rounds``
   rounds' ratios is reported, with its quartiles (this machine's speed drifts by 10-40 % between
   runs of a few seconds, so one round proves little).
3. Live and still, in one run (``--ab-epochs``): one long GUI run whose window alternates every
   ``--ab-phase`` seconds between live (frames drawn as usual) and still (no frames; events wait).
   Each live phase's step rate is divided by the mean of the still phases either side of it; the
   median of those ratios is far less sensitive to the machine's slow drifts than the rounds above.
   It measures the drawing alone: both phases are a run from the window (the BLAS pool keeps the
   one thread fewer that such a run leaves for the window, see training/cpu_share.py).
4. Stalls: ``--stall-rounds`` more GUI runs with a probe, a 10 ms QTimer in the GUI thread whose
   lateness at each tick is an event-loop stall. The probe is Python code that takes the
   interpreter lock 100 times a second, so it costs the run a little and the frame clock (which
   keeps the GUI thread's share of the time within budget) draws fewer frames; a person's window
   has no such probe, which is why throughput is measured without it.
``--show`` opens views before timing (``code``: View > Code, ``graph``: View > Computational graph,
which steps with the run's weights every few seconds while it trains): what they cost a run while
shown; run once with and once without. Hidden, they cost nothing (they do no work).
Aims: stall p99 < 50 ms; GUI throughput >= 90 % of headless. The figures are printed, not asserted.

``--example mnist-mlp`` runs the mnist_mlp example on MNIST (the real one when it is cached, else
MNIST-shaped data generated into a temporary cache, see bench_mnist.py): 60,000 images to train, the
image grid and the confusion matrix drawn from the official 10,000 test images each epoch. Its
defaults: 1 epoch a run, batch 128, 4 rounds, 2 probed runs, live/still over 3 epochs.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from PySide6.QtGui import QAction  # noqa: E402

from layerforge.app import create_main_window  # noqa: E402
from layerforge.training import EpochEnd, Trainer  # noqa: E402
from layerforge.workspace import BUSY  # noqa: E402
from layerforge.workspace.events import RunStateChanged  # noqa: E402

TICK_MS = 10


def headless(spec, dataset, settings) -> tuple[float, int]:
    """Steps per second over the run's own clock (EpochEnd.elapsed_s), as in the GUI measurement."""
    last = []
    trainer = Trainer(spec.copy(), dataset, settings,
                      listener=lambda event: last.append(event) if isinstance(event, EpochEnd) else None)
    trainer.run()
    return trainer.step / last[-1].elapsed_s, trainer.step


def idle(seconds: float) -> None:
    """Let the event loop idle, as a person's window does before Train is pressed."""
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def train_until_done(window, started=lambda: None) -> None:
    """Press Train (Restart after the first run: each run starts afresh, not continued), call
    ``started()``, and run a real event loop (it sleeps in the dispatcher, without the GIL, between
    events) until the run's thread has ended."""
    loop = QEventLoop()

    def ended(event) -> None:
        if event.state not in BUSY:
            loop.quit()

    window.workspace.events.connect(ended, RunStateChanged)
    panel = window.training_panel
    (panel.restart_button if panel.restart_button.isVisible() else panel.train_button).click()
    started()
    if window.workspace.busy:
        loop.exec()
    window.workspace.events.disconnect(ended)


def with_gui(app, window, probe: bool = False) -> tuple[float, int, list[float], float, float]:
    """(steps/s, steps, stalls in ms (with ``probe``), GUI thread's busy share, frames drawn per second)."""
    lateness: list[float] = []
    clock = QElapsedTimer()
    last = [0]

    def tick():
        now = clock.elapsed()
        lateness.append(max(0.0, now - last[0] - TICK_MS))
        last[0] = now

    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)
    clock.start()
    if probe:
        timer.start()
    # The headless run before this one kept the GUI thread busy, and the frame clock slowed down for
    # it; a person's window idles before Train is pressed, so this one does too.
    idle(0.5)
    drawn = window.frames.drawn_frames
    start = {}
    train_until_done(window, lambda: start.update(cpu=time.thread_time(), wall=time.perf_counter()))
    run = window.workspace.run
    elapsed = run.history["elapsed_s"][-1]  # the run's own clock: from its start to the end of its last epoch
    busy = (time.thread_time() - start["cpu"]) / (time.perf_counter() - start["wall"])
    timer.stop()
    steps = run.step
    return steps / elapsed, steps, lateness[1:], busy, (window.frames.drawn_frames - drawn) / elapsed


def live_and_still(app, window, phase_s: float) -> list[float]:
    """Step-rate ratios live / still from one GUI run (see the module's docstring, 3.)."""
    marks: list[tuple[bool, int, float]] = []  # (live, steps, seconds) per phase
    state = {"live": True, "t": None, "steps": 0}

    def switch():
        if not window.workspace.busy:
            return
        now, steps = time.perf_counter(), window.workspace.trainer_step
        if state["t"] is not None:
            marks.append((state["live"], steps - state["steps"], now - state["t"]))
        state.update(t=now, steps=steps, live=not state["live"])
        window.frames.set_running(state["live"])

    timer = QTimer()
    timer.setInterval(int(phase_s * 1000))
    timer.timeout.connect(switch)
    idle(0.5)
    train_until_done(window, timer.start)
    timer.stop()
    window.frames.set_running(True)
    marks = marks[2:]  # the run's first seconds (start-up, the first snapshot) are not typical
    rates = [steps / seconds for _live, steps, seconds in marks]
    return [rates[i] / ((rates[i - 1] + rates[i + 1]) / 2)
            for i in range(1, len(marks) - 1) if marks[i][0]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--example", default="spiral", help="an example's name (mnist-mlp: mnist_mlp on MNIST)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--batch", type=int)
    parser.add_argument("--rounds", type=int,
                        help="headless and GUI runs alternate this many times; medians are reported")
    parser.add_argument("--stall-rounds", type=int, default=2, help="GUI runs with the stall probe")
    parser.add_argument("--ab-epochs", type=int, help="epochs of the live/still run (0: skip it)")
    parser.add_argument("--ab-phase", type=float, default=1.5, help="seconds per live or still phase")
    parser.add_argument("--show", default="", help="views to open first: code, graph (comma-separated)")
    args = parser.parse_args()
    example = args.example.replace("-", "_")
    big = example.startswith(("mnist", "cifar"))
    for name, small, large in (("epochs", 100, 1), ("batch", 32, 128), ("rounds", 12, 4), ("ab_epochs", 500, 3)):
        if getattr(args, name) is None:
            setattr(args, name, large if big else small)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if example.startswith("mnist"):
        from bench_mnist import prepare_data
        print(f"data: {prepare_data()[1]}")

    app = QApplication.instance() or QApplication([])
    window = create_main_window(example)
    if window.workspace.dataset is None:
        raise SystemExit(f"the example's data is not there: {window.workspace.data_unavailable}")
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    views = {"code": "actionShowCode", "graph": "actionShowAutograd"}
    for name in filter(None, args.show.split(",")):
        if name not in views:
            parser.error(f"--show: unknown view {name!r}; choose from {', '.join(views)}")
        window.findChild(QAction, views[name]).trigger()
        app.processEvents()
    if example == "spiral":
        window.dataset_panel.select("spiral", {"n_samples": args.samples})
    panel = window.training_panel
    panel.epochs_spin.setValue(args.epochs)
    panel.batch_spin.setValue(args.batch)
    settings = panel.settings()
    dataset = window.dataset_panel.dataset

    headless(window.document.spec, dataset, settings.replace(epochs=2))  # warm up (imports, caches)
    rates_headless, rates_gui, ratios, lateness, busy, fps = [], [], [], [], [], []
    for round_index in range(args.rounds):
        # ABBA order (headless first in even rounds, GUI first in odd ones), so that a drift of the
        # machine's speed during the benchmark does not favour either side.
        if round_index % 2 == 0:
            rate_headless, steps = headless(window.document.spec, dataset, settings)
            rate_gui, _steps, _late, gui_busy, gui_fps = with_gui(app, window)
        else:
            rate_gui, _steps, _late, gui_busy, gui_fps = with_gui(app, window)
            rate_headless, steps = headless(window.document.spec, dataset, settings)
        rates_headless.append(rate_headless)
        rates_gui.append(rate_gui)
        ratios.append(rate_gui / rate_headless)
        busy.append(gui_busy)
        fps.append(gui_fps)
    for _ in range(args.stall_rounds):
        lateness.extend(with_gui(app, window, probe=True)[2])
    live_ratios = []
    if args.ab_epochs:
        panel.epochs_spin.setValue(args.ab_epochs)
        live_ratios = live_and_still(app, window, args.ab_phase)
        panel.epochs_spin.setValue(args.epochs)
    redraws, snapshots, frames = window.charts.redraw_count, window.predictions.snapshots_shown, window.frames.frames
    window.confirm_close_during_training = lambda: True
    window.close()

    late_ms = np.asarray(lateness)
    p50, p99, worst = np.percentile(late_ms, [50, 99, 100]) if len(late_ms) else (float("nan"),) * 3
    print(f"views shown: {args.show or 'none'}")
    print(f"run: {args.example}, {len(dataset.x)} samples, batch {args.batch}, {args.epochs} epochs "
          f"({steps} steps), device {settings.device}, {args.rounds} rounds, {os.cpu_count()} CPUs")
    print(f"headless : {statistics.median(rates_headless):8.1f} steps/s (median; "
          f"{', '.join(f'{r:.0f}' for r in rates_headless)})")
    print(f"with GUI : {statistics.median(rates_gui):8.1f} steps/s (median; "
          f"{', '.join(f'{r:.0f}' for r in rates_gui)})")
    quartiles = np.percentile(ratios, [25, 75])
    print(f"GUI/headless throughput: {statistics.median(ratios):.1%} median of the rounds' ratios, quartiles "
          f"{quartiles[0]:.1%}-{quartiles[1]:.1%} ({', '.join(f'{r:.0%}' for r in ratios)})  (aim >= 90%)")
    if live_ratios:
        live_q = np.percentile(live_ratios, [25, 50, 75])
        print(f"live/still in one {args.ab_epochs}-epoch run: {live_q[1]:.1%} median of {len(live_ratios)} live phases "
              f"of {args.ab_phase:g} s, quartiles {live_q[0]:.1%}-{live_q[2]:.1%}  (aim >= 90%)")
    print(f"GUI thread busy: {statistics.median(busy):.1%} of the run's wall time; "
          f"{statistics.median(fps):.1f} frames drawn per second")
    if len(late_ms):
        print(f"event-loop stalls over {len(late_ms)} ticks of {TICK_MS} ms ({args.stall_rounds} probed runs): "
              f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms  (aim p99 < 50 ms)")
    print(f"frames: {frames}, chart redraws: {redraws}, prediction snapshots drawn: {snapshots}")


if __name__ == "__main__":
    main()
