"""Reverse-mode automatic differentiation: graph nodes and the backward walk (grad mode, in
grad_mode.py, anomaly detection, in anomaly.py, and custom Functions, in custom_function.py, are
re-exported here under torch.autograd's names).

Graph shape: a result Tensor points to the ``Node`` that made it (``grad_fn``); the node points to its
input Tensors. Nothing points forward, so a graph nobody references is freed by reference counting,
without the garbage collector. Backward walks nodes iteratively in decreasing generation order, so
every node sees the complete gradient of its outputs before it runs and deep graphs never recurse.
"""
from __future__ import annotations

import heapq
import weakref
from itertools import count

import numpy as np

from . import anomaly, backend
from .anomaly import detect_anomaly, set_detect_anomaly
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
                        set_grad_enabled)

# The engine's one import cycle (Tensor builds Nodes; the backward walk builds Tensors) is closed in
# one place: tensor._late_bindings() sets this once every engine module has loaded.
Tensor = None

__all__ = [
    "Node", "Function", "FunctionCtx", "backward", "grad", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled", "inference_mode", "is_inference_mode_enabled", "detect_anomaly",
    "set_detect_anomaly",
]


# ----------------------------------------------------------------------------------------- nodes
class Node:
    """One differentiable operation in the graph.

    Subclasses implement ``forward(*arrays)`` on raw numpy/cupy arrays (returning an array, or a tuple
    for several outputs) and ``backward(*grad_outputs)`` returning one gradient array (or None) per
    input. They keep what backward needs as plain attributes; once backward has run those are dropped,
    so memory is returned as soon as the walk passes.
    """

    # Class-level defaults keep node creation cheap: an instance stores only what differs.
    inputs = None
    generation = 0
    n_outputs = 1
    _retained = None
    _hooks = None

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, *grad_outputs):
        raise NotImplementedError

    def name(self) -> str:
        """The node's name in PyTorch's style (``grad_fn.name()``): MulBackward for Mul."""
        return type(self).__name__ + "Backward"

    @property
    def next_functions(self) -> tuple:
        """``(node, output index)`` for each input, as PyTorch's: the input's grad_fn, an
        AccumulateGrad for a leaf that requires grad, None for a constant."""
        return tuple(_next_function(t) for t in (self.inputs or ()))

    @property
    def metadata(self) -> dict:
        meta = self.__dict__.get("_metadata")
        if meta is None:
            meta = self._metadata = {}
        return meta

    def release(self):
        """Drop what backward needed (inputs too); a second backward through this node then raises."""
        self.__dict__.clear()

    @property
    def _released(self) -> bool:
        return self.inputs is None

    def __repr__(self):
        return f"<{self.name()}>"


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf that requires grad: its ``variable`` is the leaf."""

    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self):
        return "<AccumulateGrad>"


def _next_function(tensor):
    if tensor is None or not getattr(tensor, "requires_grad", False):
        return (None, 0)
    if tensor.grad_fn is None:
        return (AccumulateGrad(tensor), 0)
    return (tensor.grad_fn, tensor._out_idx)


_counter = count()
_SECOND_BACKWARD = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward(). Specify retain_graph=True if you need to backward through the graph a second time.")


def _retain(node: Node, index: int, tensor) -> None:
    retained = getattr(node, "_retained", None)
    if retained is None:
        retained = {}
        node._retained = retained
    retained[index] = weakref.ref(tensor)


def _add_hook(node: Node, index: int, hook) -> None:
    hooks = getattr(node, "_hooks", None)
    if hooks is None:
        hooks = {}
        node._hooks = hooks
    hooks.setdefault(index, []).append(hook)


def _run_hooks(hooks, grad_array, wrap):
    for hook in hooks:
        result = hook(wrap(grad_array))
        if result is not None:
            grad_array = result._data
    return grad_array


def run_backward(roots, retain_graph: bool = False, capture=None):
    """Propagate ``roots`` (pairs of Tensor and gradient array) back through the graph, on the roots' GPU
    (cupy computes on the current one); a node on another GPU switches to its own."""
    guard = backend.other_gpu(roots[0][1]) if roots and type(roots[0][1]) is not np.ndarray else None
    if guard is None:
        return _run_backward(roots, retain_graph, capture)
    with guard:
        return _run_backward(roots, retain_graph, capture)


class _Walk:
    """One backward walk's state: the gradients that have reached some node's outputs, summed per
    output, and the queue of those nodes (latest generation first, so a node runs only once every
    gradient of its outputs has arrived); the captured gradients (``autograd.grad``); the ids of
    arrays some ``.grad`` owns (never added into in place); the leaves with post-accumulate-grad
    hooks that received a gradient."""

    __slots__ = ("sums", "queue", "captured", "handed_out", "accumulated")

    def __init__(self, captured):
        self.sums: dict = {}
        self.queue: list = []
        self.captured = captured
        self.handed_out: set = set()
        self.accumulated: list = []

    def add(self, node, index: int, g) -> None:
        sums = self.sums
        if node.n_outputs == 1:  # the usual node: its pending gradient is a bare array, not a list
            previous = sums.get(node)
            if previous is None:
                sums[node] = g
                heapq.heappush(self.queue, (-node.generation, next(_counter), node))
            else:
                sums[node] = _summed(previous, g)
            return
        slots = sums.get(node)
        if slots is None:
            slots = sums[node] = [None] * node.n_outputs
            heapq.heappush(self.queue, (-node.generation, next(_counter), node))
        slots[index] = g if slots[index] is None else _summed(slots[index], g)


def _to_leaf(walk, tensor, g):
    wrap, handed_out = Tensor._wrap, walk.handed_out
    if _post_accumulate_hooks and id(tensor) in _post_accumulate_hooks:
        walk.accumulated.append(tensor)  # its hooks run once the walk is over, as PyTorch's do
    if tensor.grad is None and g.base is None and tensor._hooks is None and id(g) not in handed_out:
        handed_out.add(id(g))  # the usual case: a fresh array becomes the leaf's .grad
        tensor.grad = wrap(g)
        return
    if tensor._hooks:
        g = _run_hooks(tensor._hooks, g, wrap)
    # A gradient array may be shared (passed through an add, or a view): copy before a leaf
    # owns it, so that in-place edits of one .grad never change another.
    if g.base is not None or id(g) in handed_out:
        g = g.copy()
    handed_out.add(id(g))
    if tensor.grad is None:
        tensor.grad = wrap(g)
    else:
        tensor.grad._data = tensor.grad._data + g


def _run_post_accumulate_hooks(walk) -> None:
    """Once the walk is over, as PyTorch does: each leaf's post-accumulate-grad hooks, once per leaf."""
    if walk.accumulated:
        for tensor in {id(t): t for t in walk.accumulated}.values():
            for hook in list(_post_hooks_of(tensor)):
                hook(tensor)


