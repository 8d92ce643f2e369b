"""Adam and AdamW (decoupled weight decay), with AMSGrad, as PyTorch computes them."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .fused import check_fused_options, gpu_kernels
from .optimizer import Optimizer, array_module, check_non_negative, new_step_counter, zero_state_like


class Adam(Optimizer):
    """``m = lerp(m, g, 1 - beta1)``, ``v = beta2 * v + (1 - beta2) * g^2``,
    ``p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        check_non_negative(lr=lr, eps=eps)
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        check_non_negative(weight_decay=weight_decay)
        check_fused_options(fused, foreach)
        defaults = {"lr": lr, "betas": (float(betas[0]), float(betas[1])), "eps": eps,
                    "weight_decay": weight_decay, "amsgrad": amsgrad, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable, "differentiable": differentiable,
                    "fused": fused, "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _hyperparameters(self, group):
        hyper = super()._hyperparameters(group)
        hyper.beta1, hyper.beta2 = (float(b) for b in group["betas"])
        hyper.eps, hyper.amsgrad, hyper.fused = float(group["eps"]), group["amsgrad"], group.get("fused")
        return hyper

    def _update(self, group, params):
        # The flat path reads the group's options itself: no namespace built per step (what
        # _hyperparameters gives, for the same group, field by field).
        # (a first parameter above the flat size rules the flat path out without building its key)
        if not group["amsgrad"] and len(params) > 1 and params[0]._data.size <= self.FLAT_MAX_ELEMENTS:
            beta1, beta2 = group["betas"]
            if self._update_small_flat(
                    params, float(group["lr"]), float(beta1), float(beta2), float(group["eps"]),
                    float(group.get("weight_decay", 0)), bool(group.get("maximize", False)),
                    bool(group.get("decoupled_weight_decay", False))):
                return
        super()._update(group, params)

    def _init_state(self, state, w, hyper):
        state["step"] = new_step_counter()
        state["exp_avg"] = zero_state_like(w)
        state["exp_avg_sq"] = zero_state_like(w)
        if hyper.amsgrad:
            state["max_exp_avg_sq"] = zero_state_like(w)

    def _rule(self, w, g, state, step, hyper):
        lr, beta1, beta2, eps = hyper.lr, hyper.beta1, hyper.beta2, hyper.eps
        exp_avg = state["exp_avg"]._data
        exp_avg_sq = state["exp_avg_sq"]._data
        fused_kernels = gpu_kernels(w) if hyper.fused else None
        if fused_kernels is not None:  # one GPU kernel for the whole update
            args = (1.0 - beta1, beta2, 1.0 - beta2, (1.0 - beta2 ** step) ** 0.5, eps, lr / (1.0 - beta1 ** step))
            if hyper.amsgrad:
                fused_kernels.adam_amsgrad(w, g, exp_avg, exp_avg_sq, state["max_exp_avg_sq"]._data, *args)
            else:
                fused_kernels.adam(w, g, exp_avg, exp_avg_sq, *args)
            return
        xp = np if type(w) is np.ndarray else array_module(w)
        step_size = lr / (1.0 - beta1 ** step)
        bias_correction2_sqrt = (1.0 - beta2 ** step) ** 0.5
        max_sq = state["max_exp_avg_sq"]._data if hyper.amsgrad else None
        n = w.size
        arrays = (w, g, exp_avg, exp_avg_sq) + ((max_sq,) if max_sq is not None else ()) \
            if xp is np and n > self.CHUNK_ELEMENTS else None
        if arrays is not None and all(a.flags.c_contiguous for a in arrays):
            # A large parameter is updated a cache-sized slice at a time: the same dozen passes, but
            # each slice stays in the CPU's cache between them instead of streaming from memory.
            flat = [a.reshape(-1) for a in arrays]
            chunk = self.CHUNK_ELEMENTS
            scratch = np.empty(chunk, dtype=w.dtype)
            for start in range(0, n, chunk):
                stop = min(n, start + chunk)
                parts = [a[start:stop] for a in flat]
                _adam_arrays(np, *parts[:4], parts[4] if max_sq is not None else None, scratch[:stop - start],
                             beta1, beta2, eps, step_size, bias_correction2_sqrt)
            return
        _adam_arrays(xp, w, g, exp_avg, exp_avg_sq, max_sq, None, beta1, beta2, eps, step_size,
                     bias_correction2_sqrt)

    # Parameters above this many elements are updated in slices of it (see _rule); 65,536 float32
    # elements make five 256 KiB slices (weight, gradient, two moments, scratch), inside a core's L2.
    # (16,384, 32,768 and 131,072 measured slower for the MLP and MNIST rows.)
    CHUNK_ELEMENTS = 1 << 16

    # Small models: the per-parameter loop costs ~13 numpy calls per tensor, which is most of a
    # playground model's step. There, the group's moments live in two flat arrays (each parameter's
    # exp_avg/exp_avg_sq tensor is a view into them, so state_dict and in-place semantics hold) and
    # one pass of the same elementwise formulas updates them all: identical results, ~5x fewer calls.
    FLAT_MAX_ELEMENTS = 1 << 16

    def _update_small_flat(self, params, lr, beta1, beta2, eps, weight_decay, maximize, decoupled):
        """The update on flat arrays; False (nothing done) where it does not apply."""
        flat = self._flat_state(params)
        if flat is None:
            return False
        m, v, steps, scratch, scratch_views, dtype = flat
        grads = [p.grad._data for p in params]
        for g in grads:
            if type(g) is not np.ndarray or g.dtype != dtype:
                return False
        # The step counters are 0-d views of one array too: one store counts every parameter's (fill
        # rounds the float64 sum to the counters' dtype as an in-place add does; 0.8 -> 0.2 us).
        counts = steps.tolist()
        if counts.count(counts[0]) != len(counts):  # step counts edited apart: use the loop
            return False
        steps.fill(counts[0] + 1.0)
        step = steps.item(0)
        g = np.concatenate(grads, axis=None)  # flattened by concatenate itself (no reshape per tensor)
        if maximize:
            np.negative(g, out=g)
        if weight_decay != 0:
            if decoupled:
                for p in params:
                    p._data *= 1.0 - lr * weight_decay
            else:
                g += weight_decay * np.concatenate([p._data.reshape(-1) for p in params])
        np.subtract(g, m, out=scratch)  # the same operations, in the same order, as the loop above
        scratch *= 1.0 - beta1
        m += scratch
        np.multiply(g, 1.0 - beta2, out=scratch)
        scratch *= g
        v *= beta2
        v += scratch
        step_size = lr / (1.0 - beta1 ** step)
        np.sqrt(v, out=scratch)
        scratch /= (1.0 - beta2 ** step) ** 0.5
        scratch += eps
        np.divide(m, scratch, out=scratch)
        scratch *= step_size
        for p, update in zip(params, scratch_views):
            p._data -= update
        return True

    def _flat_state(self, params):
        """(m, v, steps, scratch, per-parameter views of scratch, dtype), the moments and step counters
        being views in self.state; built (from the current state) on the first step or whenever the
        state or a parameter's array was replaced; None where the flat update does not apply."""
        cache = self.__dict__.setdefault("_flat_cache", {})
        key = tuple(map(id, params))
        found = cache.get(key)
        if found is not None:
            # The cache holds the parameters themselves, so ids in the key cannot have been reused.
            kept, states, views, flat = found
            state_of, dtype, ndarray = self.state, flat[5], np.ndarray
            try:
                for p, st, (mv, vv, sv) in zip(params, states, views):
                    w = p._data
                    if (state_of.get(p) is not st or type(w) is not ndarray
                            or (w.dtype is not dtype and w.dtype != dtype)
                            or st["exp_avg"]._data is not mv or st["exp_avg_sq"]._data is not vv
                            or st["step"]._data is not sv):
                        break
                else:
                    return flat
            except (KeyError, AttributeError):  # state entries removed or replaced by non-tensors
                pass
        return self._build_flat_state(cache, key, params)

    def _build_flat_state(self, cache, key, params):
        first = params[0]._data
        if type(first) is not np.ndarray:
            return None
        dtype = first.dtype
        total = 0
        for p in params:
            w = p._data
            if type(w) is not np.ndarray or w.dtype != dtype:
                return None
            total += w.size
        if total > self.FLAT_MAX_ELEMENTS:
            return None
        states = [self.state[p] for p in params]
        counts = {float(st["step"]._data) if isinstance(st.get("step"), Tensor) else st.get("step", 0)
                  for st in states}
        if len(counts) != 1 or any(st and ("exp_avg" not in st or "exp_avg_sq" not in st) for st in states):
            return None  # parameters at different step counts (or foreign state): use the loop
        m, v = np.zeros(total, dtype), np.zeros(total, dtype)
        steps = np.full(len(params), counts.pop(), np.float32)  # PyTorch's step: a float32 0-d tensor
        scratch = np.empty(total, dtype)
        views, scratch_views = [], []
        start = 0
        for i, (p, st) in enumerate(zip(params, states)):
            shape, end = p._data.shape, start + p._data.size
            m_view, v_view = m[start:end].reshape(shape), v[start:end].reshape(shape)
            step_view = steps[i:i + 1].reshape(())
            if st:
                m_view[...] = st["exp_avg"]._data
                v_view[...] = st["exp_avg_sq"]._data
                st["exp_avg"]._data, st["exp_avg_sq"]._data = m_view, v_view
                if isinstance(st.get("step"), Tensor):
                    st["step"]._data = step_view
                else:
                    st["step"] = Tensor._wrap(step_view)
            else:
                st["step"] = Tensor._wrap(step_view)
                st["exp_avg"], st["exp_avg_sq"] = Tensor._wrap(m_view), Tensor._wrap(v_view)
            views.append((m_view, v_view, step_view))
            scratch_views.append(scratch[start:end].reshape(shape))
            start = end
        flat = (m, v, steps, scratch, scratch_views, dtype)
        if len(cache) >= 8:  # parameter subsets that keep changing: keep the cache small
            cache.clear()
        cache[key] = (list(params), states, views, flat)
        return flat


def _adam_arrays(xp, w, g, exp_avg, exp_avg_sq, max_exp_avg_sq, scratch, beta1, beta2, eps, step_size,
                 bias_correction2_sqrt):
    """One Adam update of ``w`` in place, PyTorch's operations in PyTorch's order (lerp, then
    addcmul as (value * g) * g, then sqrt(v) / sqrt(bias_correction2) + eps, then addcdiv).
    Without ``scratch`` the first difference allocates it (one GPU kernel, not two)."""
    if scratch is None:
        scratch = g - exp_avg
    else:
        xp.subtract(g, exp_avg, out=scratch)
    scratch *= 1.0 - beta1
    exp_avg += scratch
    xp.multiply(g, 1.0 - beta2, out=scratch)
    scratch *= g
    exp_avg_sq *= beta2
    exp_avg_sq += scratch
    second = exp_avg_sq
    if max_exp_avg_sq is not None:
        second = max_exp_avg_sq
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
