"""One layer of a model, one sample, operation by operation: the forward values, then the gradients
that backpropagation hands each operation, as a teacher draws them by hand.

Nothing is re-computed here: :func:`record_layer` runs the engine's forward and backward once on the
chosen sample (through :class:`~layerforge.training.autograd_graph.GraphProbe`, so no weight and no
``.grad`` changes) and lists, in the engine's own order, what each of the layer's Nodes received and
gave: forward in the order the ops ran, backward in the order the engine's backward walk reached them.
The model runs in evaluation mode (one sample: batch norm uses its running statistics, dropout is off).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .autograd_graph import AutogradGraph, GraphNode, GraphProbe
from .errors import TrainingError

# What each kind of operation computes, in words a learner reads beside the numbers (the engine's names).
WHAT_IT_DOES = {
    "LinearBackward": ("y = x·Wᵀ + b", "∂L/∂x = g·W,  ∂L/∂W = gᵀ·x,  ∂L/∂b = Σ g"),
    "TanhBackward": ("y = tanh(x)", "∂L/∂x = g·(1 − y²)"),
    "SigmoidBackward": ("y = 1 / (1 + e^−x)", "∂L/∂x = g·y·(1 − y)"),
    "ReluBackward": ("y = max(x, 0)", "∂L/∂x = g where x > 0, else 0"),
    "LeakyReluBackward": ("y = x if x > 0 else a·x", "∂L/∂x = g where x > 0, else a·g"),
    "GeluBackward": ("y = x·Φ(x)", "∂L/∂x = g·(Φ(x) + x·φ(x))"),
    "Conv2dBackward": ("y = W ⋆ x + b (cross-correlation)", "∂L/∂x = Wᵀ ⋆ g (transposed),  ∂L/∂W = x ⋆ g"),
    "MaxPool2dBackward": ("y = max over each window", "∂L/∂x = g at each window's maximum, 0 elsewhere"),
    "ReshapeBackward": ("y = x viewed in a new shape", "∂L/∂x = g reshaped back"),
    "AddBackward": ("y = a + b", "∂L/∂a = g,  ∂L/∂b = g"),
    "BatchNormBackward": ("y = γ·(x − μ)/σ + β", "∂L/∂γ = Σ g·x̂,  ∂L/∂β = Σ g, ∂L/∂x through x̂"),
    "SoftmaxBackward": ("y = eˣ / Σ eˣ", "∂L/∂x = y·(g − Σ g·y)"),
    "ClassIndexLossBackward": ("L = −log softmax(x)[label], averaged", "∂L/∂x = (softmax(x) − onehot) / N"),
    "MseLossBackward": ("L = mean((x − t)²)", "∂L/∂x = 2·(x − t) / N"),
}


@dataclass
class RecordedTensor:
    """A value an operation read or wrote, and its gradient (∂loss/∂it) once backward has run."""

    label: str
    kind: str                      # "param", "input" (from the data or an earlier layer), "op"
    value: np.ndarray
    grad: np.ndarray | None


@dataclass
class OpStep:
    """One operation of the layer in one direction."""

    phase: str                     # "forward" or "backward"
    node_id: str
    name: str                      # grad_fn.name()
    formula: str
    inputs: list[RecordedTensor]
    output: RecordedTensor


@dataclass
class LayerRecording:
    layer: str
    layer_type: str
    sample: int
    label: str                     # the sample's target as a person reads it ("arm 2", "0.53")
    loss: float
    forward: list[OpStep] = field(default_factory=list)
    backward: list[OpStep] = field(default_factory=list)

    @property
    def steps(self) -> list[OpStep]:
        return self.forward + self.backward


def record_layer(probe: GraphProbe, layer: str, sample: int) -> LayerRecording:
    """The forward and backward operations of ``layer`` (a canvas layer's name) on training sample
    ``sample``. TrainingError when the layer does not exist, makes no operation, or the sample is out of range."""
    n = len(probe.problem.train)
    if not 0 <= sample < n:
        raise TrainingError(f"sample {sample} is out of range: the training data has {n} samples (0 to {n - 1})")
    layers = {spec_node.name: spec_node.type for spec_node in probe.spec.nodes.values()}
    if layer not in layers and layer != "loss":
        raise TrainingError(f"there is no layer named '{layer}' in the model")
    graph = probe.graph_of(np.array([sample]), step=True, train_mode=False, input_grad=True)
    ops = [node for node in graph.nodes if node.group == layer and node.kind in ("op", "loss")]
    if not ops:
        raise TrainingError(f"layer '{layer}' passes its input on unchanged in evaluation mode: it has no "
                            f"operation to step through")
    recording = LayerRecording(layer, layers.get(layer, "Loss"), sample, _label_of(probe, sample), graph.loss)
    for node in ops:
        recording.forward.append(_step(graph, node, layer, "forward"))
    loss_step = next((step for step in recording.forward if step.node_id == ops[-1].id and ops[-1].kind == "loss"), None)
    if loss_step is not None and not any(t.label == "target" for t in loss_step.inputs):
        # A loss on class indices keeps its targets inside its node: shown beside it, as what it compares with.
        target = np.asarray(probe.problem.train.target[[sample]])
        loss_step.inputs.append(RecordedTensor("target", "input", target, None))
    position = {node_id: i for i, node_id in enumerate(graph.backward_order)}
    for node in sorted(ops, key=lambda node: position.get(node.id, len(position))):
        recording.backward.append(_step(graph, node, layer, "backward"))
    return recording


def _step(graph: AutogradGraph, node: GraphNode, layer: str, phase: str) -> OpStep:
    inputs = [_recorded(graph.node(i), layer) for i in graph.inputs_of(node.id)]
    forward_text, backward_text = WHAT_IT_DOES.get(node.name, ("", ""))
    return OpStep(phase, node.id, node.name, forward_text if phase == "forward" else backward_text,
                  inputs, _recorded(node, layer, own=True))


def _recorded(node: GraphNode, layer: str, own: bool = False) -> RecordedTensor:
    if node.kind == "param":
        label = node.name
    elif node.kind == "input":
        label = "x (the sample)" if node.name == "input" else node.name
    elif own or node.group == layer:
        label = f"{node.name} output"
    else:
        label = f"{node.group} output"
    kind = node.kind if node.kind in ("param", "input") else ("op" if node.group == layer else "input")
    value = node.value if node.value is not None else np.zeros(node.shape, np.float32)
    return RecordedTensor(label, kind, value, node.grad)


def _label_of(probe: GraphProbe, sample: int) -> str:
    raw = probe.problem.train.raw
    y = np.asarray(raw.y[sample]) if raw.y is not None else None
    if y is None:
        return ""
    names = probe.problem.class_names
    if names and y.size == 1 and 0 <= int(y) < len(names):
        return str(names[int(y)])
    return np.array2string(y.ravel()[:4], precision=3) if y.size > 1 else f"{float(y):.4g}"
