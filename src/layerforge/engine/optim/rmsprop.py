"""RMSprop with momentum and the centered variant, as PyTorch computes them."""
from __future__ import annotations

from .optimizer import (Optimizer, advance_step, array_module, check_non_negative, directed_gradient,
                        new_step_counter, zero_state_like)


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

    def _update(self, group, params):
        lr = float(group["lr"])
        alpha = float(group["alpha"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        momentum = float(group["momentum"])
        centered = group["centered"]
        maximize = group["maximize"]
        state_of = self.state
        for p in params:
            w = p._data
            g = p.grad._data
            state = state_of[p]
            if not state:
                state["step"] = new_step_counter()
                state["square_avg"] = zero_state_like(w)
                if momentum > 0:
                    state["momentum_buffer"] = zero_state_like(w)
                if centered:
                    state["grad_avg"] = zero_state_like(w)
            advance_step(state)
            xp = array_module(w)
            g = directed_gradient(g, w, maximize, weight_decay)
            square_avg = state["square_avg"]._data
            scratch = g * (1.0 - alpha)  # PyTorch's addcmul order: (value * g) * g
            scratch *= g
            square_avg *= alpha
            square_avg += scratch
            if centered:
                grad_avg = state["grad_avg"]._data
                xp.subtract(g, grad_avg, out=scratch)
                scratch *= 1.0 - alpha
                grad_avg += scratch
                xp.multiply(grad_avg, grad_avg, out=scratch)
                xp.subtract(square_avg, scratch, out=scratch)
                xp.sqrt(scratch, out=scratch)
            else:
                xp.sqrt(square_avg, out=scratch)
            scratch += eps
            xp.divide(g, scratch, out=scratch)
            if momentum > 0:
                buf = state["momentum_buffer"]._data
                buf *= momentum
                buf += scratch
                xp.multiply(buf, lr, out=scratch)
            else:
                scratch *= lr
            w -= scratch
