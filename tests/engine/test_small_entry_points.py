"""Smaller PyTorch entry points against PyTorch: histogramdd, the deprecated out-of-place
Tensor.resize/resize_as, and get_device_module with torch.cpu."""
import warnings

import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import torch


@pytest.mark.parametrize("points, options", [
    ([[0.0, 1.0], [1.0, 0.0], [2.0, 0.0], [2.0, 2.0]], {"bins": [3, 3]}),
    ([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], {"bins": [2, 2], "range": [0.0, 1.0, 0.0, 2.0], "weight": [1.0, 2.0, 4.0],
                                            "density": True}),
    ([[0.0, 0.0, 1.0], [1.0, 1.0, 3.0], [0.5, 0.2, 2.0]], {"bins": 3}),
    ([[[0.1, 0.9], [0.4, 0.3]], [[0.7, 0.2], [0.9, 0.9]]], {"bins": (2, 4)}),
])
def test_histogramdd_matches_torch(points, options):
    ours_options = {k: lf.tensor(v) if k == "weight" else v for k, v in options.items()}
    theirs_options = {k: torch.tensor(v) if k == "weight" else v for k, v in options.items()}
    ours, theirs = lf.histogramdd(lf.tensor(points), **ours_options), torch.histogramdd(torch.tensor(points),
                                                                                        **theirs_options)
    np.testing.assert_allclose(ours.hist.numpy(), theirs.hist.numpy(), rtol=1e-6)
    assert ours.hist.dtype == lf.float32 and len(ours.bin_edges) == len(theirs.bin_edges)
    for a, b in zip(ours.bin_edges, theirs.bin_edges):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_histogramdd_with_edge_tensors_and_int_input_as_torch():
    edges = ([0.0, 0.5, 1.0], [0.0, 2.0])
    ours = lf.histogramdd(lf.tensor([[0.0, 0.0], [1.0, 1.0]]), bins=[lf.tensor(e) for e in edges])
    theirs = torch.histogramdd(torch.tensor([[0.0, 0.0], [1.0, 1.0]]), bins=[torch.tensor(e) for e in edges])
    assert ours.hist.tolist() == theirs.hist.tolist()
    for m in (lf, torch):
        with pytest.raises(RuntimeError):
            m.histogramdd(m.tensor([[1, 2]]), bins=2)


def test_out_of_place_resize_is_a_reshape_that_warns_as_torch():
    for m in (lf, torch):
        x = m.arange(6.0, requires_grad=True)
        with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
            y = x.resize(2, 3)
        (y * m.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
        assert y.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and x.grad.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        with pytest.warns(UserWarning, match="non-inplace resize_as is deprecated"):
            assert tuple(x.resize_as(m.zeros(3, 2)).shape) == (3, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(RuntimeError, match="preserving the number of elements"):
                x.resize(4)


def test_get_device_module_as_torch():
    assert lf.get_device_module("cuda") is lf.cuda and lf.get_device_module(lf.device("cpu")) is lf.cpu
    assert lf.get_device_module() is lf.cpu  # the default device
    assert lf.cpu.is_available() and lf.cpu.device_count() == torch.cpu.device_count() == 1
    assert lf.cpu.current_device() == torch.cpu.current_device() and lf.cpu.synchronize() is None
    for m in (lf, torch):
        with pytest.raises(RuntimeError):
            m.get_device_module("meta")
