"""The benchmark table: layerforge's training step against PyTorch's, one Markdown table, same run.

    python tests/benchmarks/bench_table.py                 # CPU, all cores
    python tests/benchmarks/bench_table.py --threads 1     # CPU, one thread for both engines
    python tests/benchmarks/bench_table.py --device cuda   # GPU rows (+ wide MLP) against torch CUDA

Each row is one full training step (zero_grad, forward, loss, backward, Adam step) of the same
architecture with the same starting weights on both engines (rows in table_rows.py). Per row: a
warm-up, then repeats that alternate between the engines (the order flips every repeat, so a busy
shared machine slows both alike); each repeat times enough steps to last about --repeat-ms; the
table shows the median time per step and ratio = ours / PyTorch's (aims from issue 20). For the MLP
rows the same step written by hand on raw arrays (table_rows.HandMLP) is timed in the same rotation:
"engine overhead" = ours / hand-written.

Malloc: layerforge.engine, on import, tells glibc's malloc to keep freed memory for reuse
(allocator.py). Both engines share this process, so that would serve PyTorch's tensors too; by
default (--malloc system) the script leaves the C library's defaults for both, as PyTorch's users
get them, and --malloc kept runs both with freed memory kept. The line above the table says which.

Threads: numpy's OpenBLAS reads OPENBLAS_NUM_THREADS when it loads, so this script sets it (and
OMP_NUM_THREADS, MKL_NUM_THREADS) before importing numpy, then asks the loaded OpenBLAS how many
threads it really uses (threadpoolctl when installed, else layerforge.engine.get_num_threads, which
asks OpenBLAS itself); PyTorch gets torch.set_num_threads(N). Both are printed above the table.

Memory: each (row, engine) runs again in a fresh child process. After the model and batch are built
it resets the kernel's peak-RSS mark (/proc/self/clear_refs, Linux) and reports VmHWM after five
steps minus VmRSS before them: activations, gradients, optimizer state and allocator caches,
comparable across engines (without /proc it falls back to the growth of getrusage's ru_maxrss, which
reads 0 when the imports peaked higher). For our engine the child also reports tracemalloc's peak of
numpy allocations during one step after warm-up (numpy reports its buffers to tracemalloc; PyTorch's
allocator does not, so that column has no PyTorch number). On CUDA: cupy's pool total bytes and
torch.cuda.max_memory_allocated instead.

Not a test: timings on shared machines vary, so nothing here asserts.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="cpu: against PyTorch CPU; cuda: against PyTorch CUDA (needs a GPU and cupy)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="BLAS/OpenMP threads for both engines (default: all cores)")
    parser.add_argument("--repeats", type=int, default=9, help="timed repeats per engine; median reported")
    parser.add_argument("--repeat-ms", type=float, default=150.0, help="about how long one repeat lasts")
    parser.add_argument("--rows", nargs="+", help="only these rows (names from table_rows.ROWS)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory columns (faster)")
    parser.add_argument("--malloc", choices=["system", "kept"], default="system",
                        help="glibc's malloc for both engines: its defaults (system), or told to keep freed "
                             "memory, as layerforge.engine does on import (kept); both engines share one process")
    parser.add_argument("--profile", metavar="ROW", help="cProfile our engine on ROW instead of the table")
    parser.add_argument("--memory-probe", nargs=2, metavar=("ROW", "ENGINE"), help=argparse.SUPPRESS)
    parser.add_argument("--simulated-gpu", action="store_true",
                        help="with --device cuda: our engine on the simulated GPU (tests/gpu/simulated_cupy.py); "
                             "checks that the GPU table runs (its timings mean nothing), then counts each row's "
                             "kernel launches and reads from the GPU per step, with and without Adam(fused=True)")
    args = parser.parse_args(argv)
    if args.simulated_gpu:
        if args.device != "cuda":
            parser.error("--simulated-gpu goes with --device cuda")
        args.no_memory = True
    return args


ARGS = parse_args() if __name__ == "__main__" else parse_args([])
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = str(ARGS.threads)  # before numpy loads OpenBLAS, which reads it once
os.environ["LAYERFORGE_MALLOC"] = ARGS.malloc  # read when layerforge.engine is imported (allocator.py)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from table_rows import HAND_WRITTEN, ROWS, HandMLP  # noqa: E402

if ARGS.simulated_gpu:  # before layerforge looks for cupy
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gpu"))
    import use_simulated_gpu  # noqa: E402, F401
TORCH_DEVICE = "cpu" if ARGS.simulated_gpu else ARGS.device

OPTIMIZER = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8)


# ------------------------------------------------------------------------------ engines and steps

def load_torch():
    try:
        import torch
    except ImportError:
        sys.exit("bench_table: PyTorch is the reference for this benchmark; pip install torch to run it")
    torch.set_num_threads(ARGS.threads)
    if TORCH_DEVICE == "cuda":  # full float32 like cupy's default: cuDNN would use TF32 for convolutions
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return torch


def load_ours():
    import layerforge.engine as lf

    return lf


def require_cuda(torch, lf):
    """Exit with the reason when either engine cannot use a CUDA GPU here."""
    problems = []
    if TORCH_DEVICE == "cuda" and not torch.cuda.is_available():
        problems.append("PyTorch has no CUDA device (a CPU-only torch build, or no GPU)")
    reason = lf.cuda.unavailable_reason()
    if reason is not None:
        problems.append(f"layerforge cannot use CUDA: {reason}")
    if problems:
        sys.exit("bench_table --device cuda needs a CUDA GPU for both engines:\n  - " + "\n  - ".join(problems)
                 + "\nRun it on a machine with an NVIDIA GPU, cupy and a CUDA build of torch "
                   "(tests/gpu/run_gpu_checks.sh).")


def batch(row):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(row["input"]).astype(np.float32)
    n = row["input"][1] if row["build"].__name__ in ("lstm", "gru") else row["input"][0]
    if row["target"] == "class":
        return x, rng.integers(0, 10, size=n)
    return x, rng.standard_normal((n, 1)).astype(np.float32)


def loss_of(engine, row):
    return engine.nn.CrossEntropyLoss() if row["target"] == "class" else engine.nn.MSELoss()


class Step:
    """One engine's model, optimizer and batch; ``step()`` is one full training step."""

    def __init__(self, engine, model, x, y, loss_fn, fused=False):
        self.model, self.x, self.y, self.loss_fn = model, x, y, loss_fn
        self.optimizer = engine.optim.Adam(model.parameters(), **OPTIMIZER, **({"fused": True} if fused else {}))

    def step(self):
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(self.x), self.y)
        loss.backward()
        self.optimizer.step()
        return loss


