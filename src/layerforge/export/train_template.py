"""The fixed parts of the generated ``train.py``: its header, the helpers around the training code, and
``main``. Nothing here is formatted: the project's settings enter train.py only through
``train_script``'s constants block, written with repr(); the training code between HELPERS and MAIN is
``train_script.training_code``'s."""

HEADER = r'''"""Train the exported Layerforge model as Layerforge trains it, on one process or many (torchrun).

    python train.py --data data.npz                                    # one process
    torchrun --standalone --nproc-per-node=2 train.py --data data.npz  # two processes on this machine

It repeats what Layerforge does: the same loss, optimizer (all its settings), learning-rate schedule
(stepped when Layerforge steps it) and gradient clipping; the train/validation/test split and the
standardisation stored in data.npz; the batch order (numpy's generator seeded with (seed, epoch));
validation metrics after every epoch; early stopping; and the weights of the best validation epoch
at the end. Under torchrun each batch is shared among the processes, and DistributedDataParallel
averages their gradients so that P processes take the steps one would (--batch-size counts the
samples of one step over all processes). NCCL on GPUs, gloo on CPUs.

Every epoch rank 0 writes checkpoint.pt (model, optimizer, schedule, epoch, best epoch and its weights,
the curves); ``--resume checkpoint.pt`` continues exactly where it stopped. At the end rank 0 writes
trained.safetensors (read it with ``model.load_model("trained.safetensors")``) and history.json
(the metrics of every epoch).
"""
import argparse
import json
import math
import os

import numpy as np
import torch
import torch.distributed as dist
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from model import INPUT_DTYPE, OUTPUT_SHAPE, WEIGHTS, Model, load_model, load_normalization

'''

