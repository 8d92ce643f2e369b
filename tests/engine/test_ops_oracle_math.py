"""The rest of PyTorch's elementwise math against PyTorch: values, dtypes (integer inputs, float32),
every input's gradient, broadcasting, special values and empty tensors; plus a float64 gradcheck."""
import math

import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import DEVICES, check

pytestmark = [pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")]


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


INSIDE_ONE = {"low": -0.95, "high": 0.95}
POSITIVE = {"low": 0.1, "high": 3.0}
SPECIALS = [[math.inf, -math.inf, math.nan, 0.0, -0.0, 0.5, -2.5, 1.0, -1.0]]

UNARY = [
    case("tan", lambda m, x: m.tan(x), [(3, 4)], low=-1.2, high=1.2),
    case("asin", lambda m, x: m.asin(x), [(3, 4)], **INSIDE_ONE),
    case("acos", lambda m, x: x.acos(), [(3, 4)], **INSIDE_ONE),
    case("atan", lambda m, x: m.atan(x), [(3, 4)]),
    case("sinh", lambda m, x: m.sinh(x), [(3, 4)]),
    case("cosh", lambda m, x: x.cosh(), [(3, 4)]),
    case("asinh", lambda m, x: m.asinh(x), [(3, 4)]),
    case("acosh", lambda m, x: m.acosh(x), [(3, 4)], low=1.1, high=4.0),
    case("atanh", lambda m, x: x.atanh(), [(3, 4)], **INSIDE_ONE),
    case("arc_aliases", lambda m, x: (m.arcsin(x), m.arccos(x), m.arctan(x), x.arcsinh(), m.arctanh(x)),
         [(4,)], **INSIDE_ONE),
    case("log2", lambda m, x: m.log2(x), [(3, 4)], **POSITIVE),
    case("log10", lambda m, x: x.log10(), [(3, 4)], **POSITIVE),
    case("log1p", lambda m, x: m.log1p(x), [(3, 4)], low=-0.9, high=3.0),
    case("expm1", lambda m, x: m.expm1(x), [(3, 4)]),
    case("exp2", lambda m, x: x.exp2(), [(3, 4)]),
    case("erf", lambda m, x: m.erf(x), [(3, 4)], low=-3, high=3),
    case("erfc", lambda m, x: m.erfc(x), [(3, 4)], low=-3, high=6),
    case("erfinv", lambda m, x: x.erfinv(), [(3, 4)], low=-0.999, high=0.999),
    case("sinc", lambda m, x: m.sinc(x), [(3, 4)]),
    case("sinc_at_zero", lambda m, x: m.sinc(x), vals=[[0.0, 1.0, -0.5]]),
    case("rad2deg_deg2rad", lambda m, x: (m.rad2deg(x), x.deg2rad()), [(5,)]),
    case("logit", lambda m, x: m.logit(x), [(3, 4)], low=0.05, high=0.95),
    case("logit_eps", lambda m, x: x.logit(eps=0.2), vals=[[0.1, 0.5, 0.9, 0.3]]),
    case("nan_to_num", lambda m, x: m.nan_to_num(x) * x.nan_to_num(nan=1.0, posinf=9.0, neginf=-9.0),
         vals=SPECIALS),
    case("unary_of_int", lambda m, x: (m.tan(x), m.log2(x), m.erf(x), m.expm1(x), m.sinc(x)),
         vals=[np.array([1, 2, 3])]),
    case("unary_empty", lambda m, x: (m.tan(x), m.erfinv(x), m.log1p(x)), [(0, 3)]),
    case("positive", lambda m, x: m.positive(x) * 2, [(3,)]),
    case("lgamma", lambda m, x: (m.lgamma(x), x.lgamma()), [(3, 4)], low=-4.5, high=8.0),
    case("lgamma_large", lambda m, x: m.lgamma(x), [(5,)], low=20.0, high=400.0),
    case("digamma", lambda m, x: (m.digamma(x), x.digamma()), [(3, 4)], low=-4.5, high=8.0),
    case("polygamma", lambda m, x: (m.polygamma(1, x), m.polygamma(2, x), x.polygamma(3)), [(3, 4)], low=0.2,
         high=12.0, rtol=2e-9),
    case("mvlgamma", lambda m, x: (m.mvlgamma(x, 1), x.mvlgamma(3)), [(3, 4)], low=1.5, high=6.0),
    case("i0", lambda m, x: (m.i0(x), x.i0()), [(3, 4)], low=-6.0, high=6.0),
    case("i0_large", lambda m, x: m.i0(x), [(4,)], low=16.0, high=40.0, rtol=1e-6),
    case("gamma_family_of_ints", lambda m, x: (m.lgamma(x), m.digamma(x), m.i0(x)), vals=[np.array([1, 2, 5])]),
]

SPECIAL_VALUES = [
    case(f"{name}_inf_nan", fn, vals=SPECIALS, grad=False)
    for name, fn in [("tan", lambda m, x: m.tan(x)), ("asin", lambda m, x: m.asin(x)),
                     ("atan", lambda m, x: m.atan(x)), ("sinh", lambda m, x: m.sinh(x)),
                     ("acosh", lambda m, x: m.acosh(x)), ("atanh", lambda m, x: m.atanh(x)),
                     ("log2", lambda m, x: m.log2(x)), ("log1p", lambda m, x: m.log1p(x)),
                     ("expm1", lambda m, x: m.expm1(x)), ("erf", lambda m, x: m.erf(x)),
                     ("erfc", lambda m, x: m.erfc(x)), ("erfinv", lambda m, x: m.erfinv(x)),
                     ("sinc", lambda m, x: m.sinc(x)), ("signbit", lambda m, x: m.signbit(x)),
                     ("lgamma", lambda m, x: m.lgamma(x)), ("digamma", lambda m, x: m.digamma(x)),
                     ("logaddexp", lambda m, x: m.logaddexp(x, x * 0 + 0.5)),
                     ("hypot", lambda m, x: m.hypot(x, x * 0 + 2))]
]

BINARY = [
    case("atan2", lambda m, y, x: m.atan2(y, x), [(3, 4), (4,)]),
    case("arctan2_method", lambda m, y, x: y.arctan2(x), [(3, 1), (1, 4)]),
    case("hypot", lambda m, a, b: m.hypot(a, b), [(3, 4), (3, 4)]),
    case("logaddexp", lambda m, a, b: m.logaddexp(a, b), [(3, 4), (4,)]),
    case("logaddexp_large", lambda m, a, b: a.logaddexp(b), vals=[[800.0, -900.0], [799.0, -900.0]]),
    case("logaddexp2", lambda m, a, b: m.logaddexp2(a, b), [(3, 4), (3, 1)]),
    case("xlogy", lambda m, a, b: m.xlogy(a, b), [(3, 4), (3, 4)], low=0.1, high=2.0),
    case("xlogy_zero_x", lambda m, a, b: m.xlogy(a, b), vals=[[0.0, 0.0, 2.0], [0.0, 3.0, 0.5]]),
    case("xlogy_scalar_x", lambda m, b: m.xlogy(2.0, b), [(3,)], **POSITIVE),
    case("copysign", lambda m, a, b: m.copysign(a, b), [(3, 4), (4,)]),
    case("copysign_zero", lambda m, a, b: a.copysign(b), vals=[[0.0, -0.0, 2.0], [-1.0, 1.0, -0.0]]),
    case("fmod", lambda m, a, b: m.fmod(a, b), [(3, 4), (4,)], low=0.5, high=3.0),
    case("fmod_negative", lambda m, a: (m.fmod(a, 1.5), a.fmod(-1.5)), [(6,)], low=-4, high=4),
    case("fmod_int", lambda m, a, b: m.fmod(a, b), vals=[np.array([-7, 7, 5]), np.array([2, -3, 5])]),
    case("float_power", lambda m, a, b: m.float_power(a, b), [(3,), (3,)], dtype="float32", low=0.5),
    case("float_power_int", lambda m, a: m.float_power(a, 2), vals=[np.array([1, 2, 3])]),
    case("lerp_scalar_weight", lambda m, a, b: m.lerp(a, b, 0.3), [(3, 4), (4,)]),
    case("lerp_tensor_weight", lambda m, a, b, w: a.lerp(b, w), [(3, 4), (3, 4), (4,)]),
    case("addcmul", lambda m, a, b, c: m.addcmul(a, b, c, value=0.5), [(3, 4), (4,), (3, 1)]),
    case("addcdiv", lambda m, a, b, c: a.addcdiv(b, c, value=-2), [(3, 4), (3, 4), (4,)], low=0.5),
    case("binary_of_ints", lambda m, a, b: (m.atan2(a, b), m.xlogy(a, b), m.copysign(a, b)),
         vals=[np.array([1, 2, 3]), np.array([3, 0, -1])]),
    case("binary_float32_int", lambda m, a, b: (m.atan2(a, b), m.hypot(a, b), m.fmod(a, b), m.copysign(a, b)),
         vals=[np.array([1.5, -2.0], np.float32), np.array([2, -3], np.int32)]),
    case("binary_empty", lambda m, a, b: (m.atan2(a, b), m.hypot(a, b)), [(0, 3), (3,)]),
    case("signbit", lambda m, x: (m.signbit(x), x.signbit()), vals=[[-0.0, 0.0, -1.0, 2.0]]),
    case("heaviside", lambda m, x, v: m.heaviside(x, v), vals=[[-1.5, 0.0, 2.0], [0.5, 0.5, 0.5]], grad=False),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", UNARY + SPECIAL_VALUES + BINARY)
def test_math_op_matches_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", UNARY[:20] + BINARY[:10])
def test_math_op_matches_torch_in_float32(fn, shapes, options, device):
    check(fn, shapes, device=device, dtype="float32", **options)


@pytest.mark.parametrize("call", [
    pytest.param(lambda m: m.hypot(m.tensor([1]), m.tensor([2])), id="hypot_of_ints"),
    pytest.param(lambda m: m.logaddexp(m.tensor([1]), m.tensor([2])), id="logaddexp_of_ints"),
    pytest.param(lambda m: m.fmod(m.tensor([1]), m.tensor([0])), id="int_fmod_by_zero"),
])
def test_invalid_arguments_raise_torchs_exception_type(call):
    from engine_oracle import torch

    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(Exception) as ours:
        call(lf)
    assert type(ours.value) is type(theirs.value), f"{ours.value!r} where torch raises {theirs.value!r}"


def test_graph_nodes_are_named_after_the_function():
    x = lf.tensor([0.5], requires_grad=True)
    assert type(lf.tan(x).grad_fn).__name__ == "Tan"
    assert type(lf.atan2(x, x).grad_fn).__name__ == "Atan2"


def test_gradcheck_of_every_math_op():
    rng = np.random.default_rng(2)

    def inputs(*shapes, low=-0.9, high=0.9):
        return [lf.tensor(rng.uniform(low, high, s), dtype=lf.float64, requires_grad=True) for s in shapes]

    (x,) = inputs((3, 4))
    assert lf.gradcheck(lambda t: (t.tan(), t.asin(), t.acos(), t.atan(), t.sinh(), t.cosh(), t.asinh(),
                                   t.atanh(), t.log1p(), t.expm1(), t.exp2(), t.erf(), t.erfc(),
                                   t.erfinv(), t.sinc(), lf.rad2deg(t), lf.nan_to_num(t)), [x])
    (g,) = inputs((3, 4), low=0.3, high=6.0)
    assert lf.gradcheck(lambda t: (t.lgamma(), t.digamma(), lf.polygamma(2, t), t.i0(), t.mvlgamma(2) * 0 + t), [g])
    (p,) = inputs((3, 4), low=1.2, high=3.0)
    assert lf.gradcheck(lambda t: (t.acosh(), t.log2(), t.log10(), ((t - 1.1) / 2).logit()), [p])
    a, b = inputs((3, 4), (4,), low=0.3, high=2.0)
    assert lf.gradcheck(lambda s, t: (lf.atan2(s, t), lf.hypot(s, t), lf.logaddexp(s, t),
                                      lf.logaddexp2(s, t), lf.xlogy(s, t), lf.copysign(s, -t),
                                      lf.fmod(s, t), lf.float_power(s, t), lf.lerp(s, t, 0.25),
                                      lf.addcdiv(s, s, t, value=0.5)), [a, b])