def _deliver(walk, tensor, g):
    if type(g) is not np.ndarray and (guard := backend.other_gpu(g)) is not None:
        with guard:  # a leaf on another GPU than this backward's (after a .to("cuda:N"))
            return _deliver(walk, tensor, g)
    if g.dtype is not tensor._data.dtype and g.dtype != tensor._data.dtype:
        g = g.astype(tensor._data.dtype)
    captured = walk.captured
    if captured is not None and id(tensor) in captured:
        previous = captured[id(tensor)]
        captured[id(tensor)] = g if previous is None else previous + g
    fn = tensor.grad_fn
    if fn is not None:
        walk.add(fn, tensor._out_idx, g)
    elif captured is None:
        _to_leaf(walk, tensor, g)


def _summed(previous, g):
    """``previous + g``: two gradients of one output (a tensor used twice, a residual block's input).
    CPU ones of one shape and dtype go into a ``lent`` array (``ops/buffer_pool``: a buffer of the
    engine's pool when large), as the layers' own results do, so that the sum does not fault in fresh
    pages every step wherever malloc gives large blocks back."""
    if (type(previous) is np.ndarray and type(g) is np.ndarray and previous.shape == g.shape
            and previous.dtype == g.dtype):
        from .ops.buffer_pool import lent  # ops imports this module: a call-time import
        return np.add(previous, g, out=lent(np, g.shape, g.dtype))
    return previous + g


