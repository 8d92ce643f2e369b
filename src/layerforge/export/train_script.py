"""The source of ``train.py`` (DistributedDataParallel under torchrun) and of the README beside it."""
from __future__ import annotations

import keyword
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .common import ExportError

# Losses that compare scores with class indices; every other loss compares with float targets.
LABEL_LOSSES = ("CrossEntropyLoss", "NLLLoss")
TARGETS = ("labels", "values", "input")


@dataclass
class TrainingHint:
    """How the exported ``train.py`` trains, in PyTorch's names, and the data to write beside it.

    ``target``: "labels" (class indices), "values" (regression targets) or "input" (an autoencoder
    rebuilds its input). ``x`` / ``y``: the project's data, written to ``data.npz`` when given.
    """

    loss: str = "CrossEntropyLoss"
    loss_kwargs: dict = field(default_factory=dict)
    optimizer: str = "Adam"
    optimizer_kwargs: dict = field(default_factory=dict)
    lr: float = 0.001
    epochs: int = 10
    batch_size: int = 32
    target: str = "labels"
    x: Any = None
    y: Any = None


TRAIN_SOURCE = '''"""Train the exported Layerforge model with PyTorch DistributedDataParallel.

    torchrun --nproc_per_node=2 train.py --data data.npz

torchrun starts one process per GPU (or CPU worker); each trains on its own share of every epoch
(DistributedSampler) and DistributedDataParallel averages the gradients, so all copies stay equal.
Backend: NCCL when CUDA is available, gloo on CPUs. Rank 0 writes the checkpoint, a .safetensors
file that ``model.load_model(path)`` reads. ``python train.py ...`` runs as a single process.
"""
import argparse
import os

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import save_file
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from model import INPUT_DTYPE, OUTPUT_SHAPE, WEIGHTS, Model, load_model, load_normalization

# What the model learns to output: "labels" (class indices), "values" (numbers shaped like the
# output), or "input" (an autoencoder rebuilds its input).
TARGET = {target!r}


def make_loss():
    return nn.{loss}({loss_args})


def make_optimizer(parameters, lr):
    return torch.optim.{optimizer}(parameters, lr=lr{optimizer_args})


def parse_args():
    parser = argparse.ArgumentParser(description="Train the exported Layerforge model with DDP.")
    parser.add_argument("--data", required=True, help=".npz file holding arrays x (inputs) and y (targets)")
    parser.add_argument("--epochs", type=int, default={epochs})
    parser.add_argument("--lr", type=float, default={lr!r})
    parser.add_argument("--batch-size", type=int, default={batch_size}, help="samples per process per step")
    parser.add_argument("--weights", default=str(WEIGHTS), help="weights to start from (.safetensors)")
    parser.add_argument("--from-scratch", action="store_true", help="start from fresh random weights")
    parser.add_argument("--checkpoint", default="checkpoint.safetensors", help="where rank 0 saves the result")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def start_processes():
    """Join the process group torchrun set up (or a group of one); returns (rank, world size, device)."""
    for key, value in (("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0"),
                       ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "29500")):
        os.environ.setdefault(key, value)
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
        dist.init_process_group("nccl")
    else:
        device = torch.device("cpu")
        dist.init_process_group("gloo")
    return dist.get_rank(), dist.get_world_size(), device


def load_data(path, weights):
    """(inputs, targets) from the .npz, standardised as during training in Layerforge."""
    with np.load(path, allow_pickle=False) as data:
        x = torch.from_numpy(np.asarray(data["x"])).to(INPUT_DTYPE)
        y = torch.from_numpy(np.asarray(data["y"])) if "y" in data.files else None
    input_mean, input_std, target_mean, target_std = load_normalization(weights)
    if input_mean is not None:
        x = (x - input_mean) / input_std
    if TARGET == "input":
        return x, x.clone()
    if y is None:
        raise SystemExit(f"{{path}} has no array 'y' with the targets")
    if TARGET == "labels":
        return x, y.long().reshape(len(y))
    y = y.float().reshape(len(y), *OUTPUT_SHAPE)
    if target_mean is not None:
        y = (y - target_mean) / target_std
    return x, y


def main():
    args = parse_args()
    rank, world_size, device = start_processes()
    torch.manual_seed(args.seed)  # the same initial weights in every process
    model = Model() if args.from_scratch else load_model(args.weights)
    model = model.to(device).train()
    ddp_model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    dataset = TensorDataset(*load_data(args.data, args.weights))
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=args.seed)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler)
    loss_fn = make_loss()
    optimizer = make_optimizer(ddp_model.parameters(), args.lr)
    if rank == 0:
        print(f"training on {{world_size}} process(es), {{len(dataset)}} samples, device {{device}}", flush=True)
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)  # a different shuffle each epoch, agreed by all processes
        loss_sum, seen = 0.0, 0
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            optimizer.zero_grad()
            loss = loss_fn(ddp_model(inputs), targets)
            loss.backward()  # DDP averages the gradients across processes here
            optimizer.step()
            loss_sum += loss.item() * len(inputs)
            seen += len(inputs)
        totals = torch.tensor([loss_sum, seen], dtype=torch.float64, device=device)
        dist.all_reduce(totals)  # summed over all processes
        if rank == 0:
            print(f"epoch {{epoch + 1}}/{{args.epochs}}  loss {{(totals[0] / totals[1]).item():.6f}}", flush=True)
    if rank == 0:
        state = {{key: value.detach().cpu().contiguous() for key, value in model.state_dict().items()}}
        save_file(state, args.checkpoint, metadata=_metadata(args.weights, args.epochs))
        print(f"saved {{args.checkpoint}}", flush=True)
    dist.barrier()
    dist.destroy_process_group()


def _metadata(weights, epochs):
    """Keep the normalisation statistics with the checkpoint, so it loads like the exported weights."""
    from safetensors import safe_open

    metadata = {{"format": "pt", "epochs": str(epochs)}}
    if os.path.exists(weights):
        with safe_open(weights, framework="pt") as handle:
            metadata.update(handle.metadata() or {{}})
    return metadata


if __name__ == "__main__":
    main()
'''


