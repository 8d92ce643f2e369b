"""How much memory a run will need, worked out from the shape report before any weight exists.

A model too large for the machine used to die inside numpy with ``_ArrayMemoryError`` (or, on a
GPU, inside cupy) while its weights were being allocated. The Trainer now asks here first: the
parameter counts and every layer's output shape come from shape inference (``infer_shapes``), so
nothing is allocated to find out, and the sizes are Python integers, which never overflow.

The estimate counts what this Trainer really keeps: the model's weights, their gradients, the
optimizer's state, the copies the Trainer holds (a second model for ``predict()`` from another
thread, the weights of the last good epoch for rolling back a diverging run, and of the best epoch),
one batch's activations (saved for backward, and their gradients), and the outputs it keeps for an
epoch's metrics. It is a guide, not a promise: the check refuses only what clearly cannot fit.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from layerforge.graph import ModelSpec, ShapeReport
from layerforge.graph.catalog_sequence import GATES

from .errors import TrainingError
from .settings import TrainingSettings

BYTES_PER_VALUE = 4            # float32: weights, gradients, optimizer state and activations
EVAL_BATCH = 512               # the Trainer's inference batch (trainer.EVAL_BATCH)
USABLE_FRACTION = 0.9          # refuse when the estimate passes this share of what is available
ARRAY_LIMIT = 2 ** 63 - 1      # bytes: no numpy or cupy array can be larger (its sizes are int64)
LARGEST_SHOWN = 2              # layers named in a refusal


@dataclass(frozen=True)
class LayerSize:
    """One layer's share, for naming the largest ones: ``fc1: Linear 100000 -> 100000``."""

    name: str
    type: str
    input_shapes: tuple
    output_shape: tuple
    params: int

    def describe(self) -> str:
        return f"{_layer_text(self)} holds {count_text(self.params)} parameters"


@dataclass
class MemoryEstimate:
    """Bytes a run needs, by part. ``device`` is where they live; on a GPU, ``host`` is what the
    host needs on top (the model is built there before it moves)."""

    device: str
    parameters: int
    gradients: int
    optimizer_state: int
    optimizer_label: str
    weight_copies: int
    activations: int
    outputs: int
    host: int = 0
    largest: tuple[LayerSize, ...] = field(default_factory=tuple)
    largest_tensor: int = 0    # bytes of the largest single array (a weight or a batch's output)
    biggest_outputs: tuple[str, ...] = ()   # the layers whose activations cost the most, in words

    @property
    def total(self) -> int:
        return (self.parameters + self.gradients + self.optimizer_state + self.weight_copies
                + self.activations + self.outputs)

    def parts(self) -> list[tuple[str, int]]:
        parts = [("parameters", self.parameters), ("gradients", self.gradients),
                 (self.optimizer_label, self.optimizer_state),
                 ("copies for prediction and rollback", self.weight_copies),
                 ("activations", self.activations), ("outputs kept per epoch", self.outputs)]
        return [(label, size) for label, size in parts if size]

    def describe(self) -> str:
        """``about 149 GiB (parameters 37.3 GiB, gradients 37.3 GiB, ...)``"""
        if self.total > ARRAY_LIMIT:
            return "more than 8 EiB"
        return f"about {bytes_text(self.total)} (" + ", ".join(
            f"{label} {bytes_text(size)}" for label, size in self.parts()) + ")"


