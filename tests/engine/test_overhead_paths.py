"""The engine's lean paths for the usual call (issue 20) give what the general paths give.

Each lean path skips checks or Python work only where its result is provably the same: these tests
hold it to the general path bit for bit, and to PyTorch where PyTorch defines the numbers.
"""
from __future__ import annotations

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.ops import loss as loss_kernels


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shape", [(32, 1), (7, 3), (5,)])
def test_mse_lean_backward_is_the_general_one_bit_for_bit(dtype, reduction, shape):
    rng = np.random.default_rng(3)
    x = lf.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
    y = lf.tensor(rng.standard_normal(shape).astype(dtype))
    loss = lf.nn.functional.mse_loss(x, y, reduction=reduction)
    node = loss.grad_fn
    g = np.array(rng.uniform(0.1, 3.0), dtype=dtype)
    lean_x, lean_y = node.backward(g)
    general_x, general_y = loss_kernels._PairLoss.backward(node, g)
    assert lean_y is None and general_y is None  # the target needs no gradient
    assert lean_x.dtype == general_x.dtype == dtype
    np.testing.assert_array_equal(lean_x, general_x)


def test_mse_target_that_requires_grad_still_gets_its_gradient():
    x = lf.tensor([[1.0], [2.0], [4.0]], requires_grad=True)
    y = lf.tensor([[0.5], [2.5], [1.0]], requires_grad=True)
    lf.nn.functional.mse_loss(x, y).backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (x.detach().numpy() - y.detach().numpy()) / 3, rtol=1e-6)
    np.testing.assert_allclose(y.grad.numpy(), -x.grad.numpy(), rtol=1e-6)


def test_mse_of_empty_tensors_gives_nan_like_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the empty mean")
    x = lf.zeros(0, 1, requires_grad=True)
    loss = lf.nn.functional.mse_loss(x, lf.zeros(0, 1))
    loss.backward()
    ref = torch.nn.functional.mse_loss(torch.zeros(0, 1), torch.zeros(0, 1))
    assert np.isnan(loss.item()) and torch.isnan(ref)
    assert x.grad.shape == (0, 1)


@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_a_one_element_loss_starts_backward_from_one_in_its_own_shape(shape):
    w = lf.ones(shape, requires_grad=True)
    (w * 3.0).sum().backward()
    out = w * 2.0
    out.backward()
    assert out.shape == shape
    np.testing.assert_array_equal(w.grad.numpy(), np.full(shape, 5.0, np.float32))


def test_linear_backward_matches_pytorch_for_2d_and_3d_inputs():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for Linear's gradients")
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    for shape in [(5, 3), (2, 5, 3), (3,)]:
        x = rng.standard_normal(shape).astype(np.float32)
        ours = [lf.tensor(a, requires_grad=True) for a in (x, w, b)]
        theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
        (lf.nn.functional.linear(*ours) ** 2).sum().backward()
        (torch.nn.functional.linear(*theirs) ** 2).sum().backward()
        for a, t in zip(ours, theirs):
            assert a.grad.shape == tuple(t.grad.shape)
            np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_a_linear_input_gradient_is_the_leaf_s_own_array():
    x = lf.ones(4, 3, requires_grad=True)
    layer = lf.nn.Linear(3, 2)
    layer(x).sum().backward()
    first = x.grad.numpy().copy()
    x.grad.numpy()[...] = 0  # editing one .grad in place leaves the others alone
    assert np.all(layer.weight.grad.numpy() == 4.0)
    layer(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), first, rtol=1e-6)


def test_module_hooks_still_run_after_the_hookless_fast_call():
    layer = lf.nn.Linear(2, 2)
    x = lf.ones(1, 2)
    plain = layer(x)
    seen = []
    pre = layer.register_forward_pre_hook(lambda mod, args: seen.append("pre"))
    post = layer.register_forward_hook(lambda mod, args, out: out * 0)
    hooked = layer(x)
    assert seen == ["pre"] and np.all(hooked.detach().numpy() == 0)
    pre.remove()
    post.remove()
    np.testing.assert_array_equal(layer(x).detach().numpy(), plain.detach().numpy())
    assert seen == ["pre"]


@pytest.mark.parametrize("edit", ["new_moment_tensor", "moment_data", "step_as_number", "state_dict_entry",
                                  "dropped_key", "float64_parameter", "one_step_count_in_place"])
