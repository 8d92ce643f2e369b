"""``backward(inputs=...)`` accumulates into the listed tensors' ``.grad`` only, as PyTorch does (it
was silently ignored: every leaf got a gradient). PyTorch is the oracle where installed."""
import numpy as np
import pytest

import layerforge.engine as lf

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for backward(inputs=...)")


def _pair(values):
    return (lf.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True))


def _grad(t):
    return None if t.grad is None else np.asarray(t.grad.detach().numpy())


def test_only_the_listed_leaves_get_a_gradient_and_it_accumulates():
    (a, ta), (b, tb), (c, tc) = _pair([1.0, 2.0, 3.0]), _pair([0.5, -1.0, 4.0]), _pair([1.0, 1.0])
    y, ty = (a * a * 2 + b).sum(), (ta * ta * 2 + tb).sum()
    y.backward(inputs=[a, c], retain_graph=True)
    ty.backward(inputs=[ta, tc], retain_graph=True)
    np.testing.assert_allclose(_grad(a), _grad(ta))
    assert b.grad is None and tb.grad is None, "a leaf not listed keeps no gradient"
    assert c.grad is None and tc.grad is None, "a listed tensor the loss does not use stays None"
    lf.autograd.backward(y, inputs=[a, b])
    torch.autograd.backward(ty, inputs=[ta, tb])
    np.testing.assert_allclose(_grad(a), _grad(ta))   # accumulated: twice the first gradient
    np.testing.assert_allclose(_grad(b), _grad(tb))


def test_a_non_leaf_input_gets_its_gradient_and_the_leaves_below_it_none():
    (a, ta) = _pair([1.0, -2.0, 3.0])
    h, th = a * 3, ta * 3
    (h * h).sum().backward(inputs=[h])
    (th * th).sum().backward(inputs=[th])
    np.testing.assert_allclose(_grad(h), _grad(th))
    assert a.grad is None and ta.grad is None


def test_one_gradient_reaching_two_inputs_gives_each_its_own_array():
    (a, _), (b, _) = _pair([1.0, 2.0]), _pair([3.0, 4.0])
    (a + b).sum().backward(inputs=[a, b])
    a.grad.mul_(10)
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


def test_a_hook_on_a_listed_leaf_runs():
    (a, ta) = _pair([1.0, 2.0])
    a.register_hook(lambda g: g * 5)
    ta.register_hook(lambda g: g * 5)
    (a * a).sum().backward(inputs=[a])
    (ta * ta).sum().backward(inputs=[ta])
    np.testing.assert_allclose(_grad(a), _grad(ta))


def test_empty_inputs_and_inputs_without_grad_are_refused_as_pytorch_refuses_them():
    (a, ta) = _pair([1.0, 2.0])
    y, ty = (a * 2).sum(), (ta * 2).sum()
    for loss, empty in ((y, []), (ty, [])):
        with pytest.raises(RuntimeError, match="`inputs` argument to `backward\\(\\)` cannot be empty"):
            loss.backward(inputs=empty, retain_graph=True)
    with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has requires_grad=False"):
        y.backward(inputs=[lf.ones(2)], retain_graph=True)
    with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has requires_grad=False"):
        ty.backward(inputs=[torch.ones(2)], retain_graph=True)
