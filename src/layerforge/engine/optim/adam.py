"""Adam and AdamW (decoupled weight decay), with AMSGrad, as PyTorch computes them."""
from __future__ import annotations

from ..tensor import Tensor
from .optimizer import (Optimizer, advance_step, array_module, check_non_negative, new_step_counter,
                        zeros_like_array)


class Adam(Optimizer):
    """``m = lerp(m, g, 1 - beta1)``, ``v = beta2 * v + (1 - beta2) * g^2``,
    ``p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        check_non_negative("lr", lr, "learning rate")
        check_non_negative("eps", eps, "epsilon value")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        check_non_negative("weight_decay", weight_decay, "weight_decay value")
        defaults = {"lr": lr, "betas": (float(betas[0]), float(betas[1])), "eps": eps,
                    "weight_decay": weight_decay, "amsgrad": amsgrad, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable, "differentiable": differentiable,
                    "fused": fused, "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _update(self, group, params):
        lr = float(group["lr"])
        beta1, beta2 = (float(b) for b in group["betas"])
        eps = float(group["eps"])
        weight_decay = float(group["weight_decay"])
        amsgrad = group["amsgrad"]
        maximize = group["maximize"]
        decoupled = group.get("decoupled_weight_decay", False)
        state_of = self.state
        for p in params:
            w = p._data
            g = p.grad._data
            state = state_of[p]
            if not state:
                state["step"] = new_step_counter()
                state["exp_avg"] = Tensor._wrap(zeros_like_array(w))
                state["exp_avg_sq"] = Tensor._wrap(zeros_like_array(w))
                if amsgrad:
                    state["max_exp_avg_sq"] = Tensor._wrap(zeros_like_array(w))
            step = advance_step(state)
            xp = array_module(w)
            if maximize:
                g = -g
            if weight_decay != 0:
                if decoupled:
                    w *= 1.0 - lr * weight_decay
                else:
                    g = g + weight_decay * w
            exp_avg = state["exp_avg"]._data
            exp_avg_sq = state["exp_avg_sq"]._data
            scratch = g - exp_avg
            scratch *= 1.0 - beta1
            exp_avg += scratch
            xp.multiply(g, 1.0 - beta2, out=scratch)  # PyTorch's addcmul order: (value * g) * g
            scratch *= g
            exp_avg_sq *= beta2
            exp_avg_sq += scratch
            step_size = lr / (1.0 - beta1 ** step)
            bias_correction2_sqrt = (1.0 - beta2 ** step) ** 0.5
            second = exp_avg_sq
            if amsgrad:
                second = state["max_exp_avg_sq"]._data
                xp.maximum(second, exp_avg_sq, out=second)
            xp.sqrt(second, out=scratch)
            scratch /= bias_correction2_sqrt
            scratch += eps
            xp.divide(exp_avg, scratch, out=scratch)
            scratch *= step_size
            w -= scratch


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p *= 1 - lr * weight_decay`` before the Adam step."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
                 *, maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
