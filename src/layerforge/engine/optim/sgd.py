"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay."""
from __future__ import annotations

from ..tensor import Tensor
from .fused import check_fused_options, gpu_kernels
from .optimizer import Optimizer, check_non_negative


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

    def _hyperparameters(self, group):
        hyper = super()._hyperparameters(group)
        hyper.momentum, hyper.keep = float(group["momentum"]), 1.0 - float(group["dampening"])
        hyper.nesterov, hyper.fused = group["nesterov"], group.get("fused")
        return hyper

    def _rule(self, w, g, state, step, hyper):
        momentum, keep = hyper.momentum, hyper.keep
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:  # the first step: the buffer is the gradient (a copy the .grad does not share)
                buf_array = g.copy()
                state["momentum_buffer"] = Tensor._wrap(buf_array)
            elif hyper.fused and (fused_kernels := gpu_kernels(w)) is not None:  # one GPU kernel in all
                update = fused_kernels.sgd_nesterov if hyper.nesterov else fused_kernels.sgd_momentum
                update(w, g, buf._data, momentum, keep, hyper.lr)
                return
            else:
                buf_array = buf._data
                buf_array *= momentum
                buf_array += g if keep == 1.0 else keep * g
            g = g + momentum * buf_array if hyper.nesterov else buf_array
        w -= hyper.lr * g
