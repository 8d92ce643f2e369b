"""The source of ``train.py``: the exported model trained as Layerforge trains it, on one process or
under torchrun (DistributedDataParallel).

:func:`training_code` writes the part a learner reads (the loss, the optimizer, the learning-rate
schedule and the epoch and batch loops); :func:`train_source` puts it between the fixed helpers of
``train_template``, so the Code panel and train.py can never differ.
"""
from __future__ import annotations

import keyword
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .cluster_scripts import train_command
from .common import ExportError
from .train_template import HEADER, HELPERS, MAIN

# train_command lives with the other cluster texts; formats and the package import it from here.
__all__ = ["LABEL_LOSSES", "SCHEDULE_STEPS", "TARGETS", "TrainingHint", "train_command", "train_source",
           "training_code"]

# Losses that compare scores with class indices; every other loss compares with float targets.
LABEL_LOSSES = ("CrossEntropyLoss", "NLLLoss")
TARGETS = ("labels", "values", "input")

# PyTorch's schedulers that train.py can build, with when Layerforge steps each: after every batch,
# after every epoch on the monitored (validation) loss, or after every epoch.
SCHEDULE_STEPS = {"StepLR": "epoch", "MultiStepLR": "epoch", "ExponentialLR": "epoch",
                  "CosineAnnealingLR": "epoch", "OneCycleLR": "batch", "ReduceLROnPlateau": "metric"}
# A None value of these scheduler arguments stands for the whole run (T_max) or ten times the rate.
_RUN_DEPENDENT = {"T_max": "epochs", "max_lr": "10 * lr"}