def build_steps(name, engines, device):
    """{engine label: object with step()} for one row, all starting from PyTorch's initial weights."""
    row = ROWS[name]
    torch = load_torch()
    torch.manual_seed(0)
    reference = row["build"](torch.nn)
    weights = {k: v.detach().numpy().copy() for k, v in reference.state_dict().items()}
    x, y = batch(row)
    steps = {}
    if "torch" in engines:
        on = TORCH_DEVICE if device == "cuda" else device
        theirs = reference.to(on)
        steps["torch"] = Step(torch, theirs, torch.tensor(x, device=on), torch.tensor(y, device=on),
                              loss_of(torch, row))
    for label in ("ours", "fused"):  # "fused": our engine with Adam(fused=True), one kernel per parameter
        if label in engines:
            lf = load_ours()
            ours = row["build"](lf.nn)
            ours.load_state_dict(weights)
            ours.to(device)
            steps[label] = Step(lf, ours, lf.tensor(x, device=device), lf.tensor(y, device=device),
                                loss_of(lf, row), fused=label == "fused")
    if "hand" in engines and name in HAND_WRITTEN:
        xp = np if device == "cpu" else load_ours().backend.array_module(load_ours().backend.as_device(device))
        loss = "cross_entropy" if row["target"] == "class" else "mse"
        steps["hand"] = HandMLP(xp, [xp.asarray(w) for w in weights.values()], xp.asarray(x), xp.asarray(y),
                                loss, **OPTIMIZER)
    return steps


def synchronizer(label, device):
    if device == "cpu":
        return lambda: None
    if label == "torch":
        return load_torch().cuda.synchronize if TORCH_DEVICE == "cuda" else (lambda: None)
    return load_ours().cuda.synchronize


# ------------------------------------------------------------------------------ timing

def check_same_losses(steps):
    """All engines must start from the same loss (forward in eval mode, so dropout is off)."""
    losses = {}
    for label, s in steps.items():
        if isinstance(s, Step):
            s.model.eval()
            losses[label] = float(s.loss_fn(s.model(s.x), s.y).item())
            s.model.train()
        else:
            losses[label] = float(s.step().item())  # its first loss is computed before its update
    for label, value in losses.items():
        if not np.isclose(value, losses["torch"], rtol=1e-3, atol=1e-5):
            sys.exit(f"bench_table: {label} and torch disagree on the first loss ({value} vs {losses['torch']});"
                     f" the table would compare different computations")


