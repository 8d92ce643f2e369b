"""The Tensor API around the operations, as tutorials use it: new_* factories, typed constructors,
default dtype and device, torch.accelerator, grad_fn's name() and next_functions, PyTorch's keyword
forms and out=, and the torch.nn.modules.<file> paths. Compared with torch where it has an answer."""
import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import DEVICES, torch


def _same(ours, theirs):
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.dtype.name == str(theirs.dtype).split(".")[-1]
    np.testing.assert_array_equal(ours.detach().cpu().numpy(), theirs.detach().numpy())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("make", [
    pytest.param(lambda m, x: x.new_zeros(2, 3), id="new_zeros_varargs"),
    pytest.param(lambda m, x: x.new_zeros((2,)), id="new_zeros_tuple"),
    pytest.param(lambda m, x: x.new_ones(3, dtype=m.int32), id="new_ones_dtype"),
    pytest.param(lambda m, x: x.new_full((2, 2), 7), id="new_full"),
    pytest.param(lambda m, x: x.new_tensor([1, 2, 3]), id="new_tensor_keeps_self_dtype"),
    pytest.param(lambda m, x: x.new_tensor([[0.5]], dtype=m.float32), id="new_tensor_dtype"),
    pytest.param(lambda m, x: x.new_empty(0, 4), id="new_empty"),
])
def test_new_factories_take_dtype_and_device_from_the_tensor(make, device):
    theirs = make(torch, torch.ones(2, dtype=torch.float64))
    ours = make(lf, lf.ones(2, dtype=lf.float64, device=device))
    assert ours.device == lf.device(device)
    if theirs.numel():
        _same(ours, theirs)
    else:
        assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype is lf.float64


def test_new_tensor_copies_and_can_require_grad():
    base = lf.zeros(2)
    data = lf.tensor([1.0, 2.0])
    copy = base.new_tensor(data, requires_grad=True)
    data[0] = 9.0
    assert copy.tolist() == [1.0, 2.0] and copy.requires_grad and copy.is_leaf


@pytest.mark.parametrize("name, dtype", [("FloatTensor", "float32"), ("DoubleTensor", "float64"),
                                         ("LongTensor", "int64"), ("IntTensor", "int32"),
                                         ("ByteTensor", "uint8"), ("BoolTensor", "bool"),
                                         ("HalfTensor", "float16"), ("ShortTensor", "int16"),
                                         ("CharTensor", "int8")])
def test_typed_constructors_build_and_recognise_their_dtype(name, dtype):
    ours_cls, theirs_cls = getattr(lf, name), getattr(torch, name)
    _same(ours_cls([1, 0, 1]), theirs_cls([1, 0, 1]))
    assert tuple(ours_cls(2, 3).shape) == tuple(theirs_cls(2, 3).shape) == (2, 3)
    assert ours_cls(2, 3).dtype.name == dtype
    assert isinstance(lf.zeros(2, dtype=dtype), ours_cls)
    assert not isinstance(lf.zeros(2, dtype="float64" if dtype != "float64" else "int64"), ours_cls)
    with pytest.raises(TypeError):
        ours_cls(2, "three")


def test_default_dtype_and_device_reach_the_factories():
    assert lf.get_default_dtype() is lf.float32 and lf.get_default_device() == lf.device("cpu")
    try:
        lf.set_default_dtype(lf.float64)
        assert lf.zeros(2).dtype is lf.float64 and lf.tensor([1.5]).dtype is lf.float64
        assert lf.arange(3).dtype is lf.int64
        lf.set_default_device("cpu")
        assert lf.ones(1).device == lf.device("cpu")
    finally:
        lf.set_default_dtype(lf.float32)
        lf.set_default_device(None)
    with pytest.raises(TypeError):
        lf.set_default_dtype(lf.int64)


@pytest.mark.gpu
@pytest.mark.skipif(not lf.cuda.is_available(), reason="no CUDA GPU/cupy")
def test_default_device_cuda_puts_new_tensors_on_the_gpu():
    try:
        lf.set_default_device("cuda")
        assert lf.zeros(2).device.type == "cuda" and lf.tensor([1.0]).is_cuda and lf.randn(2).is_cuda
        assert lf.zeros(2, device="cpu").device.type == "cpu"
    finally:
        lf.set_default_device(None)


def test_accelerator_answers_as_torch_does_without_a_gpu(monkeypatch):
    from layerforge.engine import backend

    monkeypatch.setattr(backend, "cuda_is_available", lambda: False)
    assert lf.accelerator.is_available() is False
    assert lf.accelerator.current_accelerator() is None
    device = lf.accelerator.current_accelerator().type if lf.accelerator.is_available() else "cpu"
    assert lf.zeros(1, device=device).device == lf.device("cpu")
    monkeypatch.setattr(backend, "cuda_is_available", lambda: True)
    assert lf.accelerator.current_accelerator() == lf.device("cuda")


def _names_of(fn, seen=None):
    """Every node below ``fn`` as nested (name, [children]) with PyTorch's names minus their suffix."""
    if fn is None:
        return None
    name = fn.name().replace("torch::autograd::", "").rstrip("0123456789")
    return name, [_names_of(child) for child, _ in fn.next_functions]


def test_grad_fn_name_and_next_functions_walk_the_graph_as_in_torch():
    def build(m):
        w = m.tensor([1.0, 2.0], requires_grad=True)
        x = m.tensor([3.0, 4.0])
        return w, (w * x + w).sum()

    (_, theirs), (ow, ours) = build(torch), build(lf)
    assert isinstance(ours.grad_fn.next_functions, tuple)
    assert _names_of(ours.grad_fn) == _names_of(theirs.grad_fn)
    leaf = ours.grad_fn.next_functions[0][0].next_functions[1][0]
    assert leaf.variable is ow
    assert ours.grad_fn.next_functions[0][0].next_functions[0][0].next_functions[1] == (None, 0)


