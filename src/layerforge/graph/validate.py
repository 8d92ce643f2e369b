"""Validation with shape inference: for every node its output shape, or an error saying why not.

``infer_shapes(spec)`` never raises for a bad graph; it returns a :class:`ShapeReport` that a canvas
reads to label edges with shapes and paint failing nodes red (with the reason and a quick fix), and
that the trainer and the CLI turn into one clear message with ``report.raise_if_invalid()``.
Shapes never include the batch dimension.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import GraphError, ShapeError
from .layer_type import Shape
from .shape_rules import fmt, numel
from .spec import Edge, ModelSpec

BYTES_PER_VALUE = 4  # float32, the engine's default dtype


@dataclass
class NodeReport:
    """What validation found for one node. ``output_shape`` is None when it (or an input) failed."""

    node_id: str
    name: str
    type: str
    input_shapes: tuple[Shape, ...] = ()
    output_shape: Shape | None = None
    error: GraphError | None = None
    param_count: int = 0
    dtype: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.output_shape is not None

    @property
    def param_bytes(self) -> int:
        return self.param_count * BYTES_PER_VALUE

    def activation_bytes(self, batch_size: int = 1) -> int:
        """Bytes of this node's output for a batch (float32); 0 when the shape is unknown."""
        return 0 if self.output_shape is None else numel(self.output_shape) * batch_size * BYTES_PER_VALUE


@dataclass
class ShapeReport:
    """Validation of a whole spec: per-node reports (by node id), all errors, and totals."""

    nodes: dict[str, NodeReport] = field(default_factory=dict)
    errors: list[GraphError] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    input_id: str | None = None
    output_id: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def input_shape(self) -> Shape | None:
        return None if self.input_id is None else self.nodes[self.input_id].output_shape

    @property
    def output_shape(self) -> Shape | None:
        return None if self.output_id is None else self.nodes[self.output_id].output_shape

    def shape_of(self, node_id: str) -> Shape | None:
        report = self.nodes.get(node_id)
        return None if report is None else report.output_shape

    def edge_label(self, edge: Edge) -> str:
        """The shape an edge carries, as the canvas prints it: ``(16, 7, 7)``, or ``?`` when unknown."""
        shape = self.shape_of(edge.source)
        return "?" if shape is None else fmt(shape)

    def errors_for(self, node_id: str) -> list[GraphError]:
        return [error for error in self.errors if error.node_id == node_id]

    @property
    def total_params(self) -> int:
        return sum(report.param_count for report in self.nodes.values())

    @property
    def param_bytes(self) -> int:
        return self.total_params * BYTES_PER_VALUE

    def memory_bytes(self, batch_size: int = 1) -> int:
        """Parameters plus every node's output for one forward pass of ``batch_size`` samples.

        A rough guide: training also keeps gradients (as large as the parameters) and optimizer state.
        """
        return self.param_bytes + sum(r.activation_bytes(batch_size) for r in self.nodes.values())

    def raise_if_invalid(self) -> None:
        """Raise the first error; the message lists how many more there are."""
        if self.errors:
            first = self.errors[0]
            more = len(self.errors) - 1
            suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
            raise GraphError(first.message + suffix, kind=first.kind, node_id=first.node_id,
                             node_name=first.node_name, quick_fix=first.quick_fix)

    def summary(self) -> str:
        """A plain-text table, like a Keras summary: name, type, output shape, parameters."""
        rows = [("name", "type", "output shape", "params")]
        for node_id in self.order or list(self.nodes):
            r = self.nodes[node_id]
            shape = "error" if r.error else ("?" if r.output_shape is None else fmt(r.output_shape))
            rows.append((r.name, r.type, shape, f"{r.param_count:,}"))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
        lines.append(f"total parameters: {self.total_params:,} ({self.param_bytes / 1024:.1f} KiB)")
        lines.extend(f"error: {error.message}" for error in self.errors)
        return "\n".join(lines)


def require_valid(spec: ModelSpec, error_type: type[Exception] = GraphError, context: str = "") -> ShapeReport:
    """``spec``'s shape report, or ``error_type("<context>: <first problem>")`` while it is invalid.

    Training, prediction and export each refuse an invalid model with their own error type; the
    check and the wording of the problem are the same for all of them.
    """
    report = infer_shapes(spec)
    try:
        report.raise_if_invalid()
    except GraphError as error:
        if error_type is GraphError and not context:
            raise
        raise error_type(f"{context}: {error}" if context else str(error)) from None
    return report


def infer_shapes(spec: ModelSpec) -> ShapeReport:
    """Validate ``spec`` and infer every node's output shape (see the module docstring)."""
    report = ShapeReport(nodes={node_id: NodeReport(node_id, node.name, node.type)
                                for node_id, node in spec.nodes.items()})
    _check_ends(spec, report)
    try:
        report.order = spec.topological_order()
    except GraphError as cycle:
        report.errors.append(cycle)
        report.nodes[cycle.node_id].error = cycle
        return report
    for node_id in report.order:
        _infer_node(spec, node_id, report)
    return report


def _fail(report: ShapeReport, error: GraphError) -> None:
    report.errors.append(error)
    if error.node_id is not None and report.nodes[error.node_id].error is None:
        report.nodes[error.node_id].error = error


