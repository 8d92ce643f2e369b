"""A Linear layer followed by a ReLU, Tanh or Sigmoid as one engine node, where nothing can tell the
difference.

``nn.Sequential`` and the models compiled from a project's graph (``layerforge.graph.compile``) hand
each Linear whose output goes only into such an activation to ``linear_activation``: one node
(``ops.dense.LinearActivation``, which runs the activation's own node inside) instead of two, so one
node call, one backward call and one step of the backward walk fewer per pair. A small MLP's step is
mostly that per-node Python. Values and gradients are the two layers' to the bit.

It applies only where the Linear's output cannot be observed: both modules of exactly these types (a
subclass may override ``forward``), no forward, forward-pre or backward hook on either (the window's
graph probe and step recorder hook the layers they show; backward hooks are forward hooks underneath),
no ONNX export recording, and the usual call (a Tensor whose last axis fits the weight, one dtype).
Elsewhere it returns None and the caller runs the two modules.
"""
from __future__ import annotations

from ..ops import activation, common, dense, elementwise
from . import functional as F
from .activation import ReLU, Sigmoid, Tanh
from .linear import Linear

# The activation modules that fuse, and the node each one's forward applies to a float input (ReLU:
# ops.activation.relu; Tanh and Sigmoid: ops.elementwise_functions' tanh and sigmoid).
NODES = {ReLU: activation.Relu, Tanh: elementwise.Tanh, Sigmoid: elementwise.Sigmoid}


def linear_activation(linear, act, input):  # noqa: A002 (PyTorch's name)
    """``act(linear(input))`` as one node, or None where the pair must run as two modules."""
    node = NODES.get(type(act))
    if node is None or type(linear) is not Linear or common._trace_hook is not None:
        return None
    mine, theirs = linear.__dict__, act.__dict__   # (Module.__init__ gives every module both dicts)
    if (mine["_forward_hooks"] or mine["_forward_pre_hooks"] or theirs["_forward_hooks"]
            or theirs["_forward_pre_hooks"]):
        return None
    params = linear._parameters
    weight, bias = params.get("weight"), params.get("bias", False)
    if weight is None or bias is False:   # a parameter replaced by a plain attribute
        return None
    if not F._usual_linear(input, weight, bias):
        return None   # the modules' own calls raise the right error, or take the general path
    if bias is None:
        return common.apply(dense.LinearActivation(False, node()), input, weight)
    return common.apply(dense.LinearActivation(True, node()), input, weight, bias)


def run(modules, input):  # noqa: A002
    """``input`` through ``modules`` in order (nn.Sequential's forward), each Linear directly followed
    by a ReLU, Tanh or Sigmoid as one node where ``linear_activation`` allows."""
    pending = None   # a Linear waiting to see whether an activation comes next
    for module in modules:
        if pending is not None:
            fused = linear_activation(pending, module, input) if type(module) in NODES else None
            if fused is not None:
                input, pending = fused, None
                continue
            input, pending = pending(input), None
        if type(module) is Linear:
            pending = module
        else:
            input = module(input)
    return input if pending is None else pending(input)