@pytest.mark.parametrize("call", [
    pytest.param(lambda m, a, b: m.matmul(input=a, other=b), id="matmul_keywords"),
    pytest.param(lambda m, a, b: m.add(a, other=b, alpha=2), id="add_other_keyword"),
    pytest.param(lambda m, a, b: m.sum(input=a, dim=1), id="sum_input_keyword"),
    pytest.param(lambda m, a, b: m.cat(tensors=[a, b], dim=0), id="cat_tensors_keyword"),
    pytest.param(lambda m, a, b: m.where(a > 1, input=a, other=b), id="where_keywords"),
])
def test_functions_take_pytorchs_keyword_names(call):
    a, b = np.arange(4.0).reshape(2, 2), np.ones((2, 2))
    _same(call(lf, lf.tensor(a), lf.tensor(b)), call(torch, torch.tensor(a), torch.tensor(b)))


def test_out_writes_into_the_given_tensor_and_returns_it():
    a = lf.tensor([[1.0, 2.0], [3.0, 4.0]])
    out = lf.empty(2, 2)
    storage = out._data
    assert lf.matmul(a, a, out=out) is out and out._data is storage
    np.testing.assert_array_equal(out.numpy(), a.numpy() @ a.numpy())
    resized = lf.empty(0)
    lf.add(a, 1, out=resized)
    assert resized.shape == (2, 2)
    values, indices = lf.empty(2), lf.empty(2, dtype=lf.int64)
    result = lf.sort(lf.tensor([3.0, 1.0]), out=(values, indices))
    assert result.values is values and values.tolist() == [1.0, 3.0] and indices.tolist() == [1, 0]
    with pytest.raises(RuntimeError, match="automatic differentiation"):
        lf.mul(lf.ones(2, requires_grad=True), 2, out=lf.empty(2))


def test_nn_modules_paths_name_the_same_classes():
    import importlib

    assert lf.nn.modules.linear.Linear is lf.nn.Linear
    assert lf.nn.modules.container.Sequential is lf.nn.Sequential
    assert lf.nn.modules.module.Module is lf.nn.Module
    assert importlib.import_module("layerforge.engine.nn.modules.conv").Conv2d is lf.nn.Conv2d
    for file in ("linear", "conv", "activation", "loss", "rnn", "pooling", "batchnorm", "sparse"):
        ours = getattr(lf.nn.modules, file)
        theirs = getattr(torch.nn.modules, file)
        shared = [n for n in dir(ours) if not n.startswith("_")]
        assert shared, file
        assert all(hasattr(theirs, n) for n in shared), (file, [n for n in shared if not hasattr(theirs, n)])


def test_layout_and_the_functional_methods_match_torch():
    assert repr(lf.zeros(2).layout).endswith("strided") and lf.zeros(2).layout is lf.strided
    values = [-1.5, 0.2, 0.0, 2.0]
    weight = [0.25]
    ours, theirs = lf.tensor(values), torch.tensor(values)
    _same(ours.hardshrink(0.3), theirs.hardshrink(0.3))
    _same(ours.prelu(lf.tensor(weight)), theirs.prelu(torch.tensor(weight)))


def test_post_accumulate_grad_hooks_run_once_per_backward_after_accumulation():
    def run(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        seen = []
        handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
        ((w * 3).sum() + (w * w).sum()).backward()  # two paths into the same leaf
        (w * 2).sum().backward()
        handle.remove()
        (w * 2).sum().backward()
        return seen

    assert run(lf) == run(torch) == [[5.0, 7.0], [7.0, 9.0]]
    with pytest.raises(RuntimeError):
        (lf.ones(1, requires_grad=True) * 2).register_post_accumulate_grad_hook(lambda t: None)


@pytest.mark.parametrize("options", [{}, {"precision": 2}, {"sci_mode": False}, {"sci_mode": True, "precision": 3},
                                     {"threshold": 5, "edgeitems": 1}, {"linewidth": 40}, {"edgeitems": 0, "threshold": 3},
                                     {"profile": "short"}, {"profile": "full"}])
def test_set_printoptions_prints_as_torch(options):
    rows = [[1.23456, -2.5, 0.001, 7.0, 8.0, 9.0], [3.0, 4.0, 5.5, 1e-6, 2.0, 100.0]]
    cases = [(rows, None), ([1.0, 2.0], None), ([0.0, 0.0], None), ([float("nan"), 1.5, -2.25], None),
             ([float("inf"), 3.0], None), ([1.0, 2000.0], "float64"), (np.arange(2400.0).reshape(2, 30, 40), None),
             (np.linspace(0, 1e-3, 1500), None), (np.arange(-50, 1500).reshape(50, 31), "int64"),
             ([[True, False]], "bool"), (2.5, None), (np.zeros((0, 3)), "int32")]
    try:
        lf.set_printoptions(**options)
        torch.set_printoptions(**options)
        for values, dtype in cases:
            ours = lf.tensor(values, dtype=getattr(lf, dtype or "float32"))
            theirs = torch.tensor(values, dtype=getattr(torch, dtype or "float32"))
            assert repr(ours).replace("layerforge.", "torch.") == repr(theirs)
        x = lf.arange(30.0, requires_grad=True)
        assert repr(x * 2) == repr(torch.arange(30.0, requires_grad=True) * 2).replace("MulBackward0", "MulScalarBackward")
    finally:
        lf.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