@dataclass
class TrainingHint:
    """How the exported ``train.py`` trains, in PyTorch's names, and the data to write beside it.

    ``target``: "labels" (class indices), "values" (regression targets) or "input" (an autoencoder
    rebuilds its input). ``schedule``: a scheduler of :data:`SCHEDULE_STEPS` or None, built with
    ``schedule_kwargs`` (``T_max=None``: the whole run; ``max_lr=None``: ten times the rate).
    ``patience``: epochs without a better validation loss before stopping (None: never);
    ``keep_best``: end with the best validation epoch's weights. ``x`` / ``y``: the project's data,
    written to ``data.npz`` when given, with ``split`` (train, validation, test index arrays) and the
    ``normalization`` (``Normalization.to_dict()``) fitted on the training part; without a split,
    train.py splits at random, keeping ``val_fraction`` for validation.
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
    schedule: str | None = None
    schedule_kwargs: dict = field(default_factory=dict)
    grad_clip_norm: float | None = None
    patience: int | None = None
    keep_best: bool = True
    seed: int = 0
    val_fraction: float = 0.2
    split: Any = None
    normalization: Any = None


def train_source(hint: TrainingHint) -> str:
    """The text of ``train.py``: names are checked to be Python names, values enter as literals."""
    return HEADER + _settings_block(hint) + HELPERS + "\n" + training_code(hint) + MAIN


def training_code(hint: TrainingHint) -> str:
    """The part of train.py that says how the model trains: making the loss, the optimizer and the
    schedule, then the batch loop and the epoch loop, exactly as these lines stand in train.py."""
    step = _schedule_step(hint.schedule)
    clip = ""
    if hint.grad_clip_norm is not None:
        clip = (f"        torch.nn.utils.clip_grad_norm_(run.model.parameters(), "
                f"{_positive(hint.grad_clip_norm, 'gradient clipping norm')})  # as Layerforge clips\n")
    batch_step = (f"        run.scheduler.step()  # {hint.schedule}: stepped after every batch\n"
                  if step == "batch" else "")
    epoch_step = {"epoch": f"        run.scheduler.step()  # {hint.schedule}: stepped after every epoch\n",
                  "metric": f"        run.scheduler.step(monitored)  # {hint.schedule}: watches the validation loss\n"
                  }.get(step, "")
    pieces = {"LOSS": _loss_call(hint), "OPTIMIZER": _optimizer_call(hint), "SCHEDULE": _schedule_body(hint),
              "CLIP": clip, "BATCH_STEP": batch_step, "EPOCH_STEP": epoch_step}
    # One pass: a piece holding "@...@" inside a user's string literal is never substituted again.
    return re.sub(r"@([A-Z_]+)@", lambda match: pieces[match.group(1)], TRAINING_CODE)


TRAINING_CODE = '''# ---- How it trains: the loss, the optimizer, the learning-rate schedule and the loops ----------

def make_loss():
    return @LOSS@


def make_optimizer(parameters, lr):
    return @OPTIMIZER@


def make_schedule(optimizer, lr, epochs, steps_per_epoch):
@SCHEDULE@


def train_epoch(run, epoch):
    """One pass over the training split in Layerforge's batch order; (metrics, the last batch's rate)."""
    run.model.train()
    order = np.random.default_rng([run.seed, epoch]).permutation(len(run.train))
    meter = Meter(run.train, run.device, run.world_size)
    for start, end in zip(run.bounds[:-1], run.bounds[1:]):
        batch = order[start:end]
        mine = batch[run.rank::run.world_size]  # this process's share of the batch
        inputs, targets, truth = run.train.batch(mine, run.device)
        lr = run.optimizer.param_groups[0]["lr"]
        outputs = run.ddp_model(inputs)
        loss = run.loss_fn(outputs, targets)
        run.optimizer.zero_grad()
        # DDP averages the processes' gradients; weighting each share by its size makes that average
        # the gradient of the whole batch's mean loss, so P processes take the step one would.
        (loss * (len(mine) * run.world_size / len(batch))).backward()
@CLIP@        run.optimizer.step()
@BATCH_STEP@        meter.add(loss.detach(), outputs.detach(), truth)
    return meter.metrics(), lr


def train(run):
    """Epochs until the last one, early stopping or divergence; returns how the run ended."""
    status = "completed"
    while run.epoch < run.epochs:
        run.epoch += 1
        torch.manual_seed(epoch_seed(run.seed, run.epoch, run.rank))  # dropout: the same draws after --resume
        train_metrics, lr = train_epoch(run, run.epoch)
        val_metrics = evaluate(run, run.val) if len(run.val) else {}
        monitored = val_metrics.get("loss", train_metrics["loss"])  # the validation loss where there is one
        if not math.isfinite(train_metrics["loss"]) or not math.isfinite(monitored):
            return diverged(run, monitored if math.isfinite(train_metrics["loss"]) else train_metrics["loss"])
        if monitored > EXPLODED_FACTOR * max(run.initial_loss, 1e-12):
            return diverged(run, monitored)
        if monitored < run.best_loss:
            run.best_loss, run.best_epoch, run.since_best = monitored, run.epoch, 0
            if run.keep_best:
                run.best_state = copy_state(run.model)
        else:
            run.since_best += 1
        run.last_good = copy_state(run.model)
@EPOCH_STEP@        report(run, lr, train_metrics, val_metrics)
        run.stopped_early = bool(run.patience) and run.since_best >= run.patience
        save_checkpoint(run)
        if run.stopped_early:
            status = "early_stopping"
            break
    if run.keep_best and run.best_state is not None:
        run.model.load_state_dict(run.best_state)  # end with the best validation epoch's weights
    return status
'''


def _settings_block(hint: TrainingHint) -> str:
    """The project's settings as constants (the defaults of train.py's options), each a literal."""
    target = hint.target
    if target not in TARGETS:
        raise ExportError(f"training hint target {target!r} is not one of: {', '.join(TARGETS)}")
    lr = _finite(hint.lr, "learning rate")
    val_fraction = _finite(hint.val_fraction, "validation fraction")
    patience = None if hint.patience is None else _count(hint.patience, "early-stopping patience", 1)
    lines = [
        "# The Layerforge project's training settings: the defaults of the options below.",
        f"LOSS = {_literal(_name(hint.loss, 'loss'), 'loss')}",
        f"TARGET = {_literal(str(target), 'target')}  # 'labels' (class indices), 'values' (numbers) or "
        f"'input' (an autoencoder rebuilds it)",
        f"EPOCHS = {_count(hint.epochs, 'number of epochs', 1)}",
        f"LEARNING_RATE = {lr!r}",
        f"BATCH_SIZE = {_count(hint.batch_size, 'batch size', 1)}  # samples per step, over all processes",
        f"SEED = {_count(hint.seed, 'seed', 0)}",
        f"PATIENCE = {patience!r}  # epochs without a better validation loss before stopping; None: never",
        f"KEEP_BEST = {bool(hint.keep_best)!r}  # end with the weights of the best validation epoch",
        f"VAL_FRACTION = {val_fraction!r}  # kept for validation when the data holds no split",
    ]
    return "\n".join(lines) + "\n"


def _loss_call(hint: TrainingHint) -> str:
    args = ", ".join(f"{_name(key, 'loss argument name')}={_literal(value, f'loss argument {key!r}')}"
                     for key, value in hint.loss_kwargs.items())
    return f"nn.{_name(hint.loss, 'loss')}({args})"


def _optimizer_call(hint: TrainingHint) -> str:
    _finite(hint.lr, "learning rate")
    args = "".join(f", {_name(key, 'optimizer argument name')}={_literal(value, f'optimizer argument {key!r}')}"
                   for key, value in hint.optimizer_kwargs.items())
    return f"torch.optim.{_name(hint.optimizer, 'optimizer')}(parameters, lr=lr{args})"


def _schedule_step(schedule: str | None) -> str | None:
    if schedule is None:
        return None
    if schedule not in SCHEDULE_STEPS:
        raise ExportError(f"the learning-rate schedule {schedule!r} is not one train.py can build; it builds: "
                          f"{', '.join(SCHEDULE_STEPS)} (or none)")
    return SCHEDULE_STEPS[schedule]


def _schedule_body(hint: TrainingHint) -> str:
    step = _schedule_step(hint.schedule)
    if step is None:
        return "    return None  # no schedule: the learning rate stays as set"
    args = []
    if hint.schedule == "ReduceLROnPlateau":
        args.append('mode="min"')
    for key, value in hint.schedule_kwargs.items():
        key = _name(key, "schedule argument name")
        if value is None and key in _RUN_DEPENDENT:
            args.append(f"{key}={_RUN_DEPENDENT[key]}")
        else:
            args.append(f"{key}={_literal(value, f'schedule argument {key!r}')}")
    if hint.schedule == "OneCycleLR":
        args.insert(1 if args and args[0].startswith("max_lr=") else 0, "total_steps=epochs * steps_per_epoch")
    when = {"batch": "after every batch", "epoch": "after every epoch",
            "metric": "after every epoch, on the validation loss"}[step]
    call = f"torch.optim.lr_scheduler.{hint.schedule}(optimizer, {', '.join(args)})"
    if len(call) > 100:
        call = f"torch.optim.lr_scheduler.{hint.schedule}(\n        optimizer, {', '.join(args)})"
    return f"    # stepped {when}, as in Layerforge\n    return {call}"


def _finite(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ExportError(f"the {what} {value!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ExportError(f"the {what} {number!r} is not a finite number; set a positive {what}")
    return number


def _positive(value: object, what: str) -> str:
    number = _finite(value, what)
    if number <= 0:
        raise ExportError(f"the {what} must be above 0, got {number!r}")
    return repr(number)


def _count(value: object, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < minimum:
        raise ExportError(f"the {what} must be a whole number of at least {minimum}, got {value!r}")
    return int(value)


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
