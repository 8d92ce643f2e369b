"""LSTM training-step speed against PyTorch CPU, same run: ``python tests/benchmarks/bench_rnn.py``.

One training step (forward, cross-entropy on the last output through a Linear head, backward, SGD
update) of an LSTM (seq 32, batch 32, input 32, hidden 128 by default), the same weights on both
engines, both with the same number of BLAS/OpenMP threads. Each number is the median over repeats of
the mean time per step, after a warm-up. Prints a Markdown table with ours/torch (aim <= 2x).
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
    parser.add_argument("--seq", type=int, default=32)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--input", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="our engine's device (cuda for a GPU run)")
    parser.add_argument("--profile", action="store_true", help="cProfile our engine's step")
    return parser.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    # BLAS reads its thread count when numpy loads, so it is set before the imports below.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(ARGS.threads)

import numpy as np  # noqa: E402

import layerforge.engine as lf  # noqa: E402
from layerforge.engine.nn import functional_losses, rnn  # noqa: E402

N_CLASSES = 10


class Setup:
    """The same LSTM, head and batch on one engine; ``step()`` is one SGD training step."""

    def __init__(self, m, lstm, head_w, head_b, x, y, loss_fn):
        self.m, self.lstm, self.head_w, self.head_b = m, lstm, head_w, head_b
        self.x, self.y, self.loss_fn = x, y, loss_fn
        self.params = list(lstm.parameters()) + [head_w, head_b]

    def step(self):
        output, _ = self.lstm(self.x)
        logits = output[-1] @ self.head_w + self.head_b
        loss = self.loss_fn(logits, self.y)
        for p in self.params:
            p.grad = None
        loss.backward()
        with self.m.no_grad():
            for p in self.params:
                p -= 0.01 * p.grad
        return loss


def build(args):
    import torch

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.seq, args.batch, args.input)).astype(np.float32)
    y = rng.integers(0, N_CLASSES, args.batch)
    head_w = rng.uniform(-0.1, 0.1, (args.hidden, N_CLASSES)).astype(np.float32)
    head_b = np.zeros(N_CLASSES, np.float32)

    theirs_lstm = torch.nn.LSTM(args.input, args.hidden, args.layers)
    ours_lstm = rnn.LSTM(args.input, args.hidden, args.layers)
    ours_lstm.load_state_dict({k: lf.tensor(v.detach().numpy()) for k, v in theirs_lstm.state_dict().items()})
    ours_lstm.to(args.device)
    theirs = Setup(torch, theirs_lstm, torch.tensor(head_w, requires_grad=True),
                   torch.tensor(head_b, requires_grad=True), torch.tensor(x), torch.tensor(y),
                   torch.nn.functional.cross_entropy)
    ours = Setup(lf, ours_lstm, lf.tensor(head_w, device=args.device, requires_grad=True),
                 lf.tensor(head_b, device=args.device, requires_grad=True),
                 lf.tensor(x, device=args.device), lf.tensor(y, device=args.device),
                 functional_losses.cross_entropy)
    return ours, theirs


def seconds_per_step(setups, steps, repeats, syncs):
    """Median seconds per step for each setup; repeats alternate between them so that a busy machine
    slows both alike."""
    for setup, sync in zip(setups, syncs):
        for _ in range(3):
            setup.step()
        sync()
    times = [[] for _ in setups]
    for _ in range(repeats):
        for k, (setup, sync) in enumerate(zip(setups, syncs)):
            start = time.perf_counter()
            for _ in range(steps):
                setup.step()
            sync()
            times[k].append((time.perf_counter() - start) / steps)
    return [statistics.median(t) for t in times]


def main(args):
    try:
        import torch  # noqa: F401
    except ImportError:
        sys.exit("PyTorch is needed as the reference: pip install torch")
    ours, theirs = build(args)
    first_ours, first_theirs = ours.step().item(), theirs.step().item()
    if not np.isclose(first_ours, first_theirs, rtol=1e-4):
        sys.exit(f"the engines disagree on the first loss ({first_ours} vs {first_theirs})")
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(lambda: [ours.step() for _ in range(args.steps)])
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    sync = (lambda: lf.cuda.synchronize()) if args.device != "cpu" else (lambda: None)
    t_ours, t_theirs = seconds_per_step([ours, theirs], args.steps, args.repeats,
                                        [sync, lambda: None])
    shape = f"seq {args.seq}, batch {args.batch}, input {args.input}, hidden {args.hidden}"
    if args.layers != 1:
        shape += f", {args.layers} layers"
    print(f"LSTM training step ({shape}); threads={args.threads}; ours on {args.device}, "
          "PyTorch on cpu\n")
    print("| model | layerforge ms | torch ms | ratio | aim |")
    print("|---|---:|---:|---:|---:|")
    print(f"| LSTM {args.hidden} | {t_ours * 1e3:.2f} | {t_theirs * 1e3:.2f} | "
          f"{t_ours / t_theirs:.2f} | <= 2.0 |")


if __name__ == "__main__":
    main(ARGS)
