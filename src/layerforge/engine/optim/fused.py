"""``fused=True`` for Adam, AdamW and SGD with momentum: one GPU kernel per parameter, as in torch.optim.

On a CUDA GPU the unfused Adam update launches 13 elementwise kernels per parameter (SGD with
momentum 3-5), and for the small tensors of most models each launch costs more than its arithmetic.
``cupy.fuse`` compiles each update below into a single kernel (once per dtype; cupy caches it), with
the hyper-parameters passed as kernel arguments, so changing the learning rate recompiles nothing.
The formulas are the unfused ones, operation for operation, so both paths follow PyTorch's
trajectories (tests/engine/test_optim_oracle.py runs both on the GPU).

On the CPU there is nothing to fuse: numpy runs each operation as one loop anyway, so ``fused=True``
computes the ordinary update there (PyTorch accepts ``fused=True`` on the CPU too).
"""
from __future__ import annotations

import functools
from types import SimpleNamespace

from .. import backend


def gpu_kernels(array) -> SimpleNamespace | None:
    """The fused updates for a parameter on a GPU; None on the CPU (numpy has nothing to fuse)."""
    return kernels(backend.module_of(array)) if backend.is_gpu_array(array) else None


@functools.lru_cache(maxsize=None)
def kernels(cp) -> SimpleNamespace:
    """The fused updates for array module ``cp`` (cupy), built once."""
    sqrt, maximum = cp.sqrt, cp.maximum

    def adam(w, g, m, v, one_minus_beta1, beta2, one_minus_beta2, bias_correction2_sqrt, eps, step_size):
        m += (g - m) * one_minus_beta1
        v *= beta2
        v += (g * one_minus_beta2) * g
        w -= m / (sqrt(v) / bias_correction2_sqrt + eps) * step_size

    def adam_amsgrad(w, g, m, v, v_max, one_minus_beta1, beta2, one_minus_beta2, bias_correction2_sqrt,
                     eps, step_size):
        m += (g - m) * one_minus_beta1
        v *= beta2
        v += (g * one_minus_beta2) * g
        v_max[...] = maximum(v_max, v)
        w -= m / (sqrt(v_max) / bias_correction2_sqrt + eps) * step_size

    def sgd_momentum(w, g, buf, momentum, keep, lr):
        buf *= momentum
        buf += keep * g
        w -= lr * buf

    def sgd_nesterov(w, g, buf, momentum, keep, lr):
        buf *= momentum
        buf += keep * g
        w -= lr * (g + momentum * buf)

    fuse = cp.fuse
    return SimpleNamespace(adam=fuse(kernel_name="layerforge_adam")(adam),
                           adam_amsgrad=fuse(kernel_name="layerforge_adam_amsgrad")(adam_amsgrad),
                           sgd_momentum=fuse(kernel_name="layerforge_sgd_momentum")(sgd_momentum),
                           sgd_nesterov=fuse(kernel_name="layerforge_sgd_nesterov")(sgd_nesterov))


def check_fused_options(fused, foreach) -> None:
    """PyTorch's refusal of both at once."""
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
