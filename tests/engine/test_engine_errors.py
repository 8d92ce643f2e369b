"""Bad input gets an error that says what is wrong and where, with PyTorch's key phrases."""
import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine import backend

SHAPE_MISMATCHES = [
    pytest.param(lambda a, b: a + b, id="add"),
    pytest.param(lambda a, b: a * b, id="mul"),
    pytest.param(lambda a, b: a - b, id="sub"),
    pytest.param(lambda a, b: a / b, id="div"),
    pytest.param(lambda a, b: a ** b, id="pow"),
    pytest.param(lambda a, b: lf.maximum(a, b), id="maximum"),
    pytest.param(lambda a, b: lf.where(a > 0, a, b), id="where"),
    pytest.param(lambda a, b: a < b, id="lt"),
]


@pytest.mark.parametrize("op", SHAPE_MISMATCHES)
def test_mismatched_shapes_name_both_shapes_and_the_dimension(op):
    with pytest.raises(RuntimeError) as info:
        op(lf.ones(2, 3), lf.ones(4, 3))
    message = str(info.value)
    assert "The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0" \
        in message
    assert "(2, 3)" in message and "(4, 3)" in message


def test_mismatched_shapes_match_torch_wording():
    torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
    with pytest.raises(RuntimeError) as theirs:
        torch.ones(5, 2, 3) * torch.ones(5, 3, 3)
    with pytest.raises(RuntimeError) as ours:
        lf.ones(5, 2, 3) * lf.ones(5, 3, 3)
    assert str(ours.value).startswith(str(theirs.value))


SAME_AS_TORCH = [
    pytest.param(lambda m: m.ones(2, 3).reshape(4, 2), "shape '[4, 2]' is invalid for input of size 6",
                 id="reshape"),
    pytest.param(lambda m: m.ones(2, 3) @ m.ones(2, 3), "mat1 and mat2 shapes cannot be multiplied",
                 id="matmul"),
    pytest.param(lambda m: m.cat([m.ones(2, 3), m.ones(2, 4)]),
                 "Sizes of tensors must match except in dimension 0", id="cat"),
    pytest.param(lambda m: m.ones(2, 3).sum(-3), "Dimension out of range", id="dim"),
    pytest.param(lambda m: m.ones(2, 3).expand(4, 4), "The expanded size of the tensor (4) must match "
                 "the existing size (3) at non-singleton dimension 1", id="expand"),
    pytest.param(lambda m: m.ones(3, requires_grad=True).exp().backward(),
                 "grad can be implicitly created only for scalar outputs", id="non_scalar_backward"),
    pytest.param(lambda m: m.ones(3).sum().backward(), "does not require grad", id="no_grad_backward"),
    pytest.param(lambda m: m.ones(3, requires_grad=True).numpy(), "Use tensor.detach().numpy() instead",
                 id="numpy_requires_grad"),
    pytest.param(lambda m: m.tensor([1, 2]).mean(), "mean(): could not infer output dtype", id="int_mean"),
    pytest.param(lambda m: m.ones(3).item(), "a Tensor with 3 elements cannot be converted to Scalar",
                 id="item"),
    pytest.param(lambda m: m.nn.functional.bilinear(m.ones(5, 3), m.ones(5, 4), m.ones(2, 3, 5)),
                 "bilinear(): input2 size does not match weight size: got 4 but expected 5", id="bilinear_input2"),
    pytest.param(lambda m: m.nn.functional.bilinear(m.ones(5, 4), m.ones(5, 5), m.ones(2, 3, 5)),
                 "bilinear(): input1 size does not match weight size: got 4 but expected 3", id="bilinear_input1"),
]


@pytest.mark.parametrize("call, phrase", SAME_AS_TORCH)
def test_error_carries_the_same_key_phrase_as_torch(call, phrase):
    torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(Exception) as ours:
        call(lf)
    assert type(ours.value) is type(theirs.value)
    assert phrase in str(theirs.value), "the oracle's wording changed; update the phrase"
    assert phrase in str(ours.value)


def test_matmul_mismatch_names_the_shapes():
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)"):
        lf.ones(2, 3) @ lf.ones(2, 3)
    with pytest.raises(RuntimeError, match="at least 1D"):
        lf.ones(()) @ lf.ones(3)


