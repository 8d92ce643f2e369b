"""Custom differentiable operations, as ``torch.autograd.Function``: a user's forward and backward,
run as one graph node (``autograd.Function``, re-exported from autograd.py)."""
from __future__ import annotations

from . import anomaly
from .autograd import _SECOND_BACKWARD, Node, no_grad
from .grad_mode import _mode

Tensor = None  # bound by tensor._late_bindings(), where the engine's one import cycle is closed


class FunctionCtx:
    """The ``ctx`` of a custom Function: what forward saves for backward."""

    def __init__(self):
        self._saved = ()
        self._freed = False
        self.needs_input_grad = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors):
        self._saved = tensors

    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError(_SECOND_BACKWARD)
        return self._saved

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable = {id(t) for t in tensors}

    def set_materialize_grads(self, value: bool):
        self.materialize_grads = bool(value)


class _CustomNode(Node):
    """Graph node of a user-defined ``Function``: converts between arrays and Tensors around it."""

    def __init__(self, fn_cls, ctx, tensor_positions, n_args):
        self.fn_cls = fn_cls
        self.ctx = ctx
        self.tensor_positions = tensor_positions
        self.n_args = n_args

    def name(self):
        return self.fn_cls.__name__ + "Backward"

    def backward(self, *grad_outputs):
        wrapped = []
        for i, g in enumerate(grad_outputs):
            if g is None and self.ctx.materialize_grads:
                xp, shape, dt = self.out_meta[i]
                g = xp.zeros(shape, dtype=dt)
            wrapped.append(None if g is None else Tensor._wrap(g))
        with no_grad():
            result = self.fn_cls.backward(self.ctx, *wrapped)
        if not isinstance(result, tuple):
            result = (result,)
        if len(result) != self.n_args:
            raise RuntimeError(
                f"function {self.fn_cls.__name__}.backward returned {len(result)} gradient(s), but "
                f"forward took {self.n_args} argument(s): return one (or None) per argument")
        return tuple(None if result[p] is None else result[p]._data for p in self.tensor_positions)

    @property
    def saved_tensors(self):
        """As on PyTorch's grad_fn of a custom Function; raises once backward has freed them."""
        return self.ctx.saved_tensors

    def release(self):
        # Keep the ctx and the class (for the name and the clear error) but not what was saved.
        ctx, fn_cls = self.ctx, self.fn_cls
        ctx._freed, ctx._saved = True, ()
        super().release()
        self.ctx, self.fn_cls = ctx, fn_cls


class Function:
    """Base class for custom differentiable operations, as ``torch.autograd.Function``.

    Define ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` as static methods, and call
    ``MyFunction.apply(*args)``.
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a custom Function must define forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("a custom Function must define backward(ctx, ...)")

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx()
        positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            result = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(result, tuple)
        outputs = (result,) if single else result
        track = _mode.enabled and any(ctx.needs_input_grad)
        if not track:
            return result
        node = _CustomNode(cls, ctx, positions, len(args))
        inputs = tuple(args[p] for p in positions)
        node.inputs = inputs
        node.generation = 1 + max((t.grad_fn.generation if t.grad_fn is not None else -1)
                                  for t in inputs)
        node.n_outputs = len(outputs)
        if anomaly.STATE.enabled:
            anomaly.record(node)
        node.out_meta = [(o._xp(), o._data.shape, o._data.dtype) for o in outputs]
        skip = getattr(ctx, "_non_differentiable", set())
        wrapped = []
        for i, out in enumerate(outputs):
            if not isinstance(out, Tensor):
                wrapped.append(out)
                continue
            # Outputs may alias inputs or be returned again; attach the node to a fresh Tensor.
            t = Tensor._wrap(out._data, None if id(out) in skip else node, i)
            wrapped.append(t)
        return wrapped[0] if single else tuple(wrapped)
