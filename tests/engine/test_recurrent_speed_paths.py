"""The LSTM and GRU kernels' fast paths against PyTorch: a head on output[-1] (every other step's output
gradient is zero and skipped), only the final states used (no output gradient at all), a second
backward through a retained graph (the kernel's scratch comes from a shared workspace and must not
overwrite what forward kept), and two layers alive at once (their workspace buffers must not alias)."""
from __future__ import annotations

import numpy as np
import pytest

import layerforge.engine as lf

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")

TOL = {"float64": dict(rtol=1e-9, atol=1e-10), "float32": dict(rtol=2e-5, atol=2e-5)}
DEVICES = ["cpu", pytest.param("cuda", marks=[
    pytest.mark.gpu, pytest.mark.skipif(not lf.cuda.is_available(), reason="no CUDA GPU/cupy")])]


KINDS = ["LSTM", "GRU"]


def _pair(dtype="float64", device="cpu", kind="LSTM", **config):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(6, 7, **config)
    theirs = theirs.double() if dtype == "float64" else theirs
    ours = getattr(lf.nn, kind)(6, 7, **config)
    ours = ours.double() if dtype == "float64" else ours
    ours.load_state_dict({k: lf.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours.to(device), theirs


def _input(dtype, device, seed=1, shape=(9, 4, 6)):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return lf.tensor(x, device=device, requires_grad=True), torch.tensor(x, requires_grad=True)


def _close(ours, theirs, dtype, what):
    np.testing.assert_allclose(ours.detach().cpu().numpy(), theirs.detach().numpy(), **TOL[dtype],
                               err_msg=what)


def _compare_grads(ours, theirs, x_ours, x_theirs, dtype):
    _close(x_ours.grad, x_theirs.grad, dtype, "gradient of the input")
    mine = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        _close(mine[name].grad, p.grad, dtype, f"gradient of {name}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("config", [{}, {"num_layers": 2, "bidirectional": True}, {"bias": False}],
                         ids=["default", "2-layer-bidirectional", "no-bias"])
@pytest.mark.parametrize("kind", KINDS)
def test_head_on_last_step_matches_torch(kind, config, dtype, device):
    ours, theirs = _pair(dtype, device, kind, **config)
    x_ours, x_theirs = _input(dtype, device)
    weight = np.random.default_rng(3).standard_normal(ours(x_ours)[0].shape[1:]).astype(dtype)
    out_ours, _ = ours(x_ours)
    out_theirs, _ = theirs(x_theirs)
    _close(out_ours, out_theirs, dtype, "output")
    (out_ours[-1] * lf.tensor(weight, device=device)).sum().backward()
    (out_theirs[-1] * torch.tensor(weight)).sum().backward()
    _compare_grads(ours, theirs, x_ours, x_theirs, dtype)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", KINDS)
def test_sequence_longer_than_the_backward_step_block_matches_torch(kind, device):
    """37 steps: the backward prepares its factors 16 steps at a time (two full blocks and a partial
    one), in both directions, with given initial states so their gradients run through every step."""
    ours, theirs = _pair("float64", device, kind, bidirectional=True)
    x_ours, x_theirs = _input("float64", device, shape=(37, 3, 6))
    rng = np.random.default_rng(4)
    h0, c0 = rng.standard_normal((2, 3, 7)), rng.standard_normal((2, 3, 7))
    states_ours = tuple(lf.tensor(a, device=device, requires_grad=True) for a in (h0, c0))
    states_theirs = tuple(torch.tensor(a, requires_grad=True) for a in (h0, c0))
    if kind == "GRU":  # one state
        states_ours, states_theirs = states_ours[:1], states_theirs[:1]
    out_ours, h_ours = ours(x_ours, states_ours if kind == "LSTM" else states_ours[0])
    out_theirs, h_theirs = theirs(x_theirs, states_theirs if kind == "LSTM" else states_theirs[0])
    if kind == "LSTM":
        h_ours, h_theirs = h_ours[0], h_theirs[0]
    weight = rng.standard_normal(tuple(out_theirs.shape))
    ((out_ours * lf.tensor(weight, device=device)).sum() + h_ours.sum()).backward()
    ((out_theirs * torch.tensor(weight)).sum() + h_theirs.sum()).backward()
    _compare_grads(ours, theirs, x_ours, x_theirs, "float64")
    for ours_state, their_state, name in zip(states_ours, states_theirs, ("h0", "c0")):
        _close(ours_state.grad, their_state.grad, "float64", f"gradient of {name}")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", KINDS)
def test_only_final_states_used_matches_torch(kind, device):
    ours, theirs = _pair("float64", device, kind, bidirectional=True)
    x_ours, x_theirs = _input("float64", device)
    _, final_ours = ours(x_ours)
    _, final_theirs = theirs(x_theirs)
    if kind == "LSTM":
        (final_ours[0].sum() + 2 * final_ours[1].sum()).backward()
        (final_theirs[0].sum() + 2 * final_theirs[1].sum()).backward()
    else:
        (2 * final_ours.sum()).backward()
        (2 * final_theirs.sum()).backward()
    _compare_grads(ours, theirs, x_ours, x_theirs, "float64")


@pytest.mark.parametrize("kind", KINDS)
def test_second_backward_through_retained_graph_gives_the_same_gradients(kind):
    ours, theirs = _pair("float64", "cpu", kind, num_layers=2)
    x_ours, x_theirs = _input("float64", "cpu")
    out, _ = ours(x_ours)
    loss = (out * out).sum()
    loss.backward(retain_graph=True)
    first = {name: p.grad.numpy().copy() for name, p in ours.named_parameters()}
    ours.zero_grad()
    x_ours.grad = None
    loss.backward()
    for name, p in ours.named_parameters():
        np.testing.assert_array_equal(p.grad.numpy(), first[name], err_msg=name)
    out_theirs, _ = theirs(x_theirs)
    (out_theirs * out_theirs).sum().backward()
    _compare_grads(ours, theirs, x_ours, x_theirs, "float64")


@pytest.mark.parametrize("kind", KINDS)
def test_two_layers_alive_at_once_keep_their_own_buffers(kind):
    """Two forward passes of the same shape before either backward, then a repeat: every training
    step reuses the workspace's buffers, and the results must still be PyTorch's."""
    ours, theirs = _pair("float32", "cpu", kind)
    for step in range(2):
        ours.zero_grad()
        theirs.zero_grad()
        x1, t1 = _input("float32", "cpu", seed=10 + step)
        x2, t2 = _input("float32", "cpu", seed=20 + step)
        a, _ = ours(x1)
        b, _ = ours(x2)
        (a[-1].sum() + 3 * b[-1].sum()).backward()
        ta, _ = theirs(t1)
        tb, _ = theirs(t2)
        (ta[-1].sum() + 3 * tb[-1].sum()).backward()
        _close(a, ta, "float32", "first output")
        _close(b, tb, "float32", "second output")
        _compare_grads(ours, theirs, x1, t1, "float32")
        _close(x2.grad, t2.grad, "float32", "second input's gradient")


def test_lstm_cell_without_bias_matches_torch():
    torch.manual_seed(0)
    theirs = torch.nn.LSTMCell(5, 3, bias=False).double()
    ours = lf.nn.LSTMCell(5, 3, bias=False).double()
    ours.load_state_dict({k: lf.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x_ours, x_theirs = _input("float64", "cpu", shape=(4, 5))
    h, c = ours(x_ours)
    th, tc = theirs(x_theirs)
    _close(h, th, "float64", "h")
    _close(c, tc, "float64", "c")
    (h.sum() + c.sum()).backward()
    (th.sum() + tc.sum()).backward()
    _compare_grads(ours, theirs, x_ours, x_theirs, "float64")


@pytest.mark.parametrize("bias", [True, False])
def test_gru_cell_matches_torch(bias):
    torch.manual_seed(0)
    theirs = torch.nn.GRUCell(5, 3, bias=bias).double()
    ours = lf.nn.GRUCell(5, 3, bias=bias).double()
    ours.load_state_dict({k: lf.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x_ours, x_theirs = _input("float64", "cpu", shape=(4, 5))
    h0 = np.random.default_rng(5).standard_normal((4, 3))
    h0_ours, h0_theirs = lf.tensor(h0, requires_grad=True), torch.tensor(h0, requires_grad=True)
    h, th = ours(x_ours, h0_ours), theirs(x_theirs, h0_theirs)
    _close(h, th, "float64", "h")
    (h * h).sum().backward()
    (th * th).sum().backward()
    _compare_grads(ours, theirs, x_ours, x_theirs, "float64")
    _close(h0_ours.grad, h0_theirs.grad, "float64", "gradient of h0")


@pytest.mark.parametrize("layer", ["LSTM", "GRU", "RNN"])
def test_empty_sequence_is_refused_as_pytorch_does(layer):
    module = getattr(lf.nn, layer)(4, 3, batch_first=True)
    with pytest.raises(RuntimeError, match="sequence length to be larger than 0"):
        module(lf.tensor(np.zeros((2, 0, 4), dtype="float32")))


@pytest.mark.parametrize("kind", KINDS)
def test_empty_batch_gives_empty_outputs_and_gradients(kind):
    ours = getattr(lf.nn, kind)(4, 3, bidirectional=True)
    x = lf.tensor(np.zeros((5, 0, 4), dtype="float32"), requires_grad=True)
    out, states = ours(x)
    h = states[0] if kind == "LSTM" else states
    assert tuple(out.shape) == (5, 0, 6) and tuple(h.shape) == (2, 0, 3)
    (out.sum() + h.sum()).backward()
    assert tuple(x.grad.shape) == (5, 0, 4)
    assert not np.any(ours.weight_hh_l0.grad.numpy())


# ------------------------------------------------------------------ the sigmoid gates' two forms
# A step computes its sigmoid gates either as 0.5 tanh(z / 2) + 0.5 (one tanh over every gate) or as
# 1 / (1 + exp(-z)) (PyTorch's formula); which one depends on numpy's tanh kernel on this CPU
# (recurrent.sigmoids_by_tanh). Both must give PyTorch's results on every machine, so both run here.
FORMS = ["tanh", "exp"]


@pytest.fixture
def sigmoid_form(request, monkeypatch):
    """Forces the form named by the test's ``form`` parameter, as if numpy's tanh were (or were not)
    its AVX-512 kernel."""
    from layerforge.engine.ops import recurrent
    form = request.node.callspec.params["form"]
    monkeypatch.setattr(recurrent, "_numpy_tanh_in_registers", lambda dtype_name: form == "tanh")
    return form


def _last_step_run(kind, dtype, scale=1.0):
    """Outputs and gradients of ours and PyTorch's for a head on the last step, the weights times
    ``scale`` (large: gates saturate)."""
    ours, theirs = _pair(dtype, "cpu", kind, num_layers=2)
    with torch.no_grad():
        for p in theirs.parameters():
            p.mul_(scale)
    ours.load_state_dict({k: lf.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    x_ours, x_theirs = _input(dtype, "cpu")
    out_ours, _ = ours(x_ours)
    out_theirs, _ = theirs(x_theirs)
    out_ours[-1].sum().backward()
    out_theirs[-1].sum().backward()
    return ours, theirs, x_ours, x_theirs, out_ours, out_theirs


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kind", KINDS)
def test_both_sigmoid_forms_match_torch(kind, form, dtype, sigmoid_form):
    ours, theirs, x_ours, x_theirs, out_ours, out_theirs = _last_step_run(kind, dtype)
    _close(out_ours, out_theirs, dtype, f"output ({form} form)")
    _compare_grads(ours, theirs, x_ours, x_theirs, dtype)


@pytest.mark.parametrize("kind", KINDS)
def test_the_two_forms_are_different_computations(kind, monkeypatch):
    """Each form really runs (in float32 they round differently), so the test above checks both."""
    from layerforge.engine.ops import recurrent
    outputs = []
    for by_tanh in (True, False):
        monkeypatch.setattr(recurrent, "_numpy_tanh_in_registers", lambda dtype_name, v=by_tanh: v)
        outputs.append(_last_step_run(kind, "float32")[4].detach().numpy())
    np.testing.assert_allclose(outputs[0], outputs[1], **TOL["float32"])
    assert not np.array_equal(outputs[0], outputs[1])


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kind", KINDS)
def test_saturated_gates_stay_finite_and_quiet(kind, form, sigmoid_form, recwarn):
    """Weights 60x their size drive gate pre-activations past -88, where exp(-z) overflows float32:
    the exp form's sigmoid is then 1 / inf = 0, as PyTorch's, with no numpy warning."""
    ours, theirs, x_ours, x_theirs, out_ours, out_theirs = _last_step_run(kind, "float32", scale=60.0)
    _close(out_ours, out_theirs, "float32", f"output ({form} form)")
    assert np.all(np.isfinite(x_ours.grad.numpy()))
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)], \
        [str(w.message) for w in recwarn]


@pytest.fixture
def unread_kernels():
    """The form is read from numpy once per dtype (cached): forget it before and after the test."""
    from layerforge.engine.ops import recurrent
    recurrent._numpy_tanh_in_registers.cache_clear()
    yield recurrent
    recurrent._numpy_tanh_in_registers.cache_clear()


@pytest.mark.parametrize("current, by_tanh", [
    ("X86_V4", True), ("AVX512_SKX", True), ("X86_V3", False), ("FMA3__AVX2", False),
    ("baseline(X86_V2)", False), ("ASIMD", False)])
def test_the_tanh_form_only_where_numpy_runs_its_avx512_tanh(current, by_tanh, monkeypatch, unread_kernels):
    import numpy.lib.introspect as introspect
    monkeypatch.setattr(introspect, "opt_func_info", lambda func_name=None, signature=None: {
        "tanh": {"ff": {"current": current, "available": current}}})
    assert unread_kernels.sigmoids_by_tanh(np, np.float32) is by_tanh


def test_without_numpys_kernel_information_the_exp_form(monkeypatch, unread_kernels):
    import numpy.lib.introspect as introspect

    def missing(func_name=None, signature=None):
        raise AttributeError("no dispatch information in this numpy")
    monkeypatch.setattr(introspect, "opt_func_info", missing)
    assert unread_kernels.sigmoids_by_tanh(np, np.float32) is False