@pytest.mark.parametrize("build, phrase", [
    pytest.param(lambda: lf.ones(2, 3).reshape(4, 2), r"shape '\[4, 2\]' is invalid for input of size 6",
                 id="reshape"),
    pytest.param(lambda: lf.ones(2, 3).view(-1, 4), "invalid for input of size 6", id="view"),
    pytest.param(lambda: lf.ones(2, 3).expand(4, 4),
                 r"expanded size of the tensor \(4\) must match the existing size \(3\) at non-singleton "
                 r"dimension 1", id="expand"),
    pytest.param(lambda: lf.cat([lf.ones(2, 3), lf.ones(2, 4)]),
                 "Sizes of tensors must match except in dimension 0", id="cat"),
    pytest.param(lambda: lf.stack([lf.ones(2), lf.ones(3)]), "stack expects each tensor to be equal size",
                 id="stack"),
    pytest.param(lambda: lf.ones(2, 3).sum(2), r"Dimension out of range \(expected to be in range of "
                 r"\[-2, 1\], but got 2\)", id="sum_dim"),
    pytest.param(lambda: lf.ones(2, 3).permute(0, 0), "duplicate dims", id="permute"),
    pytest.param(lambda: lf.ones(2, 3).transpose(0, -3), "Dimension out of range", id="transpose"),
    pytest.param(lambda: lf.ones(5).split([2, 2]), "sum exactly to 5", id="split"),
])
def test_shape_errors_say_what_is_wrong(build, phrase):
    with pytest.raises((RuntimeError, IndexError), match=phrase):
        build()


def test_out_of_range_index_names_the_tensor_shape():
    with pytest.raises(IndexError, match=r"index 5 is out of bounds.*size 2.*shape \(2, 3\)"):
        lf.ones(2, 3)[5]


@pytest.mark.parametrize("build, phrase", [
    pytest.param(lambda: lf.tensor([1, 2], requires_grad=True), "floating point", id="int_requires_grad"),
    pytest.param(lambda: lf.ones(2, dtype=lf.long).requires_grad_(), "floating point",
                 id="int_requires_grad_"),
    pytest.param(lambda: lf.tensor([1, 2]).mean(), "mean.*floating point.*Int64", id="mean_of_int"),
    pytest.param(lambda: lf.tensor([1, 2]).var(), "floating point", id="var_of_int"),
    pytest.param(lambda: lf.where(lf.ones(2), lf.ones(2), lf.zeros(2)),
                 "where expected condition to be a boolean tensor.*float32", id="where_float_condition"),
    pytest.param(lambda: lf.ones(2)[lf.tensor([0.5])], "tensors used as indices must be long",
                 id="float_index"),
])
def test_wrong_dtypes_are_refused_with_the_reason(build, phrase):
    with pytest.raises((RuntimeError, IndexError), match=phrase):
        build()


def test_unsupported_operand_and_ragged_data_are_type_and_value_errors():
    with pytest.raises(TypeError, match="unsupported operand.*str"):
        lf.ones(2) + "a"
    with pytest.raises(ValueError, match="ragged"):
        lf.tensor([[1, 2], [3]])
    with pytest.raises(TypeError, match="numpy dtype complex128 has no Layerforge equivalent"):
        lf.from_numpy(np.ones(2, dtype=complex))


def test_backward_on_non_scalar_without_gradient_names_the_shape():
    y = lf.ones(2, 3, requires_grad=True).exp()
    with pytest.raises(RuntimeError, match=r"grad can be implicitly created only for scalar outputs.*"
                                           r"\(2, 3\)"):
        y.backward()


def test_backward_gradient_of_wrong_shape_is_refused():
    y = lf.ones(2, 3, requires_grad=True).exp()
    with pytest.raises(RuntimeError, match=r"Mismatch in shape.*\(3,\).*\(2, 3\)"):
        y.backward(lf.ones(3))


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        lf.ones(3).sum().backward()


def test_second_backward_without_retain_graph_matches_torch_message():
    torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")
    x_t = torch.ones(2, requires_grad=True)
    y_t = (x_t.exp() * 2).sum()
    y_t.backward()
    with pytest.raises(RuntimeError) as theirs:
        y_t.backward()
    x = lf.ones(2, requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError) as ours:
        y.backward()
    for phrase in ("Trying to backward through the graph a second time", "retain_graph=True"):
        assert phrase in str(theirs.value) and phrase in str(ours.value)


