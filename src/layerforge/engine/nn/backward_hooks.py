"""Module backward hooks, as ``register_full_backward_hook`` and ``register_full_backward_pre_hook``:
``hook(module, grad_input, grad_output)`` once the gradients with respect to the module's inputs are
known (Grad-CAM reads a layer's output gradient this way), and ``pre_hook(module, grad_output)`` as
soon as the output gradient arrives. Each may return replacement gradients.

Built on the forward hooks: the module's tensor inputs and outputs pass through identity nodes whose
backward sees those gradients, so a module without such hooks runs exactly as before.
"""
from __future__ import annotations

from ..autograd import Node
from ..ops.common import apply
from ..tensor import Tensor


class _Gate(Node):
    """Identity on several tensors; its backward hands their gradients to a callback."""

    def __init__(self, callback):
        self.callback = callback

    def forward(self, *arrays):
        self.like = [(a.shape, a.dtype) for a in arrays]
        return arrays if len(arrays) > 1 else arrays[0]

    def backward(self, *grads):
        replaced = self.callback(grads)
        return replaced if len(replaced) > 1 else replaced[0]


def _pass(tensors, callback):
    """The tensors (those that require grad) through one gate; the others unchanged."""
    picked = [i for i, t in enumerate(tensors) if isinstance(t, Tensor) and t.requires_grad]
    if not picked:
        return tensors, False
    out = apply(_Gate(callback), *[tensors[i] for i in picked])
    out = out if isinstance(out, tuple) else (out,)
    replaced = list(tensors)
    for i, t in zip(picked, out):
        replaced[i] = t
    return tuple(replaced), True


def _wrap(values):
    return tuple(None if g is None else Tensor._wrap(g) for g in values)


def _unwrap(values, originals):
    return tuple(None if v is None else v._data for v in values) if values is not None else originals


def install(module) -> None:
    """Give ``module`` the forward hooks that feed its backward hooks (once, however many are added)."""
    if module.__dict__.get("_backward_gates_installed"):
        return
    module.__dict__["_backward_gates_installed"] = True
    state = {}

    def before(mod, args):
        state["grad_output"] = None

        def on_inputs(grads):
            grad_input = _wrap(grads)
            grad_output = state.get("grad_output") or ()
            for hook in list(mod.__dict__.get("_backward_hooks", {}).values()):
                result = hook(mod, grad_input, grad_output)
                if result is not None:
                    grad_input = tuple(result) if isinstance(result, (tuple, list)) else (result,)
            return _unwrap(grad_input, grads)

        new_args, gated = _pass(args, on_inputs)
        state["inputs_gated"] = gated
        return new_args if gated else None

    def after(mod, args, output):
        single = not isinstance(output, tuple)
        outputs = (output,) if single else output

        def on_outputs(grads):
            grad_output = _wrap(grads)
            for hook in list(mod.__dict__.get("_backward_pre_hooks", {}).values()):
                result = hook(mod, grad_output)
                if result is not None:
                    grad_output = tuple(result) if isinstance(result, (tuple, list)) else (result,)
            state["grad_output"] = grad_output
            if not state.get("inputs_gated"):  # no input needs a gradient: the hooks run now
                for hook in list(mod.__dict__.get("_backward_hooks", {}).values()):
                    hook(mod, (None,) * len(args), grad_output)
            return _unwrap(grad_output, grads)

        new_outputs, gated = _pass(outputs, on_outputs)
        if not gated:
            return None
        return new_outputs[0] if single else new_outputs

    module.register_forward_pre_hook(before)
    module.register_forward_hook(after)
