"""MLP and CNN training-step speed against PyTorch CPU, same run: ``python tests/benchmarks/bench_nn.py``.

One training step (forward, cross-entropy, backward, optimizer step) of
- the 784-256-256-10 MLP, batch 128, with Adam (aim <= 1.3x PyTorch), and
- a LeNet-style CNN on 28x28 inputs, batch 64, with momentum SGD (aim <= 1.5x PyTorch),
with the same weights on both engines and the same number of BLAS/OpenMP threads. Each number is
the median over repeats of the mean time per step, after a warm-up; the best repeat is shown too,
because on a shared machine other processes inflate the median of the memory-bound numpy engine
more than PyTorch's. Prints a Markdown table.
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
    parser.add_argument("--steps", type=int, default=10, help="training steps per repeat")
    parser.add_argument("--only", choices=["mlp", "cnn"], help="run one model only")
    parser.add_argument("--device", default="cpu", help="our engine's device (cuda for a GPU run)")
    parser.add_argument("--profile", action="store_true", help="cProfile our engine's steps")
    return parser.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    # BLAS reads its thread count when numpy loads, so it is set before the imports below.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(ARGS.threads)

import numpy as np  # noqa: E402

import layerforge.engine as lf  # noqa: E402


def mlp(nn):
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 10))


def lenet(nn):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


CASES = {
    "mlp": dict(build=mlp, input=(128, 784), optimizer="Adam", aim=1.3,
                label="MLP 784-256-256-10, batch 128, Adam"),
    "cnn": dict(build=lenet, input=(64, 1, 28, 28), optimizer="SGD", aim=1.5,
                label="LeNet CNN 28x28, batch 64, SGD momentum"),
}


def make_optimizer(engine, params, kind):
    if kind == "Adam":
        return engine.optim.Adam(params, lr=1e-3)
    return engine.optim.SGD(params, lr=0.01, momentum=0.9)


def make_step(engine, model, optimizer, x, y):
    loss_fn = engine.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def time_steps(step, steps, repeats):
    for _ in range(3):
        step()
    means = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        means.append((time.perf_counter() - start) / steps)
    return statistics.median(means), min(means)


def setup(case, torch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(case["input"]).astype(np.float32)
    y = rng.integers(0, 10, size=case["input"][0])
    theirs = case["build"](torch.nn)
    ours = case["build"](lf.nn).to(ARGS.device)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    their_step = make_step(torch, theirs, make_optimizer(torch, theirs.parameters(), case["optimizer"]),
                           torch.tensor(x), torch.tensor(y))
    our_step = make_step(lf, ours, make_optimizer(lf, ours.parameters(), case["optimizer"]),
                         lf.tensor(x, device=ARGS.device), lf.tensor(y, device=ARGS.device))
    return our_step, their_step


def main():
    try:
        import torch
    except ImportError:
        sys.exit("PyTorch is the reference for this benchmark; install torch to run it")
    torch.set_num_threads(ARGS.threads)
    names = [ARGS.only] if ARGS.only else list(CASES)
    print(f"threads={ARGS.threads}, steps={ARGS.steps}, repeats={ARGS.repeats}, device={ARGS.device}")
    print("| model | layerforge ms/step | torch ms/step | ratio (median) | ratio (best) | aim |")
    print("|---|---|---|---|---|---|")
    for name in names:
        case = CASES[name]
        our_step, their_step = setup(case, torch)
        if ARGS.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(lambda: [our_step() for _ in range(ARGS.steps)])
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        ours, ours_best = time_steps(our_step, ARGS.steps, ARGS.repeats)
        theirs, theirs_best = time_steps(their_step, ARGS.steps, ARGS.repeats)
        print(f"| {case['label']} | {ours * 1e3:.2f} | {theirs * 1e3:.2f} | "
              f"{ours / theirs:.2f}x | {ours_best / theirs_best:.2f}x | <= {case['aim']}x |")


if __name__ == "__main__":
    main()