HELPERS = r'''
EVAL_BATCH = 512         # samples per forward pass when evaluating, as in Layerforge
EXPLODED_FACTOR = 1000   # a loss this many times the untrained model's means the run is diverging
CHECKPOINT_FORMAT = "layerforge-train-checkpoint-1"
STATISTICS = ("input_mean", "input_std", "target_mean", "target_std")


class Run:
    """What a run needs and where it is: the model (and its DDP wrapper), the loss, optimizer and
    schedule, the splits, this process's rank, and the epoch, best epoch and curves so far."""

    def __init__(self, **values):
        self.__dict__.update(values)


# ---- Processes -------------------------------------------------------------------------------------

def start_processes():
    """(rank, world size, device): the process group torchrun set up, or one process without one."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return 0, 1, torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
        dist.init_process_group("nccl")
    else:
        device = torch.device("cpu")
        dist.init_process_group("gloo")
    return dist.get_rank(), dist.get_world_size(), device


def summed(tensor, world_size):
    """``tensor`` summed over all processes (in place; itself on one process)."""
    if world_size > 1:
        dist.all_reduce(tensor)
    return tensor


def epoch_seed(seed, epoch, rank):
    """The seed of torch's generator (dropout) for one epoch of one process: a resumed run draws the same."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])


def batch_bounds(n, batch_size, world_size):
    """Start of each batch, then n. As in Layerforge, a lone last sample joins the batch before it
    (batch normalisation cannot normalise one sample); with several processes, so does a last batch
    too small to give each process a sample."""
    if batch_size < world_size:
        raise SystemExit(f"--batch-size {batch_size} is smaller than the {world_size} processes; every process "
                         f"needs a share of each batch")
    bounds = list(range(0, n, batch_size)) + [n]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] < max(2, world_size):
        del bounds[-2]
    return bounds


# ---- Data ------------------------------------------------------------------------------------------

class Split:
    """One part of the data: the model's inputs, the loss's targets, and the truth the metrics read
    (class indices, values in the data's units, or the raw inputs an autoencoder rebuilds)."""

    def __init__(self, x, target, truth, target_mean=None, target_std=None):
        self.x, self.target, self.truth = (torch.from_numpy(np.ascontiguousarray(a)) for a in (x, target, truth))
        self.target_mean = None if target_mean is None else torch.from_numpy(np.asarray(target_mean, np.float32))
        self.target_std = None if target_std is None else torch.from_numpy(np.asarray(target_std, np.float32))
        self.elements = int(np.prod(truth.shape[1:]))
        self.spread = None   # R^2's denominator per output, from the whole split as Layerforge computes it
        if TARGET == "values" and len(truth) > 1:
            flat = truth.reshape(len(truth), -1).astype(np.float64)
            self.spread = ((flat - flat.mean(axis=0)) ** 2).sum(axis=0)

    def __len__(self):
        return len(self.x)

    def batch(self, index, device):
        """(inputs, targets, truth) of the samples ``index``, on ``device``."""
        index = torch.from_numpy(np.asarray(index, dtype=np.int64))
        return self.x[index].to(device), self.target[index].to(device), self.truth[index].to(device)

    def in_data_units(self, outputs):
        """Regression outputs back in the targets' units (they were standardised for training)."""
        if self.target_mean is None:
            return outputs
        return outputs * self.target_std.to(outputs.device) + self.target_mean.to(outputs.device)


def load_data(path, weights=WEIGHTS):
    """((train, validation, test), statistics) of the .npz at ``path``, prepared as Layerforge does.

    A data.npz written by Layerforge holds its split (train_index, val_index, test_index) and the
    standardisation fitted on the training part. Any other .npz needs arrays x (and y); it is split
    at random (VAL_FRACTION, seeded) and standardised with the statistics stored in ``weights``.
    """
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: np.asarray(data[name]) for name in data.files}
    x, y = arrays.get("x"), arrays.get("y")
    if x is None:
        raise SystemExit(f"{path} has no array 'x' with the inputs")
    if TARGET != "input" and y is None:
        raise SystemExit(f"{path} has no array 'y' with the targets")
    if y is not None and len(y) != len(x):
        raise SystemExit(f"{path}: x has {len(x)} samples but y has {len(y)}")
    if "train_index" in arrays:
        parts = [checked_index(arrays, name, len(x), path) for name in ("train_index", "val_index", "test_index")]
        stats = [arrays.get(name) for name in STATISTICS]
    else:
        order = np.random.default_rng(SEED).permutation(len(x))
        n_val = int(round(len(x) * VAL_FRACTION))
        parts = [np.sort(order[n_val:]), np.sort(order[:n_val]), order[:0]]
        stats = [None if value is None else value.numpy() for value in load_normalization(weights)]
    return [prepare(x[index], None if y is None else y[index], *stats) for index in parts], stats


def checked_index(arrays, name, n, path):
    index = arrays.get(name, np.zeros(0, np.int64))
    if index.ndim != 1 or index.dtype.kind not in "iu" or (len(index) and not 0 <= index.min() <= index.max() < n):
        raise SystemExit(f"{path}: {name} must list sample numbers from 0 to {n - 1}")
    return index


def prepare(x, y, input_mean, input_std, target_mean, target_std):
    """One split as the model and the loss read it (see Split)."""
    if INPUT_DTYPE == torch.int64:   # token indices are fed as integers, never scaled
        inputs = np.rint(x).astype(np.int64)
    else:
        inputs = x.astype(np.float32)
        if input_mean is not None:
            inputs = ((inputs - input_mean.astype(np.float32)) / input_std.astype(np.float32)).astype(np.float32)
    if TARGET == "input":            # an autoencoder rebuilds its raw input
        truth = target = x.astype(np.float32)
    elif TARGET == "values":
        truth = y.astype(np.float32).reshape(len(y), *OUTPUT_SHAPE)
        target = truth
        if target_mean is not None:
            target = ((truth - target_mean.astype(np.float32)) / target_std.astype(np.float32)).astype(np.float32)
    else:
        truth = y.astype(np.int64).reshape(len(y))
        if LOSS in ("CrossEntropyLoss", "NLLLoss"):
            target = truth
        elif tuple(OUTPUT_SHAPE) == (1,):   # one logit for two classes
            target = truth.astype(np.float32)[:, None]
        else:                               # one-hot targets, one logit per class
            target = np.eye(OUTPUT_SHAPE[0], dtype=np.float32)[truth]
    return Split(inputs, target, truth, target_mean, target_std)


# ---- Metrics ---------------------------------------------------------------------------------------

def predicted_classes(outputs):
    """Class index per row: the highest score, or score > 0 for a single logit (two classes)."""
    if outputs.ndim == 2 and outputs.shape[1] == 1:
        return (outputs[:, 0] > 0).long()
    return outputs.argmax(dim=1)


class Meter:
    """Sums over a split's batches, then over the processes: the loss and what the metrics need."""

    def __init__(self, split, device, world_size):
        self.split, self.world_size = split, world_size
        width = int(np.prod(OUTPUT_SHAPE)) if TARGET == "values" else 0
        self.sums = torch.zeros(3 + width, dtype=torch.float64, device=device)

    def add(self, loss, outputs, truth):
        """One batch: its mean ``loss``, the model's ``outputs`` and the true classes or values."""
        n = len(truth)
        if n == 0:
            return
        self.sums[0] += loss.double() * n
        self.sums[1] += n
        if TARGET == "labels":
            self.sums[2] += (predicted_classes(outputs) == truth).sum()
            return
        values = self.split.in_data_units(outputs) if TARGET == "values" else outputs
        error = values.double() - truth.double()
        self.sums[2] += error.abs().sum()
        if TARGET == "values":
            self.sums[3:] += (error.reshape(n, -1) ** 2).sum(dim=0)

    def metrics(self):
        """loss, and accuracy (classes), mae and r2 (values) or mae (an autoencoder), as Layerforge's."""
        sums = summed(self.sums, self.world_size).cpu().numpy()
        count = sums[1]
        if count == 0:
            return {"loss": 0.0}
        result = {"loss": float(sums[0] / count)}
        if TARGET == "labels":
            result["accuracy"] = float(sums[2] / count)
        else:
            result["mae"] = float(sums[2] / (count * self.split.elements))
        if TARGET == "values":
            result["r2"] = r2_score(sums[3:], self.split.spread, count)
        return result


def r2_score(residual, spread, count):
    """1 - residual / spread, averaged over the outputs (1 is perfect, 0 predicts the mean)."""
    if count < 2 or spread is None:
        return float("nan")
    scores = np.where(spread > 0, 1.0 - residual / np.where(spread > 0, spread, 1.0),
                      np.where(residual == 0, 1.0, 0.0))
    return float(np.mean(scores))


@torch.no_grad()
def evaluate(run, split):
    """Metrics of the current weights on ``split`` in evaluation mode; its chunks shared among the processes."""
    run.model.eval()
    meter = Meter(split, run.device, run.world_size)
    for start in range(run.rank * EVAL_BATCH, len(split), run.world_size * EVAL_BATCH):
        inputs, targets, truth = split.batch(np.arange(start, min(start + EVAL_BATCH, len(split))), run.device)
        outputs = run.model(inputs)
        meter.add(run.loss_fn(outputs, targets), outputs, truth)
    run.model.train()
    return meter.metrics()


def report(run, lr, train_metrics, val_metrics):
    """The epoch's line (rank 0) and its entry in the curves."""
    run.history["epoch"].append(run.epoch)
    run.history["lr"].append(lr)
    for prefix, metrics in (("train", train_metrics), ("val", val_metrics)):
        for name, value in metrics.items():
            run.history.setdefault(f"{prefix}_{name}", []).append(value)
    if run.rank == 0:
        parts = [f"epoch {run.epoch}/{run.epochs}"]
        parts += [f"{name} {value:.6g}" for name, value in train_metrics.items()]
        parts += [f"val_{name} {value:.6g}" for name, value in val_metrics.items()]
        print("  ".join(parts + [f"lr {lr:.6g}"]), flush=True)
        if run.history_path:
            write_atomically(run.history_path, lambda path: write_json(path, run.history))


def diverged(run, value):
    """Back to the last good epoch's weights, as Layerforge does when a run diverges."""
    run.model.load_state_dict(run.last_good)
    what = "validation loss" if len(run.val) else "loss"
    kept = f"those of epoch {run.epoch - 1}, the last good one" if run.epoch > 1 else "the ones it started from"
    run.message = (f"the run diverged: the {what} became {value:.4g} at epoch {run.epoch}; the learning rate is "
                   f"probably too high. The weights saved are {kept}")
    return "diverged"


def copy_state(model):
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


# ---- Files -----------------------------------------------------------------------------------------

def write_atomically(path, write):
    """``write(temporary)``, then rename into place: a crash mid-write leaves the previous file whole."""
    temporary = f"{path}.tmp"
    write(temporary)
    os.replace(temporary, path)


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=1)


def save_checkpoint(run):
    """Everything needed to continue (--resume), written by rank 0. torch's random state needs no
    saving: every epoch reseeds it from (seed, epoch, rank), and the seed is kept here."""
    if run.rank != 0 or not run.checkpoint:
        return
    state = {"format": CHECKPOINT_FORMAT, "epoch": run.epoch, "planned_epochs": run.planned_epochs,
             "seed": run.seed, "model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
             "scheduler": None if run.scheduler is None else run.scheduler.state_dict(),
             "best_loss": run.best_loss, "best_epoch": run.best_epoch, "since_best": run.since_best,
             "best_model": run.best_state, "initial_loss": run.initial_loss, "stopped_early": run.stopped_early,
             "history": run.history}
    write_atomically(run.checkpoint, lambda path: torch.save(state, path))


def load_checkpoint(path, device):
    """A checkpoint this script wrote; only tensors and plain values are read (weights_only)."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # missing, truncated, or not a weights-only file
        raise SystemExit(f"cannot resume from {path}: {error}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise SystemExit(f"cannot resume from {path}: it is not a checkpoint written by this train.py")
    return state


def save_weights(run, path, weights, stats):
    """The final weights as .safetensors, with the metadata model.load_model and standardize read."""
    metadata = {"format": "pt"}
    if os.path.exists(weights):
        with safe_open(str(weights), framework="pt") as handle:
            metadata.update(handle.metadata() or {})
    if any(value is not None for value in stats):   # the standardisation this run used
        entry = [None if value is None else np.asarray(value, np.float32).tolist() for value in stats]
        normalization = {"inputs": None if entry[0] is None else {"mean": entry[0], "std": entry[1]},
                         "targets": None if entry[2] is None else {"mean": entry[2], "std": entry[3]}}
        metadata["layerforge.normalization"] = json.dumps(normalization, separators=(",", ":"))
    metadata.update({"epochs": str(run.epoch), "best_epoch": str(run.best_epoch)})
    state = {key: value.detach().cpu().contiguous() for key, value in run.model.state_dict().items()}
    write_atomically(path, lambda temporary: save_file(state, temporary, metadata=metadata))


def checksum(model):
    """One number from every weight: processes holding the same weights give the same."""
    return sum(float(value.double().sum()) for value in model.state_dict().values())


def gathered(value, run):
    """``value`` of every process, in rank order, at every process."""
    mine = torch.tensor([value], dtype=torch.float64, device=run.device)
    if run.world_size == 1:
        return [value]
    values = [torch.zeros_like(mine) for _ in range(run.world_size)]
    dist.all_gather(values, mine)
    return [float(item) for item in values]

'''