README_TEMPLATE = """{title}
{underline}

Exported by Layerforge {version}. Needs Python 3.9+, PyTorch and safetensors:

    pip install torch safetensors numpy

Files
  model.py             the model as a PyTorch nn.Module (class Model), load_model() and standardize()
  weights.safetensors  the trained weights (and the input standardisation, in its metadata)
  train.py             trains the model with DistributedDataParallel under torchrun
{data_line}
Use the trained model

    import torch
    from model import load_model, standardize
    model = load_model()
    with torch.no_grad():
        prediction = model(standardize(batch))   # batch: a tensor shaped (N, {input_shape})

Train on 2 processes of this machine (gloo on CPU, NCCL on GPUs, chosen automatically)

    {command}

Options: --epochs N, --lr RATE, --batch-size N (per process), --from-scratch, --checkpoint PATH.
Rank 0 writes checkpoint.safetensors; load it with load_model("checkpoint.safetensors").
On several machines, start the same command on each with
    --nnodes=NODES --node_rank=RANK --rdzv-backend=c10d --rdzv-endpoint=HOST:PORT
and set --nproc_per_node to the number of GPUs per machine.
"""


def train_source(hint: TrainingHint) -> str:
    """The text of ``train.py``: names are checked to be Python names, values enter as literals."""
    # Losses other than cross-entropy/NLL compare with floats, even for class labels (BCEWithLogitsLoss).
    target = "values" if hint.target == "labels" and hint.loss not in LABEL_LOSSES else hint.target
    loss_args = ", ".join(f"{_name(key, 'loss argument name')}={_literal(value, f'loss argument {key!r}')}"
                          for key, value in hint.loss_kwargs.items())
    optimizer_args = "".join(f", {_name(key, 'optimizer argument name')}="
                             f"{_literal(value, f'optimizer argument {key!r}')}"
                             for key, value in hint.optimizer_kwargs.items())
    lr = float(hint.lr)
    if not math.isfinite(lr):
        raise ExportError(f"the learning rate {lr!r} is not a finite number; set a positive learning rate")
    return TRAIN_SOURCE.format(target=str(target), loss=_name(hint.loss, "loss"), loss_args=loss_args,
                               optimizer=_name(hint.optimizer, "optimizer"), optimizer_args=optimizer_args,
                               epochs=int(hint.epochs), lr=lr, batch_size=int(hint.batch_size))


def _name(text: object, what: str) -> str:
    """``text`` when it is a plain Python name (it is written into train.py as code), else ExportError."""
    if isinstance(text, str) and text.isascii() and text.isidentifier() and not keyword.iskeyword(text):
        return text
    raise ExportError(f"the {what} {text!r} is not a Python name; train.py can only name PyTorch's classes "
                      f"and arguments (e.g. CrossEntropyLoss, lr)")


def _literal(value: object, what: str) -> str:
    """Python source for a plain value (number, text, None, tuple, list), built from its parts' repr."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return repr(None if value is None else bool(value))
    if isinstance(value, (int, np.integer)):
        return repr(int(value))
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise ExportError(f"the {what} is {float(value)!r}, not a finite number; change it in the training "
                              f"settings")
        return repr(float(value))
    if isinstance(value, str):
        return repr(str(value))  # str(): a subclass could override __repr__
    if isinstance(value, (tuple, list)):
        items = [_literal(item, what) for item in value]
        if isinstance(value, list):
            return f"[{', '.join(items)}]"
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"  # (x,) is a tuple, (x) is not
    raise ExportError(f"the {what} is a {type(value).__name__}, which train.py cannot hold; use a number or "
                      f"text")


def train_command(data_file: str = "data.npz", processes: int = 2) -> str:
    return f"torchrun --nproc_per_node={processes} train.py --data {data_file}"
