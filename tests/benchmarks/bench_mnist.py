"""MNIST at its real scale: loading from the cache, the memory it takes, and one epoch of the
mnist_mlp example headless against PyTorch on the same machine, in the same run.

    python tests/benchmarks/bench_mnist.py [--epochs 1] [--repeats 3] [--threads N]

Data: the real MNIST when it is in the cache (``layerforge datasets download mnist``); otherwise
MNIST-shaped data is generated (60,000 + 10,000 28x28 uint8 images whose class shows in where a
bright patch sits, written as gzipped IDX files into a temporary cache), so the loader, the sizes
and the timings are those of the real thing; the accuracies are then only a sanity check.

1. Load: ``DataSource({"kind": "download", "name": "mnist"}).load()`` from the cache: seconds, and
   the peak of numpy allocations (tracemalloc) against the images' float32 size (aim: < 2 s, <= 2x).
2. One epoch of the example (784-256-128-10 MLP, Adam 1e-3, batch 128, the 60,000 training images
   to train and the official 10,000 test images to validate, inputs standardised): our Trainer headless (as ``layerforge train`` runs it:
   health reports on) against the same loop in PyTorch (same split, same standardisation, same
   batches, evaluation of the validation split included). Alternating order; medians; ratio =
   ours / PyTorch's (aim <= 1), over the epochs themselves (the Trainer's own clock); building our
   run (split, standardisation, model) is printed apart, as the PyTorch side reuses its arrays.
Not a test: timings on a shared machine vary, so nothing is asserted.
"""
from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per engine (alternating)")
    parser.add_argument("--threads", type=int, default=0, help="BLAS threads for both engines (0: leave as is)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch side")
    return parser.parse_args(argv)


def prepare_data() -> tuple[bool, str]:
    """(real?, what) after making sure 'mnist' can be loaded from the cache."""
    from layerforge.data.remote_datasets import is_cached
    if is_cached("mnist"):
        return True, "the real MNIST from the cache"
    sys.path.insert(0, str(HERE.parents[1]))
    import dataset_server as ds
    from layerforge.data import remote_datasets
    from layerforge.data.downloads import RemoteFile

    folder = Path(tempfile.mkdtemp(prefix="bench-mnist-"))
    os.environ["LAYERFORGE_DATA_CACHE"] = str(folder)
    (train_x, train_y), (test_x, test_y) = ds.mnist_like(60_000, 10_000, seed=0)
    files = {"train-images-idx3-ubyte.gz": ds.idx_bytes(train_x), "train-labels-idx1-ubyte.gz": ds.idx_bytes(train_y),
             "t10k-images-idx3-ubyte.gz": ds.idx_bytes(test_x), "t10k-labels-idx1-ubyte.gz": ds.idx_bytes(test_y)}
    (folder / "mnist").mkdir()
    published = []
    for name, raw in files.items():
        data = gzip.compress(raw, compresslevel=6, mtime=0)
        (folder / "mnist" / name).write_bytes(data)
        published.append(RemoteFile(name, len(data), sha256=ds.sha256(data)))
    info = remote_datasets.remote_dataset("mnist")
    remote_datasets._BY_NAME["mnist"] = replace(info, files=tuple(published))
    return False, "generated MNIST-shaped data (the real one is not cached)"


def measure_load():
    from layerforge.data import DataSource
    source = DataSource.from_dict({"kind": "download", "name": "mnist"})
    source.load()   # warm: imports, the page cache
    times = []
    for _ in range(3):
        start = time.perf_counter()
        dataset = source.load()
        times.append(time.perf_counter() - start)
        del dataset
    tracemalloc.start()
    dataset = source.load()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak, dataset


def ours(spec, dataset, settings) -> tuple[float, float, float]:
    """(seconds of the whole run, seconds of training alone, validation accuracy)."""
    from layerforge.training import EpochEnd, Trainer
    ends = []
    start = time.perf_counter()
    trainer = Trainer(spec.copy(), dataset, settings,
                      listener=lambda e: ends.append(e) if isinstance(e, EpochEnd) else None)
    result = trainer.run()
    total = time.perf_counter() - start
    if not result.ok:
        raise SystemExit(f"the run failed: {result.reason}")
    return total, ends[-1].elapsed_s, float(ends[-1].val.get("accuracy", float("nan")))


