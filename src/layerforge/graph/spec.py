"""The model as data: a directed acyclic graph of layer nodes and edges, saved as JSON.

A node is one layer (id, type, name, parameters, canvas position); an edge feeds a node's output
into input ``index`` of another node (merges such as Add and Concat have several inputs). The
editing methods are what the canvas's undo commands call; each either does the edit or raises a
:class:`SpecError` saying why not, leaving the spec unchanged.

JSON form (``to_dict`` / ``from_dict``; every parameter is written out, tuples as lists)::

    {"format": "layerforge.graph", "version": 1,
     "nodes": [{"id": "n1", "type": "Input", "name": "input1",
                "params": {"shape": [2], "dtype": "float32"}, "position": [0.0, 0.0]}, ...],
     "edges": [{"source": "n1", "target": "n2", "index": 0}, ...]}
"""
from __future__ import annotations

import json
import keyword
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .catalog import get_layer
from .errors import GraphError, ParamError, SpecError
from .layer_type import LayerType

FORMAT = "layerforge.graph"
VERSION = 1
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # fullmatch: "$" would let a final newline through
# Names that would shadow Module attributes when the compiled model registers node names.
RESERVED_NAMES = frozenset({
    "forward", "training", "train", "eval", "parameters", "named_parameters", "buffers", "named_buffers",
    "children", "named_children", "modules", "named_modules", "state_dict", "load_state_dict", "to", "cpu",
    "cuda", "apply", "zero_grad", "add_module", "register_buffer", "register_parameter", "requires_grad_",
    "type", "float", "double", "half", "spec", "order", "input_name", "output_name", "extra_repr",
})


@dataclass
class Node:
    """One layer on the canvas. ``params`` holds every parameter in canonical form."""

    id: str
    type: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    position: tuple[float, float] = (0.0, 0.0)

    @property
    def layer(self) -> LayerType:
        return get_layer(self.type)

    @property
    def label(self) -> str:
        """How messages refer to the node: ``Linear 'fc2'``."""
        return f"{self.type} {self.name!r}"  # repr: a hostile name stays one line

    def to_dict(self) -> dict[str, Any]:
        layer = self.layer
        return {"id": self.id, "type": self.type, "name": self.name,
                "params": {name: layer.param(name).to_json(value) for name, value in self.params.items()},
                "position": [self.position[0], self.position[1]]}


@dataclass(frozen=True)
class Edge:
    """The output of ``source`` feeds input number ``index`` of ``target`` (node ids)."""

    source: str
    target: str
    index: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "index": self.index}


