"""NAdam and RAdam, with PyTorch's update formulas (its single-tensor code path, step by step), so N-step
trajectories match torch.optim's. Both keep ``step`` as a float32 scalar and NAdam's running product of
momentum coefficients ``mu_product`` as one too, as PyTorch does."""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, array_module, check_non_negative, new_step_counter, zero_state_like


def _check_betas(betas):
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")


def _moments(state, w):
    state["step"] = new_step_counter()
    state["exp_avg"] = zero_state_like(w)
    state["exp_avg_sq"] = zero_state_like(w)


def _update_moments(exp_avg, exp_avg_sq, g, beta1, beta2):
    exp_avg += (g - exp_avg) * (1 - beta1)  # lerp(exp_avg, g, 1 - beta1) with weight < 0.5
    exp_avg_sq *= beta2
    exp_avg_sq += (g * (1 - beta2)) * g


def _betas(hyper, group):
    hyper.beta1, hyper.beta2 = (float(b) for b in group["betas"])
    hyper.eps = float(group["eps"])
    return hyper


class NAdam(Optimizer):
    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        check_non_negative(lr=lr, eps=eps)
        _check_betas(betas)
        check_non_negative(weight_decay=weight_decay, momentum_decay=momentum_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _hyperparameters(self, group):
        hyper = _betas(super()._hyperparameters(group), group)
        hyper.momentum_decay = float(group["momentum_decay"])
        return hyper

    def _init_state(self, state, w, hyper):
        _moments(state, w)
        state["mu_product"] = Tensor._wrap(np.ones((), dtype=np.float32))

    def _rule(self, w, g, state, step, hyper):
        lr, eps, beta1, beta2, momentum_decay = hyper.lr, hyper.eps, hyper.beta1, hyper.beta2, hyper.momentum_decay
        bias_correction2 = 1 - beta2 ** step
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        product = state["mu_product"]._data
        product *= np.float32(mu)
        mu_product = float(product)
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        _update_moments(exp_avg, exp_avg_sq, g, beta1, beta2)
        denom = array_module(w).sqrt(exp_avg_sq / bias_correction2) + eps
        w += g / denom * (-lr * (1.0 - mu) / (1.0 - mu_product))
        w += exp_avg / denom * ((-lr * mu_next) / (1.0 - mu_product * mu_next))


class RAdam(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        check_non_negative(lr=lr, eps=eps)
        _check_betas(betas)
        check_non_negative(weight_decay=weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable, "differentiable": differentiable}
        super().__init__(params, defaults)

    def _hyperparameters(self, group):
        return _betas(super()._hyperparameters(group), group)

    def _init_state(self, state, w, hyper):
        _moments(state, w)

    def _rule(self, w, g, state, step, hyper):
        lr, eps, beta1, beta2 = hyper.lr, hyper.eps, hyper.beta1, hyper.beta2
        rho_inf = 2 / (1 - beta2) - 1
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        _update_moments(exp_avg, exp_avg_sq, g, beta1, beta2)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        corrected = exp_avg / bias_correction1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:  # the variance is tractable: the rectified adaptive step
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive_lr = math.sqrt(bias_correction2) / (array_module(w).sqrt(exp_avg_sq) + eps)
            w -= corrected * lr * adaptive_lr * rect
        else:  # early steps: plain momentum (SGD with the bias-corrected average)
            w -= corrected * lr
