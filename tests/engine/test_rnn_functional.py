"""PyTorch's functional recurrent entry points (torch.lstm_cell ... torch.rnn_relu) against PyTorch:
outputs, final states and every gradient, with and without biases, several layers, both directions and
batch_first (PyTorch's functional forms take batched input only); the parameters are an nn module's flat list, as PyTorch code passes."""
import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import check, torch


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


CELLS = [
    case("lstm_cell", lambda m, x, h, c, wi, wh, bi, bh: m.lstm_cell(x, (h, c), wi, wh, bi, bh),
         [(3, 4), (3, 5), (3, 5), (20, 4), (20, 5), (20,), (20,)]),
    case("lstm_cell_no_bias", lambda m, x, h, c, wi, wh: m.lstm_cell(x, (h, c), wi, wh), [(1, 4), (1, 5), (1, 5),
                                                                                             (20, 4), (20, 5)]),
    case("gru_cell", lambda m, x, h, wi, wh, bi, bh: m.gru_cell(x, h, wi, wh, bi, bh),
         [(3, 4), (3, 5), (15, 4), (15, 5), (15,), (15,)]),
    case("rnn_cells", lambda m, x, h, wi, wh, bi, bh: (m.rnn_tanh_cell(x, h, wi, wh, bi, bh),
                                                      m.rnn_relu_cell(x, h, wi, wh, None, bh)),
         [(3, 4), (3, 5), (5, 4), (5, 5), (5,), (5,)]),
]


@pytest.mark.parametrize("fn, shapes, options", CELLS)
def test_cells_match_torch(fn, shapes, options):
    check(fn, shapes, **options)


def _modules(m, kind, options):
    m.manual_seed(0)
    return getattr(m.nn, kind)(4, 5, **options).double()


@pytest.mark.parametrize("kind, options", [
    ("LSTM", {}), ("LSTM", {"num_layers": 2, "bidirectional": True}), ("LSTM", {"batch_first": True, "bias": False}),
    ("GRU", {"num_layers": 2}), ("GRU", {"bidirectional": True, "batch_first": True}),
    ("RNN", {}), ("RNN", {"nonlinearity": "relu", "num_layers": 2, "bias": False}),
])
def test_whole_sequence_forms_match_torch_and_the_modules(kind, options):
    theirs = _modules(torch, kind, options)
    ours = _modules(lf, kind, options)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    layers = options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 6, 4) if options.get("batch_first") else (6, 2, 4))
    h0 = rng.normal(size=(layers, 2, 5))
    c0 = rng.normal(size=h0.shape)
    name = {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn_relu" if options.get("nonlinearity") == "relu" else "rnn_tanh"}[kind]
    results = {}
    for m, module in ((torch, theirs), (lf, ours)):
        xt, ht, ct = (m.tensor(a, dtype=m.float64, requires_grad=True) for a in (x, h0, c0))
        params = list(module.parameters())
        hx = (ht, ct) if kind == "LSTM" else ht
        outs = getattr(m, name)(xt, hx, params, options.get("bias", True), options.get("num_layers", 1), 0.0, False,
                                options.get("bidirectional", False), options.get("batch_first", False))
        loss = sum((o * o).sum() for o in outs)
        loss.backward()
        module_out = module(xt.detach(), hx if kind != "LSTM" else (ht.detach(), ct.detach()))[0]
        results[m] = ([o.detach().numpy() for o in outs] + [module_out.detach().numpy()],
                      [xt.grad.numpy(), ht.grad.numpy()] + [p.grad.numpy() for p in params])
    for ours_arrays, theirs_arrays in zip(results[lf], results[torch]):
        for got, expected in zip(ours_arrays, theirs_arrays):
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-11)


def test_a_wrong_parameter_count_raises_as_torch():
    params = list(lf.nn.LSTM(2, 3).parameters())[:3]
    with pytest.raises(RuntimeError):
        lf.lstm(lf.ones(4, 1, 2), (lf.zeros(1, 1, 3), lf.zeros(1, 1, 3)), params, True, 1, 0.0, False, False, False)
    with pytest.raises(RuntimeError):
        torch.lstm(torch.ones(4, 1, 2), (torch.zeros(1, 1, 3), torch.zeros(1, 1, 3)),
                   list(torch.nn.LSTM(2, 3).parameters())[:3], True, 1, 0.0, False, False, False)