class ModelSpec:
    """A model graph. Nodes keep insertion order; edges are kept as a list."""

    def __init__(self, nodes: Iterable[Node] = (), edges: Iterable[Edge] = ()):
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []
        for node in nodes:
            self._add(node)
        for edge in edges:
            self._check_edge(edge)
            self.edges.append(edge)

    # -- reading ---------------------------------------------------------------------------------

    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise SpecError(f"no node with id {node_id!r} in the model", kind="unknown_node") from None

    def node_by_name(self, name: str) -> Node:
        for node in self.nodes.values():
            if node.name == name:
                return node
        raise SpecError(f"no layer named {name!r} in the model", kind="unknown_node")

    def inputs_of(self, node_id: str) -> list[Edge]:
        return sorted((e for e in self.edges if e.target == node_id), key=lambda e: e.index)

    def outputs_of(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.source == node_id]

    def unique_name(self, prefix: str) -> str:
        """``prefix`` followed by the smallest number not yet taken: fc1, fc2, ..."""
        taken = {node.name for node in self.nodes.values()}
        number = 1
        while f"{prefix}{number}" in taken:
            number += 1
        return f"{prefix}{number}"

    def topological_order(self) -> list[str]:
        """Node ids, every node after all of its inputs; GraphError(kind="cycle") names a cycle."""
        pending = {node_id: 0 for node_id in self.nodes}
        for edge in self.edges:
            pending[edge.target] += 1
        ready = [node_id for node_id in self.nodes if pending[node_id] == 0]
        order: list[str] = []
        while ready:
            node_id = ready.pop(0)
            order.append(node_id)
            for edge in self.outputs_of(node_id):
                pending[edge.target] -= 1
                if pending[edge.target] == 0:
                    ready.append(edge.target)
        if len(order) < len(self.nodes):
            cycle = self._find_cycle({node_id for node_id in self.nodes if node_id not in order})
            names = " -> ".join(f"'{self.nodes[node_id].name}'" for node_id in cycle)
            raise GraphError(f"the graph has a cycle: {names}; remove one of these connections",
                             kind="cycle", node_id=cycle[0], node_name=self.nodes[cycle[0]].name)
        return order

    def _find_cycle(self, candidates: set[str]) -> list[str]:
        # Every remaining node has an input from another remaining node; walking backwards must loop.
        node_id = min(candidates, key=list(self.nodes).index)
        seen: list[str] = []
        while node_id not in seen:
            seen.append(node_id)
            node_id = next(e.source for e in self.inputs_of(node_id) if e.source in candidates)
        cycle = seen[seen.index(node_id):]
        cycle.reverse()  # walked against the edges; report in the direction data flows
        first = min(range(len(cycle)), key=lambda i: list(self.nodes).index(cycle[i]))
        cycle = cycle[first:] + cycle[:first]
        return cycle + [cycle[0]]

    # -- editing ---------------------------------------------------------------------------------

    def add_node(self, layer_type: str, params: Mapping[str, Any] | None = None, *, name: str | None = None,
                 position: tuple[float, float] = (0.0, 0.0), node_id: str | None = None) -> Node:
        """Add a layer; its name defaults to the type's prefix plus a number (fc1, conv2, ...)."""
        layer = get_layer(layer_type)
        label = f"{layer_type} {name!r}" if name else layer_type
        node = Node(id=node_id or self._next_id(), type=layer_type,
                    name=name or self.unique_name(layer.name_prefix),
                    params=_parse_params(layer, params, label, node_id, name), position=_position(position, label))
        self._add(node)
        return node

    def remove_node(self, node_id: str) -> tuple[Node, list[Edge]]:
        """Remove a node and its edges; returns both so an undo command can put them back."""
        node = self.node(node_id)
        removed = [e for e in self.edges if node_id in (e.source, e.target)]
        self.edges = [e for e in self.edges if node_id not in (e.source, e.target)]
        del self.nodes[node_id]
        return node, removed

    def connect(self, source: str, target: str, index: int | None = None) -> Edge:
        """Feed ``source``'s output into ``target`` (its first free input unless ``index`` is given)."""
        src, dst = self.node(source), self.node(target)
        if self._reaches(target, source):
            raise SpecError(f"connecting {src.label} to {dst.label} would make a cycle", kind="cycle",
                            node_id=target, node_name=dst.name)
        if index is None:
            index = self._free_input(dst)
        edge = Edge(source, target, index)
        self._check_edge(edge)
        self.edges.append(edge)
        return edge

    def disconnect(self, source: str, target: str, index: int | None = None) -> Edge:
        for edge in self.edges:
            if edge.source == source and edge.target == target and index in (None, edge.index):
                self.edges.remove(edge)
                return edge
        raise SpecError(f"{self.node(source).label} is not connected to {self.node(target).label}",
                        kind="unknown_edge")

    def set_param(self, node_id: str, name: str, value: Any) -> Any:
        """Set one parameter from what a person typed; returns the canonical value stored."""
        node = self.node(node_id)
        params = dict(node.params)
        try:
            params[name] = node.layer.param(name).parse(value)
        except KeyError as error:
            raise SpecError(f"{node.label}: {error.args[0]}", kind="param", node_id=node_id,
                            node_name=node.name) from None
        node.params = _parse_params(node.layer, params, node.label, node_id, node.name)
        return node.params[name]

    def rename(self, node_id: str, name: str) -> None:
        node = self.node(node_id)
        _check_name(name, node.label, node_id)
        if any(other.name == name and other.id != node_id for other in self.nodes.values()):
            raise SpecError(f"the name {name!r} is already used by another layer; choose another",
                            kind="name", node_id=node_id, node_name=node.name)
        node.name = name

    def move(self, node_id: str, position: tuple[float, float]) -> None:
        node = self.node(node_id)
        node.position = _position(position, node.label)

    def insert_before(self, node_id: str, layer_type: str, params: Mapping[str, Any] | None = None,
                      input_index: int = 0) -> Node:
        """Put a new layer on input ``input_index`` of ``node_id`` (e.g. a Flatten before a Linear)."""
        target = self.node(node_id)
        feeding = [e for e in self.inputs_of(node_id) if e.index == input_index]
        x, y = target.position
        new = self.add_node(layer_type, params, position=(x - 90.0, y + 60.0))
        if feeding:
            self.edges.remove(feeding[0])
            self.edges.append(Edge(feeding[0].source, new.id, 0))
        self.edges.append(Edge(new.id, node_id, input_index))
        return new

    def apply_quick_fix(self, fix: Mapping[str, Any]) -> Node:
        """Apply a validation error's ``quick_fix``; returns the node inserted or changed.

        {"action": "insert", "type", "before", "input", "params"?}: a new layer on that input.
        {"action": "set_param", "node", "param", "value"}: change one parameter.
        """
        action = fix.get("action")
        if action == "insert":
            return self.insert_before(fix["before"], fix["type"], fix.get("params"), fix.get("input", 0))
        if action == "set_param":
            self.set_param(fix["node"], fix["param"], fix["value"])
            return self.node(fix["node"])
        raise SpecError(f"unknown quick fix action {action!r}", kind="quick_fix")

    def extract(self, node_ids: Iterable[str]) -> dict[str, Any]:
        """The chosen nodes and the edges between them, as JSON data (for copy and paste)."""
        chosen = [self.node(node_id) for node_id in node_ids]
        ids = {node.id for node in chosen}
        return {"format": FORMAT, "version": VERSION, "nodes": [node.to_dict() for node in chosen],
                "edges": [e.to_dict() for e in self.edges if e.source in ids and e.target in ids]}

    def paste(self, data: Mapping[str, Any], offset: tuple[float, float] = (30.0, 30.0)) -> list[Node]:
        """Add copies of ``extract()``-ed nodes with fresh ids (and fresh names where taken)."""
        clip = ModelSpec.from_dict(data)
        new_ids: dict[str, str] = {}
        added: list[Node] = []
        for node in clip.nodes.values():
            taken = any(other.name == node.name for other in self.nodes.values())
            name = self.unique_name(node.layer.name_prefix) if taken else node.name
            x, y = node.position
            added.append(self.add_node(node.type, node.params, name=name, position=(x + offset[0], y + offset[1])))
            new_ids[node.id] = added[-1].id
        for edge in clip.edges:
            self.edges.append(Edge(new_ids[edge.source], new_ids[edge.target], edge.index))
        return added

    def copy(self) -> "ModelSpec":
        return ModelSpec.from_dict(self.to_dict())

    # -- JSON ------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION,
                "nodes": [node.to_dict() for node in self.nodes.values()],
                "edges": [edge.to_dict() for edge in self.edges]}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> "ModelSpec":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise SpecError(f"the model is not valid JSON: {error.msg} at line {error.lineno}, column "
                            f"{error.colno}", kind="json") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ModelSpec":
        """Load a spec, checking everything; SpecError names the node or edge at fault."""
        if not isinstance(data, Mapping):
            raise SpecError(f"a model must be a JSON object, got {type(data).__name__}", kind="format")
        if data.get("format", FORMAT) != FORMAT:
            raise SpecError(f"not a Layerforge model graph (format {data.get('format')!r})", kind="format")
        version = data.get("version", VERSION)
        if not isinstance(version, int) or version > VERSION:
            raise SpecError(f"the model graph has version {version!r}, newer than this Layerforge reads "
                            f"({VERSION}); update Layerforge to open it", kind="version")
        nodes, edges = data.get("nodes", []), data.get("edges", [])
        if not isinstance(nodes, list) or not isinstance(edges, list):
            raise SpecError("'nodes' and 'edges' must be lists", kind="format")
        spec = cls()
        for position, entry in enumerate(nodes):
            spec._add(_node_from_dict(entry, position, spec))
        for position, entry in enumerate(edges):
            if not isinstance(entry, Mapping) or not {"source", "target"} <= set(entry):
                raise SpecError(f"edge {position} must be an object with 'source' and 'target'", kind="format")
            index = entry.get("index", 0)
            if not isinstance(index, int) or isinstance(index, bool):
                raise SpecError(f"edge {position}: 'index' must be an integer, got {index!r}", kind="format")
            edge = Edge(str(entry["source"]), str(entry["target"]), index)
            spec._check_edge(edge)
            spec.edges.append(edge)
        return spec

    def __eq__(self, other: object) -> bool:
        """Same nodes (ids, types, names, params, positions) and same edges, in any order."""
        if not isinstance(other, ModelSpec):
            return NotImplemented
        def key(spec):
            data = spec.to_dict()
            return (sorted(data["nodes"], key=lambda n: n["id"]),
                    sorted(data["edges"], key=lambda e: (e["source"], e["target"], e["index"])))
        return key(self) == key(other)

    def __repr__(self) -> str:
        return f"ModelSpec({len(self.nodes)} nodes, {len(self.edges)} edges)"

    # -- internals -------------------------------------------------------------------------------

    def _add(self, node: Node) -> None:
        if node.id in self.nodes:
            raise SpecError(f"two nodes have the id {node.id!r}; ids must be unique", kind="duplicate",
                            node_id=node.id, node_name=node.name)
        _check_name(node.name, node.label, node.id)
        for other in self.nodes.values():
            if other.name == node.name:
                raise SpecError(f"two layers are named {node.name!r}; rename one", kind="duplicate",
                                node_id=node.id, node_name=node.name)
        self.nodes[node.id] = node

    def _next_id(self) -> str:
        numbers = [int(node_id[1:]) for node_id in self.nodes if re.fullmatch(r"n\d+", node_id)]
        return f"n{max(numbers, default=0) + 1}"

    def _free_input(self, node: Node) -> int:
        taken = {e.index for e in self.inputs_of(node.id)}
        index = 0
        while index in taken:
            index += 1
        limit = node.layer.max_inputs
        # When every input is taken, point at input 0 so the refusal says "already connected".
        return 0 if limit is not None and index >= limit else index

    def _check_edge(self, edge: Edge) -> None:
        source, target = self.node(edge.source), self.node(edge.target)
        if edge.source == edge.target:
            raise SpecError(f"{source.label} cannot feed itself", kind="cycle", node_id=source.id,
                            node_name=source.name)
        layer = target.layer
        if layer.max_inputs == 0:
            raise SpecError(f"{target.label} takes no inputs", kind="edge", node_id=target.id,
                            node_name=target.name)
        if edge.index < 0 or (layer.max_inputs is not None and edge.index >= layer.max_inputs):
            count = "1 input" if layer.max_inputs == 1 else f"{layer.max_inputs} inputs"
            raise SpecError(f"{target.label} has {count}; there is no input {edge.index}", kind="edge",
                            node_id=target.id, node_name=target.name)
        for other in self.edges:
            if other.target == edge.target and other.index == edge.index:
                raise SpecError(f"input {edge.index} of {target.label} is already connected to "
                                f"{self.nodes[other.source].label}; disconnect it first", kind="edge",
                                node_id=target.id, node_name=target.name)

    def _reaches(self, start: str, goal: str) -> bool:
        stack, seen = [start], set()
        while stack:
            node_id = stack.pop()
            if node_id == goal:
                return True
            if node_id not in seen:
                seen.add(node_id)
                stack.extend(e.target for e in self.outputs_of(node_id))
        return False


