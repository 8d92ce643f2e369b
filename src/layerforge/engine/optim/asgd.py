"""Averaged SGD, as PyTorch's single-tensor code computes it: ``eta`` and ``mu`` are float32 scalars in
the state, read back as Python floats, exactly as PyTorch reads them."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor
from .optimizer import Optimizer, check_non_negative, new_step_counter, zero_state_like


def _scalar(value, like) -> Tensor:
    """A float32 scalar state on the parameter's device, as PyTorch keeps eta and mu."""
    if type(like) is np.ndarray:
        return Tensor._wrap(np.asarray(value, dtype=np.float32))
    with like.device:
        return Tensor._wrap(backend.module_of(like).asarray(value, dtype=np.float32))


class ASGD(Optimizer):
    """``p *= 1 - lambd eta``; ``p -= eta g``; ``ax`` averages p from step t0 on; eta and mu decay."""

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        check_non_negative(lr=lr, weight_decay=weight_decay)
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
        super().__init__(params, defaults)

    def _hyperparameters(self, group):
        hyper = super()._hyperparameters(group)
        hyper.lambd, hyper.alpha, hyper.t0 = float(group["lambd"]), float(group["alpha"]), float(group["t0"])
        return hyper

    def _init_state(self, state, w, hyper):
        state["step"] = new_step_counter()
        state["eta"] = _scalar(hyper.lr, w)
        state["mu"] = _scalar(1.0, w)
        state["ax"] = zero_state_like(w)

    def _rule(self, w, g, state, step, hyper):
        eta = float(state["eta"]._data)
        w *= 1 - hyper.lambd * eta
        w -= eta * g
        ax, mu = state["ax"]._data, float(state["mu"]._data)
        if mu != 1:
            ax += (w - ax) * mu
        else:
            ax[...] = w
        state["eta"]._data[...] = hyper.lr / ((1 + hyper.lambd * hyper.lr * step) ** hyper.alpha)
        state["mu"]._data[...] = 1 / max(1, step - hyper.t0)
