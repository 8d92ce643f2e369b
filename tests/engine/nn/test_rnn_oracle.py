"""RNN, LSTM, GRU and their cells against PyTorch: same weights (copied through the state_dict), then
outputs, final states and the gradients of the input, the initial states and every parameter."""
from __future__ import annotations

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.nn import rnn

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")

DEVICES = ["cpu", pytest.param("cuda", marks=[
    pytest.mark.gpu, pytest.mark.skipif(not lf.cuda.is_available(), reason="no CUDA GPU/cupy")])]
LAYERS = {"RNN": (rnn.RNN, torch.nn.RNN), "LSTM": (rnn.LSTM, torch.nn.LSTM),
          "GRU": (rnn.GRU, torch.nn.GRU)}
CELLS = {"RNNCell": (rnn.RNNCell, torch.nn.RNNCell), "LSTMCell": (rnn.LSTMCell, torch.nn.LSTMCell),
         "GRUCell": (rnn.GRUCell, torch.nn.GRUCell)}
TOL = {"float64": dict(rtol=1e-9, atol=1e-10), "float32": dict(rtol=2e-5, atol=2e-5)}


def copy_from_torch(ours, theirs, device="cpu"):
    """Assert identical state_dict keys and shapes, then load torch's values into ours."""
    our_state, their_state = ours.state_dict(), theirs.state_dict()
    assert list(our_state) == list(their_state)
    assert [tuple(v.shape) for v in our_state.values()] == [tuple(v.shape) for v in their_state.values()]
    if next(theirs.parameters()).dtype == torch.float64:
        ours = ours.double()
    ours.load_state_dict({k: lf.tensor(v.detach().numpy()) for k, v in their_state.items()})
    return ours.to(device)