def test_adam_notices_state_edited_between_steps_as_the_loop_does(edit, monkeypatch):
    """Adam's flat path caches its flat buffers; an edit of the state or a parameter between steps
    must give what the per-parameter loop gives from the same edit."""
    def run(flat):
        rng = np.random.default_rng(1)
        params = [lf.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
                  for s in ((4, 2), (4,), (1, 4))]
        opt = lf.optim.Adam(params, lr=0.05)

        def step():
            for p in params:
                p.grad = lf.tensor(rng.standard_normal(p.shape).astype(p._data.dtype))
            opt.step()

        step()
        step()
        st = opt.state[params[1]]
        if edit == "new_moment_tensor":
            st["exp_avg"] = lf.full((4,), 0.5)
        elif edit == "moment_data":
            st["exp_avg_sq"].data = np.full(4, 2.0, np.float32)
        elif edit == "step_as_number":
            st["step"] = lf.tensor(5.0)
        elif edit == "state_dict_entry":
            opt.state[params[1]] = {}
        elif edit == "dropped_key":
            del opt.state[params[2]]["exp_avg_sq"]
            opt.state[params[2]] = {}
        elif edit == "float64_parameter":
            params[0].data = params[0]._data.astype(np.float64)
        elif edit == "one_step_count_in_place":  # the flat buffers stay valid; the counts differ
            st["step"]._data[()] = 7.0
        step()
        step()
        return [p.detach().numpy().copy() for p in params], flat

    flat, _ = run(True)
    monkeypatch.setattr(lf.optim.Adam, "FLAT_MAX_ELEMENTS", 0)  # the per-parameter loop
    loop, _ = run(False)
    for a, b in zip(flat, loop):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_products_are_matmul_s_bit_for_bit(dtype):
    """Linear's 2-D CPU products go through np.dot (a large weight's gradient, and the forward product
    of many rows, through matmul); they must equal the @ products exactly. A forward product of a few
    rows into many outputs is ``(w @ x.T).T``: exactly that, and within float rounding of ``x @ w.T``
    (OpenBLAS's SkylakeX kernels give the same bits, its Haswell kernels sum in another order). The
    bias's gradient is a vector of ones times the gradient (one BLAS call), numpy's column sums to
    float rounding."""
    from layerforge.engine.ops.dense import _FLIPPED_ROWS, _MATMUL_ROWS, Linear
    from layerforge.engine.ops.small_products import SMALL_KERNEL_MNK
    rng = np.random.default_rng(5)
    for n, i, o in [(32, 2, 16), (32, 16, 1), (1, 7, 3), (128, 64, 10), (5, 1, 1), (16, 160, 128),
                    (_MATMUL_ROWS - 1, 16, 16), (_MATMUL_ROWS, 16, 16), (10000, 2, 16),
                    # many rows with few inputs (the transposed weight copied) and few outputs (the
                    # bias added in blocks of rows, a short last block too), either or both
                    (10000, 1, 3), (4099, 4, 31), (_MATMUL_ROWS, 3, 1), (3000, 5, 32), (2500, 64, 7),
                    (_MATMUL_ROWS + 1, 2, 1),
                    # above 10^6 multiply-adds with at least twice as many outputs as rows: the forward
                    # product as (w @ x.T).T (a CNN's first fully connected layer), and just under twice
                    (32, 300, 128), (64, 1024, 128), (64, 300, 127)]:
        x = rng.standard_normal((n, i)).astype(dtype)
        w = rng.standard_normal((o, i)).astype(dtype)
        b = rng.standard_normal(o).astype(dtype)
        g = rng.standard_normal((n, o)).astype(dtype)
        node = Linear(True)
        out = node.forward(x, w, b)
        flipped = n * i * o > SMALL_KERNEL_MNK and n <= _FLIPPED_ROWS and o >= 2 * n
        product = np.dot(w, x.T).T if flipped else x @ w.T
        np.testing.assert_array_equal(out, product + b)
        assert out.flags.c_contiguous and out.dtype == dtype
        np.testing.assert_array_equal(Linear(False).forward(x, w), product)
        if flipped:
            np.testing.assert_allclose(product, x @ w.T, rtol=1e-5 if dtype == np.float32 else 1e-12,
                                       atol=1e-5 * i ** 0.5 if dtype == np.float32 else 1e-12)
        gx, gw, gb = node.backward(g)
        np.testing.assert_array_equal(gx, g @ w)
        np.testing.assert_array_equal(gw, g.T @ x)
        np.testing.assert_array_equal(gb, np.ones(n, dtype) @ g)
        single = dtype == np.float32   # (the sums of n values cancel: an absolute tolerance too)
        np.testing.assert_allclose(gb, g.astype(np.float64).sum(axis=0), rtol=1e-5 if single else 1e-12,
                                   atol=1e-5 * n ** 0.5 if single else 0)
        assert gb.dtype == dtype and gb.shape == (o,)


