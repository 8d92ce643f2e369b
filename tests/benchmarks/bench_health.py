"""What the layers' health reports cost: training throughput with and without them, same run.

    python tests/benchmarks/bench_health.py            # spiral MLP and digits CNN examples, CPU
    python tests/benchmarks/bench_health.py --rounds 9 --epochs 30

Each round trains the example project from scratch four times in ABBA order (without health, with,
with, without), so that a machine that speeds up or slows down during the round weighs on both alike;
a run is timed from its first batch's end to its last (training steps and the per-epoch validation,
not the start-up), in wall-clock time and in this process's CPU time (which other work on a shared
machine disturbs less). The ratio per round is (time with health) / (time without); the script
prints the median over rounds and the cost as a share of throughput. Prediction snapshots are off in
both, so that only the health reports differ. Not a test: nothing here asserts.
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

from layerforge.data import load_dataset
from layerforge.training import BatchEnd, LayerHealth, Trainer, example_project_path, load_project

CASES = (("spiral", "spiral", 100), ("digits_cnn", "digits", 4))   # 800 and 180 steps


def timed_run(spec, dataset, settings, health: bool) -> tuple[float, float, int, int]:
    """(wall seconds and CPU seconds from the first batch's end to the last, steps, health reports)."""
    marks: list[tuple[float, float]] = []
    reports = [0]

    def listen(event):
        if isinstance(event, BatchEnd):
            marks.append((time.perf_counter(), time.process_time()))
        elif isinstance(event, LayerHealth):
            reports[0] += 1

    Trainer(spec, dataset, settings, listen, health=health).run()
    return marks[-1][0] - marks[0][0], marks[-1][1] - marks[0][1], len(marks), reports[0]


def bench(example: str, dataset_name: str, epochs: int, rounds: int) -> None:
    project, _ = load_project(example_project_path(example))
    dataset = load_dataset(dataset_name)
    settings = dataclasses.replace(project.settings, epochs=epochs, device="cpu", snapshot_every=0)
    timed_run(project.spec, dataset, dataclasses.replace(settings, epochs=1), True)   # warm-up
    wall, cpu = {"ratio": [], "without": [], "with": []}, {"ratio": [], "without": [], "with": []}
    steps = reports = 0
    for _ in range(rounds):
        a1 = timed_run(project.spec, dataset, settings, False)
        b1 = timed_run(project.spec, dataset, settings, True)
        b2 = timed_run(project.spec, dataset, settings, True)
        a2 = timed_run(project.spec, dataset, settings, False)
        steps, reports = a1[2], b1[3]
        for index, figures in ((0, wall), (1, cpu)):
            without, with_health = (a1[index] + a2[index]) / 2, (b1[index] + b2[index]) / 2
            figures["ratio"].append(with_health / without)
            figures["without"].append(without)
            figures["with"].append(with_health)
    print(f"{example}: {steps} steps, {reports} health reports a run, median of {rounds} ABBA rounds")
    for label, figures in (("wall", wall), ("cpu", cpu)):
        ratio = statistics.median(figures["ratio"])
        print(f"  {label:<4} without {1000 * statistics.median(figures['without']) / steps:.3f} ms/step  "
              f"with {1000 * statistics.median(figures['with']) / steps:.3f} ms/step  ratio {ratio:.3f} "
              f"(range {min(figures['ratio']):.3f}-{max(figures['ratio']):.3f})  "
              f"cost {100 * (1 - 1 / ratio):.1f}% of throughput")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--epochs", type=int, default=0, help="epochs per run (default: per example)")
    args = parser.parse_args()
    for example, dataset_name, epochs in CASES:
        bench(example, dataset_name, args.epochs or epochs, args.rounds)


if __name__ == "__main__":
    main()
