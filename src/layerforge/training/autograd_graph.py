"""The computational graph one forward pass of a project's model builds in the engine, as plain data.

:class:`GraphProbe` builds the model of a spec (with given weights, or the Trainer's seeded initial
ones), runs forward and the loss on one batch of the training data, and walks the loss's ``grad_fn``
through ``next_functions`` as torchviz does. Each engine Node becomes an op node named as
``grad_fn.name()`` reports it; each parameter (an ``AccumulateGrad`` leaf) a param node named by its
state_dict key; the batch and the targets input nodes. Every node is grouped under the canvas layer
whose forward built it. After :meth:`GraphProbe.step` each node also holds the norm of the gradient
of its output, caught by tensor hooks during ``autograd.grad``: the weights and their ``.grad`` are
never touched (the probe's model is its own copy).

The walk reads the engine's graph as PyTorch's is read (``grad_fn``, ``next_functions``,
``AccumulateGrad.variable``) plus the engine's own link from a Node to its input Tensors
(``node.inputs``), which gives each node's output shape and value.
"""
from __future__ import annotations

import heapq
import threading
from dataclasses import dataclass, field

import numpy as np

from layerforge import engine
from layerforge.engine.autograd import AccumulateGrad
from layerforge.data import ArrayDataset
from layerforge.graph import GraphError, ModelSpec, compile_spec

from .build import make_loss, valid_shapes
from .errors import TrainingError
from .problem import Problem
from .settings import TrainingSettings

LOSS_GROUP = "loss"

# Where one engine Node does the work of several of PyTorch's: the names PyTorch's autograd gives the
# same computation, first to last (a Linear on a 2-D batch with bias; cross_entropy on class indices).
FUSED_IN_TORCH = {
    "LinearBackward": ("TBackward0", "AddmmBackward0"),
    "ClassIndexLossBackward": ("LogSoftmaxBackward0", "NllLossBackward0"),
}

_count_lock = threading.Lock()
_forward_passes = 0


def forward_pass_count() -> int:
    """How many forward passes the probes of this process have run (the views' cost, for tests)."""
    return _forward_passes


def _counted_forward() -> None:
    global _forward_passes
    with _count_lock:
        _forward_passes += 1


def torch_names(name: str) -> tuple[str, ...]:
    """PyTorch's grad_fn name(s) for an engine node name: ``TanhBackward`` -> ``("TanhBackward0",)``."""
    if name in FUSED_IN_TORCH:
        return FUSED_IN_TORCH[name]
    if name.startswith("torch::"):
        return (name,)
    return (name + "0",)


@dataclass
class GraphNode:
    """One node: ``kind`` is "op", "loss" (the op that gives the loss), "param" or "input"."""

    id: str
    name: str
    kind: str
    shape: tuple
    group: str | None = None          # the canvas layer (its name), LOSS_GROUP, or None for inputs
    grad_norm: float | None = None    # norm of the gradient of this node's output, after a step
    value: np.ndarray | None = field(default=None, repr=False)   # the output (a host copy)
    grad: np.ndarray | None = field(default=None, repr=False)    # its gradient, after a step
    dtype: str = "float32"
    device: str = "cpu"


@dataclass
class GraphEdge:
    """Forward direction: ``source``'s output is input number ``slot`` of ``target``."""

    source: str
    target: str
    slot: int