# (rows, classes): few classes (the column-wise maximum) and few rows or many classes (row-wise)
@pytest.mark.parametrize("n, n_classes", [(300, 3), (64, 10), (5, 10), (20, 100)])
def test_lean_cross_entropy_is_the_general_kernel_bit_for_bit(n, n_classes):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the numbers")
    rng = np.random.default_rng(7)
    logits = (rng.standard_normal((n, n_classes)) * 4).astype(np.float32)
    logits[0, 1] = logits[0, 0] = 30.0  # a tie at the maximum, far above the rest of its row
    target = rng.integers(0, n_classes, n)
    x = lf.tensor(logits, requires_grad=True)
    loss = lf.nn.functional.cross_entropy(x, lf.tensor(target))
    loss.backward()
    assert isinstance(loss.grad_fn, loss_kernels.CrossEntropyMean)
    general = loss_kernels.ClassIndexLoss(target.astype(np.int64), None, -100, 0.0, "mean", False)
    np.testing.assert_array_equal(loss.detach().numpy(), general.forward(logits))
    np.testing.assert_array_equal(x.grad.numpy(), general.backward(np.ones((), np.float32)))
    theirs = torch.tensor(logits, requires_grad=True)
    torch.nn.functional.cross_entropy(theirs, torch.tensor(target)).backward()
    np.testing.assert_allclose(x.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_lean_cross_entropy_propagates_nan_as_the_general_kernel():
    logits = np.random.default_rng(8).standard_normal((32, 10)).astype(np.float32)
    logits[3, 4] = np.nan
    x = lf.tensor(logits, requires_grad=True)
    loss = lf.nn.functional.cross_entropy(x, lf.tensor(np.zeros(32, np.int64)))
    loss.backward()
    assert np.isnan(loss.item())
    assert np.isnan(x.grad.numpy()[3]).all() and np.isfinite(np.delete(x.grad.numpy(), 3, axis=0)).all()


def test_optimizer_step_runs_without_grad_and_restores_the_mode_even_when_it_fails():
    w = lf.nn.Parameter(lf.tensor([1.0, 2.0]))
    seen = []

    class Probe(lf.optim.SGD):
        def _rule(self, weight, grad, state, step, hyper):
            seen.append(lf.is_grad_enabled())
            if len(seen) == 2:
                raise ValueError("update failed")

    opt = Probe([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    assert seen == [False] and lf.is_grad_enabled()
    with pytest.raises(ValueError, match="update failed"):
        opt.step()
    assert lf.is_grad_enabled()
    with lf.no_grad():
        opt.step()  # a step inside no_grad leaves grad mode off, as it found it
        assert not lf.is_grad_enabled()
    assert lf.is_grad_enabled()


def test_the_step_counter_is_advanced_in_place_in_float32_as_pytorch_s():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the step counter")
    big = lf.nn.Parameter(lf.tensor(np.ones((300, 300), np.float32)))  # above the flat path's size
    opt = lf.optim.Adam([big], lr=0.1)
    big.grad = lf.tensor(np.ones((300, 300), np.float32))
    opt.step()
    counter = opt.state[big]["step"]
    array = counter._data
    opt.step()
    assert opt.state[big]["step"] is counter and counter._data is array  # the same tensor, in place
    assert counter.dtype == lf.float32 and float(counter) == 2.0
    counter._data[()] = 2.0 ** 24  # float32 stops counting here; PyTorch's counter does too
    theirs = torch.tensor(2.0 ** 24, dtype=torch.float32)
    theirs += 1
    opt.step()
    assert float(counter) == float(theirs) == 2.0 ** 24


def test_roots_reaching_one_node_twice_sum_their_gradients_as_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the gradients")
    data = np.array([1.0, -2.0, 3.0], np.float32)
    x = lf.tensor(data, requires_grad=True)
    y = (x * x).sum()
    lf.autograd.backward([y, y, (x * 3.0).sum()])
    theirs = torch.tensor(data, requires_grad=True)
    ty = (theirs * theirs).sum()
    torch.autograd.backward([ty, ty, (theirs * 3.0).sum()])
    np.testing.assert_array_equal(x.grad.numpy(), theirs.grad.numpy())