MAIN = r'''

# ---- Setting up and finishing ----------------------------------------------------------------------

def parse_args():
    parser = argparse.ArgumentParser(description="Train the exported Layerforge model, as Layerforge does, "
                                                 "on one process or many (torchrun).")
    parser.add_argument("--data", required=True, help=".npz with arrays x and y (Layerforge's also holds its split)")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="the last epoch (default: %(default)s)")
    parser.add_argument("--lr", type=float, default=LEARNING_RATE, help="learning rate (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                        help="samples per step, over all processes together (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=SEED, help="batch order and fresh weights (default: %(default)s)")
    parser.add_argument("--patience", type=int, default=PATIENCE or 0,
                        help="stop after this many epochs without a better validation loss; 0: never "
                             "(default: %(default)s)")
    parser.add_argument("--keep-best", action=argparse.BooleanOptionalAction, default=KEEP_BEST,
                        help="end with the best validation epoch's weights (--no-keep-best: the last epoch's)")
    parser.add_argument("--weights", default=str(WEIGHTS), help="weights to start from (.safetensors)")
    parser.add_argument("--from-scratch", action="store_true", help="start from fresh random weights")
    parser.add_argument("--output", default="trained.safetensors", help="where rank 0 writes the final weights")
    parser.add_argument("--checkpoint", default="checkpoint.pt",
                        help="where rank 0 saves the state to continue from, every epoch ('' for none)")
    parser.add_argument("--resume", metavar="CHECKPOINT", help="continue the run saved in CHECKPOINT")
    parser.add_argument("--history", default="history.json", help="where rank 0 writes the metrics of every epoch")
    args = parser.parse_args()
    for name, value, lowest in (("--epochs", args.epochs, 1), ("--batch-size", args.batch_size, 1),
                                ("--patience", args.patience, 0), ("--seed", args.seed, 0)):
        if value < lowest:
            parser.error(f"{name} must be at least {lowest}, got {value}")
    if not math.isfinite(args.lr) or args.lr <= 0:
        parser.error(f"--lr must be a positive number, got {args.lr}")
    return args


def setup(args, rank, world_size, device):
    """The Run: data, model (from the weights, fresh, or the checkpoint), loss, optimizer, schedule."""
    (train_split, val_split, test_split), stats = load_data(args.data, args.weights)
    resumed = load_checkpoint(args.resume, device) if args.resume else None
    seed = resumed["seed"] if resumed else args.seed
    torch.manual_seed(seed)   # the same fresh weights in every process
    model = Model() if args.from_scratch else load_model(args.weights)
    if resumed:
        model.load_state_dict(resumed["model"])
    model = model.to(device).train()
    if world_size > 1 and device.type == "cuda":   # batch statistics over the whole batch, as on one process
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ddp_model = model
    if world_size > 1:
        ddp_model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    bounds = batch_bounds(len(train_split), args.batch_size, world_size)
    planned_epochs = resumed["planned_epochs"] if resumed else args.epochs
    optimizer = make_optimizer(ddp_model.parameters(), args.lr)
    scheduler = make_schedule(optimizer, args.lr, planned_epochs, len(bounds) - 1)
    run = Run(model=model, ddp_model=ddp_model, loss_fn=make_loss(), optimizer=optimizer, scheduler=scheduler,
              train=train_split, val=val_split, test=test_split, stats=stats, bounds=bounds, rank=rank,
              world_size=world_size, device=device, seed=seed, planned_epochs=planned_epochs, epoch=0,
              epochs=args.epochs, patience=args.patience, keep_best=args.keep_best,
              best_loss=math.inf, best_epoch=0, since_best=0, best_state=None, stopped_early=False,
              checkpoint=args.checkpoint, history_path=args.history, message="",
              history={"epoch": [], "lr": []})
    if resumed:
        optimizer.load_state_dict(resumed["optimizer"])
        if scheduler is not None and resumed["scheduler"] is not None:
            scheduler.load_state_dict(resumed["scheduler"])
        for key in ("epoch", "best_loss", "best_epoch", "since_best", "initial_loss", "history"):
            setattr(run, key, resumed[key])
        run.best_state = resumed["best_model"]
        if run.epochs <= run.epoch:   # a finished run goes on for --epochs more, as in Layerforge
            run.epochs = run.epoch + args.epochs
        if resumed["stopped_early"] or run.epoch >= planned_epochs:
            run.since_best = 0
    else:
        run.initial_loss = evaluate(run, val_split if len(val_split) else train_split)["loss"]
    run.last_good = copy_state(model)
    return run


def finish(run, args, status):
    """Final metrics of the kept weights, each process's checksum, and rank 0's files."""
    final = {name: evaluate(run, split) for name, split in (("train", run.train), ("val", run.val),
                                                            ("test", run.test)) if len(split)}
    run.history["final"] = final
    checksums = gathered(checksum(run.model), run)
    if run.rank != 0:
        return
    for rank, value in enumerate(checksums):   # each computed by its own process
        print(f"rank {rank}: weights checksum {value!r}", flush=True)
    if len(set(checksums)) > 1:
        print("warning: the processes ended with different weights; rank 0's are saved", flush=True)
    if status == "diverged":
        print(run.message, flush=True)
    elif status == "early_stopping":
        print(f"early stopping: the validation loss has not improved for {run.patience} epochs", flush=True)
    if status == "diverged":
        kept = "the last good epoch"
    elif run.keep_best and run.best_state is not None:
        kept = f"epoch {run.best_epoch} (the best)"
    else:
        kept = "the last epoch"
    for name, metrics in final.items():
        print(f"final {name}: " + "  ".join(f"{key} {value:.6g}" for key, value in metrics.items()), flush=True)
    save_weights(run, args.output, args.weights, run.stats)
    if run.history_path:
        write_atomically(run.history_path, lambda path: write_json(path, run.history))
    print(f"saved {args.output} (weights of {kept})", flush=True)


def main():
    args = parse_args()
    rank, world_size, device = start_processes()
    try:
        run = setup(args, rank, world_size, device)
        if rank == 0:
            print(f"training on {world_size} process(es), {len(run.train)} samples ({len(run.val)} validation), "
                  f"device {device}", flush=True)
        status = train(run)
        finish(run, args, status)
        if world_size > 1:
            dist.barrier()
    finally:
        if world_size > 1:
            dist.destroy_process_group()
    if status == "diverged":
        raise SystemExit(1)


if __name__ == "__main__":
    main()
'''
