"""Adadelta, as PyTorch computes it (``lr`` scales the step and defaults to 1.0)."""
from __future__ import annotations

from .optimizer import Optimizer, array_module, check_non_negative, new_step_counter, zero_state_like


class Adadelta(Optimizer):
    """``v = rho * v + (1 - rho) * g^2``; ``d = sqrt(u + eps) / sqrt(v + eps) * g``;
    ``u = rho * u + (1 - rho) * d^2``; ``p -= lr * d``."""

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        check_non_negative(lr=lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_non_negative(eps=eps, weight_decay=weight_decay)
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay, "maximize": maximize,
                    "capturable": capturable, "foreach": foreach, "differentiable": differentiable}
        super().__init__(params, defaults)

    def _hyperparameters(self, group):
        hyper = super()._hyperparameters(group)
        hyper.rho, hyper.eps = float(group["rho"]), float(group["eps"])
        return hyper

    def _init_state(self, state, w, hyper):
        state["step"] = new_step_counter()
        state["square_avg"] = zero_state_like(w)
        state["acc_delta"] = zero_state_like(w)

    def _rule(self, w, g, state, step, hyper):
        rho, eps = hyper.rho, hyper.eps
        xp = array_module(w)
        square_avg = state["square_avg"]._data
        acc_delta = state["acc_delta"]._data
        scratch = g * (1.0 - rho)  # PyTorch's addcmul order: (value * g) * g
        scratch *= g
        square_avg *= rho
        square_avg += scratch
        xp.add(square_avg, eps, out=scratch)
        xp.sqrt(scratch, out=scratch)
        delta = acc_delta + eps
        xp.sqrt(delta, out=delta)
        delta /= scratch
        delta *= g
        xp.multiply(delta, 1.0 - rho, out=scratch)
        scratch *= delta
        acc_delta *= rho
        acc_delta += scratch
        delta *= hyper.lr
        w -= delta
