"""A Linear layer followed by a ReLU, Tanh or Sigmoid runs as one node (``nn/fusion.py``) in
nn.Sequential and in models compiled from a project's graph, where nothing can observe the Linear's
output. The fused node must
give the two layers' values and gradients to the bit, and step aside wherever the pair is watched
(hooks: the window's graph view and step recorder), replaced (subclasses), recorded (ONNX export) or
misused (the Linear's own error)."""
import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine import nn
from layerforge.engine.nn import fusion
from layerforge.graph import ModelSpec, compile_spec
from training_check import trained_parameters


def _unfused(monkeypatch):
    monkeypatch.setattr(fusion, "linear_activation", lambda linear, act, input: None)


def _mlp(dtype=np.float32, bias=True, inplace=False, seed=0, act=nn.ReLU):
    lf.manual_seed(seed)
    first = nn.ReLU(inplace=inplace) if act is nn.ReLU else act()
    model = nn.Sequential(nn.Linear(5, 7, bias=bias), first, nn.Linear(7, 6), act(), nn.Linear(6, 2))
    return model.to(dtype=lf.float64) if dtype == np.float64 else model


def _grads(model, x):
    x = lf.tensor(x, requires_grad=True)
    out = model(x)
    (out * out).sum().backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    return [out.detach().numpy().copy(), x.grad.numpy().copy()] + grads


@pytest.mark.parametrize("act", [nn.ReLU, nn.Tanh, nn.Sigmoid])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(8, 5), (3, 4, 5), (5,)], ids=["batch", "sequence", "one_sample"])
@pytest.mark.parametrize("bias, inplace", [(True, False), (False, True)])
def test_the_fused_pair_gives_the_two_layers_bits(act, dtype, shape, bias, inplace, monkeypatch):
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    x.reshape(-1)[:2] = [0.0, -0.0]
    fused_model = _mlp(dtype, bias, inplace, act=act)
    out = fused_model(lf.tensor(x, requires_grad=True))
    assert out.grad_fn.name() == "LinearBackward"
    name = {nn.ReLU: "LinearReluBackward", nn.Tanh: "LinearTanhBackward", nn.Sigmoid: "LinearSigmoidBackward"}
    assert out.grad_fn.next_functions[0][0].name() == name[act]   # the pair ran as one node
    fused = _grads(fused_model, x)
    _unfused(monkeypatch)
    plain = _grads(_mlp(dtype, bias, inplace, act=act), x)
    assert len(fused) == len(plain)
    for ours, theirs in zip(fused, plain):
        assert ours.dtype == theirs.dtype and ours.tobytes() == theirs.tobytes()


def test_training_with_the_fused_pairs_is_training_without_them(monkeypatch):
    x = np.random.default_rng(4).standard_normal((16, 5)).astype(np.float32)
    fused = trained_parameters(_mlp(seed=3), x, classes=2, steps=10)
    _unfused(monkeypatch)
    for ours, theirs in zip(fused, trained_parameters(_mlp(seed=3), x, classes=2, steps=10)):
        np.testing.assert_array_equal(ours, theirs)


def _first_node(model, x):
    return model(x).grad_fn.next_functions[0][0].next_functions[0][0].next_functions[0][0].name()


@pytest.mark.parametrize("watch", ["forward_hook", "pre_hook", "backward_hook", "relu_hook"])
def test_a_hooked_layer_runs_on_its_own_and_its_hook_sees_the_linear_output(watch):
    model = _mlp()
    seen = []
    linear, relu = model[0], model[1]
    if watch == "forward_hook":
        linear.register_forward_hook(lambda module, args, out: seen.append(out.detach().numpy().copy()))
    elif watch == "pre_hook":
        relu.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().numpy().copy()))
    elif watch == "backward_hook":
        linear.register_full_backward_hook(lambda module, grad_in, grad_out: seen.append(grad_out[0].numpy()))
    else:
        relu.register_forward_hook(lambda module, args, out: seen.append(args[0].detach().numpy().copy()))
    x = lf.tensor(np.random.default_rng(2).standard_normal((4, 5)).astype(np.float32), requires_grad=True)
    out = model(x)
    second_pair = out.grad_fn.next_functions[0][0]
    assert second_pair.name() == "LinearReluBackward"   # the unwatched pair is still one node
    assert second_pair.next_functions[0][0].name() == "ReluBackward"
    out.sum().backward()
    assert seen and seen[0].shape == (4, 7)
    if watch != "backward_hook":
        assert (seen[0] < 0).any()   # the Linear's own output, before the ReLU


def test_other_activations_run_as_their_own_modules():
    model = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 2))
    out = model(lf.ones(2, 3, requires_grad=True))
    assert out.grad_fn.next_functions[0][0].next_functions[0][0].name() == "LinearBackward"