def estimate_training_memory(spec: ModelSpec, report: ShapeReport, settings: TrainingSettings,
                             n_train: int, device: str = "cpu") -> MemoryEstimate:
    """What training ``spec`` with ``settings`` on ``n_train`` samples needs (see the module docstring)."""
    nodes = [report.nodes[node_id] for node_id in (report.order or list(report.nodes))]
    params = sum(node.param_count for node in nodes) * BYTES_PER_VALUE
    state_copies, state_label = optimizer_state_copies(settings)
    largest_params = max((node.param_count for node in nodes), default=0) * BYTES_PER_VALUE
    # The update's temporaries are about the size of the parameter it is on, one at a time.
    optimizer = state_copies * params + largest_params
    copies = (2 + settings.keep_best) * params   # predict()'s model, the last good epoch, the best epoch
    batch = min(settings.batch_size, max(n_train, 1))
    per_sample = [_saved_per_sample(spec, node) for node in nodes]
    # Training keeps every layer's output (and what it saves) for backward, and the gradients flowing
    # back are as large again; inference in batches of EVAL_BATCH keeps about one layer's worth.
    train = 2 * sum(per_sample) * batch
    evaluate = 2 * max(per_sample, default=0) * min(EVAL_BATCH, max(n_train, 1))
    activations = max(train, evaluate) * BYTES_PER_VALUE
    output = report.output_shape or ()
    # An epoch's outputs stay on the device until the epoch ends, then a host copy is put in order.
    outputs = 2 * n_train * math.prod(output) * BYTES_PER_VALUE
    # Name only layers that hold a real share: a 300-parameter head beside a 10 G layer is noise.
    ranked = sorted((node for node in nodes if node.param_count * 10 >= params // BYTES_PER_VALUE),
                    key=lambda node: -node.param_count)
    largest = tuple(LayerSize(node.name, node.type, node.input_shapes, node.output_shape or (), node.param_count)
                    for node in ranked[:LARGEST_SHOWN])
    largest_tensor = max(largest_params, largest_output(report) * max(batch, EVAL_BATCH) * BYTES_PER_VALUE)
    host = params if device != "cpu" else 0
    heavy = sorted(((values, node) for values, node in zip(per_sample, nodes) if values * 10 >= sum(per_sample)),
                   key=lambda pair: -pair[0])[:LARGEST_SHOWN]
    biggest = tuple(f"{_layer_text(node)} keeps {count_text(values)} values per sample for backward"
                    for values, node in heavy if values)
    return MemoryEstimate(device, params, params, optimizer, state_label, copies, activations, outputs, host,
                          largest, largest_tensor, biggest)


def largest_output(report: ShapeReport) -> int:
    """The most values one sample's output takes at any layer of the model of ``report``."""
    return max((math.prod(node.output_shape or ()) for node in report.nodes.values()), default=0)


def optimizer_state_copies(settings: TrainingSettings) -> tuple[int, str]:
    """(arrays the size of the parameters the optimizer keeps, a label for them)."""
    p = settings.optimizer_params
    name = settings.optimizer
    if name in ("adam", "adamw"):
        label = "AdamW state" if name == "adamw" else "Adam state"
        return 2 + bool(p.get("amsgrad")), label
    if name == "sgd":
        return (1, "SGD momentum") if p.get("momentum") else (0, "SGD update")
    if name == "rmsprop":
        return 1 + bool(p.get("momentum")) + bool(p.get("centered")), "RMSprop state"
    if name == "adagrad":
        return 1, "Adagrad state"
    if name == "adadelta":
        return 2, "Adadelta state"
    return 2, f"{name} state"   # unknown: assume Adam's two, the most any of ours keeps by default


def _saved_per_sample(spec: ModelSpec, node) -> int:
    """Values one sample leaves in memory at this node during a forward pass that keeps its graph."""
    out = math.prod(node.output_shape or ())
    params = spec.nodes[node.node_id].params
    if node.type in ("Conv1d", "Conv2d") and node.input_shapes:
        # im2col: every output position keeps a column of in_channels x kernel values for backward,
        # taken from a padded copy of the input
        shape = node.input_shapes[0]
        columns = shape[0] * math.prod(params["kernel_size"]) * math.prod((node.output_shape or (0,))[1:])
        return out + columns + math.prod(shape)
    if node.type == "ConvTranspose2d" and node.input_shapes:
        shape = node.input_shapes[0]
        return out + params["out_channels"] * math.prod(params["kernel_size"]) * math.prod(shape[1:])
    if "Norm" in node.type:
        return 2 * out   # the normalised input is kept beside the output
    if node.type in GATES and node.input_shapes:
        # every time step keeps its gates before and after their activations and its new state, for
        # each layer and direction (2 x gates + 1 matched a measured LSTM's peak within a few percent)
        steps = node.input_shapes[0][0]
        directions = 2 if params.get("bidirectional") else 1
        per_step = params["hidden_size"] * (2 * GATES[node.type] + 1)
        return out + steps * per_step * params["num_layers"] * directions
    return out


# -- what is available ---------------------------------------------------------------------------

def available_memory(device: str) -> tuple[int | None, str]:
    """(bytes free for a run on ``device``, how to name that place); None when it cannot be told."""
    if device == "cpu":
        return host_available(), "this machine"
    return gpu_available(device)


def host_available() -> int | None:
    """Memory the host can still give: Linux's MemAvailable, lowered by a container's limit where one
    is set; elsewhere the free physical pages; None when nothing says. (``ulimit -v`` is not read:
    the address space a process has reserved, thread arenas included, says little about what one
    more allocation can get, and a false refusal is worse than a run that fails and says so.)"""
    found = [value for value in (_meminfo_available(), _cgroup_available()) if value is not None]
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, OSError, ValueError):   # macOS and Windows lack it: do not guess
            return None
    return max(0, min(found))


