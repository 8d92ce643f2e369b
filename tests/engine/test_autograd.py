"""Autograd behaviour a user relies on: graph lifetime, accumulation, hooks, grad modes, Functions."""
import gc
import threading
import weakref

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine import autograd


def leaf(values):
    return lf.tensor(values, dtype=lf.float64, requires_grad=True)


def test_gradients_accumulate_into_leaves_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    assert x.grad.tolist() == [5.0, 7.0]


def test_a_leaf_used_twice_in_one_graph_gets_the_sum_of_both_paths():
    x = leaf([2.0])
    (x * x + x.exp()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0 + np.exp(2.0)])


def test_diamond_graph_waits_for_every_path_before_running_a_node():
    x = leaf([1.5])
    shared = x * 2
    y = shared.tanh() * shared + shared.sin()
    y.sum().backward()
    s = 3.0
    expected = 2 * ((1 - np.tanh(s) ** 2) * s + np.tanh(s) + np.cos(s))
    np.testing.assert_allclose(x.grad.numpy(), [expected])


def test_retain_graph_allows_a_second_backward_and_the_default_frees_it():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_second_backward_through_a_freed_intermediate_says_to_use_retain_graph():
    x = leaf([1.0])
    hidden = x.exp()
    (hidden * 2).sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        (hidden * 3).sum().backward()


def test_backward_with_explicit_gradient_on_non_scalar_output():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).backward(gradient=lf.tensor([1.0, 0.0, 2.0], dtype=lf.float64))
    assert x.grad.tolist() == [2.0, 0.0, 12.0]


def test_intermediate_has_no_grad_unless_retained():
    x = leaf([1.0, 2.0])
    kept, dropped = x * 2, x * 3
    kept.retain_grad()
    assert kept.retains_grad and not dropped.retains_grad
    (kept * dropped).sum().backward()
    assert kept.grad.tolist() == [3.0, 6.0]
    assert dropped.grad is None
    assert not kept.is_leaf and x.is_leaf


def test_tensor_hook_can_observe_and_replace_the_gradient():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    y = x * 2
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    assert seen == [[20.0, 20.0]]
    assert x.grad.tolist() == [20.0, 20.0]


def test_autograd_grad_returns_gradients_without_touching_dot_grad():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    gx, gw = autograd.grad((x * w).sum(), [x, w])
    assert gx.tolist() == [3.0, 4.0] and gw.tolist() == [1.0, 2.0]
    assert x.grad is None and w.grad is None


def test_autograd_grad_with_unused_input():
    x, unused = leaf([1.0]), leaf([1.0])
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        autograd.grad((x * 2).sum(), [x, unused], retain_graph=True)
    gx, gu = autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gx.tolist() == [2.0] and gu is None


def test_gradient_of_a_non_leaf_input_through_autograd_grad():
    x = leaf([2.0])
    hidden = x * x
    (g,) = autograd.grad((hidden * 3).sum(), hidden)
    assert g.tolist() == [3.0]


def test_grad_dtype_follows_data_dtype():
    x32 = lf.ones(3, requires_grad=True)
    x64 = lf.ones(3, dtype=lf.float64, requires_grad=True)
    (x32 * x64).sum().backward()
    assert x32.grad.dtype == lf.float32 and x64.grad.dtype == lf.float64


def test_leaf_grads_do_not_alias_each_other():
    a, b = leaf([1.0]), leaf([1.0])
    (a + b).sum().backward()
    a.grad.zero_()
    assert b.grad.tolist() == [1.0]


class Cube(autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x * x * ctx.scale, None


def test_custom_function_forward_backward_and_saved_tensors():
    x = leaf([1.0, 2.0])
    y = Cube.apply(x, 2.0)
    assert y.tolist() == [2.0, 16.0]
    assert y.grad_fn is not None and "Cube" in y.grad_fn.name()
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 24.0]


@pytest.mark.gpu
@pytest.mark.skipif(not lf.cuda.is_available(), reason="no CUDA GPU/cupy")
def test_custom_function_runs_and_differentiates_on_the_gpu():
    x = lf.tensor([1.0, 2.0], device="cuda", requires_grad=True)
    y = Cube.apply(x, 2.0)
    assert y.device == lf.device("cuda:0") and y.tolist() == [2.0, 16.0]
    y.sum().backward()
    assert x.grad.device == lf.device("cuda:0") and x.grad.tolist() == [6.0, 24.0]


