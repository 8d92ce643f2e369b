"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""
from __future__ import annotations

from ..tensor import Tensor
from .fused import check_fused_options, gpu_kernels
from .optimizer import Optimizer, check_non_negative, directed_gradient


class SGD(Optimizer):
    """PyTorch's SGD: ``buf = momentum * buf + (1 - dampening) * g``; ``p -= lr * (g + momentum * buf
    if nesterov else buf)``. The first step's buffer is the gradient itself, as in PyTorch."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        check_non_negative(lr=lr, momentum=momentum, weight_decay=weight_decay)
        check_fused_options(fused, foreach)
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def _update(self, group, params):
        lr = float(group["lr"])
        momentum = float(group["momentum"])
        keep = 1.0 - float(group["dampening"])
        weight_decay = float(group["weight_decay"])
        nesterov = group["nesterov"]
        maximize = group["maximize"]
        fused = group.get("fused")
        state_of = self.state
        for p in params:
            w = p._data
            g = directed_gradient(p.grad._data, w, maximize, weight_decay)
            if momentum != 0:
                state = state_of[p]
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf_array = g.copy() if g is p.grad._data else g
                    state["momentum_buffer"] = Tensor._wrap(buf_array)
                elif fused and (fused_kernels := gpu_kernels(w)) is not None:  # one GPU kernel in all
                    update = fused_kernels.sgd_nesterov if nesterov else fused_kernels.sgd_momentum
                    update(w, g, buf._data, momentum, keep, lr)
                    continue
                else:
                    buf_array = buf._data
                    buf_array *= momentum
                    buf_array += g if keep == 1.0 else keep * g
                g = g + momentum * buf_array if nesterov else buf_array
            w -= lr * g
