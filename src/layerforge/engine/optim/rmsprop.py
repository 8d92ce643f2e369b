"""RMSprop with momentum and the centered variant, as PyTorch computes them."""
from __future__ import annotations

from .optimizer import Optimizer, array_module, check_non_negative, new_step_counter, zero_state_like


class RMSprop(Optimizer):
    """``v = alpha * v + (1 - alpha) * g^2``; ``avg = sqrt(v - mean(g)^2 if centered else v) + eps``;
    ``p -= lr * g / avg`` (through a momentum buffer when ``momentum > 0``)."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        check_non_negative(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
                    "weight_decay": weight_decay, "capturable": capturable, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable}
        super().__init__(params, defaults)

    def _hyperparameters(self, group):
        hyper = super()._hyperparameters(group)
        hyper.alpha, hyper.eps, hyper.momentum = float(group["alpha"]), float(group["eps"]), float(group["momentum"])
        hyper.centered = group["centered"]
        return hyper

    def _init_state(self, state, w, hyper):
        state["step"] = new_step_counter()
        state["square_avg"] = zero_state_like(w)
        if hyper.momentum > 0:
            state["momentum_buffer"] = zero_state_like(w)
        if hyper.centered:
            state["grad_avg"] = zero_state_like(w)

    def _rule(self, w, g, state, step, hyper):
        alpha, momentum = hyper.alpha, hyper.momentum
        xp = array_module(w)
        square_avg = state["square_avg"]._data
        scratch = g * (1.0 - alpha)  # PyTorch's addcmul order: (value * g) * g
        scratch *= g
        square_avg *= alpha
        square_avg += scratch
        if hyper.centered:
            grad_avg = state["grad_avg"]._data
            xp.subtract(g, grad_avg, out=scratch)
            scratch *= 1.0 - alpha
            grad_avg += scratch
            xp.multiply(grad_avg, grad_avg, out=scratch)
            xp.subtract(square_avg, scratch, out=scratch)
            xp.sqrt(scratch, out=scratch)
        else:
            xp.sqrt(square_avg, out=scratch)
        scratch += hyper.eps
        xp.divide(g, scratch, out=scratch)
        if momentum > 0:
            buf = state["momentum_buffer"]._data
            buf *= momentum
            buf += scratch
            xp.multiply(buf, hyper.lr, out=scratch)
        else:
            scratch *= hyper.lr
        w -= scratch
