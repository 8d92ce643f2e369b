"""Memory shared with other libraries as PyTorch shares it: DLPack both ways with PyTorch itself (a
write on one side shows on the other), capsules, frombuffer over Python buffers (values, offsets,
counts and PyTorch's exception types), and the refusal to export a tensor that requires grad."""
import array
import warnings

import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import torch


def test_dlpack_shares_memory_with_torch_both_ways():
    ours = lf.arange(6.0).reshape(2, 3)
    theirs = torch.from_dlpack(ours)
    theirs[0, 0] = 42.0
    assert ours[0, 0].item() == 42.0 and tuple(theirs.shape) == (2, 3) and theirs.dtype == torch.float32
    source = torch.arange(4, dtype=torch.int64)
    shared = lf.from_dlpack(source)
    shared.add_(1)
    assert source.tolist() == [1, 2, 3, 4] and shared.dtype == lf.int64
    assert lf.from_dlpack(torch.utils.dlpack.to_dlpack(torch.ones(2))).tolist() == [1.0, 1.0]
    assert torch.from_dlpack(lf.to_dlpack(lf.full((3,), 2.5))).tolist() == [2.5, 2.5, 2.5]
    assert lf.from_dlpack(np.arange(3.0)).tolist() == [0.0, 1.0, 2.0]
    assert lf.ones(2).__dlpack_device__() == torch.ones(2).__dlpack_device__()


def test_exporting_a_tensor_that_requires_grad_raises_as_torch():
    for m in (torch, lf):
        with pytest.raises(BufferError, match="require gradient"):
            m.ones(2, requires_grad=True).__dlpack__()
    with pytest.raises(RuntimeError):
        lf.from_dlpack(torch.ones(2, dtype=torch.bfloat16))  # a dtype the engine has not


@pytest.mark.parametrize("dtype, count, offset", [("int32", -1, 0), ("int16", 2, 2), ("uint8", 3, 5),
                                                  ("float32", 1, 4), ("float64", -1, 0)])
def test_frombuffer_matches_torch_and_shares_the_buffer(dtype, count, offset):
    data = bytearray(np.arange(4, dtype=np.int32).tobytes())
    ours = lf.frombuffer(data, dtype=getattr(lf, dtype), count=count, offset=offset)
    theirs = torch.frombuffer(bytearray(data), dtype=getattr(torch, dtype), count=count, offset=offset)
    assert ours.dtype.name == dtype
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    data[offset] = 9
    assert ours.numpy().tobytes()[:1] == bytes([9])  # the tensor is on the buffer's memory
    assert lf.frombuffer(array.array("d", [1.5, 2.5]), dtype=lf.float64).tolist() == [1.5, 2.5]


@pytest.mark.parametrize("call", [
    pytest.param(lambda m: m.frombuffer(bytearray(8), dtype=m.int32, count=3), id="count_too_large"),
    pytest.param(lambda m: m.frombuffer(bytearray(8), dtype=m.int32, offset=8), id="offset_past_the_end"),
    pytest.param(lambda m: m.frombuffer(bytearray(7), dtype=m.int32), id="not_a_multiple"),
    pytest.param(lambda m: m.frombuffer(bytearray(0), dtype=m.int32), id="empty"),
])
def test_frombuffer_raises_torchs_exception_type(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(Exception) as ours:
        call(lf)
    assert type(ours.value) is type(theirs.value), f"{ours.value!r} where torch raises {theirs.value!r}"


def test_frombuffer_of_read_only_bytes_warns_as_torch():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert lf.frombuffer(b"\x01\x00", dtype=lf.int16).tolist() == [1]
    assert any("not writable" in str(w.message) for w in caught)
