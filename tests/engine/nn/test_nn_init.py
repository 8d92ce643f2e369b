"""Default initialisation of every layer equal in distribution to PyTorch's, and nn.init's functions
(gains, fans, bounds) equal to torch.nn.init's."""
from __future__ import annotations

import math

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine import nn as lf_nn
from layerforge.engine.nn import init

torch = pytest.importorskip("torch", reason="PyTorch is the test oracle; not installed")

BIG_LAYERS = {
    "Linear": lambda nn: nn.Linear(800, 600),
    "Bilinear": lambda nn: nn.Bilinear(40, 30, 200),
    "Conv1d": lambda nn: nn.Conv1d(32, 256, 5),
    "Conv2d": lambda nn: nn.Conv2d(64, 128, 3),
    "Conv2d_groups": lambda nn: nn.Conv2d(64, 256, 3, groups=4),
    "ConvTranspose2d": lambda nn: nn.ConvTranspose2d(128, 64, 4),
    "Embedding": lambda nn: nn.Embedding(2000, 100),
    "BatchNorm2d": lambda nn: nn.BatchNorm2d(64),
    "LayerNorm": lambda nn: nn.LayerNorm(128),
}


def _stats(values):
    values = np.asarray(values, dtype=np.float64).ravel()
    return values.min(), values.max(), values.mean(), values.std()


@pytest.mark.parametrize("name", list(BIG_LAYERS))
def test_default_init_matches_torch_in_distribution(name):
    torch.manual_seed(0)
    lf.manual_seed(0)
    theirs = dict(BIG_LAYERS[name](torch.nn).named_parameters())
    ours = dict(BIG_LAYERS[name](lf_nn).named_parameters())
    assert list(ours) == list(theirs)
    for key, their_param in theirs.items():
        t_min, t_max, t_mean, t_std = _stats(their_param.detach().numpy())
        o_min, o_max, o_mean, o_std = _stats(ours[key].detach().numpy())
        # Five standard errors for a sample of this size: loose enough never to flake, tight enough
        # to catch a wrong fan, gain or bound (those shift the spread by 10% or more).
        n = their_param.numel()
        mean_tol = 5 * t_std * math.sqrt(2.0 / n) + 1e-7
        std_tol = 5 * t_std / math.sqrt(n) + 1e-7
        end_tol = 40 * t_std / n + 1e-7
        assert abs(o_mean - t_mean) < mean_tol, f"{name}.{key}: mean {o_mean} vs {t_mean}"
        assert abs(o_std - t_std) < std_tol, f"{name}.{key}: std {o_std} vs {t_std}"
        if t_std > 0 and name != "Embedding":  # uniform: both samples reach the same ends
            assert abs(o_min - t_min) < end_tol, f"{name}.{key}: low end {o_min} vs {t_min}"
            assert abs(o_max - t_max) < end_tol, f"{name}.{key}: high end {o_max} vs {t_max}"


def test_linear_default_bounds_are_one_over_sqrt_fan_in():
    layer = lf_nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for param in (layer.weight, layer.bias):
        values = param.detach().numpy()
        assert values.min() >= -bound and values.max() <= bound
        assert values.max() > 0.9 * bound and values.min() < -0.9 * bound


def test_embedding_padding_row_starts_at_zero():
    layer = lf_nn.Embedding(50, 8, padding_idx=3)
    assert np.all(layer.weight.detach().numpy()[3] == 0)
    assert layer.weight.detach().numpy()[4].std() > 0


@pytest.mark.parametrize("nonlinearity,param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                                ("tanh", None), ("relu", None),
                                                ("leaky_relu", None), ("leaky_relu", 0.2),
                                                ("selu", None)])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param))


@pytest.mark.parametrize("shape", [(5, 3), (8, 4, 3), (6, 2, 3, 5)])
def test_fan_in_and_fan_out_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(lf.empty(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def test_fan_of_a_vector_is_an_error_naming_the_shape():
    with pytest.raises(ValueError, match=r"fewer than 2 dimensions.*\[7\]"):
        init._calculate_fan_in_and_fan_out(lf.empty(7))


INITIALISERS = {
    "uniform_": lambda i, t: i.uniform_(t, -0.3, 0.7),
    "normal_": lambda i, t: i.normal_(t, 0.5, 2.0),
    "xavier_uniform_": lambda i, t: i.xavier_uniform_(t, gain=1.5),
    "xavier_normal_": lambda i, t: i.xavier_normal_(t),
    "kaiming_uniform_": lambda i, t: i.kaiming_uniform_(t, a=0.1),
    "kaiming_uniform_fan_out_relu": lambda i, t: i.kaiming_uniform_(t, mode="fan_out",
                                                                     nonlinearity="relu"),
    "kaiming_normal_": lambda i, t: i.kaiming_normal_(t, nonlinearity="relu"),
    "trunc_normal_": lambda i, t: i.trunc_normal_(t, std=1.0, a=-1.0, b=1.5),
}


@pytest.mark.parametrize("name", list(INITIALISERS))
def test_initialisers_match_torch_in_distribution(name):
    shape = (300, 200, 3)
    theirs = INITIALISERS[name](torch.nn.init, torch.empty(*shape)).numpy()
    param = lf_nn.Parameter(lf.empty(*shape))
    result = INITIALISERS[name](init, param)
    assert result is param and param.requires_grad  # in place, on a Parameter that needs grad
    t_min, t_max, t_mean, t_std = _stats(theirs)
    o_min, o_max, o_mean, o_std = _stats(param.detach().numpy())
    assert abs(o_mean - t_mean) < 0.02 * t_std
    assert abs(o_std - t_std) < 0.02 * t_std
    if "uniform" in name or "trunc" in name:
        assert abs(o_min - t_min) < 0.02 * t_std, f"low end {o_min} vs {t_min}"
        assert abs(o_max - t_max) < 0.02 * t_std, f"high end {o_max} vs {t_max}"


def test_constant_zeros_ones_and_eye():
    t = lf_nn.Parameter(lf.empty(3, 4))
    assert np.all(init.constant_(t, 2.5).detach().numpy() == 2.5)
    assert np.all(init.zeros_(t).detach().numpy() == 0)
    assert np.all(init.ones_(t).detach().numpy() == 1)
    np.testing.assert_array_equal(init.eye_(t).detach().numpy(), np.eye(3, 4))


def test_initialisers_follow_the_seed():
    lf.manual_seed(7)
    first = lf_nn.Linear(20, 10).weight.detach().numpy().copy()
    lf.manual_seed(7)
    second = lf_nn.Linear(20, 10).weight.detach().numpy()
    np.testing.assert_array_equal(first, second)
