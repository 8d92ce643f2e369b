"""Recurrent kernels: one graph node runs one layer in one direction over the whole sequence.

Why fused: an LSTM step written with autograd ops is about twenty nodes; over 32 steps, 2 directions
and 2 layers that is thousands of tiny nodes whose Python overhead dwarfs the arithmetic. Here the
input projection of every timestep is one GEMM up front, the time loop runs on raw arrays writing
into preallocated buffers, and backpropagation through time is one loop in ``backward``, with the
weight gradients again one GEMM each over all timesteps.

Layout follows PyTorch exactly: ``x`` is (T, B, I); ``w_ih`` is (G*H, I) and ``w_hh`` (G*H, H) with
the gates stacked [i, f, g, o] (LSTM), [r, z, n] (GRU), or a single block (RNN). Hidden states are
kept in one (T + 1, B, H) array in time order, so the outputs and every step's previous state are
contiguous slices of it, in either direction.
"""
from __future__ import annotations

from ..autograd import Node
from .common import xp_of
from .conv import workspace


def _time_order(T: int, reverse: bool):
    return range(T - 1, -1, -1) if reverse else range(T)


def _scaled_transpose(w, scale):
    """(w * scale[:, None]).T as a C-contiguous array: BLAS runs the per-step GEMM faster on it."""
    w_t = xp_of(w).ascontiguousarray(w.T)
    w_t *= scale
    return w_t


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
    """Inputs (x, h0, c0, w_ih, w_hh[, b_ih, b_hh]); outputs (output (T, B, H), h_n, c_n)."""

    n_gates = 4

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
        xp = xp_of(x)
        T, B, _ = x.shape
        H = w_hh.shape[1]
        dtype = x.dtype
        # sigmoid(z) = 0.5 tanh(z / 2) + 0.5: halving the i, f, o rows of the weights lets one tanh
        # over all four gates produce every activation, and keeps the sigmoid free of overflow.
        scale = xp.full((4, 1), 0.5, dtype=dtype)
        scale[2] = 1.0
        scale = xp.broadcast_to(scale, (4, H)).reshape(4 * H)
        offset = xp.where(scale == 0.5, dtype.type(0.5), dtype.type(0.0)).astype(dtype)
        bias = (b_ih + b_hh) * scale if self.has_bias else None
        gates = self._project(x, w_ih * scale[:, None], bias, recycled=True)   # (T, B, 4H), time order
        w_hh_t = _scaled_transpose(w_hh, scale)
        states = xp.empty((T + 1, B, H), dtype=dtype)
        cells = xp.empty((T + 1, B, H), dtype=dtype)
        tanh_cells = xp.empty((T, B, H), dtype=dtype)
        states[T if self.reverse else 0] = h0
        cells[T if self.reverse else 0] = c0
        recur = xp.empty((B, 4 * H), dtype=dtype)
        tmp = xp.empty((B, H), dtype=dtype)
        for t in _time_order(T, self.reverse):
            g = gates[t]
            xp.matmul(states[self._prev(t)], w_hh_t, out=recur)
            g += recur
            xp.tanh(g, out=g)
            g *= scale
            g += offset
            c = cells[self._cur(t)]
            xp.multiply(g[:, H:2 * H], cells[self._prev(t)], out=c)
            xp.multiply(g[:, :H], g[:, 2 * H:3 * H], out=tmp)
            c += tmp
            xp.tanh(c, out=tanh_cells[t])
            xp.multiply(g[:, 3 * H:], tanh_cells[t], out=states[self._cur(t)])
        self.x, self.w_ih, self.w_hh = x, w_ih, w_hh
        self.gates, self.states, self.cells, self.tanh_cells = gates, states, cells, tanh_cells
        end = 0 if self.reverse else T
        return self._outputs(states), states[end].copy(), cells[end].copy()

    def backward(self, d_out, d_hn, d_cn):
        xp = xp_of(self.x)
        gates, tanh_c = self.gates, self.tanh_cells
        T, B, H4 = gates.shape
        H = H4 // 4
        i, f, g, o = (gates[..., k * H:(k + 1) * H] for k in range(4))
        prev_cells = self._previous_states(self.cells)
        # Everything that does not depend on the recurrence, for all timesteps at once: the factor
        # that turns dc (blocks i, f, g) or dh (block o) into each gate's pre-activation gradient.
        # Block by block through one (T, B, H) scratch: a (1 - a) is the sigmoid's slope (i, f, o).
        # The two (T, B, 4H) scratch arrays come from the convolution's workspace: fresh multi-megabyte
        # arrays every step fault in new pages (on the CPU; a GPU gets plain arrays from it).
        factors = workspace.take(xp, (T, B, 4, H), gates.dtype)
        slope = xp.empty_like(tanh_c)
        for block, (gate, other) in enumerate(((i, g), (f, prev_cells), (None, None), (o, tanh_c))):
            if gate is not None:
                xp.subtract(1, gate, out=slope)
                slope *= gate
                xp.multiply(other, slope, out=factors[:, :, block])
        xp.multiply(g, g, out=factors[:, :, 2])
        xp.subtract(1, factors[:, :, 2], out=factors[:, :, 2])
        factors[:, :, 2] *= i
        dc_from_dh = xp.multiply(tanh_c, tanh_c, out=slope)
        xp.subtract(1, dc_from_dh, out=dc_from_dh)
        xp.multiply(o, dc_from_dh, out=dc_from_dh)
        d_gates = workspace.take(xp, (T, B, 4, H), gates.dtype)
        dh = xp.zeros((B, H), dtype=gates.dtype) if d_hn is None else d_hn.copy()
        dc = xp.zeros((B, H), dtype=gates.dtype) if d_cn is None else d_cn.copy()
        tmp = xp.empty((B, H), dtype=gates.dtype)
        w_hh = self.w_hh
        for t in _time_order(T, not self.reverse):
            if d_out is not None:
                dh += d_out[t]
            xp.multiply(dh, dc_from_dh[t], out=tmp)
            dc += tmp
            xp.multiply(dc[:, None, :], factors[t, :, :3], out=d_gates[t, :, :3])
            xp.multiply(dh, factors[t, :, 3], out=d_gates[t, :, 3])
            dc *= f[t]
            xp.matmul(d_gates[t].reshape(B, H4), w_hh, out=dh)
        workspace.give(factors)
        needs = self._needs()
        rest = self._input_grads(d_gates.reshape(T, B, H4), None, needs, self.x, self.w_ih,
                                 self._previous_states(self.states))
        workspace.give(d_gates)
        return (rest[0], dh, dc) + rest[1:]