def time_row(steps, device):
    """Median seconds per step for each engine label; repeats alternate between the engines."""
    labels = list(steps)
    syncs = {label: synchronizer(label, device) for label in labels}
    per_step = {}
    for label in labels:  # warm-up, and a calibration of how many steps fill one repeat
        for _ in range(3):
            steps[label].step()
        syncs[label]()
        start, count = time.perf_counter(), 0
        while count < 3 or time.perf_counter() - start < 0.05:
            steps[label].step()
            count += 1
        syncs[label]()
        per_step[label] = (time.perf_counter() - start) / count
    n_steps = max(1, int(ARGS.repeat_ms / 1e3 / max(per_step.values())))
    times = {label: [] for label in labels}
    for repeat in range(ARGS.repeats):
        order = labels if repeat % 2 == 0 else labels[::-1]
        for label in order:
            step, sync = steps[label].step, syncs[label]
            sync()
            start = time.perf_counter()
            for _ in range(n_steps):
                step()
            sync()
            times[label].append((time.perf_counter() - start) / n_steps)
    return {label: statistics.median(t) for label, t in times.items()}, n_steps


# ------------------------------------------------------------------------------ memory

def _status_kib(field):
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field))


def _reset_peak_rss():
    """Reset the kernel's peak-RSS mark (Linux >= 4.0), so imports' transient peaks do not hide ours."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def memory_probe(name, engine):
    """Child process: print {"rss_kib": peak RSS growth over 5 steps, "traced": tracemalloc peak of one step}."""
    import resource
    import tracemalloc

    device = ARGS.device
    steps = build_steps(name, [engine], device)
    step = steps[engine]
    sync = synchronizer(engine, device)
    result = {}
    if device == "cuda":
        result.update(gpu_peak(engine, step, sync))
    else:
        if _reset_peak_rss():  # peak RSS (VmHWM) from here on, minus the RSS now
            before = _status_kib("VmRSS")
            for _ in range(5):
                step.step()
            result["rss_kib"] = _status_kib("VmHWM") - before
        else:  # no /proc: growth of getrusage's lifetime peak (0 when imports peaked higher)
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            for _ in range(5):
                step.step()
            result["rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        if engine == "ours":
            tracemalloc.start()
            step.step()
            result["traced"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    print(json.dumps(result))


def gpu_peak(engine, step, sync):
    if engine == "torch":
        torch = load_torch()
        step.step()
        sync()
        torch.cuda.reset_peak_memory_stats()
        step.step()
        sync()
        return {"gpu_bytes": int(torch.cuda.max_memory_allocated())}
    lf = load_ours()
    cp = lf.backend.array_module(lf.backend.as_device("cuda"))
    step.step()
    sync()
    return {"gpu_bytes": int(cp.get_default_memory_pool().total_bytes())}


def measure_memory(name, engine):
    command = [sys.executable, os.path.abspath(__file__), "--device", ARGS.device, "--threads",
               str(ARGS.threads), "--memory-probe", name, engine]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def mib(n_bytes):
    return "n/a" if n_bytes is None else f"{n_bytes / 2 ** 20:.2f}"


def memory_cells(name):
    if ARGS.no_memory:
        return ["-", "-"]
    ours, theirs = measure_memory(name, "ours"), measure_memory(name, "torch")
    if "error" in ours or "error" in theirs:
        return [f"probe failed: {ours.get('error') or theirs.get('error')}", ""]
    if ARGS.device == "cuda":
        return [f"{mib(ours['gpu_bytes'])} / {mib(theirs['gpu_bytes'])}", "-"]
    return [f"{ours['rss_kib'] / 1024:.1f} / {theirs['rss_kib'] / 1024:.1f}", mib(ours.get("traced"))]


# ------------------------------------------------------------------------------ the table

def blas_threads():
    """How the loaded numpy OpenBLAS reports its thread count, and how we asked it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        pass
    else:
        pools = [f"{p['internal_api']} {p['num_threads']}" for p in threadpool_info()]
        return ", ".join(pools) + " (threadpoolctl)"
    from layerforge.engine.threads import blas_threads_controllable, get_num_threads

    if not blas_threads_controllable():
        return f"unknown (OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']} set before import)"
    return (f"numpy OpenBLAS {get_num_threads()} (env OPENBLAS_NUM_THREADS set before import; "
            f"read back by layerforge.engine.get_num_threads)")


def machine_line(torch):
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor() or cpu
    lines = [f"date {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; {cpu}, "
             f"{os.cpu_count()} logical cores; Python {platform.python_version()}",
             f"numpy {np.__version__} ({blas_threads()}); torch {torch.__version__} "
             f"(torch.get_num_threads()={torch.get_num_threads()})"]
    if ARGS.device == "cuda":
        lf = load_ours()
        cp = lf.backend.array_module(lf.backend.as_device("cuda"))
        gpu = lf.cuda.get_device_name(0) if ARGS.simulated_gpu else torch.cuda.get_device_name(0)
        lines.append(f"GPU {gpu}; cupy {cp.__version__}; CUDA runtime {cp.cuda.runtime.runtimeGetVersion()}"
                     + ("; SIMULATED: ours on numpy behind a cupy interface, torch on the CPU; timings "
                        "mean nothing" if ARGS.simulated_gpu else ""))
    return lines


