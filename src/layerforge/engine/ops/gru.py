"""The GRU kernel: one graph node runs one GRU layer in one direction over the whole sequence.

PyTorch's GRU: r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z = sigmoid(W_iz x + b_iz + W_hz h + b_hz),
n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (h - n) z + n (ATen's order of operations).

Feature-major, as ``LSTMLayer``: states are (H, B), and a step is one GEMM ``W @ [x; 1; h]`` of a
(3H, I + 1 + H) matrix whose rows are z, r (their pre-activations, scaled for the sigmoid's form:
``recurrent.scale_sigmoid_rows``) and W_hn h + b_hn (zero over x). The n gate's input part
W_in x + b_in is one batched product over all steps before the loop. Each gate is a contiguous block
of a step's (3H, B) result, which numpy's elementwise calls run faster than strided columns, and the
per-step product is cut into the row blocks OpenBLAS runs with its small-matrix kernels
(``small_products.row_blocks``).
"""
from __future__ import annotations

from .buffer_pool import lent, workspace
from .common import xp_of
from .elementwise import expected_overflow
from .recurrent import (_CHUNK, _blocked_state_product, _blocked_step_product, _carve, _live_steps,
                        _RecurrentLayer, activate_gates, scale_sigmoid_rows)


class GRULayer(_RecurrentLayer):
    """Inputs (x, h0, w_ih, w_hh[, b_ih, b_hh]); outputs (output (T, B, H), h_n)."""

    n_gates = 3

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None):
        xp = xp_of(x)
        T, B, I = x.shape
        H = w_hh.shape[1]
        dtype = x.dtype
        ones = 1 if self.has_bias else 0
        X = I + ones                                   # the operand's rows [x; 1]; h follows
        K = X + H
        # Kept until backward, in one workspace buffer: the step matrix, the n gate's input matrix
        # [W_in | b_in], every step's operand [x; 1; h] (a step writes its new state into the next
        # one's), its gates [z; r; W_hn h + b_hn], the n gate's input part and n itself.
        self.arena, (weights, n_weights, operands, gates, n_inputs, news) = _carve(
            xp, dtype, (3 * H, K), (H, X), (T + 1, K, B), (T, 3 * H, B), (T, H, B), (T, H, B))
        # rows [z; r] from PyTorch's [r, z, n]; then W_hn (zero over x and the ones row)
        weights[:H, :I], weights[H:2 * H, :I] = w_ih[H:2 * H], w_ih[:H]
        weights[:H, X:], weights[H:2 * H, X:] = w_hh[H:2 * H], w_hh[:H]
        weights[2 * H:, :X] = 0
        weights[2 * H:, X:] = w_hh[2 * H:]
        n_weights[:, :I] = w_ih[2 * H:]
        if self.has_bias:
            xp.add(b_ih[H:2 * H], b_hh[H:2 * H], out=weights[:H, I])
            xp.add(b_ih[:H], b_hh[:H], out=weights[H:2 * H, I])
            weights[2 * H:, I] = b_hh[2 * H:]
            n_weights[:, I] = b_ih[2 * H:]
            operands[:, I] = 1
        by_tanh = scale_sigmoid_rows(xp, weights[:2 * H])   # both sigmoid gates' rows
        xp.copyto(operands[:T, :I], (x[::-1] if self.reverse else x).transpose(0, 2, 1))
        operands[0, X:] = h0.T
        xp.matmul(n_weights, operands[:T, :X], out=n_inputs)
        tmp = xp.empty((H, B), dtype=dtype)
        blocked_weights, blocked_gates = _blocked_step_product(xp, weights, gates)
        with expected_overflow(xp):
            for s in range(T):
                g = gates[s]
                xp.matmul(blocked_weights, operands[s], out=blocked_gates[s])
                activate_gates(xp, g[:2 * H], 2 * H, by_tanh)
                n = news[s]
                xp.multiply(g[H:2 * H], g[2 * H:], out=n)
                n += n_inputs[s]
                xp.tanh(n, out=n)
                xp.subtract(operands[s, X:], n, out=tmp)
                tmp *= g[:H]
                xp.add(n, tmp, out=operands[s + 1, X:])
        self.x, self.w_ih, self.w_hh = x, w_ih, w_hh
        self.operands, self.gates, self.news = operands, gates, news
        states = operands[1:, X:]
        output = lent(xp, (T, B, H), dtype)
        xp.copyto(output, (states[::-1] if self.reverse else states).transpose(0, 2, 1))
        return output, xp.ascontiguousarray(operands[T, X:].T)

    def backward(self, d_out, d_hn):
        xp = xp_of(self.x)
        gates, news, operands = self.gates, self.news, self.operands
        T, H3, B = gates.shape
        H = H3 // 3
        K = operands.shape[1]
        I = self.x.shape[2]
        X = K - H
        dtype = gates.dtype
        needs = self._needs()
        # factors[s] = [(1 - z)(1 - n^2); (h - n) z (1 - z); (W_hn h + b_hn) r (1 - r); r]: dh times the
        # first two gives the gradients of n's and z's pre-activations, n's times the last two r's and
        # that of W_hn h + b_hn. grads[s] holds those four, [dn; dz; dr; d(W_hn h + b_hn)].
        arena, (w_h, factors, grads, rows, columns) = _carve(
            xp, dtype, (H3, H), (T, 4 * H, B), (T, 4 * H, B), (4 * H, T * B), (T * B, K))
        w_h[:H], w_h[H:2 * H], w_h[2 * H:] = self.w_hh[H:2 * H], self.w_hh[:H], self.w_hh[2 * H:]
        # copies (the loop adds into it; ascontiguousarray would hand back a batch of one's own array)
        dh = xp.zeros((H, B), dtype=dtype) if d_hn is None else xp.array(d_hn.T, order="C")
        live = _live_steps(xp, d_out, T)
        tmp = xp.empty((H, B), dtype=dtype)
        state_grad = needs[1]
        w_h_t, blocked_dh = _blocked_state_product(xp, w_h, dh)
        by_step = rows.reshape(4 * H, T, B)
        for end in range(T, 0, -_CHUNK):
            span = slice(max(end - _CHUNK, 0), end)
            z, r, hidden_n = gates[span, :H], gates[span, H:2 * H], gates[span, 2 * H:]
            n, fac = news[span], factors[span]
            a, b, c = fac[:, :H], fac[:, H:2 * H], fac[:, 2 * H:3 * H]
            xp.subtract(1, z, out=a)
            xp.subtract(operands[span, X:], n, out=b)
            b *= z
            b *= a
            xp.multiply(n, n, out=c)                   # c as scratch: 1 - n^2
            xp.subtract(1, c, out=c)
            a *= c
            xp.subtract(1, r, out=c)
            c *= r
            c *= hidden_n
            fac[:, 3 * H:] = r
            for s in range(span.stop - 1, span.start - 1, -1):
                t = T - 1 - s if self.reverse else s
                if live[t]:
                    dh += d_out[t].T
                step_factors, grad = factors[s], grads[s]
                xp.multiply(step_factors[:2 * H].reshape(2, H, B), dh, out=grad[:2 * H].reshape(2, H, B))
                xp.multiply(step_factors[2 * H:].reshape(2, H, B), grad[:H], out=grad[2 * H:].reshape(2, H, B))
                if s or state_grad:           # the gradient of h0 only when it needs one
                    xp.multiply(dh, gates[s, :H], out=tmp)
                    xp.matmul(w_h_t, grad[H:], out=blocked_dh)
                    dh += tmp
            xp.copyto(by_step[:, span], grads[span].transpose(1, 0, 2))
        # the weight gradients as two GEMMs over all steps: (3H, T B) @ (T B, K) for the step matrix
        # and (H, T B) @ (T B, I + 1) for n's input part
        xp.copyto(columns.reshape(T, B, K), operands[:T].transpose(0, 2, 1))
        d_step = rows[H:] @ columns
        d_n_input = rows[:H] @ columns[:, :X]
        dx = None
        if needs[0]:
            w_x = xp.empty((H3, I), dtype=dtype)      # [W_in; W_iz; W_ir], the rows of grads' [dn; dz; dr]
            w_x[:H], w_x[H:2 * H], w_x[2 * H:] = self.w_ih[2 * H:], self.w_ih[H:2 * H], self.w_ih[:H]
            dx = (rows[:H3].T @ w_x).reshape(T, B, I)
            if self.reverse:
                dx = dx[::-1]
        workspace.give(arena)
        d_w_ih = xp.concatenate((d_step[H:2 * H, :I], d_step[:H, :I], d_n_input[:, :I]))
        # a plain array: it becomes the weight's .grad, which the walk would copy a pooled one into
        d_w_hh = xp.empty((H3, H), dtype=dtype)
        d_w_hh[:H], d_w_hh[H:2 * H], d_w_hh[2 * H:] = d_step[H:2 * H, X:], d_step[:H, X:], d_step[2 * H:, X:]
        grads = (dx, xp.ascontiguousarray(dh.T) if state_grad else None, d_w_ih, d_w_hh)
        if not self.has_bias:
            return grads
        d_b_hh = xp.concatenate((d_step[H:2 * H, I], d_step[:H, I], d_step[2 * H:, I]))
        d_b_ih = xp.concatenate((d_step[H:2 * H, I], d_step[:H, I], d_n_input[:, I]))
        return grads + (d_b_ih, d_b_hh)

    def release(self):
        workspace.give(self.__dict__.get("arena"))
        super().release()
