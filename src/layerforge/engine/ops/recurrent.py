"""Recurrent kernels: one graph node runs one layer in one direction over the whole sequence.

Why fused: an LSTM step written with autograd ops is about twenty nodes; over 32 steps, 2 directions
and 2 layers that is thousands of tiny nodes whose Python overhead dwarfs the arithmetic. Here the
input projection of every timestep is one GEMM up front, the time loop runs on raw arrays writing
into preallocated buffers, and backpropagation through time is one loop in ``backward``, with the
weight gradients again one GEMM each over all timesteps.

Layout follows PyTorch exactly: ``x`` is (T, B, I); ``w_ih`` is (G*H, I) and ``w_hh`` (G*H, H) with
the gates stacked [i, f, g, o] (LSTM), [r, z, n] (GRU), or a single block (RNN). The RNN keeps its
hidden states in one (T + 1, B, H) array in time order, so the outputs and every step's previous
state are contiguous slices of it, in either direction; the LSTM, and the GRU (``gru.py``), work
feature-major inside (see ``LSTMLayer``) and hand back PyTorch's layouts.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..autograd import Node
from .buffer_pool import lent, workspace
from .common import xp_of
from .elementwise import expected_overflow, sigmoid_of_negated
from .small_products import row_blocks


# LSTM backward prepares its per-gate factors this many steps at a time, just before the loop uses
# them (measured: 16 ~2 % faster than all 32 steps at once for the LSTM row, 4 and 8 not faster)
_CHUNK = 16


def _time_order(T: int, reverse: bool):
    return range(T - 1, -1, -1) if reverse else range(T)


class _RecurrentLayer(Node):
    """Shared parts: the input projection, the state slices, and the weight gradients."""

    n_gates = 1

    def __init__(self, reverse: bool, has_bias: bool):
        self.reverse, self.has_bias = reverse, has_bias

    # Hidden state of time t lives at states[t + 1] going forward and at states[t] going backward;
    # the state before the first step (h0) sits at the other end.
    def _cur(self, t):
        return t if self.reverse else t + 1

    def _prev(self, t):
        return t + 1 if self.reverse else t

    def _outputs(self, states):
        return states[:-1] if self.reverse else states[1:]

    def _previous_states(self, states):
        return states[1:] if self.reverse else states[:-1]

    def _project(self, x, w_ih, bias, recycled=False):
        """x @ w_ih.T + bias for every timestep at once: (T, B, G*H); with ``recycled``, into a buffer
        of the workspace that ``release`` gives back."""
        T, B, I = x.shape
        if recycled:
            out = workspace.take(xp_of(x), (T * B, w_ih.shape[0]), x.dtype)
            xp_of(x).matmul(x.reshape(T * B, I), w_ih.T, out=out)
            self.recycled = out
        else:
            out = x.reshape(T * B, I) @ w_ih.T
        if bias is not None:
            out += bias
        return out.reshape(T, B, -1)

    def _input_grads(self, d_gates_in, d_gates_hh, needs, x, w_ih, prev_states):
        """Gradients of x, w_ih, w_hh and the biases from the per-step pre-activation gradients."""
        T, B, I = x.shape
        rows_in = d_gates_in.reshape(T * B, -1)
        rows_hh = rows_in if d_gates_hh is None else d_gates_hh.reshape(T * B, -1)
        dx = (rows_in @ w_ih).reshape(T, B, I) if needs[0] else None
        dw_ih = rows_in.T @ x.reshape(T * B, I)
        dw_hh = rows_hh.T @ prev_states.reshape(T * B, -1)
        if not self.has_bias:
            return dx, dw_ih, dw_hh
        db_ih = rows_in.sum(axis=0)
        # LSTM's two biases get the same gradient: one sum (the backward walk copies it for the second)
        return dx, dw_ih, dw_hh, db_ih, db_ih if rows_hh is rows_in else rows_hh.sum(axis=0)

    def release(self):
        workspace.give(self.__dict__.get("recycled"))
        super().release()

    def _needs(self):
        return [t is not None and t.requires_grad for t in (self.inputs or ())]


class LSTMLayer(_RecurrentLayer):
    """Inputs (x, h0, c0, w_ih, w_hh[, b_ih, b_hh]); outputs (output (T, B, H), h_n, c_n).

    Works feature-major: every state is (H, B) and a step's gates are one (4H, B) GEMM output
    ``W @ [x_t; h; 1]`` with the input, the previous state and a row of ones (the bias) stacked in one
    (I + H + 1, B) operand, so there is no separate input projection and no add per step, and each
    gate is a contiguous block, which numpy's elementwise calls run ~2x faster than the strided
    column blocks of a (B, 4H) layout. Gates are kept in the order [o, i, f, g]: the three sigmoids
    are one block (one activation call for all of them; see ``sigmoids_by_tanh`` for which form) and
    so are the three gates that multiply the cell gradient in backward.
    """

    n_gates = 4

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
        xp = xp_of(x)
        T, B, I = x.shape
        H = w_hh.shape[1]
        dtype = x.dtype
        K = I + H + (1 if self.has_bias else 0)
        # One workspace buffer for everything kept until backward (fresh multi-megabyte arrays every
        # step fault in new pages): the weights [w_ih | w_hh | bias], then per step taken (time order
        # reversed when ``reverse``) its operand [x; h; 1] (the step writes its new state into the
        # next one's), its activations, its cell state and the cell state's tanh.
        self.arena, (weights, operands, gates, cells, tanh_cells) = _carve(
            xp, dtype, (4 * H, K), (T + 1, K, B), (T, 4 * H, B), (T + 1, H, B), (T, H, B))
        for columns, block in ((slice(0, I), w_ih), (slice(I, I + H), w_hh)):
            _internal_rows(xp, weights[:, columns], block, H)
        if self.has_bias:
            _internal_rows(xp, weights[:, K - 1], b_ih + b_hh, H)
            operands[:, K - 1] = 1
        by_tanh = scale_sigmoid_rows(xp, weights[:3 * H])
        xp.copyto(operands[:T, :I], (x[::-1] if self.reverse else x).transpose(0, 2, 1))
        operands[0, I:I + H] = h0.T
        cells[0] = c0.T
        tmp = xp.empty((H, B), dtype=dtype)
        blocked_weights, blocked_gates = _blocked_step_product(xp, weights, gates)
        with expected_overflow(xp):
            for s in range(T):
                g = gates[s]
                xp.matmul(blocked_weights, operands[s], out=blocked_gates[s])
                activate_gates(xp, g, 3 * H, by_tanh)
                c = cells[s + 1]
                xp.multiply(g[2 * H:3 * H], cells[s], out=c)
                xp.multiply(g[H:2 * H], g[3 * H:], out=tmp)
                c += tmp
                xp.tanh(c, out=tanh_cells[s])
                xp.multiply(g[:H], tanh_cells[s], out=operands[s + 1, I:I + H])
        self.x, self.w_ih, self.w_hh = x, w_ih, w_hh
        self.operands, self.gates, self.cells, self.tanh_cells = operands, gates, cells, tanh_cells
        states = operands[1:, I:I + H]
        output = lent(xp, (T, B, H), dtype)
        xp.copyto(output, (states[::-1] if self.reverse else states).transpose(0, 2, 1))
        return output, xp.ascontiguousarray(states[-1].T), xp.ascontiguousarray(cells[T].T)

    def backward(self, d_out, d_hn, d_cn):
        xp = xp_of(self.x)
        gates, tanh_c, operands, cells = self.gates, self.tanh_cells, self.operands, self.cells
        T, H4, B = gates.shape
        H = H4 // 4
        K = operands.shape[1]
        I = self.x.shape[2]
        dtype = gates.dtype
        arena, (w_hh, factors, dc_from_dh, rows, columns) = _carve(
            xp, dtype, (H4, H), (T, H4, B), (T, H, B), (H4, T * B), (T * B, K))
        # copies (the loop adds into them; ascontiguousarray would hand back a batch of one's own array)
        dh = xp.zeros((H, B), dtype=dtype) if d_hn is None else xp.array(d_hn.T, order="C")
        dc = xp.zeros((H, B), dtype=dtype) if d_cn is None else xp.array(d_cn.T, order="C")
        live = _live_steps(xp, d_out, T)
        tmp = xp.empty((H, B), dtype=dtype)
        needs = self._needs()
        state_grads = needs[1] or needs[2]
        _internal_rows(xp, w_hh, self.w_hh, H)
        w_hh_t, blocked_dh = _blocked_state_product(xp, w_hh, dh)
        by_step = rows.reshape(H4, T, B)
        for end in range(T, 0, -_CHUNK):
            span = slice(max(end - _CHUNK, 0), end)
            a, fac, tc = gates[span], factors[span], tanh_c[span]
            # d(pre-activation) = factor * dh (gate o) or factor * dc (gates i, f, g), a few steps
            # at once (they stay in the cache for the loop); the per-step loop then multiplies them
            # in place, turning them into the gradients.
            sig = fac[:, :3 * H]
            xp.subtract(1, a[:, :3 * H], out=sig)
            sig *= a[:, :3 * H]                        # a (1 - a): the sigmoids' slope
            fac[:, :H] *= tc
            fac[:, H:2 * H] *= a[:, 3 * H:]
            fac[:, 2 * H:3 * H] *= cells[span]
            f_g = fac[:, 3 * H:]
            xp.multiply(a[:, 3 * H:], a[:, 3 * H:], out=f_g)
            xp.subtract(1, f_g, out=f_g)
            f_g *= a[:, H:2 * H]
            d_c = dc_from_dh[span]
            xp.multiply(tc, tc, out=d_c)
            xp.subtract(1, d_c, out=d_c)
            d_c *= a[:, :H]
            for s in range(span.stop - 1, span.start - 1, -1):
                t = T - 1 - s if self.reverse else s
                if live[t]:
                    dh += d_out[t].T
                xp.multiply(dh, dc_from_dh[s], out=tmp)
                dc += tmp
                d_gates = factors[s]
                block = d_gates[H:].reshape(3, H, B)
                block *= dc
                d_gates[:H] *= dh
                if s or state_grads:          # the gradient of h0 and c0 only when they need one
                    dc *= gates[s, 2 * H:3 * H]
                    xp.matmul(w_hh_t, d_gates, out=blocked_dh)
            # gate rows back in PyTorch's order [i, f, g, o] for the weight GEMM
            xp.copyto(by_step[:3 * H, span], fac[:, H:].transpose(1, 0, 2))
            xp.copyto(by_step[3 * H:, span], fac[:, :H].transpose(1, 0, 2))
        # Weight gradients as one GEMM over all steps, (4H, T B) @ (T B, K) (the (T B, K) operand
        # row-major: BLAS runs it ~4 % faster)
        xp.copyto(columns.reshape(T, B, K), operands[:T].transpose(0, 2, 1))
        d_weights = rows @ columns
        dx = None
        if needs[0]:
            dx = (rows.T @ self.w_ih).reshape(T, B, I)
            if self.reverse:
                dx = dx[::-1]
        workspace.give(arena)
        # a plain array: it becomes the weight's .grad, which the walk would copy a pooled one into
        d_w_hh = xp.empty((H4, H), dtype=dtype)
        xp.copyto(d_w_hh, d_weights[:, I:I + H])
        grads = (dx, xp.ascontiguousarray(dh.T) if needs[1] else None,
                 xp.ascontiguousarray(dc.T) if needs[2] else None,
                 xp.ascontiguousarray(d_weights[:, :I]), d_w_hh)
        if not self.has_bias:
            return grads
        # the two biases get the same gradient (the backward walk copies it for the second)
        d_bias = xp.ascontiguousarray(d_weights[:, K - 1])
        return grads + (d_bias, d_bias)

    def release(self):
        workspace.give(self.__dict__.get("arena"))
        super().release()


def sigmoids_by_tanh(xp, dtype) -> bool:
    """Whether a recurrent step computes its sigmoid gates as 0.5 tanh(z / 2) + 0.5, in one tanh call
    over all its gates and one affine map (True), or as 1 / (1 + exp(-z)), PyTorch's formula, in an exp,
    an add and a reciprocal (False). The tanh form makes fewer calls (a GPU's kernel launches); on the
    CPU it pays only where numpy's tanh for ``dtype`` runs its AVX-512 kernel (x86-64-v4), which looks
    its coefficients up in registers. numpy's AVX2 kernel gathers them from memory, and there (AMD EPYC,
    Zen 3, numpy 2.4) float32 tanh takes 2.9 ns a value against exp's 1.8 (float64: 15.5 against 5.9):
    an LSTM step's gate activations, (512, 32), 50-54 -> 36-37 us in the exp form. The exp form is also
    the more accurate in the sigmoid's negative tail (the tanh form's 0.5 + 0.5 tanh cancels to 0 below
    about -17, where PyTorch gives 4e-8)."""
    return xp is not np or _numpy_tanh_in_registers(np.dtype(dtype).name)


def scale_sigmoid_rows(xp, rows):
    """Scale a step matrix's sigmoid-gate ``rows`` in place for the form ``sigmoids_by_tanh`` chooses:
    halved for the tanh form (0.5 tanh(z / 2) + 0.5), negated for the exp form (sigmoid(-(-z))); both
    exact. Returns the form, for ``activate_gates``."""
    by_tanh = sigmoids_by_tanh(xp, rows.dtype)
    rows *= 0.5 if by_tanh else -1.0
    return by_tanh


def activate_gates(xp, block, n_sigmoid, by_tanh):
    """A step's gate activations in place: the sigmoid of the first ``n_sigmoid`` rows of ``block`` and
    the tanh of the rest, from pre-activations whose sigmoid rows ``scale_sigmoid_rows`` scaled for
    ``by_tanh`` (the tanh form: one tanh over the whole block)."""
    sigmoids = block[:n_sigmoid]
    if by_tanh:
        xp.tanh(block, out=block)
        sigmoids *= 0.5
        sigmoids += 0.5
        return
    sigmoid_of_negated(xp, sigmoids)
    if n_sigmoid < len(block):
        xp.tanh(block[n_sigmoid:], out=block[n_sigmoid:])


@functools.lru_cache(maxsize=None)
def _numpy_tanh_in_registers(dtype_name: str) -> bool:
    try:
        from numpy.lib.introspect import opt_func_info
        kernels = opt_func_info(func_name="^tanh$", signature=f"^{dtype_name}$").get("tanh", {})
        current = " ".join(entry.get("current", "") for entry in kernels.values())
    except Exception:  # noqa: BLE001  (a numpy without the introspection: assume the common kernels)
        return False
    return "X86_V4" in current or "AVX512" in current


def _live_steps(xp, d_out, T):
    """Which steps' output gradients are not all zero: a step whose gradient is zero (a head on
    output[-1] leaves all but one) adds nothing, and none do without an output gradient."""
    if d_out is None:
        return [False] * T
    if xp is np:
        return d_out.reshape(T, -1).any(axis=1).tolist()
    return [True] * T


def _carve(xp, dtype, *shapes):
    """One flat workspace buffer cut into C-contiguous arrays of ``shapes``: one take and one give
    instead of one per array (each costs a few microseconds)."""
    sizes = [math.prod(shape) for shape in shapes]
    arena = workspace.take(xp, (sum(sizes),), dtype)
    views, start = [], 0
    for shape, size in zip(shapes, sizes):
        views.append(arena[start:start + size].reshape(shape))
        start += size
    return arena, views


def _blocked_step_product(xp, weights, gates):
    """(G, K) step weights and (T, G, B) per-step gates as row blocks: ``matmul(weights, operand,
    out=gates[s])`` on them runs the cut product."""
    G, K = weights.shape
    T, _, B = gates.shape
    blocks = row_blocks(xp, G, K, B)
    return weights.reshape(blocks, G // blocks, K), gates.reshape(T, blocks, G // blocks, B)


def _blocked_state_product(xp, w, dh):
    """``w.T`` (H, G), column-major (the faster GEMM there), and the (H, B) state gradient ``dh`` as row
    blocks: ``matmul(w_t, d_gates, out=dh_blocks)`` on them runs backward's per-step product, cut."""
    G, H = w.shape
    blocks = row_blocks(xp, H, G, dh.shape[1])
    return w.T.reshape(blocks, H // blocks, G), dh.reshape(blocks, H // blocks, dh.shape[1])


def _internal_rows(xp, out, w, H):
    """Copy ``w`` (4H, ..), whose rows are PyTorch's gates [i, f, g, o], into ``out`` as [o, i, f, g]."""
    xp.copyto(out[:H], w[3 * H:])
    xp.copyto(out[H:], w[:3 * H])


class RNNLayer(_RecurrentLayer):
    """Elman RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh), or relu. Outputs (output, h_n)."""

    def __init__(self, reverse: bool, has_bias: bool, nonlinearity: str = "tanh"):
        super().__init__(reverse, has_bias)
        self.nonlinearity = nonlinearity

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None):
        xp = xp_of(x)
        T, B, _ = x.shape
        H = w_hh.shape[1]
        pre = self._project(x, w_ih, b_ih + b_hh if self.has_bias else None)
        states = xp.empty((T + 1, B, H), dtype=x.dtype)
        states[T if self.reverse else 0] = h0
        recur = xp.empty((B, H), dtype=x.dtype)
        w_hh_t = xp.ascontiguousarray(w_hh.T)
        relu = self.nonlinearity == "relu"
        for t in _time_order(T, self.reverse):
            xp.matmul(states[self._prev(t)], w_hh_t, out=recur)
            recur += pre[t]
            if relu:
                xp.maximum(recur, 0, out=states[self._cur(t)])
            else:
                xp.tanh(recur, out=states[self._cur(t)])
        self.x, self.w_ih, self.w_hh, self.states = x, w_ih, w_hh, states
        return self._outputs(states), states[0 if self.reverse else T].copy()

    def backward(self, d_out, d_hn):
        xp = xp_of(self.x)
        outputs = self._outputs(self.states)
        T, B, H = outputs.shape
        slope = (outputs != 0).astype(outputs.dtype) if self.nonlinearity == "relu" \
            else 1 - outputs * outputs
        d_pre = xp.empty((T, B, H), dtype=outputs.dtype)
        dh = xp.zeros((B, H), dtype=outputs.dtype) if d_hn is None else d_hn.copy()
        for t in _time_order(T, not self.reverse):
            if d_out is not None:
                dh += d_out[t]
            xp.multiply(dh, slope[t], out=d_pre[t])
            xp.matmul(d_pre[t], self.w_hh, out=dh)
        rest = self._input_grads(d_pre, None, self._needs(), self.x, self.w_ih,
                                 self._previous_states(self.states))
        return (rest[0], dh) + rest[1:]