def test_inplace_on_leaf_that_requires_grad_outside_no_grad_says_to_wrap_it():
    w = lf.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad.*in-place.*no_grad"):
        w -= 1.0
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad.*no_grad"):
        w[0] = 3.0
    with pytest.raises(RuntimeError, match="in-place"):
        (w * 2).add_(1.0)


def test_numpy_of_tensor_requiring_grad_says_to_detach():
    with pytest.raises(RuntimeError, match=r"detach\(\).numpy\(\)"):
        lf.ones(2, requires_grad=True).numpy()


def test_item_of_many_elements_and_bool_of_many_are_refused():
    with pytest.raises(RuntimeError, match="3 elements cannot be converted to Scalar"):
        lf.ones(3).item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(lf.ones(3))


# ------------------------------------------------------------------------------ devices
def test_unknown_device_strings_are_refused():
    with pytest.raises(RuntimeError, match="invalid device 'cuda:x'.*number"):
        lf.device("cuda:x")
    with pytest.raises(RuntimeError, match="unknown device 'gpu'.*'cpu', 'cuda' or 'cuda:N'"):
        lf.device("gpu")
    with pytest.raises(RuntimeError, match="already names an index"):
        lf.device("cuda:0", 1)
    with pytest.raises(TypeError, match="a device is a string"):
        lf.device(3.5)


@pytest.mark.skipif(lf.cuda.is_available(), reason="checks the message shown where CUDA is missing")
def test_asking_for_cuda_without_a_gpu_says_why():
    reason = lf.cuda.unavailable_reason()
    assert reason and ("cupy" in reason or "GPU" in reason)
    for make in (lambda: lf.ones(2, device="cuda"), lambda: lf.ones(2).to("cuda:1"),
                 lambda: lf.ones(2).cuda(), lambda: lf.tensor([1.0], device="cuda"),
                 lambda: lf.randn(2, device="cuda")):
        with pytest.raises(RuntimeError) as info:
            make()
        assert "CUDA device 'cuda:" in str(info.value) and reason in str(info.value)
    assert lf.cuda.device_count() == 0 and not lf.cuda.is_available()


class _FakeGpuArray(np.ndarray):
    """A numpy array that claims to live on a GPU: mixing devices can be checked without one."""


def test_mixing_cpu_and_cuda_tensors_names_both_devices(monkeypatch):
    real_device_of = backend.device_of
    monkeypatch.setattr(backend, "device_of", lambda a: backend.as_device("cuda:0")
                        if isinstance(a, _FakeGpuArray) else real_device_of(a))
    on_gpu = lf.Tensor._wrap(np.ones(3, dtype=np.float32).view(_FakeGpuArray))
    on_cpu = lf.ones(3)
    assert str(on_gpu.device) == "cuda:0"
    for op in (lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a @ b,
               lambda a, b: lf.cat([a, b]), lambda a, b: a == b):
        with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, but found "
                                               "at least two devices, cpu and cuda:0"):
            op(on_cpu, on_gpu)


@pytest.mark.gpu
@pytest.mark.skipif(not lf.cuda.is_available(), reason="no CUDA GPU/cupy")
def test_mixing_real_cpu_and_cuda_tensors_is_refused():
    with pytest.raises(RuntimeError, match="same device.*cpu and cuda:0"):
        lf.ones(3) + lf.ones(3, device="cuda")
    # a layer on the GPU fed a CPU batch says so in the engine's words, not cupy's TypeError
    for layer, x in ((lf.nn.Linear(2, 3), lf.ones(4, 2)), (lf.nn.Conv2d(1, 2, 3), lf.ones(1, 1, 5, 5)),
                     (lf.nn.LSTM(2, 3), lf.ones(4, 1, 2))):
        with pytest.raises(RuntimeError, match=r"same device, but found at least two devices, cpu and cuda:0"):
            layer.to("cuda")(x)


def test_conv3d_refuses_mixed_dtypes_as_conv2d_does():
    with pytest.raises(RuntimeError, match="conv3d: input is float64 but the layer's parameters are float32"):
        lf.nn.functional.conv3d(lf.ones(1, 2, 4, 4, 4, dtype=lf.float64), lf.ones(3, 2, 3, 3, 3))
