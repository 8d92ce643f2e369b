"""Where the engine once gave a different answer than PyTorch: bitwise ops, PyTorch's placement of
advanced-index dimensions, result dtypes of mixed inputs, zero gradients of stepwise functions, gather
with a smaller index, 0 ** x, and the exception types of invalid arguments."""
import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import DEVICES, check, torch

pytestmark = [pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:indexing with dtype torch.uint8:UserWarning")]


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


INTS = np.array([6, 3, -8, 0, 127], dtype=np.int32)
OTHER_INTS = np.array([5, 1, 3, -2, 2], dtype=np.int32)
BOOLS = np.array([True, False, True, False, True])
OTHER_BOOLS = np.array([True, True, False, False, True])
SHIFTS = np.array([0, 1, 31, 32, -1], dtype=np.int32)

BITWISE = [
    case("xor_int_scalar", lambda m, x: x ^ 5, vals=[INTS]),
    case("and_int_scalar", lambda m, x: x & 6, vals=[INTS]),
    case("or_int_scalar", lambda m, x: x | 8, vals=[INTS]),
    case("rxor_scalar", lambda m, x: 5 ^ x, vals=[INTS]),
    case("rand_scalar", lambda m, x: 12 & x, vals=[INTS]),
    case("ror_scalar", lambda m, x: 1 | x, vals=[INTS]),
    case("and_tensors", lambda m, x, y: x & y, vals=[INTS, OTHER_INTS]),
    case("or_tensors_promote", lambda m, x, y: x | y, vals=[INTS, OTHER_INTS.astype(np.int64)]),
    case("xor_broadcast", lambda m, x, y: x ^ y, vals=[INTS.reshape(5, 1), OTHER_INTS]),
    case("invert_int", lambda m, x: ~x, vals=[INTS]),
    case("invert_uint8", lambda m, x: ~x, vals=[np.array([0, 1, 255], dtype=np.uint8)]),
    case("invert_bool", lambda m, x: ~x, vals=[BOOLS]),
    case("and_bool", lambda m, x, y: x & y, vals=[BOOLS, OTHER_BOOLS]),
    case("or_bool", lambda m, x, y: x | y, vals=[BOOLS, OTHER_BOOLS]),
    case("xor_bool", lambda m, x, y: x ^ y, vals=[BOOLS, OTHER_BOOLS]),
    case("bool_and_true", lambda m, x: x & True, vals=[BOOLS]),
    case("bool_and_int_scalar", lambda m, x: x & 1, vals=[BOOLS]),
    case("bool_xor_int_tensor", lambda m, x, y: x ^ y, vals=[BOOLS, OTHER_INTS]),
    case("lshift_scalar", lambda m, x: x << 2, vals=[INTS]),
    case("rshift_scalar", lambda m, x: x >> 1, vals=[INTS]),
    case("rlshift_scalar", lambda m, x: 2 << x, vals=[np.array([0, 1, 4])]),
    case("rrshift_scalar", lambda m, x: 1024 >> x, vals=[np.array([0, 1, 4])]),
    case("lshift_out_of_range", lambda m, x, y: x << y, vals=[INTS, SHIFTS]),
    case("rshift_out_of_range", lambda m, x, y: x >> y, vals=[INTS, SHIFTS]),
    case("bool_lshift_int_promotes", lambda m, x: x << 1, vals=[BOOLS]),
    case("lshift_uint8_overflow", lambda m, x: x << 7, vals=[np.array([5, 200], dtype=np.uint8)]),
    case("bitwise_functions", lambda m, x, y: (m.bitwise_and(x, y), m.bitwise_or(x, 3), m.bitwise_xor(7, y),
                                               m.bitwise_not(x), m.bitwise_left_shift(x, 1),
                                               m.bitwise_right_shift(x, y.abs())), vals=[INTS, OTHER_INTS]),
    case("bitwise_methods", lambda m, x, y: (x.bitwise_and(y), x.bitwise_or(y), x.bitwise_xor(y), x.bitwise_not()),
         vals=[INTS, OTHER_INTS]),
    case("logical_xor", lambda m, x, y: (m.logical_xor(x, y), x.logical_xor(y)), vals=[INTS, OTHER_INTS * 0]),
    case("bitwise_empty", lambda m, x: x ^ 3, vals=[np.zeros((0, 2), dtype=np.int64)]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", BITWISE)
def test_bitwise_op_matches_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


@pytest.mark.parametrize("call", [
    pytest.param(lambda m: m.tensor([1.5]) & 1, id="float_and"),
    pytest.param(lambda m: m.tensor([1.5]) << 1, id="float_lshift"),
    pytest.param(lambda m: m.tensor([True]) << True, id="bool_lshift_bool"),
    pytest.param(lambda m: ~m.tensor([1.5]), id="float_invert"),
    pytest.param(lambda m: m.tensor([3]) | m.tensor(1.0), id="int_or_float_0d"),
    pytest.param(lambda m: m.tensor([2, 3]) ** -1, id="int_to_negative_int_power"),
    pytest.param(lambda m: m.tensor([True]) - m.tensor([1.0]), id="bool_subtraction"),
    pytest.param(lambda m: 1 - m.tensor([True]), id="bool_rsub"),
    pytest.param(lambda m: m.div(m.tensor([1.0]), 2, rounding_mode="round"), id="bad_rounding_mode"),
    pytest.param(lambda m: m.div(m.tensor([5]), 0, rounding_mode="floor"), id="int_floor_div_by_zero"),
    pytest.param(lambda m: m.gather(m.zeros(3, 4), 1, m.zeros(4, 1, dtype=m.long)), id="gather_index_too_big"),
    pytest.param(lambda m: m.gather(m.zeros(3, 4), 1, m.zeros(3, dtype=m.long)), id="gather_index_ndim"),
    pytest.param(lambda m: m.floor_divide(m.ones(2, requires_grad=True), 2).sum().backward(),
                 id="floor_divide_has_no_derivative"),
])
def test_invalid_arguments_raise_torchs_exception_type(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(Exception) as ours:
        call(lf)
    assert type(ours.value) is type(theirs.value), f"{ours.value!r} where torch raises {theirs.value!r}"


# x has shape (3, 4, 5) here: the index tensors are built with the module in use.
IDX = [0, 2]
PLACEMENT = [
    case("int_slice_tensor", lambda m, x: x[1, :, m.tensor(IDX)], [(3, 4, 5)]),
    case("0d_tensor_slice_tensor", lambda m, x: x[m.tensor(1), :, m.tensor(IDX)], [(3, 4, 5)]),
    case("tensor_slice_int", lambda m, x: x[m.tensor(IDX), :, 1], [(3, 4, 5)]),
    case("slice_tensor_int", lambda m, x: x[:, m.tensor(IDX), 1], [(3, 4, 5)]),
    case("int_ellipsis_tensor", lambda m, x: x[1, ..., m.tensor(IDX)], [(3, 4, 5)]),
    case("none_int_slice_tensor", lambda m, x: x[None, 1, :, m.tensor(IDX)], [(3, 4, 5)]),
    case("int_slice_list", lambda m, x: x[1, :, [0, 2]], [(3, 4, 5)]),
    case("true_int_slice_tensor", lambda m, x: x[True, 1, :, m.tensor(IDX)], [(3, 4, 5)]),
    case("int_mask_tensor", lambda m, x: x[1, m.tensor([True, False, True, False]), m.tensor(IDX)], [(3, 4, 5)]),
    case("tensor_mask", lambda m, x: x[m.tensor(IDX), m.tensor([True, False, True, False])], [(3, 4, 5)]),
    case("tensor_int_tensor", lambda m, x: x[m.tensor(IDX), 2, m.tensor([1, 4])], [(3, 4, 5)]),
    case("tensor_int_slice_tensor", lambda m, x: x[m.tensor(IDX), 1, :, m.tensor([1, 0])], [(3, 4, 5, 2)]),
    case("int_tensor_2d_slice", lambda m, x: x[2, m.tensor([[0, 3], [3, 3]]), 1:4], [(3, 4, 5)]),
    case("negative_int_repeated_tensor", lambda m, x: x[-1, :, m.tensor([4, 4, 0])], [(3, 4, 5)]),
    case("uint8_mask", lambda m, x: x[m.tensor([1, 0, 1], dtype=m.uint8)], [(3, 4)]),
    case("empty_index", lambda m, x: x[1, :, m.tensor([], dtype=m.long)], [(3, 4, 5)]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", PLACEMENT)
def test_advanced_index_placement_and_gradient_match_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("index", [
    pytest.param(lambda m: (1, slice(None), m.tensor(IDX)), id="int_slice_tensor"),
    pytest.param(lambda m: (m.tensor(IDX), slice(None), 1), id="tensor_slice_int"),
    pytest.param(lambda m: (None, 1, Ellipsis, m.tensor(IDX)), id="none_int_ellipsis_tensor"),
])
def test_advanced_index_writes_land_where_torch_puts_them(index, device):
    base = np.arange(60.0).reshape(3, 4, 5)
    theirs, ours = torch.tensor(base), lf.tensor(base, device=device)
    shape = tuple(theirs[index(torch)].shape)
    assert tuple(ours[index(lf)].shape) == shape
    value = -np.arange(float(np.prod(shape))).reshape(shape)
    theirs[index(torch)] = torch.tensor(value)
    ours[index(lf)] = lf.tensor(value, device=device)
    np.testing.assert_array_equal(ours.cpu().numpy(), theirs.numpy())
    theirs[index(torch)] = torch.tensor(value[..., :1])  # a broadcast value
    ours[index(lf)] = lf.tensor(value[..., :1], device=device)
    np.testing.assert_array_equal(ours.cpu().numpy(), theirs.numpy())


MIXED = [np.array([1.5, -2.5, 7.0], dtype=np.float32), np.array([2, -2, 3], dtype=np.int32)]
DTYPES = [
    case("trunc_div_float32_int32", lambda m, x, y: m.div(x, y, rounding_mode="trunc"), vals=MIXED),
    case("floor_div_float32_int32", lambda m, x, y: m.div(x, y, rounding_mode="floor"), vals=MIXED),
    case("trunc_div_int_int", lambda m, x, y: m.div(y, y * 0 + 2, rounding_mode="trunc"), vals=MIXED),
    case("trunc_div_int_negative", lambda m, x: m.div(x, -2, rounding_mode="trunc"), vals=[np.array([7, -7, 6])]),
    case("floor_div_int_float_scalar", lambda m, x: m.div(x, 2.0, rounding_mode="floor"), vals=[MIXED[1]]),
    case("floor_div_scalar_int", lambda m, x: m.div(5, x, rounding_mode="floor"), vals=[MIXED[1]]),
    case("floor_divide", lambda m, x, y: (m.floor_divide(x, y), x // y, 7 // y), vals=MIXED, grad=False),
    case("rounding_div_grad_is_zero", lambda m, x, y: m.div(x, y, rounding_mode="floor") * x, [(3,), (3,)]),
    case("trunc_div_grad_is_zero", lambda m, x, y: m.div(x, y, rounding_mode="trunc"), [(3, 1), (4,)]),
    case("float32_plus_int32", lambda m, x, y: (x + y, x * y, x - y, x / y), vals=MIXED),
    case("int32_plus_float32_0d", lambda m, x, y: (y + x, y * x), vals=[np.array(2.5, np.float32), MIXED[1]]),
    case("int32_pow_int64_scalar", lambda m, x: (x ** 2, 2 ** x.abs()), vals=[MIXED[1]]),
    case("int_pow_negative_tensor", lambda m, x, y: x ** y,
         vals=[np.array([2, 1, -1, -1, 3]), np.array([-1, -5, -3, -2, 2])]),
    case("remainder_mixed", lambda m, x, y: (x % y, m.remainder(x, y)), vals=MIXED),
    case("maximum_mixed", lambda m, x, y: (m.maximum(x, y), m.minimum(y, x)), vals=MIXED),
    case("where_mixed", lambda m, x, y: m.where(x > 0, x, y), vals=MIXED),
    case("where_two_numbers", lambda m, x: (m.where(x > 0, 1.5, 0.0), m.where(x > 0, 2, -1), m.where(x > 0, True, False)),
         vals=MIXED[:1]),
    case("cat_mixed", lambda m, x, y: m.cat([x, y]), vals=MIXED),
    case("uint8_plus_int8", lambda m, x, y: x + y, vals=[np.array([1, 2], np.uint8), np.array([-1, 3], np.int8)]),
    case("float64_0d_times_float32", lambda m, x, y: x * y, vals=[np.array(2.0), MIXED[0]]),
    case("int64_0d_times_int32", lambda m, x, y: x * y, vals=[np.array(2), MIXED[1]]),
    case("uint8_wraps_with_int_scalars", lambda m, x: (x - 1, 1 - x, x * 2, x + 300),
         vals=[np.array([0, 1, 200], np.uint8)]),
    case("scalar_mod_tensor", lambda m, x, y: (7 % y, 2.5 % x), vals=MIXED, grad=False),
    case("bool_times_int32", lambda m, x, y: x * y, vals=[np.array([True, False, True]), MIXED[1]]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", DTYPES)
def test_result_dtype_of_mixed_inputs_matches_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


STEPWISE = [
    case(name, fn, vals=[np.array([1.5, -2.5, 0.5, -0.0, 3.0, 2.49])])
    for name, fn in [("sign", lambda m, x: m.sign(x)), ("sgn", lambda m, x: m.sgn(x) * x),
                     ("sign_method", lambda m, x: x.sign() * x), ("floor", lambda m, x: m.floor(x)),
                     ("ceil", lambda m, x: x.ceil()), ("trunc", lambda m, x: m.trunc(x)),
                     ("fix", lambda m, x: m.fix(x)), ("round", lambda m, x: m.round(x)),
                     ("round_decimals", lambda m, x: m.round(x * 1.37, decimals=1)),
                     ("frac", lambda m, x: m.frac(x) * x)]
] + [
    case("stepwise_on_ints", lambda m, x: (m.floor(x), m.ceil(x), m.trunc(x), m.round(x), m.sign(x)),
         vals=[np.array([3, -2, 0])]),
    case("sign_of_bool", lambda m, x: m.sign(x), vals=[np.array([True, False])]),
    case("stepwise_empty", lambda m, x: (m.sign(x), m.floor(x)), [(0, 3)]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", STEPWISE)
def test_stepwise_functions_have_zero_gradients_like_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


def test_autograd_grad_through_sign_gives_zeros():
    x = lf.tensor([1.5, -2.0], requires_grad=True)
    out = lf.sign(x)
    assert out.grad_fn is not None
    (grad,) = lf.autograd.grad(out.sum(), [x])
    assert grad.tolist() == [0.0, 0.0]


OTHER = [
    case("gather_smaller_index", lambda m, x: m.gather(x, 1, m.tensor([[0], [3]])), [(3, 4)]),
    case("gather_smaller_index_dim0", lambda m, x: m.gather(x, 0, m.tensor([[2, 0], [1, 1], [0, 2], [2, 2]])),
         [(3, 5)]),
    case("gather_negative_dim_3d", lambda m, x: x.gather(-1, m.tensor([[[1, 1]], [[0, 2]]])), [(2, 3, 4)]),
    case("gather_empty_index", lambda m, x: m.gather(x, 1, m.zeros(3, 0, dtype=m.long)), [(3, 4)]),
    case("zero_pow_x", lambda m, x: 0 ** x, vals=[np.array([-1.0, 0.0, 2.0, -0.5])]),
    case("zero_tensor_pow_x", lambda m, x, y: x ** y, vals=[np.zeros(4), np.array([-1.0, 0.0, 2.0, -0.5])]),
    case("zero_0d_tensor_pow_x", lambda m, x, y: x ** y, vals=[np.array(0.0), np.array([-1.0, 0.0, 2.0])]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", OTHER)
def test_gather_and_pow_edge_cases_match_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


def test_gradcheck_of_the_fixed_ops():
    rng = np.random.default_rng(0)
    x = lf.tensor(rng.uniform(-2, 2, (3, 4, 5)), dtype=lf.float64, requires_grad=True)
    assert lf.gradcheck(lambda t: t[1, :, lf.tensor([0, 2, 2])], [x])
    assert lf.gradcheck(lambda t: t[lf.tensor([0, 2]), :, 1] * t[None, 2, ..., lf.tensor([[1], [3]])].sum(), [x])
    assert lf.gradcheck(lambda t: lf.gather(t, 2, lf.tensor([[[0, 4]], [[1, 1]]])), [x])
    assert lf.gradcheck(lambda t: lf.frac(t) + lf.sign(t) * t, [x])
