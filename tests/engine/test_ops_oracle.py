"""Elementwise ops, matmul and dtype promotion against PyTorch: forward values and every gradient."""
import math

import numpy as np
import pytest

from engine_oracle import DEVICES, check


# inf/NaN inputs make numpy warn where PyTorch is silent; the values themselves are compared below.
pytestmark = [pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:The use of `x.T`:UserWarning")]


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


INF, NAN = math.inf, math.nan
SPECIALS = [[INF, -INF, NAN, 0.0, -0.0, 1.5, -2.5]]  # inf/NaN inputs flow through as PyTorch's do

ELEMENTWISE = [
    case("add", lambda m, x, y: x + y, [(3, 4), (3, 4)]),
    case("add_broadcast_row", lambda m, x, y: m.add(x, y), [(3, 4), (4,)]),
    case("add_broadcast_both", lambda m, x, y: x + y, [(3, 1, 5), (4, 1)]),
    case("add_alpha", lambda m, x, y: m.add(x, y, alpha=2.5), [(2, 3), (2, 3)]),
    case("add_scalar", lambda m, x: x + 1.5, [(2, 3)]),
    case("radd_scalar", lambda m, x: 2 + x, [(2, 3)]),
    case("add_0d", lambda m, x, y: x + y, [(), (2, 3)]),
    case("add_0d_0d", lambda m, x, y: x + y, [(), ()]),
    case("sub", lambda m, x, y: x - y, [(3, 4), (1, 4)]),
    case("sub_scalar", lambda m, x: x - 0.5, [(5,)]),
    case("rsub_scalar", lambda m, x: 3 - x, [(5,)]),
    case("mul", lambda m, x, y: x * y, [(2, 3, 4), (3, 1)]),
    case("mul_scalar", lambda m, x: x * -3.0, [(2, 2)]),
    case("mul_same_tensor", lambda m, x: x * x, [(4,)]),
    case("div", lambda m, x, y: x / y, [(3, 4), (4,)], low=0.5, high=2.0),
    case("div_scalar", lambda m, x: x / 4.0, [(3,)]),
    case("rdiv_scalar", lambda m, x: 2.0 / x, [(3,)], low=0.5, high=2.0),
    case("div_by_zero", lambda m, x: x / 0.0, vals=[[1.0, -1.0, 0.0]], grad=False),
    case("neg", lambda m, x: -x, [(2, 3)]),
    case("neg_fn", lambda m, x: m.neg(x), [(2, 3)]),
    case("pow_tensor", lambda m, x, y: x ** y, [(3, 4), (3, 4)], low=0.5, high=2.0),
    case("pow_broadcast", lambda m, x, y: m.pow(x, y), [(3, 4), (4,)], low=0.5, high=2.0),
    case("pow_scalar_2", lambda m, x: x ** 2, [(3, 4)]),
    case("pow_scalar_3", lambda m, x: x ** 3, [(3, 4)]),
    case("pow_scalar_half", lambda m, x: x ** 0.5, [(3, 4)], low=0.5, high=2.0),
    case("pow_scalar_negative", lambda m, x: x ** -1.5, [(3, 4)], low=0.5, high=2.0),
    case("pow_scalar_zero", lambda m, x: x ** 0, [(3,)]),
    case("pow_scalar_one", lambda m, x: x ** 1, [(3,)]),
    case("pow_scalar_base", lambda m, x: 2.0 ** x, [(3, 4)]),
    case("pow_scalar_base_int", lambda m, x: 3 ** x, [(3,)]),
    case("pow_zero_base", lambda m, x, y: x ** y, vals=[[0.0, 0.0, 2.0], [2.0, 0.0, 3.0]]),
    case("exp", lambda m, x: m.exp(x), [(3, 4)]),
    case("exp_method", lambda m, x: x.exp(), [(2,)]),
    case("log", lambda m, x: m.log(x), [(3, 4)], low=0.1, high=3.0),
    case("sqrt", lambda m, x: m.sqrt(x), [(3, 4)], low=0.1, high=3.0),
    case("abs", lambda m, x: m.abs(x), [(3, 4)]),
    case("abs_at_zero", lambda m, x: x.abs(), vals=[[0.0, -1.0, 2.0]]),
    case("sin", lambda m, x: m.sin(x), [(3, 4)]),
    case("cos", lambda m, x: m.cos(x), [(3, 4)]),
    case("tanh", lambda m, x: m.tanh(x), [(3, 4)]),
    case("sigmoid", lambda m, x: m.sigmoid(x), [(3, 4)], low=-8, high=8),
    case("sigmoid_tails", lambda m, x: x.sigmoid(), vals=[[-800.0, -30.0, 0.0, 30.0, 800.0]]),
    case("relu", lambda m, x: m.relu(x), [(3, 4)]),
    case("relu_at_zero", lambda m, x: x.relu(), vals=[[0.0, -1.0, 1.0]]),
    case("clamp_both", lambda m, x: m.clamp(x, -0.5, 0.5), [(3, 4)]),
    case("clamp_min", lambda m, x: x.clamp(min=0.1), [(3, 4)]),
    case("clamp_max", lambda m, x: x.clamp(max=0.1), [(3, 4)]),
    case("clamp_at_bounds", lambda m, x: x.clamp(-1.0, 1.0), vals=[[-1.0, 1.0, 0.0, 2.0]]),
    case("clamp_tensor_bounds", lambda m, x, lo, hi: m.clamp(x, lo, hi), [(3, 4), (4,), (3, 1)]),
    case("maximum", lambda m, x, y: m.maximum(x, y), [(3, 4), (4,)]),
    case("minimum", lambda m, x, y: m.minimum(x, y), [(3, 4), (3, 1)]),
    case("maximum_ties", lambda m, x, y: m.maximum(x, y), vals=[[1.0, 2.0, 3.0], [1.0, 0.0, 3.0]]),
    case("minimum_ties", lambda m, x, y: m.minimum(x, y), vals=[[1.0, 2.0, 3.0], [1.0, 0.0, 3.0]]),
    case("where", lambda m, x, y: m.where(x > 0, x, y), [(3, 4), (3, 4)]),
    case("where_broadcast", lambda m, x, y: m.where(y > 0, x, y), [(3, 4), (4,)]),
    case("where_scalar_other", lambda m, x: m.where(x > 0, x, 0.0), [(3, 4)]),
    case("remainder", lambda m, x: x % 1.5, [(5,)]),
    case("remainder_negative_divisor", lambda m, x: m.remainder(x, -1.5), [(5,)]),
    case("float_floor_div", lambda m, x: x // 0.7, [(5,)], grad=False),
    case("chain", lambda m, x, y: ((x * y).tanh() + x.exp() / (1 + y * y)).sigmoid(), [(4, 5), (5,)]),
]

SPECIAL_VALUES = [
    case(name, fn, vals=SPECIALS, grad=False)
    for name, fn in [("add_inf_nan", lambda m, x: x + 1), ("exp_inf_nan", lambda m, x: m.exp(x)),
                     ("relu_inf_nan", lambda m, x: m.relu(x)), ("tanh_inf_nan", lambda m, x: m.tanh(x)),
                     ("sigmoid_inf_nan", lambda m, x: m.sigmoid(x)), ("abs_inf_nan", lambda m, x: x.abs()),
                     ("clamp_inf_nan", lambda m, x: x.clamp(-1, 1)), ("log_inf_nan", lambda m, x: m.log(x)),
                     ("sqrt_inf_nan", lambda m, x: m.sqrt(x)), ("max_inf_nan", lambda m, x: m.maximum(x, x * 0)),
                     ("sin_inf_nan", lambda m, x: m.sin(x))]
] + [
    case("grad_through_inf", lambda m, x: (x * 2).relu(), vals=[[INF, -INF, 1.0]]),
    case("grad_through_nan", lambda m, x: x.tanh() * 3, vals=[[NAN, 1.0]]),
]

MATMUL = [
    case("matmul_2d", lambda m, x, y: x @ y, [(3, 4), (4, 5)]),
    case("matmul_1d_1d", lambda m, x, y: x @ y, [(4,), (4,)]),
    case("matmul_1d_2d", lambda m, x, y: x @ y, [(4,), (4, 5)]),
    case("matmul_2d_1d", lambda m, x, y: m.matmul(x, y), [(3, 4), (4,)]),
    case("matmul_batched", lambda m, x, y: x @ y, [(2, 3, 4), (2, 4, 5)]),
    case("matmul_broadcast_batch", lambda m, x, y: x @ y, [(2, 1, 3, 4), (5, 4, 2)]),
    case("matmul_batched_2d", lambda m, x, y: x @ y, [(2, 3, 4), (4, 5)]),
    case("matmul_2d_batched", lambda m, x, y: x @ y, [(3, 4), (2, 4, 5)]),
    case("matmul_1d_batched", lambda m, x, y: x @ y, [(4,), (2, 4, 5)]),
    case("matmul_batched_1d", lambda m, x, y: x @ y, [(2, 3, 4), (4,)]),
    case("mm", lambda m, x, y: m.mm(x, y), [(3, 4), (4, 2)]),
    case("bmm", lambda m, x, y: m.bmm(x, y), [(2, 3, 4), (2, 4, 2)]),
    case("dot", lambda m, x, y: m.dot(x, y), [(5,), (5,)]),
    case("outer", lambda m, x, y: m.outer(x, y), [(3,), (4,)]),
    case("linear_layer", lambda m, x, w, b: x @ w.T + b, [(8, 4), (3, 4), (3,)]),
]

PROMOTION = [
    case("int_plus_float_scalar", lambda m, x: x + 1.5, vals=[np.array([1, 2, 3])]),
    case("int_times_int_scalar", lambda m, x: x * 2, vals=[np.array([1, 2, 3])]),
    case("int_div_int", lambda m, x, y: x / y, vals=[np.array([1, 2, 3]), np.array([2, 4, 5])]),
    case("int_div_scalar", lambda m, x: x / 2, vals=[np.array([1, 2, 3])]),
    case("float32_plus_float64", lambda m, x, y: x + y, vals=[np.ones(3, np.float32), np.ones(3)]),
    case("float32_times_0d_float64", lambda m, x, y: x * y,
         vals=[np.ones(3, np.float32), np.array(2.0)]),
    case("int_plus_0d_float64", lambda m, x, y: x + y, vals=[np.array([1, 2]), np.array(0.5)]),
    case("int_plus_float32", lambda m, x, y: x + y, vals=[np.array([1, 2]), np.ones(2, np.float32)]),
    case("bool_plus_int", lambda m, x, y: x + y, vals=[np.array([True, False]), np.array([3, 4])]),
    case("bool_times_float_scalar", lambda m, x: x * 1.5, vals=[np.array([True, False])]),
    case("float32_scalar_stays_float32", lambda m, x: x * 3.0 + 1, [(2, 2)], dtype="float32"),
    case("exp_of_int", lambda m, x: m.exp(x), vals=[np.array([0, 1, 2])]),
    case("clamp_int_by_float", lambda m, x: x.clamp(0.5), vals=[np.array([-3, 1, 3])]),
    case("clamp_int_by_int", lambda m, x: x.clamp(0, 2), vals=[np.array([-3, 1, 3])]),
    case("int_pow_int", lambda m, x, y: x ** y, vals=[np.array([1, 2, 3]), np.array([2, 0, 3])]),
    case("int_floor_div", lambda m, x: x // 2, vals=[np.array([-3, 3, 4])]),
    case("int_trunc_div", lambda m, x, y: m.div(x, y, rounding_mode="trunc"),
         vals=[np.array([-7, 7]), np.array([2, 2])]),
    case("rsub_int_tensor", lambda m, x: 1.5 - x, vals=[np.array([1, 2])]),
    case("bool_plus_bool", lambda m, x: x + x, vals=[np.array([True, False])]),
    case("sum_of_int", lambda m, x: x.sum(), vals=[np.array([[1, 2], [3, 4]], dtype=np.int32)]),
    case("sum_of_bool", lambda m, x: x.sum(), vals=[np.array([True, True, False])]),
    case("comparison_int_float", lambda m, x: x > 1.5, vals=[np.array([1, 2, 3])]),
]

COMPARISONS = [
    case(name, fn, [(3, 4), (4,)], grad=False)
    for name, fn in [("eq", lambda m, x, y: x == y), ("ne", lambda m, x, y: x != y),
                     ("lt", lambda m, x, y: x < y), ("le", lambda m, x, y: x <= y),
                     ("gt", lambda m, x, y: x > y), ("ge", lambda m, x, y: x >= y),
                     ("gt_scalar", lambda m, x, y: x > 0.5), ("eq_fn", lambda m, x, y: m.eq(x, x)),
                     ("logical_and", lambda m, x, y: (x > 0) & (y > 0)),
                     ("logical_or", lambda m, x, y: (x > 0) | (y > 0)),
                     ("logical_not", lambda m, x, y: ~(x > 0)), ("isnan", lambda m, x, y: m.isnan(x / x))]
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options",
                         ELEMENTWISE + SPECIAL_VALUES + MATMUL + PROMOTION + COMPARISONS)
def test_op_matches_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", ELEMENTWISE[:20] + MATMUL[:6])
def test_op_matches_torch_in_float32(fn, shapes, options, device):
    check(fn, shapes, device=device, dtype="float32", **options)


def test_comparisons_build_no_graph():
    _, (ours,) = check(lambda m, x: x > 0, [(3,)])
    assert not ours.requires_grad and ours.grad_fn is None
