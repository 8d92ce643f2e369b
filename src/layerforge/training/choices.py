"""What a person can choose for a run: losses, optimizers and learning-rate schedules.

Each choice is declared once, with the tasks it suits and its extra parameters as
:class:`layerforge.graph.Param` declarations (kind, default, range, one-line doc). The GUI fills
its combo boxes and editors from ``LOSSES`` / ``OPTIMIZERS`` / ``SCHEDULES``, the settings check
values against the same declarations, and the trainer builds the engine objects from them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from layerforge.graph import Param
from layerforge.graph.errors import ParamError

from .errors import TrainingError

CLASSIFICATION, REGRESSION, RECONSTRUCTION = "classification", "regression", "reconstruction"


@dataclass(frozen=True)
class Choice:
    """One loss, optimizer or schedule.

    ``tasks`` lists the tasks it suits ("classification", "regression", "reconstruction"; empty
    means any). ``torch_name`` is the PyTorch class it mirrors, for exporters and tooltips.
    """

    name: str
    label: str
    doc: str
    params: tuple[Param, ...] = ()
    tasks: tuple[str, ...] = ()
    torch_name: str = ""

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        known = ", ".join(p.name for p in self.params) or "none"
        raise KeyError(f"{self.label} has no parameter {name!r}; its parameters are: {known}")

    def defaults(self) -> dict[str, Any]:
        return {param.name: param.default for param in self.params}

    def suits(self, task: str) -> bool:
        return not self.tasks or task in self.tasks

    def parse_params(self, values: Mapping[str, Any] | None, what: str,
                     aliases: Mapping[str, Any] = ()) -> dict[str, Any]:
        """Every parameter in canonical form, defaults filled in; TrainingError names the bad one.

        ``aliases`` maps a key accepted for PyTorch compatibility to a function splitting its value
        into declared parameters (Adam's ``betas`` -> beta1, beta2).
        """
        values = dict(values or {})
        aliases = dict(aliases)
        for key in [k for k in values if k in aliases]:
            try:
                values.update(aliases[key](values.pop(key)))
            except (TypeError, ValueError):
                raise TrainingError(f"{what} {self.label}: {key!r} must be a pair of numbers, e.g. "
                                    f"[0.9, 0.999]") from None
        parsed = self.defaults()
        for key, value in values.items():
            try:
                parsed[key] = self.param(key).parse(value)
            except KeyError as error:
                raise TrainingError(f"{what} {error.args[0]}") from None
            except ParamError as error:
                raise TrainingError(f"{what} {self.label}: {error}") from None
        return parsed


def _float(name, default, doc, minimum=None, maximum=None, special=""):
    return Param(name, "float", default, doc, minimum=minimum, maximum=maximum, special=special)


_WEIGHT_DECAY = _float("weight_decay", 0.0, "L2 penalty added to the gradient", 0.0, 1.0)
_EPS = _float("eps", 1e-8, "added to the denominator for numerical stability", 0.0, 1.0)

LOSSES: dict[str, Choice] = {c.name: c for c in (
    Choice("cross_entropy", "Cross-entropy", "Softmax cross-entropy on raw scores (logits), one per class.",
           tasks=(CLASSIFICATION,), torch_name="CrossEntropyLoss"),
    Choice("nll", "Negative log-likelihood", "For models that end with LogSoftmax: picks the log-probability "
           "of the true class.", tasks=(CLASSIFICATION,), torch_name="NLLLoss"),
    Choice("bce_with_logits", "Binary cross-entropy (logits)",
           "Sigmoid + binary cross-entropy: one output for two classes, one per class for one-hot targets, "
           "or targets in [0, 1].", tasks=(CLASSIFICATION, REGRESSION, RECONSTRUCTION),
           torch_name="BCEWithLogitsLoss"),
    Choice("mse", "Mean squared error", "Average of squared differences; the usual regression loss.",
           tasks=(REGRESSION, RECONSTRUCTION), torch_name="MSELoss"),
    Choice("l1", "Mean absolute error (L1)", "Average of absolute differences; robust to outliers.",
           tasks=(REGRESSION, RECONSTRUCTION), torch_name="L1Loss"),
    Choice("smooth_l1", "Smooth L1", "Squared below beta, absolute above it.",
           (_float("beta", 1.0, "where the loss turns from squared to absolute", 0.0),),
           tasks=(REGRESSION, RECONSTRUCTION), torch_name="SmoothL1Loss"),
    Choice("huber", "Huber", "Squared below delta, linear above it (scaled like MSE near zero).",
           (_float("delta", 1.0, "where the loss turns from squared to linear", 1e-12),),
           tasks=(REGRESSION, RECONSTRUCTION), torch_name="HuberLoss"),
)}

OPTIMIZERS: dict[str, Choice] = {c.name: c for c in (
    Choice("adam", "Adam", "Adaptive moments; a good default.",
           (_float("beta1", 0.9, "decay of the running mean of gradients", 0.0, 0.999999),
            _float("beta2", 0.999, "decay of the running mean of squared gradients", 0.0, 0.999999),
            _EPS, _WEIGHT_DECAY,
            Param("amsgrad", "bool", False, "keep the maximum of the squared-gradient average")),
           torch_name="Adam"),
    Choice("adamw", "AdamW", "Adam with weight decay applied to the weights directly (decoupled).",
           (_float("beta1", 0.9, "decay of the running mean of gradients", 0.0, 0.999999),
            _float("beta2", 0.999, "decay of the running mean of squared gradients", 0.0, 0.999999),
            _EPS, _float("weight_decay", 0.01, "decoupled weight decay", 0.0, 1.0),
            Param("amsgrad", "bool", False, "keep the maximum of the squared-gradient average")),
           torch_name="AdamW"),
    Choice("sgd", "SGD", "Stochastic gradient descent, optionally with momentum.",
           (_float("momentum", 0.0, "fraction of the previous update kept", 0.0, 0.999999),
            _float("dampening", 0.0, "damping of the momentum", 0.0, 1.0),
            _WEIGHT_DECAY, Param("nesterov", "bool", False, "Nesterov momentum (needs momentum > 0)")),
           torch_name="SGD"),
    Choice("rmsprop", "RMSprop", "Divides by a running average of squared gradients.",
           (_float("alpha", 0.99, "smoothing constant", 0.0, 0.999999), _EPS, _WEIGHT_DECAY,
            _float("momentum", 0.0, "momentum factor", 0.0, 0.999999),
            Param("centered", "bool", False, "normalise by the estimated variance of the gradient")),
           torch_name="RMSprop"),
    Choice("adagrad", "Adagrad", "Per-parameter rates shrinking with the sum of squared gradients.",
           (_float("lr_decay", 0.0, "learning-rate decay per step", 0.0),
            _WEIGHT_DECAY, _float("eps", 1e-10, "added to the denominator", 0.0, 1.0)),
           torch_name="Adagrad"),
    Choice("adadelta", "Adadelta", "Adapts steps from running averages; the learning rate is a scale (1.0 "
           "is usual).", (_float("rho", 0.9, "decay of the running averages", 0.0, 1.0),
                          _float("eps", 1e-6, "added to the denominator", 0.0, 1.0), _WEIGHT_DECAY),
           torch_name="Adadelta"),
)}

SCHEDULES: dict[str, Choice] = {c.name: c for c in (
    Choice("none", "Constant", "The learning rate stays as set."),
    Choice("step", "Step decay", "Multiply the rate by gamma every step_size epochs.",
           (Param("step_size", "int", 10, "epochs between decays", minimum=1),
            _float("gamma", 0.5, "factor applied at each decay", 0.0, 1.0)), torch_name="StepLR"),
    Choice("multistep", "Multi-step decay", "Multiply the rate by gamma at each listed epoch.",
           (Param("milestones", "ints", (30, 60), "epochs at which to decay", minimum=1),
            _float("gamma", 0.1, "factor applied at each milestone", 0.0, 1.0)), torch_name="MultiStepLR"),
    Choice("exponential", "Exponential decay", "Multiply the rate by gamma after every epoch.",
           (_float("gamma", 0.95, "factor applied each epoch", 0.0, 1.0),), torch_name="ExponentialLR"),
    Choice("cosine", "Cosine annealing", "Lower the rate along a half cosine to eta_min over the run.",
           (Param("T_max", "int", 0, "epochs of one half cosine (0: the whole run)", minimum=0,
                  special="the whole run"),
            _float("eta_min", 0.0, "lowest learning rate", 0.0)), torch_name="CosineAnnealingLR"),
    Choice("onecycle", "One cycle", "Warm up to max_lr, then anneal far below the start; stepped per batch.",
           (_float("max_lr", 0.0, "peak learning rate (0: ten times the learning rate)", 0.0,
                   special="ten times the learning rate"),
            _float("pct_start", 0.3, "fraction of the run spent warming up", 0.0, 1.0),
            Param("anneal_strategy", "choice", "cos", "shape of the annealing", choices=("cos", "linear")),
            _float("div_factor", 25.0, "start rate = max_lr / div_factor", 1.0),
            _float("final_div_factor", 1e4, "final rate = start rate / final_div_factor", 1.0)),
           torch_name="OneCycleLR"),
    Choice("plateau", "Reduce on plateau", "Multiply the rate by factor when the validation loss stops "
           "improving for patience epochs.",
           (_float("factor", 0.1, "factor applied on a plateau", 0.0, 0.999999),
            Param("patience", "int", 10, "epochs without improvement before lowering", minimum=0),
            _float("threshold", 1e-4, "relative improvement that counts", 0.0),
            _float("min_lr", 0.0, "lowest learning rate", 0.0)), torch_name="ReduceLROnPlateau"),
)}


def default_loss_for(task: str) -> str:
    """The loss a new run starts with for a task (regression and reconstruction: mean squared error)."""
    if task == CLASSIFICATION:
        return "cross_entropy"
    if task in (REGRESSION, RECONSTRUCTION):
        return "mse"
    raise TrainingError(f"unknown task {task!r}; tasks are {CLASSIFICATION}, {REGRESSION}, {RECONSTRUCTION}")


def losses_for(task: str) -> list[str]:
    """Loss names suited to ``task``, default first (for a combo box)."""
    default = default_loss_for(task)
    return [default] + [name for name, c in LOSSES.items() if c.suits(task) and name != default]


# PyTorch class names (as templates and PyTorch users write them) -> our names.
TORCH_NAMES = {c.torch_name: name for table in (LOSSES, OPTIMIZERS, SCHEDULES)
               for name, c in table.items() if c.torch_name}


def _lookup(table: Mapping[str, Choice], name: Any, what: str) -> Choice:
    if isinstance(name, str):
        if name in table:
            return table[name]
        key = TORCH_NAMES.get(name, name.lower())
        if key in table:
            return table[key]
    raise TrainingError(f"unknown {what} {name!r}; choose one of: {', '.join(table)}")


def get_loss(name: Any) -> Choice:
    return _lookup(LOSSES, name, "loss")


def get_optimizer(name: Any) -> Choice:
    return _lookup(OPTIMIZERS, name, "optimizer")


def get_schedule(name: Any) -> Choice:
    return _lookup(SCHEDULES, name, "learning-rate schedule")