def gpu_available(device: str) -> tuple[int | None, str]:
    """Free bytes on a CUDA device, with what cupy's pool has cached (it reuses those first)."""
    from layerforge.engine import backend  # noqa: PLC0415  (only for a GPU run)

    where = device
    try:
        dev = backend.as_device(device)
        cupy = backend.array_module(dev)
        with cupy.cuda.Device(dev.index or 0):
            free, _total = cupy.cuda.runtime.memGetInfo()
            cached = cupy.get_default_memory_pool().free_bytes()
        where = f"{device} ({backend.cuda_device_name(dev.index or 0)})"
        return int(free) + int(cached), where
    except Exception:  # a driver in trouble must not stop a run here; the run will say  # noqa: BLE001
        return None, where


def _meminfo_available() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


def _cgroup_available() -> int | None:
    """A container's memory limit (cgroup v2) less what it already uses, not counting the page cache,
    which the kernel gives back under pressure (memory.current counts it)."""
    base = Path("/sys/fs/cgroup")
    try:
        limit = (base / "memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int((base / "memory.current").read_text().strip())
        stat = dict(line.split() for line in (base / "memory.stat").read_text().splitlines() if " " in line)
        cache = int(stat.get("active_file", 0)) + int(stat.get("inactive_file", 0))
        return int(limit) - max(0, used - cache)
    except (OSError, ValueError):
        return None


# -- the check -----------------------------------------------------------------------------------

def check_training_memory(estimate: MemoryEstimate, available: int | None, where: str,
                          host_available_bytes: int | None = None) -> None:
    """TrainingError with the numbers when the run cannot fit; nothing when it may."""
    fix = _fix(estimate)
    if estimate.largest_tensor > ARRAY_LIMIT or estimate.total > ARRAY_LIMIT:
        raise TrainingError(f"the model needs {estimate.describe()}, more than any computer holds (an array "
                            f"holds at most 8 EiB); {fix}")
    if available is not None and estimate.total > USABLE_FRACTION * available:
        raise TrainingError(f"the model needs {estimate.describe()} but {where} has {bytes_text(available)} "
                            f"available; {fix}")
    if estimate.host and host_available_bytes is not None and estimate.host > USABLE_FRACTION * host_available_bytes:
        raise TrainingError(f"the model's parameters ({bytes_text(estimate.host)}) are built on the host before "
                            f"they move to {estimate.device}, but this machine has "
                            f"{bytes_text(host_available_bytes)} available; {fix}")


def check_model_fits(spec: ModelSpec, report: ShapeReport, settings: TrainingSettings, n_train: int,
                     device: str) -> MemoryEstimate:
    """Estimate, compare with what ``device`` (and the host) have free, and refuse what cannot fit."""
    estimate = estimate_training_memory(spec, report, settings, n_train, device)
    available, where = available_memory(device)
    check_training_memory(estimate, available, where, host_available() if device != "cpu" else None)
    return estimate


def choose_fitting_device(spec: ModelSpec, report: ShapeReport, settings: TrainingSettings, n_train: int,
                          device: str, reason: str) -> tuple[str, str, MemoryEstimate]:
    """(device, reason, estimate) for a run, refused (TrainingError) when it cannot fit. A GPU that
    'auto' picked but that cannot hold the run gives way to the CPU when the host can."""
    try:
        return device, reason, check_model_fits(spec, report, settings, n_train, device)
    except TrainingError as on_gpu:
        if settings.device != "auto" or device == "cpu":
            raise
        try:
            estimate = check_model_fits(spec, report, settings, n_train, "cpu")
        except TrainingError:
            raise on_gpu from None
        available, where = gpu_available(device)
        free = f"{where} has {bytes_text(available)} free" if available is not None else f"{where} is full"
        return "cpu", f"auto: CPU, because the run needs about {bytes_text(estimate.total)} and {free}", estimate


def _fix(estimate: MemoryEstimate) -> str:
    """What to change, naming the layers that cost the most."""
    weights = estimate.total - estimate.activations - estimate.outputs
    gpu = "" if estimate.device == "cpu" else ", or train on the CPU"
    if estimate.activations > weights and estimate.biggest_outputs:
        named = "; ".join(estimate.biggest_outputs)
        return f"use a smaller batch size or smaller layers{gpu} ({named})"
    named = "; ".join(layer.describe() for layer in estimate.largest)
    return f"make the layers smaller{gpu}" + (f" ({named})" if named else "")


def out_of_memory_message(error: MemoryError, phase: str, estimate: MemoryEstimate | None) -> str:
    """One line for an allocation that failed: where in the run, what the allocator said, what to do."""
    from layerforge.engine import backend  # noqa: PLC0415  (the engine's words for a GPU's failure)

    if backend.is_device_out_of_memory(error):
        error = backend.device_out_of_memory(error)
    name = type(error).__name__
    name = "MemoryError" if name.startswith("_") else name   # numpy's private _ArrayMemoryError
    said = " ".join(str(error).split()).rstrip(".") or "no details"
    guess = f" (the run was estimated to need about {bytes_text(estimate.total)})" if estimate is not None else ""
    advice = "" if isinstance(error, backend.DeviceOutOfMemoryError) else (
        "; use a smaller batch size or smaller layers" + ("" if estimate is None or estimate.device == "cpu"
                                                          else ", or train on the CPU"))
    return f"out of memory {phase}: {name}: {said}{guess}{advice}"


# -- words -----------------------------------------------------------------------------------------

def bytes_text(n: int) -> str:
    """``149 GiB``, ``37.3 GiB``, ``512 KiB``; never an OverflowError, however large ``n`` is."""
    if n > ARRAY_LIMIT:
        return "more than 8 EiB"
    for unit, size in (("EiB", 2 ** 60), ("PiB", 2 ** 50), ("TiB", 2 ** 40), ("GiB", 2 ** 30), ("MiB", 2 ** 20),
                       ("KiB", 2 ** 10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value >= 100 else f"{value:.1f} {unit}"
    return f"{n} bytes"


def count_text(n: int) -> str:
    """``10.0 G``, ``2.5 M``, ``1,200``, ``1.0e24``."""
    if n >= 10 ** 15:   # from the digits: a float could not hold 10^400
        digits = str(n)
        return f"{digits[0]}.{digits[1]}e{len(digits) - 1}"
    for unit, size in (("T", 10 ** 12), ("G", 10 ** 9), ("M", 10 ** 6)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:,}"


def _layer_text(node) -> str:
    """``fc1: Linear 100000 -> 100000`` (a NodeReport or a LayerSize)."""
    inputs = ", ".join(_shape_text(shape) for shape in node.input_shapes) if node.input_shapes else "?"
    return f"{node.name}: {node.type} {inputs} -> {_shape_text(node.output_shape or ())}"


def _shape_text(shape) -> str:
    shape = tuple(shape)
    return str(shape[0]) if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"
