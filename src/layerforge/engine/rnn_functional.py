"""PyTorch's functional recurrent entry points: the cells (torch.lstm_cell, gru_cell, rnn_tanh_cell,
rnn_relu_cell) and the whole-sequence forms (torch.lstm, gru, rnn_tanh, rnn_relu) that take the flat
parameter list nn.LSTM and friends hold ([w_ih, w_hh, b_ih, b_hh] per layer and direction).

Composed of the engine's differentiable operations (matmul, sigmoid, tanh, ...), in PyTorch's gate
order (LSTM: input, forget, cell, output; GRU: reset, update, new), so every gradient is theirs. The
packed-sequence overloads (data, batch_sizes, ...) are not offered; nn.LSTM takes packed input.
"""
from __future__ import annotations

from .nn import functional as F
from .ops import cat, relu, sigmoid, stack, tanh


def _linear(x, w, b):
    return F.linear(x, w, b)


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):  # noqa: A002
    h, c = hx
    gates = _linear(input, w_ih, b_ih) + _linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, -1)
    c_next = sigmoid(f) * c + sigmoid(i) * tanh(g)
    return sigmoid(o) * tanh(c_next), c_next


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):  # noqa: A002
    xr, xz, xn = _linear(input, w_ih, b_ih).chunk(3, -1)
    hr, hz, hn = _linear(hx, w_hh, b_hh).chunk(3, -1)
    r, z = sigmoid(xr + hr), sigmoid(xz + hz)
    n = tanh(xn + r * hn)
    return (1 - z) * n + z * hx


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):  # noqa: A002
    return tanh(_linear(input, w_ih, b_ih) + _linear(hx, w_hh, b_hh))


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):  # noqa: A002
    return relu(_linear(input, w_ih, b_ih) + _linear(hx, w_hh, b_hh))


def _run(cell, input, states, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
    """states: a list of per-(layer, direction) states; returns the output and the final states."""
    if not isinstance(params, (list, tuple)):
        raise TypeError("params must be a list of tensors ([w_ih, w_hh(, b_ih, b_hh)] per layer and direction)")
    per = 4 if has_biases else 2
    directions = 2 if bidirectional else 1
    if len(params) != per * num_layers * directions:
        raise RuntimeError(f"expected {per * num_layers * directions} parameters for {num_layers} layer(s) "
                           f"with{'' if has_biases else 'out'} biases, got {len(params)}")
    x = input.transpose(0, 1) if batch_first else input  # (T, N, features) or (T, features)
    finals = []
    for layer in range(num_layers):
        outputs = []
        for direction in range(directions):
            k = layer * directions + direction
            w = params[k * per:(k + 1) * per]
            weights = (w[0], w[1], w[2], w[3]) if has_biases else (w[0], w[1], None, None)
            state = states[k]
            steps = range(x.shape[0] - 1, -1, -1) if direction else range(x.shape[0])
            out = [None] * x.shape[0]
            for t in steps:
                state = cell(x[t], state, *weights)
                out[t] = state[0] if isinstance(state, tuple) else state
            outputs.append(stack(out, 0))
            finals.append(state)
        x = outputs[0] if directions == 1 else cat(outputs, -1)
        if dropout and train and layer < num_layers - 1:
            x = F.dropout(x, dropout, True)
    return (x.transpose(0, 1) if batch_first else x), finals


def lstm(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):  # noqa: A002
    """torch.lstm(input, (h0, c0), params, ...) -> (output, h_n, c_n)."""
    h0, c0 = hx
    states = [(h0[k], c0[k]) for k in range(h0.shape[0])]
    output, finals = _run(lstm_cell, input, states, params, has_biases, num_layers, dropout, train, bidirectional,
                          batch_first)
    return output, stack([h for h, _ in finals], 0), stack([c for _, c in finals], 0)


def _simple(cell):
    def run(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):  # noqa: A002
        states = [hx[k] for k in range(hx.shape[0])]
        output, finals = _run(cell, input, states, params, has_biases, num_layers, dropout, train, bidirectional,
                              batch_first)
        return output, stack(finals, 0)

    return run


gru, rnn_tanh, rnn_relu = _simple(gru_cell), _simple(rnn_tanh_cell), _simple(rnn_relu_cell)
gru.__name__, rnn_tanh.__name__, rnn_relu.__name__ = "gru", "rnn_tanh", "rnn_relu"