def _check_ends(spec: ModelSpec, report: ShapeReport) -> None:
    """Exactly one Input and exactly one output (a node nothing else reads from)."""
    if not spec.nodes:
        _fail(report, GraphError("the model is empty: add an Input layer from the Input/Output group",
                                 kind="no_input"))
        return
    inputs = [node for node in spec.nodes.values() if node.type == "Input"]
    if not inputs:
        _fail(report, GraphError("the model has no Input layer: add one from the Input/Output group and "
                                 "connect it to the first layer", kind="no_input"))
    else:
        report.input_id = inputs[0].id
        for extra in inputs[1:]:
            _fail(report, GraphError(f"Input '{extra.name}' is a second Input layer; only one Input is "
                                     f"supported for now: remove it", kind="multiple_inputs",
                                     node_id=extra.id, node_name=extra.name))
    sinks = [node for node in spec.nodes.values() if not spec.outputs_of(node.id) and node.type != "Input"]
    if not sinks:
        if inputs and not any(spec.outputs_of(node.id) for node in inputs):
            _fail(report, GraphError("the model has no output: connect layers after the Input", kind="no_output"))
        return
    if len(sinks) > 1:
        names = ", ".join(f"'{node.name}'" for node in sinks)
        _fail(report, GraphError(f"the model has {len(sinks)} outputs ({names}); only one output is supported "
                                 f"for now: connect or delete all but the last layer", kind="multiple_outputs",
                                 node_id=sinks[0].id, node_name=sinks[0].name))
    else:
        report.output_id = sinks[0].id


def _infer_node(spec: ModelSpec, node_id: str, report: ShapeReport) -> None:
    node, mine = spec.nodes[node_id], report.nodes[node_id]
    layer = node.layer
    edges = spec.inputs_of(node_id)
    if layer.min_inputs > 0 and not edges:
        _fail(report, GraphError(f"{node.label} has no input: connect a layer's output to it", kind="dangling",
                                 node_id=node_id, node_name=node.name))
        return
    if len(edges) < layer.min_inputs:
        _fail(report, GraphError(f"{node.label} needs at least {layer.min_inputs} inputs but has {len(edges)}: "
                                 f"connect another layer to it", kind="dangling", node_id=node_id,
                                 node_name=node.name))
        return
    if layer.max_inputs is not None and layer.min_inputs == layer.max_inputs:
        missing = sorted(set(range(layer.max_inputs)) - {e.index for e in edges})
        if missing:
            _fail(report, GraphError(f"{node.label} has nothing connected to input {missing[0]}", kind="dangling",
                                     node_id=node_id, node_name=node.name))
            return
    in_shapes = tuple(report.nodes[e.source].output_shape for e in edges)
    if any(shape is None for shape in in_shapes):
        return  # an upstream node failed and carries the error; this one cannot be judged yet
    mine.input_shapes = in_shapes
    if not _check_dtypes(spec, node_id, edges, report):
        return
    try:
        mine.output_shape = layer.infer(node.params, in_shapes)
    except ShapeError as error:
        fix = None
        if error.quick_fix is not None:
            fix = {**error.quick_fix, "before": node_id}
            fix.setdefault("input", 0)
            fix.setdefault("label", _insert_label(fix))
        kind = "merge" if layer.category == "Merge" else "shape"
        _fail(report, GraphError(f"{node.label} {error.message}", kind=kind, node_id=node_id,
                                 node_name=node.name, quick_fix=fix))
        return
    mine.param_count = layer.count_params(node.params, in_shapes)


def _check_dtypes(spec: ModelSpec, node_id: str, edges, report: ShapeReport) -> bool:
    """Token indices (int64) go into Embedding; everything else computes on float32."""
    node, mine = spec.nodes[node_id], report.nodes[node_id]
    layer = node.layer
    got = [report.nodes[e.source].dtype for e in edges]
    wanted = layer.input_dtype
    if node.type == "Input":
        mine.dtype = node.params["dtype"]
        return True
    mine.dtype = layer.output_dtype or got[0]
    if wanted is None or all(dtype == wanted for dtype in got):
        return True
    source = spec.nodes[edges[next(i for i, dtype in enumerate(got) if dtype != wanted)].source]
    if wanted == "int64":
        fix, hint = None, ""
        if source.type == "Input":
            fix = {"action": "set_param", "node": source.id, "param": "dtype", "value": "int64",
                   "label": f"Set the dtype of {source.label} to int64"}
            hint = f": set the dtype of {source.label} to int64"
        message = f"{node.label} looks up int64 token indices, but gets float32 values from {source.label}{hint}"
    else:
        fix = {"action": "insert", "type": "Embedding", "before": node_id, "input": 0, "label": "Insert Embedding"}
        message = (f"{node.label} computes on float32, but gets int64 token indices from {source.label}: insert "
                   f"an Embedding, or set the Input's dtype to float32")
    _fail(report, GraphError(message, kind="dtype", node_id=node_id, node_name=node.name, quick_fix=fix))
    return False


def _insert_label(fix) -> str:
    """The button text for an insert fix: "Insert Flatten", "Insert Reshape to (1, 28, 28)"."""
    shape = (fix.get("params") or {}).get("shape")
    return f"Insert {fix['type']}" + (f" to {fmt(shape)}" if shape else "")
