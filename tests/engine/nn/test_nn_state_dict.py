"""state_dict key names and shapes identical to PyTorch's for every layer, and weights that move both
ways: torch -> Layerforge -> torch gives the same outputs."""
from __future__ import annotations

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine import nn as lf_nn

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")

LAYERS = {
    "Linear": lambda nn: nn.Linear(4, 3),
    "Linear_no_bias": lambda nn: nn.Linear(4, 3, bias=False),
    "Bilinear": lambda nn: nn.Bilinear(2, 3, 4),
    "Conv1d": lambda nn: nn.Conv1d(2, 3, 3),
    "Conv2d": lambda nn: nn.Conv2d(2, 4, (3, 2), groups=2),
    "Conv2d_no_bias": lambda nn: nn.Conv2d(2, 4, 3, bias=False),
    "ConvTranspose2d": lambda nn: nn.ConvTranspose2d(4, 6, 3, groups=2),
    "BatchNorm1d": lambda nn: nn.BatchNorm1d(5),
    "BatchNorm2d": lambda nn: nn.BatchNorm2d(3),
    "BatchNorm2d_no_affine": lambda nn: nn.BatchNorm2d(3, affine=False),
    "BatchNorm2d_untracked": lambda nn: nn.BatchNorm2d(3, track_running_stats=False),
    "LayerNorm": lambda nn: nn.LayerNorm((3, 4)),
    "LayerNorm_no_affine": lambda nn: nn.LayerNorm(3, elementwise_affine=False),
    "Embedding": lambda nn: nn.Embedding(10, 3, padding_idx=0),
    "MaxPool2d": lambda nn: nn.MaxPool2d(2),
    "Dropout": lambda nn: nn.Dropout(0.3),
    "Sequential": lambda nn: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.BatchNorm1d(4),
                                           nn.Sequential(nn.Linear(4, 2), nn.Tanh())),
    "ModuleList_and_Dict": lambda nn: _Holder(nn),
}


class _Holder:
    """A model with a ModuleList and a ModuleDict, built in either library."""

    def __new__(cls, nn):
        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
                self.heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Conv1d(1, 1, 1)})
                self.norm = nn.BatchNorm1d(2)

        return Model()


def _keys_and_shapes(module):
    return [(k, tuple(v.shape), str(v.dtype).rsplit(".", 1)[-1])
            for k, v in module.state_dict().items()]


@pytest.mark.parametrize("name", list(LAYERS))
def test_state_dict_keys_shapes_and_dtypes_match_torch(name):
    theirs, ours = LAYERS[name](torch.nn), LAYERS[name](lf_nn)
    assert _keys_and_shapes(ours) == _keys_and_shapes(theirs)


@pytest.mark.parametrize("name", list(LAYERS))
def test_named_parameters_and_buffers_match_torch(name):
    theirs, ours = LAYERS[name](torch.nn), LAYERS[name](lf_nn)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]


def test_weights_round_trip_torch_to_layerforge_and_back():
    def build(nn):
        return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                             nn.Linear(4 * 6 * 6, 3))

    theirs, ours, back = build(torch.nn), build(lf_nn), build(torch.nn)
    x = np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32)
    theirs.train()
    theirs(torch.tensor(x))  # move the running statistics away from their initial values
    theirs.eval()
    ours.load_state_dict({k: v.numpy().copy() for k, v in theirs.state_dict().items()})
    back.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in
                          ours.state_dict().items()})
    ours.eval()
    back.eval()
    expected = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours(lf.tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(back(torch.tensor(x)).detach().numpy(), expected, rtol=1e-6)
    assert int(back.state_dict()["1.num_batches_tracked"]) == 1
