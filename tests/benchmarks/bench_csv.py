"""CSV import memory and speed against numpy.loadtxt and pandas.read_csv: ``python tests/benchmarks/bench_csv.py``.

Writes numeric CSV files of the sizes asked for (a header, ten number columns, a text label column,
about one number in a thousand missing; ``--quoted`` puts the labels in quotes) into a temporary folder, or ``--data-dir`` to keep them
between runs. Each reader then parses each file in a fresh Python process, so that one reader's
memory is not counted against the next: the peak resident memory during the parse (``VmHWM``
after the read, less the resident memory before it, imports done) is printed as a multiple of the
file's size, with the parse speed in MB/s by wall clock and by the process's CPU time (steadier
on a shared machine): the fastest of ``--repeats`` processes, and the highest peak among them. The readers:

- ``layerforge``: ``read_csv(path, target_column='species', missing='drop')``, what the import
  dialog and ``layerforge train`` do; ``--before SRC`` adds the same call on another source tree
  (``git archive <commit> src | tar -x -C /tmp/old`` then ``--before /tmp/old/src``);
- ``numpy.loadtxt``: the ten number columns as float32. It has no notion of a missing value, so the
  files write them as ``nan`` (``--missing-token``), which every reader here takes as missing;
  with ``--missing-token ''`` (empty cells, as pandas writes them) loadtxt fails and says so;
- ``pandas.read_csv``: all columns, default settings (skipped with a note where pandas is absent;
  it is not a Layerforge dependency: ``pip install pandas`` to compare).

The issue's aim is a peak of at most 3x the file's size. Not a test: nothing here asserts.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_FEATURES = 10
LABELS = ("setosa", "versicolor", "virginica")


def write_csv(path: Path, megabytes: float, missing_token: str, quoted: bool, seed: int = 0) -> None:
    """About ``megabytes`` MB of CSV, written in blocks so that writing it stays small in memory."""
    import numpy as np

    rng = np.random.default_rng(seed)
    target = int(megabytes * 1e6)
    block = 50_000
    with open(path, "w", encoding="utf-8", newline="") as stream:
        stream.write(",".join([f"f{i}" for i in range(N_FEATURES)] + ["species"]) + "\n")
        while stream.tell() < target:
            columns = [np.round(rng.standard_normal(block) * 10 ** rng.integers(0, 3), 4).astype(str)
                       for _ in range(N_FEATURES)]
            columns = [c.astype(object) for c in columns]
            for c in columns:
                c[rng.random(block) < 1e-3] = missing_token
            labels = [f'"{label}"' for label in LABELS] if quoted else LABELS
            columns.append(np.array(labels, dtype=object)[rng.integers(0, len(LABELS), block)])
            stream.write("\n".join(map(",".join, zip(*columns))) + "\n")


def worker(reader: str, path: str) -> dict:
    """Runs in a fresh process: parse ``path`` once with ``reader``; time and peak memory."""
    import numpy as np
    if reader == "layerforge":
        from layerforge.data import read_csv

        def parse():
            return read_csv(path, target_column="species", missing="drop").x
    elif reader == "loadtxt":
        def parse():
            return np.loadtxt(path, delimiter=",", skiprows=1, usecols=range(N_FEATURES),
                              dtype=np.float32)
    else:
        import pandas

        def parse():
            return pandas.read_csv(path)
    before = _rss_bytes()
    start, cpu_start = time.perf_counter(), time.process_time()
    result = parse()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak = _status_bytes("VmHWM")
    return {"seconds": seconds, "cpu": cpu, "peak_growth": peak - before, "rows": len(result)}


def _rss_bytes() -> int:
    return _status_bytes("VmRSS")


def _status_bytes(field: str) -> int:
    """A memory figure of this process from /proc/self/status. VmHWM, the peak resident size,
    starts afresh at exec; ru_maxrss does not (it carries the parent's peak across fork and exec,
    and the parent held the file it had just written)."""
    with open("/proc/self/status") as stream:
        for line in stream:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status (Linux only)")


def measure(reader: str, path: Path, repeats: int, source: str | None = None) -> dict | None:
    runs = []
    env = dict(os.environ, PYTHONPATH=source) if source else None
    for _ in range(repeats):
        done = subprocess.run([sys.executable, __file__, "--worker", reader, str(path)],
                              capture_output=True, text=True, env=env)
        if done.returncode != 0:
            print(f"  {reader}: failed: {done.stderr.strip().splitlines()[-1]}")
            return None
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {"seconds": min(r["seconds"] for r in runs), "cpu": min(r["cpu"] for r in runs),
            "peak_growth": max(r["peak_growth"] for r in runs), "rows": runs[0]["rows"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200", help="file sizes in MB, comma-separated")
    parser.add_argument("--repeats", type=int, default=2, help="processes per reader; the best is shown")
    parser.add_argument("--readers", default="layerforge,loadtxt,pandas")
    parser.add_argument("--data-dir", help="keep the generated files here (default: a temporary folder)")
    parser.add_argument("--missing-token", default="nan", help="how the files write a missing number")
    parser.add_argument("--quoted", action="store_true",
                        help="quote the labels (\"setosa\"), which takes Layerforge's csv-module path")
    parser.add_argument("--before", metavar="SRC",
                        help="also time the layerforge whose src folder is SRC (e.g. an older commit's "
                             "`git archive`), as the row 'layerforge before'")
    parser.add_argument("--worker", nargs=2, metavar=("READER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return
    readers = args.readers.split(",")
    if "pandas" in readers:
        try:
            import pandas  # noqa: F401
        except ImportError:
            print("note: pandas is not installed; its column is skipped (pip install pandas to compare)")
            readers.remove("pandas")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.data_dir or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        print("| file | reader | rows | peak / file size | MB/s (wall) | MB/s (CPU time) |")
        print("|---|---|---:|---:|---:|---:|")
        for megabytes in (float(s) for s in args.sizes.split(",")):
            path = folder / (f"bench_{megabytes:g}MB_{args.missing_token or 'empty'}"
                             f"{'_quoted' if args.quoted else ''}.csv")
            if not path.exists():
                write_csv(path, megabytes, args.missing_token, args.quoted)
            size = path.stat().st_size
            runs = [(reader, reader, None) for reader in readers]
            if args.before:
                runs.insert(0, ("layerforge before", "layerforge", args.before))
            for label, reader, source in runs:
                result = measure(reader, path, args.repeats, source)
                if result is not None:
                    print(f"| {size / 1e6:.0f} MB | {label} | {result['rows']:,} | "
                          f"{result['peak_growth'] / size:.2f}x | {size / 1e6 / result['seconds']:.1f} | "
                          f"{size / 1e6 / result['cpu']:.1f} |",
                          flush=True)


if __name__ == "__main__":
    main()
