"""Adamax (Adam with the infinity norm), as PyTorch's single-tensor code computes it."""
from __future__ import annotations

from .nadam import _betas, _check_betas
from .optimizer import Optimizer, array_module, check_non_negative, new_step_counter, zero_state_like


class Adamax(Optimizer):
    """``m = lerp(m, g, 1 - beta1)``; ``u = max(beta2 u, |g| + eps)``; ``p -= lr / (1 - beta1^t) * m / u``."""

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        check_non_negative(lr=lr, eps=eps)
        _check_betas(betas)
        check_non_negative(weight_decay=weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def _hyperparameters(self, group):
        return _betas(super()._hyperparameters(group), group)

    def _init_state(self, state, w, hyper):
        state["step"] = new_step_counter()
        state["exp_avg"] = zero_state_like(w)
        state["exp_inf"] = zero_state_like(w)

    def _rule(self, w, g, state, step, hyper):
        xp = array_module(w)
        exp_avg, exp_inf = state["exp_avg"]._data, state["exp_inf"]._data
        exp_avg += (g - exp_avg) * (1 - hyper.beta1)  # lerp with a weight below 0.5, as PyTorch's
        exp_inf *= hyper.beta2
        xp.maximum(exp_inf, xp.abs(g) + hyper.eps, out=exp_inf)
        clr = hyper.lr / (1 - hyper.beta1 ** step)
        w -= clr * (exp_avg / exp_inf)
