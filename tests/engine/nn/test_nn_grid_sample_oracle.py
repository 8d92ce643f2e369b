"""affine_grid and grid_sample (the spatial transformer's sampling) against PyTorch: values and the
gradients to the input, the grid and theta, for bilinear, bicubic and nearest sampling (2-d and 3-d), each padding mode and
both align_corners; PyTorch's exception types; float64 gradchecks."""
import sys
from pathlib import Path

import numpy as np
import pytest

import layerforge.engine as lf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_oracle import DEVICES, check, torch  # noqa: E402


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


def F(m):
    return m.nn.functional


CASES = [case(f"grid_sample_{mode}_{padding}_{corners}",
              lambda m, x, g, mode=mode, padding=padding, corners=corners: F(m).grid_sample(
                  x, g * 1.4, mode=mode, padding_mode=padding, align_corners=corners), [(2, 3, 5, 6), (2, 4, 7, 2)],
              grad=mode != "nearest")
         for mode in ("bilinear", "nearest", "bicubic") for padding in ("zeros", "border", "reflection")
         for corners in (False, True)]
CASES += [case(f"grid_sample_3d_{mode}_{padding}", lambda m, x, g, mode=mode, padding=padding: F(m).grid_sample(
    x, g * 1.3, mode=mode, padding_mode=padding, align_corners=False), [(1, 2, 3, 4, 5), (1, 2, 3, 4, 3)],
    grad=mode == "bilinear") for mode in ("bilinear", "nearest") for padding in ("zeros", "reflection")]
CASES += [
    case("affine_grid_3d", lambda m, t: (F(m).affine_grid(t, (2, 1, 3, 4, 5), align_corners=False),
                                         F(m).affine_grid(t, (2, 3, 2, 2, 3), align_corners=True)), [(2, 3, 4)]),
    case("affine_grid", lambda m, t: (F(m).affine_grid(t, (2, 3, 4, 7), align_corners=False),
                                      F(m).affine_grid(t, [2, 1, 5, 1], align_corners=True)), [(2, 2, 3)]),
    case("spatial_transformer", lambda m, x, t: F(m).grid_sample(x, F(m).affine_grid(t * 0.5, x.shape,
                                                                                      align_corners=False),
                                                                 align_corners=False), [(2, 3, 6, 6), (2, 2, 3)]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", CASES)
def test_grid_sampling_matches_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


@pytest.mark.parametrize("call", [
    pytest.param(lambda m: m.nn.functional.grid_sample(m.ones(1, 1, 3, 3), m.zeros(1, 2, 2, 2), mode="area"),
                 id="mode"),
    pytest.param(lambda m: m.nn.functional.grid_sample(m.ones(1, 1, 3, 3), m.zeros(1, 2, 2, 2),
                                                       padding_mode="wrap"), id="padding_mode"),
    pytest.param(lambda m: m.nn.functional.grid_sample(m.ones(2, 1, 3, 3), m.zeros(1, 2, 2, 2)), id="batch"),
    pytest.param(lambda m: m.nn.functional.grid_sample(m.ones(1, 1, 2, 3, 3), m.zeros(1, 2, 2, 2, 3), mode="bicubic"),
                 id="bicubic_3d"),
    pytest.param(lambda m: m.nn.functional.affine_grid(m.zeros(1, 3, 3), (1, 1, 2, 2)), id="theta_shape"),
])
def test_invalid_arguments_raise_torchs_exception_type(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(Exception) as ours:
        call(lf)
    assert type(ours.value) is type(theirs.value), f"{ours.value!r} where torch raises {theirs.value!r}"


def test_gradcheck_of_grid_sampling():
    rng = np.random.default_rng(6)
    x = lf.tensor(rng.normal(size=(1, 2, 4, 5)), dtype=lf.float64, requires_grad=True)
    theta = lf.tensor([[[0.8, 0.1, 0.05], [-0.2, 0.9, 0.1]]], dtype=lf.float64, requires_grad=True)
    F = lf.nn.functional

    def sample(x, theta):
        grid = F.affine_grid(theta, (1, 2, 3, 3), align_corners=False)
        return (F.grid_sample(x, grid, align_corners=False), F.grid_sample(x, grid * 1.3, padding_mode="border"),
                F.grid_sample(x, grid * 1.7, padding_mode="reflection", align_corners=True))

    assert lf.gradcheck(sample, [x, theta])


def test_default_align_corners_warns_as_torch():
    for m in (lf, torch):
        with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
            grid = m.nn.functional.affine_grid(m.eye(2, 3).unsqueeze(0), (1, 1, 2, 2))
        with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
            m.nn.functional.grid_sample(m.ones(1, 1, 2, 2), grid)