def _run_backward(roots, retain_graph: bool = False, capture=None):
    """Propagate ``roots`` (pairs of Tensor and gradient array) back through the graph.

    1. Each root's gradient is delivered to its tensor.
    2. Nodes are taken latest generation first, so each holds the complete gradient of its outputs:
       its hooks run, its ``backward`` gives one gradient per input, and unless ``retain_graph`` it
       lets go of what backward needed.
    3. Each input's gradient is delivered: summed into the pending gradient of the node that made the
       input, into the captured result (``capture``, a list of Tensors, is ``autograd.grad``: their
       gradients are returned instead of accumulated into ``.grad``), or into a leaf's ``.grad``.
    The walk's state is plain locals and module-level helpers (no closures: a small model's backward
    is mostly this function's Python).
    """
    wrap = Tensor._wrap
    captured = {id(t): None for t in capture} if capture is not None else None
    walk = _Walk(captured)
    handed_out = walk.handed_out
    deliver = _deliver

    sums, queue, heappush, heappop, counter = walk.sums, walk.queue, heapq.heappush, heapq.heappop, _counter
    ndarray = np.ndarray
    for tensor, g in roots:
        if not tensor.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        handed_out.add(id(g))
        fn = tensor.grad_fn
        # the usual root (a loss: a CPU array of its dtype, made by a one-output node) queued inline
        if (fn is not None and type(g) is ndarray and captured is None and fn.n_outputs == 1
                and fn not in sums and g.dtype is tensor._data.dtype):
            sums[fn] = g
            heappush(queue, (-fn.generation, next(counter), fn))
        else:
            deliver(walk, tensor, g)

    base_release = Node.release
    anomaly_state = anomaly.STATE
    while queue:
        node = heappop(queue)[2]
        grads = sums.pop(node)
        inputs = node.inputs
        if inputs is None:  # released by an earlier backward (every linked node has inputs)
            raise RuntimeError(_SECOND_BACKWARD)
        single = node.n_outputs == 1
        if node._hooks is not None or node._retained is not None:
            grads = _node_hooks(node, [grads] if single else grads, wrap)
            grads = grads[0] if single else grads
        first = grads if single else grads[0]
        if anomaly_state.enabled:
            input_grads = _checked_backward(node, grads, single)
        elif type(first) is ndarray or first is None or (guard := backend.other_gpu(first)) is None:
            input_grads = node.backward(grads) if single else node.backward(*grads)
        else:  # a node on another GPU than the current one: compute its gradients there
            with guard:
                input_grads = node.backward(grads) if single else node.backward(*grads)
        if not retain_graph:
            if type(node).release is base_release:
                node.__dict__.clear()  # what Node.release does, without the call
            else:
                node.release()
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        for tensor, g in zip(inputs, input_grads):
            if g is None or not tensor.requires_grad:
                continue
            # The usual delivery inlined (what _deliver, _Walk.add and _to_leaf do for a CPU array of
            # the tensor's dtype): a small model's backward is mostly this loop's Python.
            if type(g) is ndarray and captured is None and g.dtype is tensor._data.dtype:
                fn = tensor.grad_fn
                if fn is not None:
                    if fn.n_outputs == 1:
                        previous = sums.get(fn)
                        if previous is None:
                            sums[fn] = g
                            heappush(queue, (-fn.generation, next(counter), fn))
                        else:
                            sums[fn] = _summed(previous, g)
                        continue
                elif (tensor.grad is None and g.base is None and tensor._hooks is None
                      and not _post_accumulate_hooks and id(g) not in handed_out):
                    handed_out.add(id(g))
                    tensor.grad = wrap(g)
                    continue
            deliver(walk, tensor, g)
        # Let go of the last input before the next node's backward: a one-input consumer's input is
        # the next node's output, which that node may overwrite when nothing else holds it (ReLU).
        tensor = g = None

    _run_post_accumulate_hooks(walk)
    if captured is not None:
        return [captured[id(t)] for t in capture]
    return None


def _checked_backward(node, grads, single):
    """A node's backward under anomaly detection: its forward stack reported if it fails or gives NaN."""
    first = grads if single else grads[0]
    guard = None if type(first) is np.ndarray or first is None else backend.other_gpu(first)
    try:
        if guard is None:
            input_grads = node.backward(grads) if single else node.backward(*grads)
        else:
            with guard:
                input_grads = node.backward(grads) if single else node.backward(*grads)
    except Exception:
        anomaly.report(node)
        raise
    anomaly.check(node, input_grads if type(input_grads) is tuple else (input_grads,))
    return input_grads


# id(tensor) -> (a weak reference to it, its hooks); by id because a Tensor's == is elementwise
_post_accumulate_hooks: dict = {}


def _post_hooks_of(tensor) -> list:
    entry = _post_accumulate_hooks.get(id(tensor))
    return entry[1] if entry is not None and entry[0]() is tensor else []


def register_post_accumulate_grad_hook(tensor, hook):
    """``hook(tensor)`` after a backward has accumulated into this leaf's ``.grad`` (once per backward)."""
    if not tensor.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if tensor.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    key = id(tensor)
    if not _post_hooks_of(tensor):
        _post_accumulate_hooks[key] = (weakref.ref(tensor, lambda _ref: _post_accumulate_hooks.pop(key, None)), [])
    _post_accumulate_hooks[key][1].append(hook)
    return _PostHookHandle(tensor, hook)


