"""Layer health: what happens inside the model while it learns, measured every few steps.

On a health step (the first, every ``HEALTH_EVERY``-th and the run's last) the Trainer asks a
:class:`HealthMonitor` for a probe before the forward pass. The probe hooks the layers' modules for
that one forward pass only (the hooks remove themselves when the model's forward returns), so the
other steps run exactly as without it. After backward it reads the gradients and keeps a copy of the
weights; after the optimizer's step it measures how far they moved, and turns everything into a
:class:`~layerforge.training.events.LayerHealth` event: per layer the gradient norm and the
update/weight ratio (layers with parameters), the share of dead (ReLU) or saturated (tanh, sigmoid)
units (activations), small histograms of activations and gradients, and a verdict with one sentence
of advice that names the layer. For a model whose input is a row of numbers it also runs the model
over a coarse grid of the plane of two input features (the first two, or the settings'
``view_features`` that a table's decision boundary is drawn over; the others at their training
means) and keeps each small layer's unit outputs there.
"""
from __future__ import annotations

import logging
import math

import numpy as np

from layerforge import engine
from layerforge.graph import ModelSpec, get_layer

from .errors import TrainingError
from .events import Histogram, LayerHealth, LayerReport

log = logging.getLogger(__name__)
HEALTH_EVERY = 50          # steps between measurements (plus the first and the run's last step). One
                           # costs about three steps of a tiny MLP (the spiral example's: 0.45 ms more
                           # than its 0.15 ms step): every 50th takes 6% of its throughput, 3.5% of the
                           # digits CNN's (benchmarks/bench_health.py, 2026-12-07)
HISTOGRAM_BINS = 20
HISTOGRAM_SAMPLE = 65536   # values a histogram looks at, at most: a big layer is sampled evenly
NEARLY_ALL = 0.95          # a unit is dead / saturated when it is so on this share of the batch
MOSTLY = 0.5               # a layer is "mostly dead / saturated" past this share of its units
VANISHING_RATIO = 1e-4     # a gradient this small next to the model's largest one has vanished
EXPLODING_UPDATE = 1.0     # one step moving the weights by more than their own norm
EXPLODING_GRAD = 1e3       # a gradient norm this many times the weights' norm (at least 1)
PLANE_GRID = 24            # unit maps: points per side of the input plane's grid
MAX_MAP_UNITS = 16         # unit maps are drawn for layers of at most this many units

DEAD_KINDS = ("ReLU",)     # activations whose output is exactly 0 over half their input
SATURATION = {             # activation: (low, high) limits past which its gradient is nearly 0
    "Tanh": (-0.99, 0.99),
    "Sigmoid": (0.01, 0.99),
}
SEVERITY = {"ok": "ok", "dead": "warning", "saturated": "warning", "vanishing": "warning", "exploding": "error"}


class HealthMonitor:
    """Measures the health of ``model``'s layers (compiled from ``spec``: submodules are named after
    the nodes). Layers without parameters that are not activations (pooling, reshaping) are left out."""

    def __init__(self, model, spec: ModelSpec, problem=None, device: str = "cpu", every: int = HEALTH_EVERY):
        self.model, self.every = model, max(1, int(every))
        self._problem, self._device = problem, device
        self.plane = InputPlane(problem, device) if problem is not None and InputPlane.fits(problem) else None
        children = dict(model.named_children())
        output_ids = {node_id for node_id in spec.nodes if not spec.outputs_of(node_id)}
        self.layers: list[_Layer] = []
        for node_id in spec.topological_order():
            node = spec.nodes[node_id]
            module = children.get(node.name)
            if module is None:
                continue
            params = [p for p in module.parameters() if p.requires_grad]
            activation = get_layer(node.type).category == "Activation"
            if not params and not activation:
                continue
            sources = [spec.nodes[edge.source] for edge in spec.inputs_of(node_id)]
            after = sources[0].name if len(sources) == 1 and sources[0].type != "Input" else ""
            self.layers.append(_Layer(node_id, node.name, node.type, module, params, after,
                                      node_id in output_ids))

    def due(self, step: int, last_of_run: bool) -> bool:
        """Whether (1-based) ``step`` is a health step: the first, every ``every``-th and the run's last
        (so that what a finished run shows is its final state). Not every epoch's last: a small data
        set's epochs of a few steps would make health steps several times as frequent."""
        return step == 1 or step % self.every == 0 or last_of_run

    def probe(self, step: int, last_of_run: bool = False, view_features=None) -> "HealthProbe | None":
        """Hooks for the next forward pass of the model (and only that one) when (1-based) ``step`` is
        a health step; else None. ``view_features``: the two input features the unit maps are drawn
        over (the settings' choice, which a person may change while the run trains); None, or
        features the data does not have: the first two."""
        if not self.due(step, last_of_run):
            return None
        if self.plane is not None:
            wanted = tuple(view_features) if view_features is not None else (0, 1)
            if wanted != self.plane.features:
                try:
                    self.plane = InputPlane(self._problem, self._device, wanted)
                except TrainingError:
                    self.plane = InputPlane(self._problem, self._device)
        return HealthProbe(self.model, self.layers, self.plane)


