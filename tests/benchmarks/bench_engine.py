"""Engine speed against PyTorch CPU, measured in the same run: ``python tests/benchmarks/bench_engine.py``.

Two MLPs train with forward + backward + a hand-written SGD update, written once and run on both
``layerforge.engine`` and ``torch`` (their APIs match). Both use the same number of threads; each
number is the median over repeats of the mean time per step, after a warm-up. Prints a Markdown table
with the ratio ours/torch and the issue's aims (<= 0.5 at the small size, <= 1.3 at the large one).
Not a test: timings on shared machines vary, so nothing here asserts.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="threads for both engines' BLAS (default: all cores)")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats; the median is reported")
    parser.add_argument("--model", choices=["small", "large"], help="time only this model")
    parser.add_argument("--profile", choices=["small", "large"], help="cProfile our engine on one model")
    return parser.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    # BLAS reads its thread count when numpy loads, so it is set before the import below.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(ARGS.threads)

import numpy as np  # noqa: E402

import layerforge.engine as lf  # noqa: E402

# name, layer sizes, activation, batch, steps per repeat, aim for ours/torch
MODELS = [
    ("2-16-16-1 tanh MLP", (2, 16, 16, 1), "tanh", 32, 300, 0.5),
    ("784-256-256-10 ReLU MLP", (784, 256, 256, 10), "relu", 128, 20, 1.3),
]


def make_params(m, sizes, seed=0):
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        params.append(m.tensor(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32),
                               requires_grad=True))
        params.append(m.tensor(rng.uniform(-bound, bound, (fan_out,)).astype(np.float32),
                               requires_grad=True))
    return params


def make_batch(m, sizes, batch, seed=1):
    rng = np.random.default_rng(seed)
    x = m.tensor(rng.standard_normal((batch, sizes[0])).astype(np.float32))
    if sizes[-1] == 1:
        return x, m.tensor(rng.standard_normal((batch, 1)).astype(np.float32))
    labels = rng.integers(0, sizes[-1], batch)
    return x, m.tensor(np.eye(sizes[-1], dtype=np.float32)[labels])


def train_step(m, params, x, target, activation, lr=0.01):
    """One SGD step, identical for both engines: forward, loss, backward, update."""
    h = x
    for i in range(0, len(params) - 2, 2):
        h = getattr(h @ params[i] + params[i + 1], activation)()
    out = h @ params[-2] + params[-1]
    if target.shape[1] == 1:
        loss = ((out - target) ** 2).mean()
    else:
        loss = -(out.log_softmax(dim=1) * target).sum(dim=1).mean()
    loss.backward()
    with m.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None
    return loss


def time_engines(engines, sizes, activation, batch, steps, repeats):
    """Median seconds per step for each engine; repeats alternate between the engines so that a
    busy machine slows both alike."""
    states = []
    for m in engines:
        params = make_params(m, sizes)
        x, target = make_batch(m, sizes, batch)
        for _ in range(max(steps // 4, 5)):  # warm-up: caches, allocator, BLAS threads
            train_step(m, params, x, target, activation)
        states.append((m, params, x, target))
    per_step = [[] for _ in engines]
    losses = [None] * len(engines)
    for _ in range(repeats):
        for i, (m, params, x, target) in enumerate(states):
            start = time.perf_counter()
            for _ in range(steps):
                loss = train_step(m, params, x, target, activation)
            per_step[i].append((time.perf_counter() - start) / steps)
            losses[i] = float(loss.item())
    return [statistics.median(times) for times in per_step], losses


def main():
    import torch

    torch.set_num_threads(ARGS.threads)
    if ARGS.profile:
        return profile(ARGS.profile)
    print(f"threads: {ARGS.threads} (numpy BLAS and torch), repeats: {ARGS.repeats}, "
          f"numpy {np.__version__}, torch {torch.__version__}, python {sys.version.split()[0]}\n")
    print("| model | batch | ours (us/step) | torch (us/step) | ours/torch | aim | met |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | :---: |")
    chosen = {"small": MODELS[:1], "large": MODELS[1:]}.get(ARGS.model, MODELS)
    for name, sizes, activation, batch, steps, aim in chosen:
        (ours, theirs), (our_loss, their_loss) = time_engines((lf, torch), sizes, activation, batch,
                                                              steps, ARGS.repeats)
        if not np.isclose(our_loss, their_loss, rtol=1e-3, atol=1e-5):
            print(f"warning: {name}: losses differ (ours {our_loss:.6g}, torch {their_loss:.6g})")
        ratio = ours / theirs
        print(f"| {name} | {batch} | {ours * 1e6:.0f} | {theirs * 1e6:.0f} | {ratio:.2f} | <= {aim} | "
              f"{'yes' if ratio <= aim else 'no'} |")


def profile(which):
    import cProfile
    import pstats

    name, sizes, activation, batch, steps, _ = MODELS[0 if which == "small" else 1]
    params = make_params(lf, sizes)
    x, target = make_batch(lf, sizes, batch)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps * 5):
        train_step(lf, params, x, target, activation)
    profiler.disable()
    print(f"profile of {name}, {steps * 5} steps")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