class _PostHookHandle:
    def __init__(self, tensor, hook):
        self._tensor, self._hook = weakref.ref(tensor), hook

    def remove(self) -> None:
        tensor = self._tensor()
        hooks = _post_hooks_of(tensor) if tensor is not None else []
        if self._hook in hooks:
            hooks.remove(self._hook)


def _node_hooks(node, grads, wrap):
    """Run the hooks registered on a node's outputs and fill the grads of retained outputs."""
    hooks = node._hooks
    if hooks:
        for index, fns in hooks.items():
            if grads[index] is not None:
                grads[index] = _run_hooks(fns, grads[index], wrap)
    retained = node._retained
    if retained:
        for index, ref in retained.items():
            out = ref()
            if out is not None and grads[index] is not None:
                g = grads[index].copy()
                out.grad = wrap(g) if out.grad is None else wrap(out.grad._data + g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, inputs=None):
    """``torch.autograd.backward``: accumulate gradients of ``tensors`` into the graph's leaves."""
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * len(tensors)
    roots = [(t, _initial_grad(t, g)) for t, g in zip(tensors, grad_tensors)]
    if inputs is None:
        run_backward(roots, retain_graph=bool(retain_graph))
    else:
        backward_into(roots, inputs, bool(retain_graph))


def backward_into(roots, inputs, retain_graph: bool) -> None:
    """``backward(inputs=...)``: accumulate the gradients into ``.grad`` of ``inputs`` only (leaves or
    not), leaving every other tensor's ``.grad`` as it was, as PyTorch does."""
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not inputs:
        raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    for t in inputs:
        if not isinstance(t, Tensor):
            raise TypeError(f"backward(inputs=...) takes Tensors, got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
    found = run_backward(roots, retain_graph=retain_graph, capture=inputs)
    walk, done = _Walk(None), set()
    for tensor, g in zip(inputs, found):
        if g is None or id(tensor) in done:   # not reached by this backward, or listed twice
            continue
        done.add(id(tensor))
        _to_leaf(walk, tensor, g)   # as the walk accumulates a leaf's: hooks, a copy where shared
    _run_post_accumulate_hooks(walk)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, allow_unused=False):
    """``torch.autograd.grad``: gradients of ``outputs`` with respect to ``inputs``, as a tuple."""
    single_out = isinstance(outputs, Tensor)
    outputs = [outputs] if single_out else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    roots = [(t, _initial_grad(t, g)) for t, g in zip(outputs, grad_outputs)]
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    found = run_backward(roots, retain_graph=bool(retain_graph), capture=inputs)
    result = []
    for i, g in enumerate(found):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"One of the differentiated Tensors (input {i}) appears to not have been used in the "
                "graph. Set allow_unused=True if this is the desired behavior.")
        result.append(None if g is None else Tensor._wrap(g))
    return tuple(result)


def scalar_seed(data):
    """The gradient a one-element CPU loss starts backward from: a one of its shape and dtype
    (np.array is C; np.ones is Python)."""
    return np.array(1, data.dtype) if not data.ndim else np.ones(data.shape, data.dtype)


def _initial_grad(tensor, gradient):
    """The gradient a backward starts from, on ``tensor``'s device (its GPU, not the current one)."""
    guard = backend.other_gpu(tensor._data) if type(tensor._data) is not np.ndarray else None
    if guard is not None:
        with guard:
            return _initial_grad(tensor, gradient)
    if gradient is None and type(tensor._data) is np.ndarray and tensor._data.size == 1:
        return scalar_seed(tensor._data)  # a scalar loss, the usual case
    if gradient is None:
        if tensor.numel() != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs; this output has shape "
                f"{tuple(tensor.shape)}: pass gradient= a tensor of that shape to backward()")
        xp = tensor._xp()
        return xp.array(1, dtype=tensor._data.dtype).reshape(tensor._data.shape)
    data = getattr(gradient, "_data", gradient)
    xp = tensor._xp()
    data = xp.asarray(data, dtype=tensor._data.dtype)
    if data.shape != tensor._data.shape:
        raise RuntimeError(
            f"Mismatch in shape: grad_output[0] has a shape of {tuple(data.shape)} and output[0] has a "
            f"shape of {tuple(tensor._data.shape)}.")
    return data


# Custom Functions live in custom_function.py; they are torch.autograd's, so they are found here.
from .custom_function import Function, FunctionCtx  # noqa: E402  (it builds on Node, defined above)
