"""Creating tensors, their dtypes and conversions, compared with PyTorch where it defines the answer."""
import numpy as np
import pytest

import layerforge.engine as lf



@pytest.fixture
def torch():
    """PyTorch as the oracle; only the tests that compare with it are skipped where it is absent."""
    return pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")


def same(ours, theirs):
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=1e-6)


CREATION = [
    pytest.param(lambda m: m.tensor([1.0, 2.0]), id="tensor_floats_default_float32"),
    pytest.param(lambda m: m.tensor([1, 2]), id="tensor_ints_int64"),
    pytest.param(lambda m: m.tensor([True, False]), id="tensor_bools"),
    pytest.param(lambda m: m.tensor(3.5), id="tensor_0d"),
    pytest.param(lambda m: m.tensor([[1, 2.5], [3, 4]]), id="tensor_mixed"),
    pytest.param(lambda m: m.tensor(np.arange(3)), id="tensor_from_int64_numpy"),
    pytest.param(lambda m: m.tensor(np.ones(2)), id="tensor_from_float64_numpy_keeps_float64"),
    pytest.param(lambda m: m.tensor([1, 2], dtype=m.float64), id="tensor_dtype"),
    pytest.param(lambda m: m.zeros(2, 3), id="zeros"),
    pytest.param(lambda m: m.ones((2, 3), dtype=m.int64), id="ones_tuple_dtype"),
    pytest.param(lambda m: m.full((2, 2), 7), id="full_int"),
    pytest.param(lambda m: m.full((2,), 1.5), id="full_float"),
    pytest.param(lambda m: m.zeros_like(m.ones(2, dtype=m.float64)), id="zeros_like"),
    pytest.param(lambda m: m.ones_like(m.tensor([1, 2])), id="ones_like_int"),
    pytest.param(lambda m: m.full_like(m.ones(3), 2.0), id="full_like"),
    pytest.param(lambda m: m.arange(5), id="arange_int"),
    pytest.param(lambda m: m.arange(1, 2, 0.25), id="arange_float"),
    pytest.param(lambda m: m.arange(5, 0, -2), id="arange_negative_step"),
    pytest.param(lambda m: m.linspace(0, 1, 5), id="linspace"),
    pytest.param(lambda m: m.eye(3), id="eye"),
    pytest.param(lambda m: m.eye(2, 3), id="eye_rect"),
    pytest.param(lambda m: m.empty(2, 3).zero_(), id="empty"),
    pytest.param(lambda m: m.ones(2).to(m.float64), id="to_dtype"),
    pytest.param(lambda m: m.tensor([1.7, -1.7]).long(), id="long_truncates"),
    pytest.param(lambda m: m.tensor([1, 0]).float(), id="float"),
    pytest.param(lambda m: m.tensor([1.0, 0.0]).bool(), id="bool"),
    pytest.param(lambda m: m.tensor([1.0]).double(), id="double"),
    pytest.param(lambda m: m.tensor([2.0]).type_as(m.tensor([1])), id="type_as"),
]


@pytest.mark.parametrize("build", CREATION)
def test_creation_matches_torch(build, torch):
    same(build(lf), build(torch))


def test_shape_size_ndim_numel_and_size_repr():
    x = lf.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.size() == (2, 3, 4) and x.size(-1) == 4
    assert x.ndim == 3 and x.dim() == 3 and x.numel() == 24 and len(x) == 2
    assert repr(x.shape) == "layerforge.Size([2, 3, 4])"


def test_from_numpy_shares_memory_and_tensor_copies():
    array = np.zeros(3, dtype=np.float32)
    shared, copied = lf.from_numpy(array), lf.tensor(array)
    array[0] = 5
    assert shared[0].item() == 5.0 and copied[0].item() == 0.0
    assert lf.as_tensor(array)[0].item() == 5.0


def test_item_tolist_numpy_and_python_conversions():
    assert lf.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert lf.tensor(2.5).item() == 2.5 and isinstance(lf.tensor(2).item(), int)
    assert float(lf.tensor([1.5])) == 1.5 and int(lf.tensor(3)) == 3
    assert np.asarray(lf.tensor([1.0, 2.0])).tolist() == [1.0, 2.0]
    assert [1, 2, 3][lf.tensor(1)] == 2