def _parse_params(layer: LayerType, params: Mapping[str, Any] | None, label: str,
                  node_id: str | None, node_name: str | None = None) -> dict[str, Any]:
    if params is not None and not isinstance(params, Mapping):
        raise SpecError(f"{label}: 'params' must be an object", kind="param", node_id=node_id,
                        node_name=node_name)
    try:
        return layer.parse_params(params)
    except ParamError as error:
        raise SpecError(f"{label}: {error}", kind="param", node_id=node_id, node_name=node_name) from None


def _check_name(name: Any, label: str, node_id: str) -> None:
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name) or keyword.iskeyword(name):
        raise SpecError(f"{label}: the name {name!r} must start with a letter and use only letters, digits "
                        f"and '_' (it becomes the weights' key, e.g. 'fc1.weight')", kind="name",
                        node_id=node_id)
    if name in RESERVED_NAMES:
        raise SpecError(f"{label}: the name {name!r} is reserved; choose another", kind="name", node_id=node_id)


def _position(position: Any, label: str) -> tuple[float, float]:
    try:
        x, y = position
        return (float(x), float(y))
    except (TypeError, ValueError):
        raise SpecError(f"{label}: position must be two numbers [x, y], got {position!r}",
                        kind="format") from None


def _node_from_dict(entry: Any, position: int, spec: ModelSpec) -> Node:
    if not isinstance(entry, Mapping) or "id" not in entry or "type" not in entry:
        raise SpecError(f"node {position} must be an object with 'id' and 'type'", kind="format")
    node_id, layer_type = str(entry["id"]), entry["type"]
    name = entry.get("name")
    label = f"node {name!r} (id {node_id!r})" if name else f"node {node_id!r}"
    try:
        layer = get_layer(layer_type)
    except SpecError as error:
        raise SpecError(f"{label}: {error.message}", kind="unknown_type", node_id=node_id, node_name=name) from None
    name = name if name is not None else spec.unique_name(layer.name_prefix)
    label = f"{layer_type} {name!r}"
    node = Node(node_id, layer_type, name, _parse_params(layer, entry.get("params"), label, node_id, name),
                _position(entry.get("position", (0.0, 0.0)), label))
    return node
