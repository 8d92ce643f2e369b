"""Adagrad with learning-rate decay and an initial accumulator value, as PyTorch computes it."""
from __future__ import annotations

from ..tensor import Tensor
from .optimizer import (Optimizer, advance_step, array_module, check_non_negative, directed_gradient,
                        full_like_array, new_step_counter)


class Adagrad(Optimizer):
    """``sum += g^2``; ``p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)``."""

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        check_non_negative(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                           initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        # PyTorch creates Adagrad's state up front, so its state dict has entries before any step.
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = new_step_counter()
        state["sum"] = Tensor._wrap(full_like_array(p._data, float(group["initial_accumulator_value"])))
        return state

    def _update(self, group, params):
        lr = float(group["lr"])
        lr_decay = float(group["lr_decay"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        maximize = group["maximize"]
        state_of = self.state
        for p in params:
            w = p._data
            g = p.grad._data
            state = state_of[p]
            if not state:  # a parameter added later with add_param_group
                state = self._init_state(p, group)
            step = advance_step(state)
            xp = array_module(w)
            g = directed_gradient(g, w, maximize, weight_decay)
            clr = lr / (1.0 + (step - 1.0) * lr_decay)
            total = state["sum"]._data
            scratch = g * g
            total += scratch
            xp.sqrt(total, out=scratch)
            scratch += eps
            xp.divide(g, scratch, out=scratch)
            scratch *= clr
            w -= scratch
