"""nn.ReLU's (and F.relu's) pooled-buffer node gives PyTorch's ReLU: the same outputs and
gradients, bit for bit, as the plain node (lf.relu), on arrays big enough to use pooled buffers and
on small ones, with zeros, negative zeros, infinities and NaNs."""
import numpy as np
import pytest

import layerforge.engine as lf

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")


def _special_values(shape, dtype, seed):
    values = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    flat = values.reshape(-1)
    flat[:7] = [0.0, -0.0, np.inf, -np.inf, 1e-30, -1e-30, np.nan]   # NaN: PyTorch passes its gradient
    return values


@pytest.mark.parametrize("shape", [(2, 3, 4, 4), (8, 16, 24, 24)], ids=["small", "pooled"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def _relu_and_grad(make, x, upstream):
    tensor = make(x, requires_grad=True)
    out = (lf.nn.ReLU() if make is lf.tensor else torch.nn.ReLU())(tensor)
    out.backward(lf.tensor(upstream) if make is lf.tensor else torch.tensor(upstream))
    return out, tensor.grad


@pytest.mark.parametrize("shape", [(2, 3, 4, 4), (8, 16, 24, 24)], ids=["small", "pooled"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_module_matches_pytorch(shape, dtype):
    x = _special_values(shape, dtype, 0)
    upstream = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    out, grad = _relu_and_grad(lf.tensor, x, upstream)
    torch_out, torch_grad = _relu_and_grad(torch.tensor, x, upstream)
    np.testing.assert_array_equal(out.detach().numpy(), torch_out.detach().numpy())
    np.testing.assert_array_equal(grad.numpy(), torch_grad.numpy())
    assert out.dtype == lf.tensor(x).dtype


@pytest.mark.parametrize("shape", [(2, 3, 4, 4), (8, 16, 24, 24)], ids=["small", "pooled"])
@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_relu_module_is_the_plain_relu_bit_for_bit(shape):
    """Special upstream values too (an infinite gradient where the unit is off, NaN)."""
    x = _special_values(shape, np.float32, 0)
    upstream = _special_values(shape, np.float32, 1)[::-1].copy()
    upstream.reshape(-1)[:3] = [np.nan, np.inf, -np.inf]
    out, grad = _relu_and_grad(lf.tensor, x, upstream)
    plain = lf.tensor(x, requires_grad=True)
    plain_out = lf.relu(plain)  # the plain node (F.relu runs nn.ReLU's)
    plain_out.backward(lf.tensor(upstream))
    functional = lf.tensor(x, requires_grad=True)
    functional_out = lf.nn.functional.relu(functional)
    functional_out.backward(lf.tensor(upstream))
    for ours in (out, functional_out):
        assert ours.detach().numpy().tobytes() == plain_out.detach().numpy().tobytes()
    for ours in (grad, functional.grad):
        assert ours.numpy().tobytes() == plain.grad.numpy().tobytes()
    assert out.grad_fn.name() == plain_out.grad_fn.name() == "ReluBackward"


def test_relu_module_keeps_outputs_of_earlier_steps_intact():
    layer = lf.nn.ReLU()
    x = lf.tensor(_special_values((8, 16, 24, 24), np.float32, 2), requires_grad=True)
    kept = layer(x)
    expected = kept.detach().numpy().copy()
    for seed in (3, 4):
        y = lf.tensor(_special_values((8, 16, 24, 24), np.float32, seed), requires_grad=True)
        layer(y).sum().backward()
    np.testing.assert_array_equal(kept.detach().numpy(), expected)


def test_relu_module_on_integers_and_nan():
    ints = lf.tensor(np.array([[-2, 0, 3]], dtype=np.int64))
    np.testing.assert_array_equal(lf.nn.ReLU()(ints).numpy(), [[0, 0, 3]])
    x = np.full((300, 300), np.nan, dtype=np.float32)
    out = lf.nn.ReLU()(lf.tensor(x))
    assert np.isnan(out.numpy()).all()



def _relu_conv_grads(x, w, b, upstream, hold, retain):
    """nn.ReLU then a convolution (the MNIST example's first layers). ``hold``: None, "output" (the
    ReLU's output Tensor kept) or "view" (a view of its array kept). Returns what was held with its
    values at forward, and the gradients (of two backwards with ``retain``)."""
    params = [lf.tensor(a, requires_grad=True) for a in (x, w, b)]
    hidden = lf.nn.ReLU()(params[0])
    held = {"output": hidden, "view": hidden.detach().numpy()[1:, ::2]}.get(hold)
    held_values = None if held is None else np.array(held.detach().numpy() if hold == "output" else held)
    out = lf.nn.functional.conv2d(hidden, params[1], params[2])
    del hidden
    loss = (out * lf.tensor(upstream)).sum()
    grads = []
    for again in ((True, False) if retain else (False,)):
        loss.backward(retain_graph=again)
        grads.append([p.grad.numpy().copy() for p in params])
        for p in params:
            p.grad = None
    return held, held_values, grads


def _watch_relu_reuse(monkeypatch) -> list:
    """A list that gets, for each Relu backward, whether its gradient was written over its output."""
    from layerforge.engine.ops.activation import Relu

    backward, reused = Relu.backward, []

    def spy(node, g):
        output_id = id(node.out)  # no reference kept: that would stop the reuse
        grad = backward(node, g)
        reused.append(id(grad) == output_id)
        return grad

    monkeypatch.setattr(Relu, "backward", spy)
    return reused


def test_relu_backward_writes_over_an_output_nothing_else_holds(monkeypatch):
    """The gradient reuses the output's buffer only when nothing but the node holds it: a kept
    output Tensor or a view of its array stays intact, and so does a retained graph (its second
    backward gives the first one's gradients). The gradients are the same bit for bit on every
    path, and they are PyTorch's."""
    reused = _watch_relu_reuse(monkeypatch)
    rng = np.random.default_rng(11)
    x = _special_values((4, 8, 48, 48), np.float32, 5)
    x[np.isinf(x)] = 3.0  # zeros of both signs stay; the convolution's sums stay finite
    w = rng.standard_normal((6, 8, 3, 3)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    upstream = rng.standard_normal((4, 6, 46, 46)).astype(np.float32)
    results = []
    for hold, retain in ((None, False), ("output", False), ("view", False), (None, True)):
        reused.clear()
        held, held_values, grads = _relu_conv_grads(x, w, b, upstream, hold, retain)
        # reused when nothing else holds the output (in a retained graph, once the graph goes)
        assert reused == ([False, True] if retain else [hold is None])
        if held is not None:
            now = held.detach().numpy() if hold == "output" else held
            assert now.tobytes() == held_values.tobytes()
        results.extend(grads)
    for grads in results[1:]:
        for ours, other in zip(results[0], grads):
            assert ours.tobytes() == other.tobytes()
    params = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = torch.nn.functional.conv2d(torch.relu(params[0]), params[1], params[2])
    (out * torch.tensor(upstream)).sum().backward()
    for ours, theirs in zip(results[0], params):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-4, atol=1e-3)


def test_relu_node_whose_output_was_reused_refuses_a_second_backward():
    from layerforge.engine.ops.activation import Relu

    node = Relu()
    node.forward(_special_values((8, 16, 24, 24), np.float32, 6))  # nothing else keeps the output
    upstream = np.random.default_rng(7).standard_normal((8, 16, 24, 24)).astype(np.float32)
    node.backward(upstream)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        node.backward(upstream)


def test_relu_before_a_one_input_layer_writes_its_gradient_over_its_output(monkeypatch):
    """The backward walk lets go of a node's last input before the next node runs, so a ReLU whose
    only consumer has one input (max-pool) finds its output held by nobody else and reuses it."""
    reused = _watch_relu_reuse(monkeypatch)
    rng = np.random.default_rng(12)
    data = rng.standard_normal((4, 8, 48, 48)).astype(np.float32)
    upstream = rng.standard_normal((4, 8, 24, 24)).astype(np.float32)
    x = lf.tensor(data, requires_grad=True)
    (lf.nn.MaxPool2d(2)(lf.nn.ReLU()(x)) * lf.tensor(upstream)).sum().backward()
    assert reused == [True]
    theirs = torch.tensor(data, requires_grad=True)
    (torch.nn.functional.max_pool2d(torch.relu(theirs), 2) * torch.tensor(upstream)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), theirs.grad.numpy())