def test_custom_function_sees_needs_input_grad():
    seen = {}

    class Pair(autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            seen["needs"] = ctx.needs_input_grad
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, g

    a, b = leaf([1.0]), lf.tensor([2.0], dtype=lf.float64)
    Pair.apply(a, b).sum().backward()
    assert seen["needs"] == (True, False)
    assert a.grad.tolist() == [1.0] and b.grad is None


def test_custom_function_saved_tensors_freed_after_backward():
    x = leaf([1.0])
    y = Cube.apply(x, 1.0)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.grad_fn.saved_tensors


def test_custom_function_under_no_grad_builds_no_graph():
    x = leaf([1.0])
    with lf.no_grad():
        y = Cube.apply(x, 1.0)
    assert not y.requires_grad and y.grad_fn is None


def test_custom_function_wrong_number_of_gradients_is_explained():
    class Bad(autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match="returned 1 gradient.*took 2 argument"):
        Bad.apply(leaf([1.0]), leaf([1.0])).sum().backward()


def test_no_grad_enable_grad_and_set_grad_enabled_nest():
    x = leaf([1.0])
    with lf.no_grad():
        assert not lf.is_grad_enabled()
        assert not (x * 2).requires_grad
        with lf.enable_grad():
            assert (x * 2).requires_grad
        with lf.set_grad_enabled(True):
            assert lf.is_grad_enabled()
        assert not lf.is_grad_enabled()
    assert lf.is_grad_enabled()
    with lf.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert lf.is_grad_enabled()


def test_set_grad_enabled_called_as_a_function_switches_right_away():
    try:
        lf.set_grad_enabled(False)
        assert not lf.is_grad_enabled() and not (leaf([1.0]) * 2).requires_grad
    finally:
        lf.set_grad_enabled(True)
    assert lf.is_grad_enabled()


def test_grad_modes_work_as_decorators_and_restore_on_error():
    @lf.no_grad()
    def infer(t):
        return t * 2

    assert not infer(leaf([1.0])).requires_grad
    assert lf.is_grad_enabled()
    with pytest.raises(ValueError):
        with lf.no_grad():
            raise ValueError("boom")
    assert lf.is_grad_enabled()


def test_grad_mode_is_thread_local():
    x = leaf([1.0])
    inside_no_grad = threading.Event()
    other_done = threading.Event()
    results = {}

    def inference_thread():
        with lf.no_grad():
            inside_no_grad.set()
            other_done.wait(5)
            results["worker"] = (x * 2).requires_grad

    worker = threading.Thread(target=inference_thread)
    worker.start()
    assert inside_no_grad.wait(5)
    results["main"] = (x * 2).requires_grad and lf.is_grad_enabled()
    other_done.set()
    worker.join(5)
    assert results == {"main": True, "worker": False}


def test_backward_through_a_chain_of_100000_ops_does_not_recurse():
    x = leaf([1.0])
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]


def test_a_finished_graph_is_freed_by_reference_counting_without_gc():
    gc.collect()
    gc.disable()
    try:
        x = leaf(np.ones((4, 4)))
        hidden = (x @ x).tanh()
        node_ref = weakref.ref(hidden.grad_fn)
        hidden_ref = weakref.ref(hidden)
        loss = (hidden * 2).sum()
        del hidden
        loss.backward()
        del loss
        assert hidden_ref() is None, "an intermediate tensor outlived its graph"
        assert node_ref() is None, "a graph node outlived its graph"
        assert x.grad is not None
    finally:
        gc.enable()


def test_a_graph_dropped_without_backward_is_freed_without_gc():
    gc.collect()
    gc.disable()
    try:
        x = leaf([1.0, 2.0])
        y = (x * 2).exp().sum()
        ref = weakref.ref(y.grad_fn)
        del y
        assert ref() is None
    finally:
        gc.enable()


def test_detach_and_data_cut_the_graph():
    x = leaf([1.0])
    y = x * 2
    assert not y.detach().requires_grad and y.detach().grad_fn is None
    assert not y.data.requires_grad
    z = y.detach() * x
    z.sum().backward()
    assert x.grad.tolist() == [2.0]


def test_requires_grad_flag_propagates_only_from_inputs_that_need_it():
    a = lf.tensor([1.0])
    b = leaf([1.0])
    assert not (a * 2).requires_grad
    assert (a * b).requires_grad
    assert a.requires_grad_() is a and a.requires_grad