class GRULayer(_RecurrentLayer):
    """PyTorch's GRU: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) n + z h.

    Inputs (x, h0, w_ih, w_hh[, b_ih, b_hh]); outputs (output (T, B, H), h_n).
    """

    n_gates = 3

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None):
        xp = xp_of(x)
        T, B, _ = x.shape
        H = w_hh.shape[1]
        dtype = x.dtype
        # r and z rows halved so that sigmoid = 0.5 tanh(z / 2) + 0.5 (see LSTMLayer).
        scale = xp.ones(3 * H, dtype=dtype)
        scale[:2 * H] = 0.5
        if self.has_bias:
            bias = b_ih.copy()
            bias[:2 * H] += b_hh[:2 * H]
            bias *= scale
            b_hn = b_hh[2 * H:]
        else:
            bias = b_hn = None
        gates = self._project(x, w_ih * scale[:, None], bias)   # r, z pre-activations; n's input part
        w_hh_t = _scaled_transpose(w_hh, scale)
        hidden_n = xp.empty((T, B, H), dtype=dtype)              # W_hn h + b_hn, kept for backward
        states = xp.empty((T + 1, B, H), dtype=dtype)
        states[T if self.reverse else 0] = h0
        recur = xp.empty((B, 3 * H), dtype=dtype)
        tmp = xp.empty((B, H), dtype=dtype)
        for t in _time_order(T, self.reverse):
            g = gates[t]
            h_prev = states[self._prev(t)]
            xp.matmul(h_prev, w_hh_t, out=recur)
            rz = g[:, :2 * H]
            rz += recur[:, :2 * H]
            xp.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5
            if b_hn is not None:
                xp.add(recur[:, 2 * H:], b_hn, out=hidden_n[t])
            else:
                hidden_n[t] = recur[:, 2 * H:]
            n = g[:, 2 * H:]
            xp.multiply(g[:, :H], hidden_n[t], out=tmp)
            n += tmp
            xp.tanh(n, out=n)
            h = states[self._cur(t)]
            xp.subtract(h_prev, n, out=h)
            h *= g[:, H:2 * H]
            h += n
        self.x, self.w_ih, self.w_hh = x, w_ih, w_hh
        self.gates, self.hidden_n, self.states = gates, hidden_n, states
        return self._outputs(states), states[0 if self.reverse else T].copy()

    def backward(self, d_out, d_hn):
        xp = xp_of(self.x)
        gates = self.gates
        T, B, H3 = gates.shape
        H = H3 // 3
        r, z, n = (gates[..., k * H:(k + 1) * H] for k in range(3))
        prev_states = self._previous_states(self.states)
        n_factor = (1 - z) * (1 - n * n)            # dh -> d(pre-activation of n)
        z_factor = (prev_states - n) * z * (1 - z)  # dh -> d(pre-activation of z)
        r_factor = self.hidden_n * r * (1 - r)      # d(n pre) -> d(pre-activation of r)
        d_hidden = xp.empty((T, B, H3), dtype=gates.dtype)   # gradient of W_hh h (+ b_hh)
        d_n_input = xp.empty((T, B, H), dtype=gates.dtype)   # gradient of W_in x + b_in
        dh = xp.zeros((B, H), dtype=gates.dtype) if d_hn is None else d_hn.copy()
        tmp = xp.empty((B, H), dtype=gates.dtype)
        w_hh = self.w_hh
        for t in _time_order(T, not self.reverse):
            if d_out is not None:
                dh += d_out[t]
            dn = d_n_input[t]
            xp.multiply(dh, n_factor[t], out=dn)
            xp.multiply(dh, z_factor[t], out=d_hidden[t, :, H:2 * H])
            xp.multiply(dn, r_factor[t], out=d_hidden[t, :, :H])
            xp.multiply(dn, r[t], out=d_hidden[t, :, 2 * H:])
            xp.multiply(dh, z[t], out=tmp)
            xp.matmul(d_hidden[t], w_hh, out=dh)
            dh += tmp
        d_input = d_hidden.copy()
        d_input[..., 2 * H:] = d_n_input
        rest = self._input_grads(d_input, d_hidden, self._needs(), self.x, self.w_ih, prev_states)
        return (rest[0], dh) + rest[1:]


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
        slope = (outputs > 0).astype(outputs.dtype) if self.nonlinearity == "relu" \
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
