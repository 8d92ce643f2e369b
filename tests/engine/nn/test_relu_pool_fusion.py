"""A ReLU followed by a MaxPool2d runs as one node (``nn/fusion.py``: ``ops.pool.ReluMaxPool2d``, the ReLU on
the pooled values) in nn.Sequential and in models compiled from a project's graph, where nothing can
observe the ReLU's output. Its values and gradients must be the pair's (NaN included; a zero gradient's
sign may differ) and PyTorch's, for tiling, overlapping, padded, dilated and ceil-mode windows, and it
must step aside where the pair is watched (hooks), replaced (subclasses), asked for indices or fed an
unbatched input."""
import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine import nn
from layerforge.engine.nn import fusion
from layerforge.graph import ModelSpec, compile_spec
from training_check import trained_parameters

POOLS = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=3, stride=1, padding=1),
         dict(kernel_size=2, ceil_mode=True), dict(kernel_size=2, stride=1, dilation=2), dict(kernel_size=8)]


def _unfused(monkeypatch):
    monkeypatch.setattr(fusion, "relu_max_pool", lambda relu, pool, input: None)


def _input(dtype, shape=(3, 4, 9, 8) , seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    flat[:8] = [np.nan, 0.0, -0.0, -1.0, 0.0, 0.0, 2.0, 2.0]   # a NaN window, ties of zeros and of maxima
    x[1, 2] = -np.abs(x[1, 2])                                   # a plane where every window is <= 0
    return x


def _run(model, x, upstream_seed=1):
    inputs = lf.tensor(x, requires_grad=True)
    out = model(inputs)
    upstream = np.random.default_rng(upstream_seed).standard_normal(out.shape).astype(x.dtype)
    out.backward(lf.tensor(upstream))
    return out, inputs.grad.numpy().copy(), upstream


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool", POOLS, ids=lambda p: "-".join(f"{k}{v}" for k, v in p.items()))
def test_the_fused_pair_gives_the_pairs_values_and_pytorchs(dtype, pool, monkeypatch):
    x = _input(dtype)
    out, grad, upstream = _run(nn.Sequential(nn.ReLU(), nn.MaxPool2d(**pool)), x)
    assert out.grad_fn.name() == "ReluMaxPool2DBackward"
    _unfused(monkeypatch)
    plain_out, plain_grad, _ = _run(nn.Sequential(nn.ReLU(), nn.MaxPool2d(**pool)), x)
    assert plain_out.grad_fn.name() != "ReluMaxPool2DBackward"
    np.testing.assert_array_equal(out.detach().numpy(), plain_out.detach().numpy())
    np.testing.assert_array_equal(grad, plain_grad)
    torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
    theirs = torch.tensor(x, requires_grad=True)
    expected = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.MaxPool2d(**pool))(theirs)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    np.testing.assert_allclose(grad, theirs.grad.numpy(), rtol=1e-6, atol=1e-6)


def _cnn():
    lf.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def test_training_with_the_fused_pair_is_training_without_it(monkeypatch):
    x = np.random.default_rng(2).standard_normal((6, 3, 8, 8)).astype(np.float32)
    fused = trained_parameters(_cnn(), x, classes=3, steps=5)
    _unfused(monkeypatch)
    for ours, theirs in zip(fused, trained_parameters(_cnn(), x, classes=3, steps=5)):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("case", ["relu_hook", "pool_pre_hook", "indices", "unbatched", "subclass"])
def test_the_pair_runs_as_two_modules_where_it_is_watched_or_unusual(case):
    relu, pool = nn.ReLU(), nn.MaxPool2d(2, return_indices=case == "indices")
    if case == "subclass":
        class MyPool(nn.MaxPool2d):
            pass
        pool = MyPool(2)
    seen = []
    if case == "relu_hook":
        relu.register_forward_hook(lambda module, args, out: seen.append(out.detach().numpy().copy()))
    if case == "pool_pre_hook":
        pool.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().numpy().copy()))
    x = _input(np.float32)[0] if case == "unbatched" else _input(np.float32)
    out = nn.Sequential(relu, pool)(lf.tensor(x, requires_grad=True))
    values = out[0] if case == "indices" else out
    assert values.grad_fn.name() != "ReluMaxPool2DBackward"
    expected = lf.nn.functional.max_pool2d(lf.relu(lf.tensor(x)), 2)
    np.testing.assert_array_equal(values.detach().numpy(), expected.numpy())
    if seen:
        np.testing.assert_array_equal(seen[0], np.maximum(x, 0))   # the ReLU's own output


def _graph(pool_is_output=False, shared=False):
    spec = ModelSpec()
    x = spec.add_node("Input", {"shape": [3, 8, 8]})
    conv = spec.add_node("Conv2d", {"out_channels": 4})
    relu = spec.add_node("ReLU")
    pool = spec.add_node("MaxPool2d")
    spec.connect(x.id, conv.id)
    spec.connect(conv.id, relu.id)
    spec.connect(relu.id, pool.id)
    if pool_is_output:
        return spec
    flat = spec.add_node("Flatten")
    head = spec.add_node("Linear", {"out_features": 3})
    if shared:   # the ReLU's output also read by a second pooling, the two added: it must stay as it is
        other, add = spec.add_node("MaxPool2d"), spec.add_node("Add")
        spec.connect(relu.id, other.id)
        spec.connect(pool.id, add.id)
        spec.connect(other.id, add.id)
        pool = add
    spec.connect(pool.id, flat.id)
    spec.connect(flat.id, head.id)
    return spec


def test_compiled_graphs_fuse_a_relu_read_only_by_a_max_pooling(monkeypatch):
    model = compile_spec(_graph())
    assert [name for _, name in model._fusible.values()] == ["pool1"]
    x = _input(np.float32, (2, 3, 8, 8))
    names = set()
    frontier = [model(lf.tensor(x, requires_grad=True)).grad_fn]   # (a graph walked before backward frees it)
    while frontier:
        node = frontier.pop()
        names.add(node.name())
        frontier += [f for f, _ in node.next_functions if f is not None]
    assert "ReluMaxPool2DBackward" in names and "ReluBackward" not in names
    out, grad, _ = _run(model, x)
    params = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    _unfused(monkeypatch)
    plain_out, plain_grad, _ = _run(model, x)
    np.testing.assert_array_equal(out.detach().numpy(), plain_out.detach().numpy())
    np.testing.assert_array_equal(grad, plain_grad)
    for ours, theirs in zip(params, (p.grad.numpy() for p in model.parameters())):
        np.testing.assert_array_equal(ours, theirs)
    assert compile_spec(_graph(pool_is_output=True))._fusible   # the pooling may be the output itself
    assert compile_spec(_graph(shared=True))._fusible == {}