def _leaf(array, device, requires_grad=True):
    return (lf.tensor(array, device=device, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


def _flatten(out):
    if isinstance(out, (tuple, list)):
        return [t for item in out for t in _flatten(item)]
    return [out]


def _close(ours, theirs, dtype, what):
    np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy(), **TOL[dtype],
                               err_msg=what)


def run_and_compare(ours, theirs, inputs, dtype, device="cpu", seed=0):
    """Call both modules on the same leaves, compare outputs, backprop the same upstream, compare grads."""
    ours_args = [tuple(_leaf(a, device)[0] for a in x) if isinstance(x, tuple) else
                 (None if x is None else _leaf(x, device)[0]) for x in inputs]
    their_args = [tuple(torch.tensor(a, requires_grad=True) for a in x) if isinstance(x, tuple) else
                  (None if x is None else torch.tensor(x, requires_grad=True)) for x in inputs]
    ours_out, their_out = _flatten(ours(*ours_args)), _flatten(theirs(*their_args))
    assert len(ours_out) == len(their_out)
    rng = np.random.default_rng(seed)
    ours_loss, their_loss = 0, 0
    for k, (a, b) in enumerate(zip(ours_out, their_out)):
        assert tuple(a.shape) == tuple(b.shape), f"output {k}"
        assert a.dtype.name == dtype
        _close(a, b, dtype, f"output {k}")
        weight = rng.standard_normal(tuple(b.shape)).astype(dtype)
        ours_loss = ours_loss + (a * lf.tensor(weight, device=device)).sum()
        their_loss = their_loss + (b * torch.tensor(weight)).sum()
    ours_loss.backward()
    their_loss.backward()
    for k, (a, b) in enumerate(zip(_flatten([x for x in ours_args if x is not None]),
                                   _flatten([x for x in their_args if x is not None]))):
        _close(a.grad, b.grad, dtype, f"gradient of input {k}")
    ours_params = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        _close(ours_params[name].grad, p.grad, dtype, f"gradient of {name}")


def _data(*shape, seed=1, dtype="float64"):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


LAYER_CONFIGS = [
    {},
    {"num_layers": 2, "bidirectional": True},
    {"batch_first": True, "bias": False},
    {"num_layers": 3, "bidirectional": True, "batch_first": True},
]


def _layer_kwargs(mode):
    if mode == "RNN-relu":
        return "RNN", {"nonlinearity": "relu"}
    return mode, {}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("config", LAYER_CONFIGS, ids=lambda c: "-".join(f"{k}" for k in c) or "default")
@pytest.mark.parametrize("mode", ["RNN", "RNN-relu", "LSTM", "GRU"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
def test_layer_matches_torch(mode, config, with_state, device):
    name, extra = _layer_kwargs(mode)
    ours_cls, their_cls = LAYERS[name]
    torch.manual_seed(0)
    theirs = their_cls(4, 5, **extra, **config).double()
    ours = copy_from_torch(ours_cls(4, 5, **extra, **config), theirs, device)
    T, B = 6, 3
    x = _data(B, T, 4) if config.get("batch_first") else _data(T, B, 4)
    states = None
    if with_state:
        layers = config.get("num_layers", 1) * (2 if config.get("bidirectional") else 1)
        states = _data(layers, B, 5, seed=2)
        if name == "LSTM":
            states = (states, _data(layers, B, 5, seed=3))
    run_and_compare(ours, theirs, [x, states], "float64", device)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
def test_unbatched_input_matches_torch(mode, with_state):
    ours_cls, their_cls = LAYERS[mode]
    theirs = their_cls(3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    ours = copy_from_torch(ours_cls(3, 4, num_layers=2, bidirectional=True, batch_first=True), theirs)
    states = None
    if with_state:
        states = _data(4, 4, seed=5)
        if mode == "LSTM":
            states = (states, _data(4, 4, seed=6))
    run_and_compare(ours, theirs, [_data(5, 3), states], "float64")


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_float32_layer_matches_torch_and_keeps_dtype(mode):
    ours_cls, their_cls = LAYERS[mode]
    theirs = their_cls(8, 16, num_layers=2)
    ours = copy_from_torch(ours_cls(8, 16, num_layers=2), theirs)
    run_and_compare(ours, theirs, [_data(10, 4, 8, dtype="float32"), None], "float32")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("config", [{}, {"bias": False}], ids=["bias", "no-bias"])
@pytest.mark.parametrize("cell", ["RNNCell", "RNNCell-relu", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
def test_cell_matches_torch(cell, config, batched, with_state, device):
    extra = {"nonlinearity": "relu"} if cell == "RNNCell-relu" else {}
    ours_cls, their_cls = CELLS[cell.split("-")[0]]
    torch.manual_seed(1)
    theirs = their_cls(4, 6, **extra, **config).double()
    ours = copy_from_torch(ours_cls(4, 6, **extra, **config), theirs, device)
    lead = (3,) if batched else ()
    state = None
    if with_state:
        state = _data(*lead, 6, seed=7)
        if cell == "LSTMCell":
            state = (state, _data(*lead, 6, seed=8))
    run_and_compare(ours, theirs, [_data(*lead, 4), state], "float64", device)


def test_eval_mode_turns_inter_layer_dropout_off_like_torch():
    theirs = torch.nn.LSTM(3, 4, num_layers=3, dropout=0.5).double().eval()
    ours = copy_from_torch(rnn.LSTM(3, 4, num_layers=3, dropout=0.5), theirs).eval()
    run_and_compare(ours, theirs, [_data(5, 2, 3), None], "float64")


def test_training_mode_applies_dropout_between_layers_only():
    lf.manual_seed(0)
    model = rnn.GRU(3, 8, num_layers=2, dropout=0.5).double()
    x = lf.tensor(_data(5, 4, 3))
    train_out = model(x)[0]
    model.eval()
    eval_out = model(x)[0]
    assert not np.allclose(train_out.detach().numpy(), eval_out.detach().numpy())
    single = rnn.GRU(3, 8, num_layers=1).double()
    assert np.array_equal(single(x)[0].detach().numpy(), single.eval()(x)[0].detach().numpy())


def test_dropout_with_one_layer_warns_like_torch():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        rnn.LSTM(3, 4, dropout=0.2)