def torch_run(problem, epochs: int, batch: int, seed: int) -> tuple[float, float]:
    """The same epoch in PyTorch on the Trainer's own split and standardised arrays."""
    import numpy as np
    import torch
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = torch.from_numpy(problem.train.x), torch.from_numpy(problem.train.target)
    vx, vy = torch.from_numpy(problem.val.x), torch.from_numpy(problem.val.target)
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = np.random.default_rng([seed, epoch]).permutation(len(x))
        model.train()
        for i in range(0, len(order), batch):
            index = torch.from_numpy(order[i:i + batch])
            out = model(x[index])
            loss = loss_fn(out, y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(vx[i:i + 512]).argmax(1) == vy[i:i + 512]).sum()) for i in range(0, len(vx), 512))
    return time.perf_counter() - start, correct / len(vx)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.threads:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(args.threads)
    sys.path.insert(0, str(HERE.parents[1] / "data"))
    real, what = prepare_data()
    seconds, peak, dataset = measure_load()
    data_bytes = dataset.x.nbytes
    print(f"data: {what}; {len(dataset):,} training images {dataset.x.shape[1:]}, float32 {data_bytes / 2**20:.0f} MiB")
    print(f"load from the cache: {seconds:.2f} s (median of 3; aim < 2 s); peak numpy allocations while loading "
          f"{peak / 2**20:.0f} MiB = {peak / data_bytes:.2f}x the images' float32 size (aim <= 2x)")

    from layerforge.training.download_examples import mnist_mlp
    from layerforge.training.problem import Problem
    from layerforge.graph import infer_shapes
    project = mnist_mlp()
    settings = project.settings.replace(epochs=args.epochs, device="cpu")
    problem = Problem(project.spec, infer_shapes(project.spec), dataset, settings)
    torch_ok = not args.no_torch
    if torch_ok:
        try:
            import torch
            if args.threads:
                torch.set_num_threads(args.threads)
        except ImportError:
            torch_ok = False
            print("PyTorch is not installed: our side only")
    ours(project.spec, dataset, settings.replace(epochs=1))   # warm-up
    mine, mine_train, theirs = [], [], []
    accuracy = torch_accuracy = float("nan")
    for repeat in range(args.repeats):
        order = (0, 1) if repeat % 2 == 0 else (1, 0)
        for side in order:
            if side == 0:
                total, train_s, accuracy = ours(project.spec, dataset, settings)
                mine.append(total)
                mine_train.append(train_s)
            elif torch_ok:
                seconds_torch, torch_accuracy = torch_run(problem, args.epochs, settings.batch_size, settings.seed)
                theirs.append(seconds_torch)
    steps = args.epochs * -(-len(problem.train) // settings.batch_size)
    print(f"one run = {args.epochs} epoch(s) of mnist_mlp: {len(problem.train):,} images to train, "
          f"{len(problem.val):,} to validate, batch {settings.batch_size} ({steps} steps), {os.cpu_count()} CPUs")
    setup = [total - train for total, train in zip(mine, mine_train)]
    print(f"layerforge headless: {statistics.median(mine_train):.2f} s training and validating (median of "
          f"{len(mine_train)}: {', '.join(f'{t:.2f}' for t in mine_train)}), after {statistics.median(setup):.2f} s "
          f"building the run (split, standardisation, model); validation accuracy {accuracy:.1%}")
    if theirs:
        ratio = statistics.median(mine_train) / statistics.median(theirs)
        pairs = [m / t for m, t in zip(mine_train, theirs)]
        print(f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads): {statistics.median(theirs):.2f} s "
              f"(median of {len(theirs)}: {', '.join(f'{t:.2f}' for t in theirs)}); validation accuracy "
              f"{torch_accuracy:.1%}")
        print(f"ratio layerforge / PyTorch (training and validating): {ratio:.2f} of the medians; per pair "
              f"{', '.join(f'{r:.2f}' for r in pairs)}  (aim <= 1.00)")
    if not real:
        print("accuracies are on generated data: a sanity check, not MNIST's figures")


if __name__ == "__main__":
    main()