def malloc_line(lf):
    """Which malloc policy both engines ran under (they share the process, so it is one for both)."""
    allocator = getattr(lf, "allocator", None)  # (an engine from before allocator.py, run for comparison)
    if allocator is not None and allocator.freed_memory_kept():
        return ("malloc: glibc told to keep freed memory (layerforge.engine.allocator), for both engines "
                "(--malloc kept)")
    return "malloc: the C library's defaults, for both engines (--malloc system)"


def main():
    torch = load_torch()
    lf = load_ours()
    device = ARGS.device
    if device == "cuda":
        require_cuda(torch, lf)
    if ARGS.memory_probe:
        memory_probe(*ARGS.memory_probe)
        return
    if ARGS.profile:
        profile(ARGS.profile, device)
        return
    names = ARGS.rows or [n for n, r in ROWS.items() if device == "cuda" or not r.get("gpu_only")]
    memory_head = ("GPU MiB ours / torch (pool total / max allocated)" if device == "cuda" else
                   "peak RSS growth MiB ours / torch (VmHWM)")
    print("\n".join(machine_line(torch)))
    print(malloc_line(lf))
    print(f"device {device}; threads {ARGS.threads}; {ARGS.repeats} alternating repeats of ~{ARGS.repeat_ms:g} ms;"
          f" Adam lr 1e-3; medians\n")
    engines = ["ours", "torch", "hand"] + (["fused"] if device == "cuda" else [])
    fused_head = " ours Adam(fused=True) ms | ratio fused |" if device == "cuda" else ""
    print(f"| row | ours ms | torch ms | ratio | aim |{fused_head} hand-written ms | engine overhead | "
          f"{memory_head} | ours numpy peak MiB/step (tracemalloc) |")
    print("|---|---:|---:|---:|---:|" + ("---:|---:|" if device == "cuda" else "") + "---:|---:|---:|---:|")
    counted = []  # on the simulated GPU: what each row's step asks of a GPU, from the same steps
    for name in names:
        row = ROWS[name]
        steps = build_steps(name, engines, device)
        check_same_losses(steps)
        medians, _ = time_row(steps, device)
        if ARGS.simulated_gpu:
            counted.append(simulated_counts(row, steps))
        ratio = medians["ours"] / medians["torch"]
        met = "yes" if ratio <= row["aim"] else "**no**"
        hand = medians.get("hand")
        overhead_met = ""
        if hand and row.get("overhead_aim"):
            overhead_met = (f" (<= {row['overhead_aim']}x: "
                            f"{'yes' if medians['ours'] / hand <= row['overhead_aim'] else '**no**'})")
        hand_cells = ([f"{hand * 1e3:.3f}", f"{medians['ours'] / hand:.2f}x{overhead_met}"] if hand else ["-", "-"])
        fused = medians.get("fused")
        fused_cells = f" {fused * 1e3:.3f} | {fused / medians['torch']:.2f} |" if fused else ""
        print(f"| {row['label']} | {medians['ours'] * 1e3:.3f} | {medians['torch'] * 1e3:.3f} | "
              f"{ratio:.2f} | <= {row['aim']} ({met}) |{fused_cells} {' | '.join(hand_cells)} | "
              f"{' | '.join(memory_cells(name))} |", flush=True)
    if ARGS.simulated_gpu:  # the timings above mean nothing there; what a step asks of a GPU does
        print("\n| row | kernel launches / step | with Adam(fused=True) | of which the Adam update "
              "(default / fused) | reads from the GPU / step |")
        print("|---|---:|---:|---:|---:|")
        print("\n".join(counted))


def simulated_counts(row, steps):
    """One Markdown row: what one training step asks of a GPU, counted on the simulated GPU: kernel
    launches (each costs launch overhead, most of a small model's step on a real GPU) and reads back
    to the host (each waits for the GPU), with the default Adam and with Adam(fused=True). The steps
    have run already (timing), so their optimizer state exists."""
    cp = sys.modules["cupy"]
    counts = {}
    for label in ("ours", "fused"):
        step = steps[label]
        cp.kernel_launches.reset()
        cp.host_syncs.reset()
        step.step()
        total, reads = cp.kernel_launches.total(), cp.host_syncs.total()
        cp.kernel_launches.reset()
        step.optimizer.step()  # the update alone (the gradients are still there)
        counts[label] = (total, reads, cp.kernel_launches.total())
    (ours, reads, update), (fused, _, fused_update) = counts["ours"], counts["fused"]
    return f"| {row['label']} | {ours} | {fused} ({fused / ours:.0%}) | {update} / {fused_update} | {reads} |"


def profile(name, device):
    import cProfile
    import pstats

    step = build_steps(name, ["ours"], device)["ours"]
    for _ in range(3):
        step.step()
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [step.step() for _ in range(50)])
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