@dataclass
class AutogradGraph:
    """Nodes in forward order (inputs and parameters first, the loss last), edges, and the layer groups
    (``(name, layer type)`` in the model's order; only groups that hold nodes)."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    groups: list[tuple[str, str]]
    loss: float
    batch: np.ndarray                  # the training-sample indices of the batch
    stepped: bool = False
    backward_order: list = field(default_factory=list)   # op ids in the order backward reached them

    def node(self, node_id: str) -> GraphNode:
        return self._by_id()[node_id]

    def _by_id(self) -> dict:
        cache = self.__dict__.get("_index")
        if cache is None or len(cache) != len(self.nodes):
            cache = self.__dict__["_index"] = {n.id: n for n in self.nodes}
        return cache

    def named(self, name: str) -> list[GraphNode]:
        return [n for n in self.nodes if n.name == name]

    def inputs_of(self, node_id: str) -> list[str]:
        """The ids feeding ``node_id``, by slot."""
        return [e.source for e in sorted((e for e in self.edges if e.target == node_id), key=lambda e: e.slot)]

    def in_group(self, group: str) -> list[GraphNode]:
        return [n for n in self.nodes if n.group == group]


class GraphProbe:
    """A project's model ready to show the graph of one batch (see the module docstring).

    ``weights``: a state dict to start from; None builds the initial weights a run with these
    settings starts from (the settings' seed), without disturbing the engine's random stream.
    Raises TrainingError when the model is invalid or does not fit the data.
    """

    def __init__(self, spec: ModelSpec, dataset: ArrayDataset, settings: TrainingSettings, weights=None):
        report = valid_shapes(spec)
        self.spec, self.report, self.settings = spec.copy(), report, settings
        self.problem = Problem(self.spec, report, dataset, settings)
        self.model = _build_model(self.spec, settings.seed, weights)
        self.initial = weights is None
        self._loss = make_loss(settings)
        self.param_names = {id(p): name for name, p in self.model.named_parameters()}
        n = len(self.problem.train)
        if n == 0:
            raise TrainingError(f"dataset '{dataset.name}' leaves no samples to train on")
        self._order = np.random.default_rng(settings.seed).permutation(n)

    @property
    def batches(self) -> int:
        size = max(1, self.settings.batch_size)
        return max(1, -(-len(self._order) // size))

    def batch_indices(self, number: int) -> np.ndarray:
        """The training-sample indices of batch ``number`` (wrapping round): a fixed shuffled order."""
        size = max(1, self.settings.batch_size)
        start = (number % self.batches) * size
        return self._order[start:start + size]

    def graph(self, number: int = 0, step: bool = True, train_mode: bool = True) -> AutogradGraph:
        """The graph of batch ``number``; with ``step`` the gradient norms of a backward pass too."""
        index = self.batch_indices(number)
        return self.graph_of(index, step=step, train_mode=train_mode)

    def graph_of(self, index: np.ndarray, step: bool = True, train_mode: bool = True,
                 input_grad: bool = False) -> AutogradGraph:
        """The graph of the training samples ``index`` (see :meth:`graph`). ``input_grad`` makes the
        batch require grad, so its gradient is shown too (the step-through's first layer)."""
        train = self.problem.train
        x = engine.from_numpy(np.ascontiguousarray(train.x[index]))
        if input_grad and x.is_floating_point():
            x.requires_grad_(True)
        target = engine.from_numpy(np.ascontiguousarray(train.target[index]))
        trace = trace_graph(self.model, self.spec, self.report, x, target, self._loss, self.param_names,
                            train_mode=train_mode)
        if step:
            trace.backward()
        graph = trace.graph
        graph.batch = np.asarray(index)
        return graph


def _build_model(spec: ModelSpec, seed: int, weights):
    try:
        if weights is not None:
            model = compile_spec(spec)
            model.load_state_dict(weights)
            return model
        state = engine.random.get_rng_state()
        try:   # the Trainer's initial weights: the same seed before the same build
            engine.manual_seed(seed)
            return compile_spec(spec)
        finally:
            engine.random.set_rng_state(state)
    except GraphError as error:
        raise TrainingError(f"the model cannot be built: {error}") from None
    except (KeyError, RuntimeError, ValueError) as error:
        raise TrainingError(f"the weights do not fit the model: {error}") from None


# ------------------------------------------------------------------------------------- the walk
class GraphTrace:
    """One forward pass and the graph it built, still alive (so that a backward can follow)."""

    def __init__(self, graph: AutogradGraph, loss_tensor, params: list, param_ids: list, outputs: dict,
                 x=None, x_id: str | None = None, keep: list = ()):
        self.graph, self.loss_tensor, self.keep = graph, loss_tensor, keep
        self._params, self._param_ids, self._outputs = params, param_ids, outputs
        self._x, self._x_id = x, x_id

    def backward(self) -> None:
        """Gradients of the loss for every node, caught by hooks: no ``.grad`` is written."""
        caught: dict[str, list] = {}
        for node_id, tensors in self._outputs.items():
            for tensor in tensors:
                tensor.register_hook(_catcher(caught, node_id))
        wanted = list(self._params)
        wanted_ids = list(self._param_ids)
        if self._x is not None and self._x.requires_grad:
            wanted.append(self._x)
            wanted_ids.append(self._x_id)
        grads = engine.autograd.grad(self.loss_tensor, wanted, allow_unused=True) if wanted else ()
        by_id = self.graph._by_id()
        for node_id, g in zip(wanted_ids, grads):
            if g is not None:
                node = by_id[node_id]
                node.grad = _host(g)
        for node_id, parts in caught.items():
            node = by_id[node_id]
            node.grad = parts[0] if len(parts) == 1 else np.concatenate([p.ravel() for p in parts])
        loss_node = next(n for n in self.graph.nodes if n.kind == "loss")
        loss_node.grad = np.ones_like(loss_node.value)
        self.graph.backward_order = [loss_node.id] + list(caught)
        for node in self.graph.nodes:
            if node.grad is not None:
                node.grad_norm = float(np.linalg.norm(node.grad.astype(np.float64).ravel()))
        self.graph.stepped = True


def _catcher(caught: dict, node_id: str):
    def catch(grad):   # dicts keep insertion order: the order the backward walk reached the nodes
        caught.setdefault(node_id, []).append(_host(grad))
    return catch


def _host(tensor) -> np.ndarray:
    return np.array(tensor.detach().cpu().numpy(), copy=True)


def layer_outputs(model, spec: ModelSpec, report, x) -> tuple[object, dict]:
    """``model(x)`` and, by spec node id, the value that layer hands on (what its consumers receive),
    caught with forward hooks on the layers' modules. A module called with its layer's inputs shows
    what its sources handed on; a plain module's output is its layer's value. A layer that calls its
    module its own way (a custom forward, an output selection) or has none (a merge) is known by what
    the next plain module receives."""
    handed: dict[str, object] = {}
    made: dict[str, object] = {}
    handles = []
    for node_id in report.order:
        node = spec.nodes[node_id]
        module = getattr(model, node.name, None) if node.type != "Input" else None
        layer = node.layer
        if module is None or not isinstance(module, engine.nn.Module) or getattr(layer, "forward", None) is not None:
            continue
        plain_output = getattr(layer, "select_output", None) is None
        sources = [e.source for e in spec.inputs_of(node_id)]

        def record(_module, args, out, node_id=node_id, sources=sources, plain_output=plain_output):
            for source, arg in zip(sources, args):
                handed.setdefault(source, arg)
            if plain_output:
                made[node_id] = out
        handles.append(module.register_forward_hook(record))
    try:
        out = model(x)
    finally:
        for handle in handles:
            handle.remove()
    handed[report.output_id] = out
    values = {}
    for node_id in report.order:
        value = handed.get(node_id, made.get(node_id))
        if isinstance(value, engine.Tensor):
            values[node_id] = value
    return out, values


def trace_graph(model, spec: ModelSpec, report, x, target, loss_fn, param_names: dict,
                train_mode: bool = True) -> GraphTrace:
    """Run forward and the loss on ``x``, ``target`` and walk the graph (see the module docstring)."""
    model.train(train_mode)
    _counted_forward()
    with engine.enable_grad():
        out, values = layer_outputs(model, spec, report, x)
        loss = loss_fn(out, target)
    if loss.grad_fn is None:
        raise TrainingError("the loss does not depend on any parameter: there is no graph to show")

    # Which layer made each engine Node: walk back from each layer's handed-on value, in the model's
    # order, claiming the nodes no earlier layer claimed.
    owner: dict[int, str] = {}
    for node_id in report.order:
        value = values.get(node_id)
        if value is None or value.grad_fn is None:
            continue
        name = spec.nodes[node_id].name
        stack = [value.grad_fn]
        while stack:
            fn = stack.pop()
            if fn is None or id(fn) in owner or isinstance(fn, AccumulateGrad):
                continue
            owner[id(fn)] = name
            stack.extend(f for f, _ in fn.next_functions)
    layer_types = {spec.nodes[i].name: spec.nodes[i].type for i in report.order}

    nodes: dict[int, GraphNode] = {}
    edges: list[GraphEdge] = []
    outputs: dict[str, list] = {}
    keep: list = []                 # the walked Nodes stay alive (and their ids unique) while we work
    counter = iter(range(1 << 30))
    x_key = ("input", id(x))

    def new_id(prefix: str) -> str:
        return f"{prefix}{next(counter)}"

    def tensor_node(key, name, kind, tensor, group) -> GraphNode:
        node = nodes.get(key)
        if node is None:
            node = nodes[key] = GraphNode(new_id("p" if kind == "param" else "i"), name, kind,
                                          tuple(tensor.shape), group, value=_host(tensor),
                                          dtype=_dtype_name(tensor), device=str(tensor.device))
        return node

    root = loss.grad_fn
    keep.append(root)
    nodes[id(root)] = GraphNode(new_id("n"), root.name(), "loss", tuple(loss.shape), LOSS_GROUP,
                                value=_host(loss), dtype=_dtype_name(loss), device=str(loss.device))
    outputs[nodes[id(root)].id] = []
    visit = [root]
    seen = {id(root)}
    while visit:
        fn = visit.pop()
        consumer = nodes[id(fn)]
        inputs = fn.inputs or ()
        for slot, ((child, _index), tensor) in enumerate(zip(fn.next_functions, _padded(inputs, fn))):
            if child is None:
                if tensor is None:
                    continue
                if tensor is x:
                    source = tensor_node(x_key, "input", "input", tensor, None)
                elif tensor is target:
                    source = tensor_node(("target", id(tensor)), "target", "input", tensor, LOSS_GROUP)
                else:
                    continue   # a constant made inside an op (a mask, a scale): not a tensor a person fed
            elif isinstance(child, AccumulateGrad):      # a leaf that requires grad
                leaf = child.variable
                if leaf is x:
                    source = tensor_node(x_key, "input", "input", leaf, None)
                else:
                    name = param_names.get(id(leaf), "leaf")
                    source = tensor_node(("param", id(leaf)), name, "param", leaf, name.split(".")[0])
            else:
                if id(child) not in seen:
                    seen.add(id(child))
                    keep.append(child)
                    nodes[id(child)] = GraphNode(new_id("n"), child.name(), "op", (), owner.get(id(child)))
                    visit.append(child)
                source = nodes[id(child)]
                if tensor is not None and source.id not in outputs:
                    outputs[source.id] = [tensor]
                    source.shape = tuple(tensor.shape)
                    source.value = _host(tensor)
                    source.dtype, source.device = _dtype_name(tensor), str(tensor.device)
                elif tensor is not None and all(t is not tensor for t in outputs[source.id]):
                    outputs[source.id].append(tensor)   # another output of a multi-output node
            edges.append(GraphEdge(source.id, consumer.id, slot))

    # Unclaimed op nodes (the loss's own work, or a merge fed only by merges) join the loss group.
    for node in nodes.values():
        if node.kind == "op" and node.group is None:
            node.group = LOSS_GROUP
    param_rank = {name: i for i, name in enumerate(param_names.values())}
    ordered = _forward_order(list(nodes.values()), edges, param_rank)
    present = {n.group for n in ordered}
    groups = [(name, kind) for name, kind in layer_types.items() if name in present and kind != "Input"]
    groups.append((LOSS_GROUP, "Loss"))
    graph = AutogradGraph(ordered, edges, groups, float(loss.item()), np.arange(0))
    outputs.pop(nodes[id(root)].id, None)
    params = [n for n in nodes.items() if n[1].kind == "param"]
    leaves = {id(p): p for p in model.parameters()}
    param_tensors = [leaves[key[1]] for key, _node in params]
    return GraphTrace(graph, loss, param_tensors, [node.id for _key, node in params], outputs,
                      x=x, x_id=nodes[x_key].id if x_key in nodes else None, keep=keep)


def _padded(inputs, fn):
    """The input tensors slot by slot (None where a node keeps fewer than its next_functions)."""
    count = len(fn.next_functions)
    inputs = tuple(inputs)
    return inputs + (None,) * (count - len(inputs))


def _dtype_name(tensor) -> str:
    return str(tensor.dtype).rpartition(".")[2]   # "float32", as torch.float32 reads without its module


def _forward_order(nodes: list[GraphNode], edges: list[GraphEdge], param_rank: dict) -> list[GraphNode]:
    """Topological order: the batch, the parameters in the model's order, then each op once its inputs
    are placed (ties: the op found last walking back from the loss, i.e. the earliest in the forward)."""
    position = {n.id: -i for i, n in enumerate(nodes)}
    for n in nodes:
        if n.kind == "param":
            position[n.id] = param_rank.get(n.name, 0)
    incoming = {n.id: 0 for n in nodes}
    consumers: dict[str, list[str]] = {n.id: [] for n in nodes}
    for e in edges:
        incoming[e.target] += 1
        consumers[e.source].append(e.target)
    by_id = {n.id: n for n in nodes}
    result = []
    heap = [((_kind_rank(by_id[i]), position[i]), i) for i, count in incoming.items() if count == 0]
    heapq.heapify(heap)
    while heap:
        _, node_id = heapq.heappop(heap)
        result.append(by_id[node_id])
        for target in consumers[node_id]:
            incoming[target] -= 1
            if incoming[target] == 0:
                heapq.heappush(heap, ((_kind_rank(by_id[target]), position[target]), target))
    return result


def _kind_rank(node: GraphNode) -> int:
    return {"input": 0, "param": 1}.get(node.kind, 2)