class _Layer:
    __slots__ = ("node_id", "name", "type", "module", "params", "after", "is_output")

    def __init__(self, node_id, name, layer_type, module, params, after, is_output):
        self.node_id, self.name, self.type, self.module = node_id, name, layer_type, module
        self.params, self.after, self.is_output = params, after, is_output


class HealthProbe:
    """One health step: ``model(x)`` records the layers' outputs, ``after_backward()`` reads the
    gradients (call it before clipping and the optimizer's step), ``report(epoch, step)`` after the
    step measures the update and returns the LayerHealth event. Arrays are read in place on the CPU
    (each is read before the next step changes it) and copied once from a GPU."""

    def __init__(self, model, layers: list[_Layer], plane: "InputPlane | None" = None):
        self.model, self.layers, self.plane = model, layers, plane
        self.failed = False
        self.outputs: dict[str, np.ndarray] = {}
        self.output_grads: dict[str, np.ndarray] = {}
        self.figures: dict[str, dict] = {layer.node_id: {} for layer in layers}
        self.gradients: dict[str, Histogram | None] = {}
        self.before: dict[str, list[np.ndarray]] = {}
        self._handles = [layer.module.register_forward_hook(self._recorder(layer)) for layer in layers]
        self._handles.append(model.register_forward_hook(lambda module, args, out: self._unhook()))

    def _recorder(self, layer: _Layer):
        def record(module, args, out):
            out = out[0] if isinstance(out, (tuple, list)) else out
            if not isinstance(out, engine.Tensor) or self.failed:
                return None
            try:
                self.outputs[layer.node_id] = out.numpy(force=True)
                if not layer.params and out.requires_grad:   # an activation: the gradient reaching its output
                    out.register_hook(lambda grad: self._keep_grad(layer.node_id, grad))
            except Exception:  # noqa: BLE001 (a report is a convenience: the step must not fail for it)
                self._fail()
            return None
        return record

    def _keep_grad(self, node_id: str, grad) -> None:
        try:
            self.output_grads[node_id] = _host_copy(grad)
        except Exception:  # noqa: BLE001
            self._fail()

    def _fail(self) -> None:
        if not self.failed:
            log.exception("measuring the layers' health failed; this step has no report")
        self.failed = True

    def _unhook(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def after_backward(self) -> None:
        self._unhook()   # a forward that failed half way never reached the model's own hook
        if self.failed:
            return
        try:
            for layer in self.layers:
                if not layer.params:
                    continue
                grads = [p.grad.numpy(force=True).ravel() for p in layer.params if p.grad is not None]
                grad = np.concatenate(grads) if grads else np.zeros(0, dtype=np.float32)
                self.figures[layer.node_id]["grad_norm"] = _norm(grad)
                self.gradients[layer.node_id] = histogram(grad)
                self.before[layer.node_id] = [_host_copy(p) for p in layer.params]
        except Exception:  # noqa: BLE001
            self._fail()

    def report(self, epoch: int, step: int) -> LayerHealth | None:
        """The LayerHealth event; None where measuring failed (logged: the run goes on without it)."""
        if self.failed:
            return None
        try:
            return self._report(epoch, step)
        except Exception:  # noqa: BLE001
            self._fail()
            return None

    def _report(self, epoch: int, step: int) -> LayerHealth:
        for layer in self.layers:
            self._measure(layer)
        largest = max((f["grad_norm"] for f in self.figures.values()
                       if "grad_norm" in f and math.isfinite(f["grad_norm"])), default=0.0)
        plane = self.plane
        maps = plane.unit_maps(self.model, self.layers) if plane is not None else {}
        reports = {}
        for layer in self.layers:
            f = self.figures[layer.node_id]
            verdict, text = classify(layer.name, layer.type, f, largest, after=layer.after,
                                     is_output=layer.is_output)
            gradients = (self.gradients.get(layer.node_id) if layer.params
                         else histogram(self.output_grads.get(layer.node_id)))
            reports[layer.node_id] = LayerReport(
                layer.node_id, layer.name, layer.type, verdict, text, SEVERITY[verdict],
                f.get("grad_norm"), f.get("weight_norm"), f.get("update_ratio"), f.get("dead_share"),
                f.get("saturated_share"), histogram(self.outputs.get(layer.node_id)), gradients,
                maps.get(layer.node_id))
        return LayerHealth(epoch, step, reports, plane.extent if plane is not None else None,
                           plane.names if plane is not None else ())

    def _measure(self, layer: _Layer) -> None:
        figures = self.figures[layer.node_id]
        before = self.before.get(layer.node_id)
        if before is not None:
            weight = math.sqrt(sum(_norm(w) ** 2 for w in before))
            moved = math.sqrt(sum(_norm(p.numpy(force=True) - w) ** 2 for p, w in zip(layer.params, before)))
            figures["weight_norm"] = weight
            figures["update_ratio"] = moved / weight if weight > 0 else (0.0 if moved == 0 else math.inf)
        out = self.outputs.get(layer.node_id)
        if out is not None and out.ndim >= 1 and len(out):
            if layer.type in DEAD_KINDS:
                figures["dead_share"] = unit_share(out == 0)
            elif layer.type in SATURATION:
                low, high = SATURATION[layer.type]
                figures["saturated_share"] = unit_share((out <= low) | (out >= high))


class InputPlane:
    """A PLANE_GRID x PLANE_GRID grid over the plane of two of a model's input features (the data's
    range and a tenth more on each side) with the other features at the training split's means, as
    the decision boundary's (snapshots.py), ready for the model to read. ``names``: the two features'
    names (across, up)."""

    def __init__(self, problem, device: str, features: tuple[int, int] = (0, 1)):
        x = np.asarray(problem.dataset.x, dtype=np.float64)
        count = x.shape[1]
        first, second = (int(f) for f in features)
        if not (0 <= first < count and 0 <= second < count) or first == second:
            raise TrainingError(f"the input plane needs two different features among the {count} of the data "
                                f"(numbered 0 to {count - 1}); got {first} and {second}")
        train = np.asarray(problem.train.raw.x, dtype=np.float64) if len(problem.train) else x
        low, high = x.min(axis=0), x.max(axis=0)
        margin = 0.1 * np.maximum(high - low, 1e-6)
        low, high = low - margin, high + margin
        xx, yy = np.meshgrid(np.linspace(low[first], high[first], PLANE_GRID),
                             np.linspace(low[second], high[second], PLANE_GRID))
        self.features = (first, second)
        self.extent = (float(low[first]), float(high[first]), float(low[second]), float(high[second]))
        names = list(getattr(problem.dataset, "feature_names", None) or ())
        self.names = tuple(names[f] if f < len(names) else f"feature {f + 1}" for f in self.features)
        raw = np.repeat(train.mean(axis=0, keepdims=True), PLANE_GRID * PLANE_GRID, axis=0)
        raw[:, first], raw[:, second] = xx.ravel(), yy.ravel()
        self.inputs = np.ascontiguousarray(problem.model_inputs(raw.astype(np.float32)), dtype=np.float32)
        self.device = device

    @staticmethod
    def fits(problem) -> bool:
        """Inputs of one row of at least two numbers (points in a plane, a table's rows)."""
        shape = tuple(problem.dataset.input_shape)
        return len(shape) == 1 and shape[0] >= 2 and problem.input_dtype is np.float32

    def unit_maps(self, model, layers: list[_Layer]) -> dict[str, np.ndarray]:
        """(units, G, G) outputs over the grid per layer of at most MAX_MAP_UNITS units, in eval mode."""
        maps: dict[str, np.ndarray] = {}

        def recorder(layer):
            def record(module, args, out):
                out = out[0] if isinstance(out, (tuple, list)) else out
                if isinstance(out, engine.Tensor) and out.ndim == 2 and out.shape[1] <= MAX_MAP_UNITS:
                    values = out.numpy(force=True).astype(np.float32, copy=False)
                    maps[layer.node_id] = np.ascontiguousarray(values.T).reshape(-1, PLANE_GRID, PLANE_GRID)
            return record

        handles = [layer.module.register_forward_hook(recorder(layer)) for layer in layers]
        training = model.training
        try:
            model.eval()
            with engine.no_grad():
                grid = engine.from_numpy(self.inputs)
                model(grid if self.device == "cpu" else grid.to(self.device))
        finally:
            for handle in handles:
                handle.remove()
            model.train(training)
        return maps


def unit_share(flags: np.ndarray) -> float:
    """The share of units for which ``flags`` (batch, ...) holds on nearly all samples. A unit is a
    channel of an image-shaped output (batch, channels, height, width), else one output value."""
    if flags.ndim == 4:
        per_unit = np.count_nonzero(flags, axis=(0, 2, 3)) / (flags.shape[0] * flags.shape[2] * flags.shape[3])
    else:
        per_unit = np.count_nonzero(flags.reshape(len(flags), -1), axis=0) / len(flags)
    return float(np.count_nonzero(per_unit >= NEARLY_ALL) / per_unit.size) if per_unit.size else 0.0


def classify(name: str, layer_type: str, figures: dict, largest_grad: float, after: str = "",
             is_output: bool = False) -> tuple[str, str]:
    """(verdict, sentence) for a layer's figures; ``largest_grad``: the largest gradient norm of any
    layer in the same step; ``after``: the layer feeding it, named in the advice."""
    grad, update = figures.get("grad_norm"), figures.get("update_ratio")
    weight = figures.get("weight_norm") or 0.0
    if grad is not None:
        if not math.isfinite(grad) or grad > EXPLODING_GRAD * max(weight, 1.0):
            return "exploding", (f"the gradients of {name} are exploding (norm {grad:.3g}, its weights' "
                                 f"{weight:.3g}): lower the learning rate or turn on gradient clipping")
        if update is not None and update > EXPLODING_UPDATE:
            return "exploding", (f"the updates of {name} explode: one step moved its weights by {update:.0%} "
                                 f"of their size; lower the learning rate or turn on gradient clipping")
        if largest_grad > 0 and grad < VANISHING_RATIO * largest_grad:
            how = ("no gradient reaches it" if grad == 0 else
                   f"its gradient norm is {grad:.2g}, {grad / largest_grad:.1g} of the largest layer's")
            return "vanishing", (f"the gradients of {name} have vanished ({how}), so it hardly learns: look "
                                 f"for dead or saturated units after it, or add BatchNorm or a skip connection")
    where = f"{name} (after {after})" if after else name
    dead = figures.get("dead_share")
    if dead is not None and dead > MOSTLY:
        return "dead", (f"most {layer_type} units in {where} are dead ({dead:.0%}): they output 0 for every "
                        f"sample and no longer learn; lower the learning rate or try LeakyReLU")
    saturated = figures.get("saturated_share")
    if saturated is not None and saturated > MOSTLY and not is_output:
        return "saturated", (f"most {layer_type} units in {where} are saturated ({saturated:.0%}): stuck at "
                             f"their limits, they pass almost no gradient back; lower the learning rate, "
                             f"standardise the inputs or add BatchNorm before {name}")
    return "ok", ""


def histogram(values: np.ndarray | None, bins: int = HISTOGRAM_BINS) -> Histogram | None:
    """``bins`` equal bins between the smallest and the largest finite value (of an even sample of
    HISTOGRAM_SAMPLE values for a bigger layer); None without any.
    Counted with bincount: np.histogram's generality costs more than the rest of a health step."""
    if values is None:
        return None
    flat = np.asarray(values).ravel()
    if flat.size > HISTOGRAM_SAMPLE:
        flat = flat[::math.ceil(flat.size / HISTOGRAM_SAMPLE)]
    low, high = float(flat.min(initial=np.inf)), float(flat.max(initial=-np.inf))
    if not (math.isfinite(low) and math.isfinite(high)):
        flat = flat[np.isfinite(flat)]
        if flat.size == 0:
            return None
        low, high = float(flat.min()), float(flat.max())
    if low == high:
        low, high = low - 0.5, high + 0.5
    scale = bins / (high - low)
    scaled = flat - np.asarray(low, dtype=flat.dtype)
    scaled *= np.asarray(scale, dtype=flat.dtype)
    index = scaled.astype(np.intp)
    np.minimum(index, bins - 1, out=index)
    counts = np.bincount(index, minlength=bins)
    return Histogram(counts.astype(np.int64), low + np.arange(bins + 1) / scale)


def _host_copy(tensor) -> np.ndarray:
    """A host copy of ``tensor``'s values, safe from later in-place changes."""
    values = tensor.numpy(force=True)   # a GPU tensor's values come over as a fresh host array
    return values if tensor.is_cuda else values.copy()


def _norm(values: np.ndarray) -> float:
    flat = values.ravel()
    return math.sqrt(float(np.dot(flat, flat))) if flat.size else 0.0