def test_subclasses_and_replaced_parameters_run_as_two_modules():
    class MyReLU(nn.ReLU):
        def forward(self, input):  # noqa: A002
            return super().forward(input) * 2

    model = nn.Sequential(nn.Linear(3, 4), MyReLU())
    x = lf.tensor(np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(model(x).detach().numpy(), 2 * np.maximum(model[0](x).detach().numpy(), 0))
    linear = nn.Linear(3, 4)
    weight = linear.weight.detach().clone()
    del linear.weight
    linear.weight = weight * 0   # a plain tensor attribute, as a parametrization leaves it
    np.testing.assert_array_equal(nn.Sequential(linear, nn.ReLU())(x).detach().numpy(),
                                  np.maximum(np.broadcast_to(linear.bias.detach().numpy(), (2, 4)), 0))


def test_a_wrong_input_still_gets_the_linear_layers_message():
    model = _mlp()
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(4x3 and 5x7\).*expects "
                                           r"5 input features"):
        model(lf.zeros(4, 3))
    with pytest.raises(RuntimeError):
        model(lf.zeros(4, 5, dtype=lf.float64))


def test_without_gradients_and_in_eval_mode_the_values_are_the_same(monkeypatch):
    x = lf.tensor(np.random.default_rng(5).standard_normal((6, 5)).astype(np.float32))
    model = _mlp().eval()
    with lf.no_grad():
        fused = model(x).numpy().copy()
    _unfused(monkeypatch)
    with lf.no_grad():
        assert fused.tobytes() == model(x).numpy().tobytes()


def _graph(shared=False, relu_is_output=False):
    spec = ModelSpec()
    x = spec.add_node("Input", {"shape": 5})
    fc = spec.add_node("Linear", {"out_features": 6})
    relu = spec.add_node("ReLU")
    spec.connect(x.id, fc.id)
    spec.connect(fc.id, relu.id)
    if relu_is_output:
        return spec
    head = spec.add_node("Linear", {"out_features": 6 if shared else 3})
    spec.connect(relu.id, head.id)
    if shared:   # the first Linear's output also goes into an Add: it must stay as it is
        add = spec.add_node("Add")
        spec.connect(fc.id, add.id)
        spec.connect(head.id, add.id)
    return spec


def test_compiled_graphs_fuse_a_linear_read_only_by_a_relu(monkeypatch):
    model = compile_spec(_graph())
    assert list(model._fusible.values()) == [(model._plan[1][0], "relu1")]
    x = np.random.default_rng(6).standard_normal((4, 5)).astype(np.float32)
    out = model(lf.tensor(x))
    assert out.grad_fn.next_functions[0][0].name() == "LinearReluBackward"
    fused = _grads(model, x)
    model.zero_grad()
    _unfused(monkeypatch)
    for ours, theirs in zip(fused, _grads(model, x)):
        assert ours.tobytes() == theirs.tobytes()


def test_compiled_graphs_keep_a_linear_output_that_more_than_a_relu_reads():
    shared = compile_spec(_graph(shared=True))
    assert shared._fusible == {}
    out = shared(lf.tensor(np.ones((2, 5), np.float32)))
    assert "LinearReluBackward" not in {f.name() for f, _ in out.grad_fn.next_functions if f is not None}
    assert compile_spec(_graph(relu_is_output=True))._fusible   # the ReLU may be the output itself


def test_a_large_pair_gives_the_same_bits(monkeypatch):
    """(256, 512) float32 outputs, where the ReLU node takes its buffers from the engine's pool."""
    x = np.random.default_rng(7).standard_normal((256, 64)).astype(np.float32)

    def model():
        lf.manual_seed(8)
        return nn.Sequential(nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 3))
    fused = _grads(model(), x)
    _unfused(monkeypatch)
    for ours, theirs in zip(fused, _grads(model(), x)):
        assert ours.tobytes() == theirs.tobytes()


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(
    not lf.cuda.is_available(), reason="no CUDA GPU/cupy")])])
@pytest.mark.parametrize("act", [nn.ReLU, nn.Tanh, nn.Sigmoid])
def test_the_fused_pair_on_each_device_gives_the_two_layers_bits(device, act, monkeypatch):
    x = np.random.default_rng(12).standard_normal((16, 5)).astype(np.float32)

    def grads():
        model = _mlp(act=act).to(device)
        inputs = lf.tensor(x).to(device).requires_grad_()
        out = model(inputs)
        (out * out).sum().backward()
        return [out.detach().cpu().numpy(), inputs.grad.cpu().numpy()] + [
            p.grad.cpu().numpy() for p in model.parameters()]
    fused = grads()
    _unfused(monkeypatch)
    for ours, theirs in zip(fused, grads()):
        assert ours.tobytes() == theirs.tobytes()
