"""Turn a project into engine objects: the checked model shapes, the loss, the optimizer and the lr schedule."""
from __future__ import annotations

from typing import Any, Callable

from layerforge.engine import optim
from layerforge.engine.nn import functional as F
from layerforge.graph import ModelSpec, ShapeReport, require_valid

from .errors import TrainingError
from .settings import TrainingSettings

_LOSS_FUNCTIONS = {
    "cross_entropy": lambda p: F.cross_entropy,
    "nll": lambda p: F.nll_loss,
    "bce_with_logits": lambda p: F.binary_cross_entropy_with_logits,
    "mse": lambda p: F.mse_loss,
    "l1": lambda p: F.l1_loss,
    "smooth_l1": lambda p: (lambda out, target: F.smooth_l1_loss(out, target, beta=p["beta"])),
    "huber": lambda p: (lambda out, target: F.huber_loss(out, target, delta=p["delta"])),
}


def valid_shapes(spec: ModelSpec) -> ShapeReport:
    """``spec``'s shape report; TrainingError naming the first problem while the model is not valid."""
    return require_valid(spec, TrainingError, "the model is not valid")


def make_loss(settings: TrainingSettings) -> Callable[[Any, Any], Any]:
    """``loss(outputs, targets) -> scalar Tensor`` (mean over the batch)."""
    return _LOSS_FUNCTIONS[settings.loss](settings.loss_params)


def make_optimizer(parameters, settings: TrainingSettings):
    p = dict(settings.optimizer_params)
    lr = settings.learning_rate
    name = settings.optimizer
    try:
        if name in ("adam", "adamw"):
            cls = optim.Adam if name == "adam" else optim.AdamW
            return cls(parameters, lr=lr, betas=(p["beta1"], p["beta2"]), eps=p["eps"],
                       weight_decay=p["weight_decay"], amsgrad=p["amsgrad"])
        if name == "sgd":
            return optim.SGD(parameters, lr=lr, momentum=p["momentum"], dampening=p["dampening"],
                             weight_decay=p["weight_decay"], nesterov=p["nesterov"])
        if name == "rmsprop":
            return optim.RMSprop(parameters, lr=lr, alpha=p["alpha"], eps=p["eps"],
                                 weight_decay=p["weight_decay"], momentum=p["momentum"], centered=p["centered"])
        if name == "adagrad":
            return optim.Adagrad(parameters, lr=lr, lr_decay=p["lr_decay"], weight_decay=p["weight_decay"],
                                 eps=p["eps"])
        if name == "adadelta":
            return optim.Adadelta(parameters, lr=lr, rho=p["rho"], eps=p["eps"], weight_decay=p["weight_decay"])
    except ValueError as error:  # e.g. Nesterov momentum without momentum
        raise TrainingError(f"optimizer {name}: {error}") from None
    raise TrainingError(f"unknown optimizer {name!r}")


class Schedule:
    """The lr schedule with when it steps: per batch (one cycle), per epoch, or on the validation loss."""

    def __init__(self, optimizer, settings: TrainingSettings, steps_per_epoch: int):
        self.scheduler = None
        self.per_batch = False
        self.on_metric = False
        schedule = settings.schedule
        if schedule is None:
            return
        p = {k: v for k, v in schedule.items() if k != "type"}
        kind = schedule["type"]
        lr_scheduler = optim.lr_scheduler
        try:
            if kind == "step":
                self.scheduler = lr_scheduler.StepLR(optimizer, step_size=p["step_size"], gamma=p["gamma"])
            elif kind == "multistep":
                self.scheduler = lr_scheduler.MultiStepLR(optimizer, milestones=list(p["milestones"]),
                                                          gamma=p["gamma"])
            elif kind == "exponential":
                self.scheduler = lr_scheduler.ExponentialLR(optimizer, gamma=p["gamma"])
            elif kind == "cosine":
                self.scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=p["T_max"] or settings.epochs,
                                                                eta_min=p["eta_min"])
            elif kind == "onecycle":
                self.scheduler = lr_scheduler.OneCycleLR(
                    optimizer, max_lr=p["max_lr"] or 10 * settings.learning_rate,
                    total_steps=settings.epochs * steps_per_epoch, pct_start=p["pct_start"],
                    anneal_strategy=p["anneal_strategy"], div_factor=p["div_factor"],
                    final_div_factor=p["final_div_factor"])
                self.per_batch = True
            elif kind == "plateau":
                self.scheduler = lr_scheduler.ReduceLROnPlateau(
                    optimizer, mode="min", factor=p["factor"], patience=p["patience"],
                    threshold=p["threshold"], min_lr=p["min_lr"])
                self.on_metric = True
            else:
                raise TrainingError(f"unknown learning-rate schedule {kind!r}")
        except ValueError as error:
            if isinstance(error, TrainingError):
                raise
            raise TrainingError(f"learning-rate schedule {kind}: {error}") from None

    def after_batch(self) -> None:
        if self.scheduler is not None and self.per_batch:
            self.scheduler.step()

    def after_epoch(self, monitored_loss: float) -> None:
        if self.scheduler is None or self.per_batch:
            return
        if self.on_metric:
            self.scheduler.step(monitored_loss)
        else:
            self.scheduler.step()
