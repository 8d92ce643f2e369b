"""Adagrad with learning-rate decay and an initial accumulator value, as PyTorch computes it."""
from __future__ import annotations

from ..tensor import Tensor
from .optimizer import Optimizer, array_module, check_non_negative, full_like_array, new_step_counter


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
            hyper = self._hyperparameters(group)
            for p in group["params"]:
                self._init_state(self.state[p], p._data, hyper)

    def _hyperparameters(self, group):
        hyper = super()._hyperparameters(group)
        hyper.lr_decay, hyper.eps = float(group["lr_decay"]), float(group["eps"])
        hyper.initial = float(group["initial_accumulator_value"])
        return hyper

    def _init_state(self, state, w, hyper):
        state["step"] = new_step_counter()
        state["sum"] = Tensor._wrap(full_like_array(w, hyper.initial))

    def _rule(self, w, g, state, step, hyper):
        xp = array_module(w)
        clr = hyper.lr / (1.0 + (step - 1.0) * hyper.lr_decay)
        total = state["sum"]._data
        scratch = g * g
        total += scratch
        xp.sqrt(total, out=scratch)
        scratch += hyper.eps
        xp.divide(g, scratch, out=scratch)
        scratch *= clr
        w -= scratch
