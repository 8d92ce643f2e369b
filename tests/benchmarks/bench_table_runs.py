"""The benchmark table over several fresh processes: per row the median ratio and its range.

    python tests/benchmarks/bench_table_runs.py --runs 5 --threads 1 [--rows tiny mlp ...]

One bench_table.py run compares the engines inside one process, alternating, so a busy machine slows
both alike. What it cannot even out is a process's own luck: PyTorch's step time moves by up to 20 %
from one process to the next on the same machine (its MLP step read 2.4 to 2.9 ms in four runs within
two minutes; where its allocator places the buffers is one candidate), and ours moves less. Each run
here is a fresh bench_table.py process (memory columns off); the table gives, per row, the medians
of both engines' step times and of the per-run ratios, the lowest and highest ratio, and in how many
runs the aim was met. Arguments other than --runs go to bench_table.py as they are.

Not a test: nothing here asserts.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_table(text):
    """{label: (ours ms, torch ms, ratio, aim)} from one bench_table.py output."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or not line.startswith("| ") or cells[0] == "row":
            continue
        try:
            ours, torch, ratio = float(cells[1]), float(cells[2]), float(cells[3])
        except ValueError:
            continue
        aim = float(cells[4].split()[1])  # "<= 0.8 (yes)"
        rows[cells[0]] = (ours, torch, ratio, aim)
    return rows


def summarize(runs):
    """Markdown lines for the per-run tables ``runs`` (list of parse_table results)."""
    lines = [f"| row | ours ms (median) | torch ms (median) | ratio (median of {len(runs)} runs) | "
             "lowest - highest | aim | runs meeting it |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for label in runs[0]:
        seen = [run[label] for run in runs if label in run]
        ratios = [r[2] for r in seen]
        aim = seen[0][3]
        met = sum(r <= aim for r in ratios)
        lines.append(f"| {label} | {statistics.median(r[0] for r in seen):.3f} | "
                     f"{statistics.median(r[1] for r in seen):.3f} | {statistics.median(ratios):.2f} | "
                     f"{min(ratios):.2f} - {max(ratios):.2f} | <= {aim:g} | {met} of {len(ratios)} |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh bench_table.py processes (default 5)")
    args, rest = parser.parse_known_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    command = [sys.executable, os.path.join(HERE, "bench_table.py"), "--no-memory", *rest]
    runs, header = [], ""
    for index in range(args.runs):
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"bench_table_runs: run {index + 1} failed:\n{done.stdout}{done.stderr}")
        header = header or "\n".join(line for line in done.stdout.splitlines()[:3] if line)
        runs.append(parse_table(done.stdout))
        print(f"run {index + 1} of {args.runs} done", file=sys.stderr, flush=True)
    print(header)
    print(f"{args.runs} fresh processes, each as above\n")
    print("\n".join(summarize(runs)))


if __name__ == "__main__":
    main()
