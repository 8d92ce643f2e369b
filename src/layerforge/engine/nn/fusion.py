"""A Linear layer followed by a ReLU, Tanh or Sigmoid, and a ReLU followed by a 2-d max pooling, as one
engine node, where nothing can tell the difference.

``nn.Sequential`` and the models compiled from a project's graph (``layerforge.graph.compile``) hand
each Linear whose output goes only into such an activation to ``linear_activation``: one node
(``ops.dense.LinearActivation``, which runs the activation's own node inside) instead of two, so one
node call, one backward call and one step of the backward walk fewer per pair. A small MLP's step is
mostly that per-node Python. Values and gradients are the two layers' to the bit.

A ReLU whose output goes only into a MaxPool2d runs with it as ``ops.pool.ReluMaxPool2d``, the ReLU
on the pooled values (``relu_max_pool``): a CNN's conv -> ReLU -> pool stage has no ReLU pass over
the full-size activation, forward or backward, and no ReLU output array. Values and gradients are the
pair's (NaN included; a zero gradient's sign may differ). The CIFAR-10 row's three stages, forward +
backward, one thread: 4.6-4.8 -> 3.8-3.9, 2.7-2.9 -> 2.3 and 1.6-1.8 -> 1.4 ms.

It applies only where the first module's output cannot be observed: both modules of exactly these
types (a subclass may override ``forward``), no forward, forward-pre or backward hook on either (the
window's graph probe and step recorder hook the layers they show; backward hooks are forward hooks
underneath), no ONNX export recording, and the usual call (a Tensor whose last axis fits the weight,
one dtype; a 4-d float Tensor for the pooling, without indices). Elsewhere it returns None and the
caller runs the two modules.
"""
from __future__ import annotations

from ..ops import activation, common, dense, elementwise, pool
from ..tensor import Tensor
from . import functional as F
from .activation import ReLU, Sigmoid, Tanh
from .linear import Linear
from .pooling import MaxPool2d

# The activation modules that fuse, and the node each one's forward applies to a float input (ReLU:
# ops.activation.relu; Tanh and Sigmoid: ops.elementwise_functions' tanh and sigmoid).
NODES = {ReLU: activation.Relu, Tanh: elementwise.Tanh, Sigmoid: elementwise.Sigmoid}


# the first modules of the pairs that fuse
_FIRSTS = (Linear, ReLU)


def fusible(first, second) -> bool:
    """Whether ``second(first(x))`` has a one-node form, by the two modules' types."""
    kind = type(first)
    return (kind is Linear and type(second) in NODES) or (kind is ReLU and type(second) is MaxPool2d)


def fused(first, second, input):  # noqa: A002
    """``second(first(input))`` as one node, or None where the pair must run as two modules."""
    if type(first) is Linear:
        return linear_activation(first, second, input)
    return relu_max_pool(first, second, input)


def _hooked(first, second) -> bool:
    mine, theirs = first.__dict__, second.__dict__   # (Module.__init__ gives every module both dicts)
    return bool(mine["_forward_hooks"] or mine["_forward_pre_hooks"] or theirs["_forward_hooks"]
                or theirs["_forward_pre_hooks"])


def linear_activation(linear, act, input):  # noqa: A002 (PyTorch's name)
    """``act(linear(input))`` as one node, or None where the pair must run as two modules."""
    node = NODES.get(type(act))
    if node is None or type(linear) is not Linear or common._trace_hook is not None:
        return None
    if _hooked(linear, act):
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


def relu_max_pool(relu, pooling, input):  # noqa: A002
    """``pooling(relu(input))`` as one node (``ops.pool.ReluMaxPool2d``), or None where the pair must run
    as two modules."""
    if (type(relu) is not ReLU or type(pooling) is not MaxPool2d or pooling.return_indices
            or common._trace_hook is not None or _hooked(relu, pooling)):
        return None
    if type(input) is not Tensor or input.ndim != 4 or not input.dtype.is_floating_point:
        return None
    kernel, stride, padding, dilation = F._pool_args(pooling.kernel_size, pooling.stride, pooling.padding,
                                                     pooling.dilation, 2)
    F._check_pool_fits(input, kernel, stride, padding, dilation, pooling.ceil_mode, "max_pool2d")
    return common.apply(pool.ReluMaxPool2d(kernel, stride, padding, dilation, pooling.ceil_mode), input)


def run(modules, input):  # noqa: A002
    """``input`` through ``modules`` in order (nn.Sequential's forward), each Linear directly followed
    by a ReLU, Tanh or Sigmoid, and each ReLU directly followed by a MaxPool2d, as one node where
    ``linear_activation`` and ``relu_max_pool`` allow."""
    pending = None   # a Linear or ReLU waiting to see what comes next
    for module in modules:
        if pending is not None:
            pair = fused(pending, module, input)
            if pair is not None:
                input, pending = pair, None
                continue
            input, pending = pending(input), None
        if type(module) in _FIRSTS:
            pending = module
        else:
            input = module(input)
    return input if pending is None else pending(input)
