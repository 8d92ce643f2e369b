"""Rprop (resilient backpropagation), as PyTorch's single-tensor code computes it: only the signs of
the gradients count; each weight's step size grows by etaplus while the sign holds, shrinks by
etaminus when it flips (and that step is skipped), within step_sizes."""
from __future__ import annotations

from ..tensor import Tensor
from .optimizer import Optimizer, array_module, check_non_negative, full_like_array, new_step_counter, zero_state_like


class Rprop(Optimizer):
    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False, foreach=None,
                 maximize=False, differentiable=False):
        check_non_negative(lr=lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {"lr": lr, "etas": etas, "step_sizes": step_sizes, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def _hyperparameters(self, group):
        hyper = super()._hyperparameters(group)
        hyper.etaminus, hyper.etaplus = (float(e) for e in group["etas"])
        hyper.step_min, hyper.step_max = (float(s) for s in group["step_sizes"])
        return hyper

    def _init_state(self, state, w, hyper):
        state["step"] = new_step_counter()
        state["prev"] = zero_state_like(w)
        state["step_size"] = Tensor._wrap(full_like_array(w, hyper.lr))

    def _rule(self, w, g, state, step, hyper):
        xp = array_module(w)
        prev, step_size = state["prev"]._data, state["step_size"]._data
        sign = xp.sign(g * prev)
        factor = xp.where(sign > 0, hyper.etaplus, xp.where(sign < 0, hyper.etaminus, 1.0)).astype(w.dtype)
        step_size *= factor
        xp.clip(step_size, hyper.step_min, hyper.step_max, out=step_size)
        g = xp.where(factor == w.dtype.type(hyper.etaminus), 0, g).astype(w.dtype)
        w -= xp.sign(g) * step_size
        prev[...] = g