def test_detach_clone_and_requires_grad_flags():
    x = lf.ones(2, requires_grad=True)
    assert x.is_leaf and x.grad_fn is None
    c = x.clone()
    assert c.requires_grad and not c.is_leaf
    d = x.detach()
    d[0] = 3.0  # detach shares storage, as in PyTorch
    assert x[0].item() == 3.0


@pytest.mark.parametrize("values", [[1.0, 2.5], [1.0, 2.0], [1.5, -10.25], [float("nan"), float("inf"), 1.5],
                                    [1e-5, 1.0], [1e9, 1.0], [[0.1234567, 2], [3, 4]], 0.5, [7, 8]])
def test_repr_matches_pytorch(values, torch):
    assert repr(lf.tensor(values)) == repr(torch.tensor(values))
    assert repr(lf.tensor(values, dtype=lf.float64)) == \
        repr(torch.tensor(values, dtype=torch.float64)).replace("torch.", "layerforge.")


def test_repr_shows_grad_information():
    assert repr(lf.tensor([1, 2])) == "tensor([1, 2])"
    assert "dtype=layerforge.float64" in repr(lf.tensor([1.0], dtype=lf.float64))
    assert "requires_grad=True" in repr(lf.ones(1, requires_grad=True))
    assert "grad_fn=<" in repr(lf.ones(1, requires_grad=True) * 2)


def test_manual_seed_makes_random_tensors_reproducible():
    lf.manual_seed(123)
    first = (lf.randn(3, 4), lf.rand(5), lf.randint(0, 10, (6,)), lf.randperm(5))
    lf.manual_seed(123)
    second = (lf.randn(3, 4), lf.rand(5), lf.randint(0, 10, (6,)), lf.randperm(5))
    for a, b in zip(first, second):
        assert lf.equal(a, b)
    assert first[0].dtype == lf.float32 and first[2].dtype == lf.int64
    assert 0 <= first[1].min().item() and first[1].max().item() < 1
    assert sorted(first[3].tolist()) == list(range(5))
    lf.manual_seed(124)
    assert not lf.equal(lf.randn(3, 4), first[0])


def test_randn_statistics_are_standard_normal():
    lf.manual_seed(0)
    x = lf.randn(20000, dtype=lf.float64)
    assert abs(x.mean().item()) < 0.03 and abs(x.std().item() - 1) < 0.03


def test_default_dtype_can_be_changed_and_restored():
    try:
        lf.set_default_dtype(lf.float64)
        assert lf.tensor([1.0]).dtype == lf.float64 and lf.zeros(1).dtype == lf.float64
        assert (lf.tensor([1]) / 2).dtype == lf.float64
    finally:
        lf.set_default_dtype(lf.float32)
    assert lf.tensor([1.0]).dtype == lf.float32
    with pytest.raises(TypeError, match="floating point"):
        lf.set_default_dtype(lf.int64)


def test_devices_parse_compare_and_print_like_torch(torch):
    assert lf.device("cpu") == "cpu" and lf.device("cuda") == lf.device("cuda:0")
    assert lf.device("cuda", 1).index == 1 and str(lf.device("cuda:2")) == "cuda:2"
    assert repr(lf.device("cuda:1")) == repr(torch.device("cuda:1")).replace("torch.", "")
    assert repr(lf.device("cpu")) == repr(torch.device("cpu")).replace("torch.", "")
    assert lf.ones(2).device == lf.device("cpu") and not lf.ones(2).is_cuda
    assert lf.ones(2).to("cpu").device.type == "cpu"


def test_to_device_and_dtype_together_keeps_gradient_flowing():
    x = lf.ones(2, requires_grad=True)
    y = x.to("cpu", lf.float64)
    assert y.dtype == lf.float64
    y.sum().backward()
    assert x.grad.dtype == lf.float32 and x.grad.tolist() == [1.0, 1.0]


@pytest.mark.gpu
@pytest.mark.skipif(not lf.cuda.is_available(), reason="no CUDA GPU/cupy")
def test_cuda_round_trip_and_gradient_back_to_the_cpu():
    assert lf.cuda.device_count() >= 1 and lf.cuda.get_device_name(0)
    x = lf.ones(3, requires_grad=True)
    y = (x.cuda() * 2).sum()
    assert y.device == lf.device("cuda:0")
    y.backward()
    assert x.grad.device == lf.device("cpu") and x.grad.tolist() == [2.0, 2.0, 2.0]
    lf.manual_seed(5)
    a = lf.randn(4, device="cuda")
    lf.manual_seed(5)
    assert lf.equal(a, lf.randn(4, device="cuda"))
