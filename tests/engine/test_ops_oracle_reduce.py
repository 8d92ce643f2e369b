"""Reductions and softmax against PyTorch: dim/keepdim variants, negative dims, 0-d, ties, inf/NaN."""
import math

import numpy as np
import pytest

from engine_oracle import DEVICES, check


# inf/NaN inputs make numpy warn where PyTorch is silent; the values themselves are compared below.
pytestmark = [pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:The use of `x.T`:UserWarning")]


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


TIES = [[[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]]]  # ties inside rows and an overall tie of the maximum
ALL_TIED = [[2.0, 2.0, 2.0, 2.0]]

REDUCTIONS = [
    case("sum_all", lambda m, x: x.sum(), [(3, 4)]),
    case("sum_dim", lambda m, x: x.sum(1), [(3, 4)]),
    case("sum_negative_dim", lambda m, x: m.sum(x, dim=-1), [(2, 3, 4)]),
    case("sum_keepdim", lambda m, x: x.sum(dim=0, keepdim=True), [(3, 4)]),
    case("sum_dims", lambda m, x: x.sum(dim=(0, 2)), [(2, 3, 4)]),
    case("sum_dims_keepdim", lambda m, x: x.sum(dim=(-1, 0), keepdim=True), [(2, 3, 4)]),
    case("sum_0d", lambda m, x: x.sum(), [()]),
    case("sum_0d_dim", lambda m, x: x.sum(0), [()]),
    case("mean_all", lambda m, x: x.mean(), [(3, 4)]),
    case("mean_dim", lambda m, x: m.mean(x, 0), [(3, 4)]),
    case("mean_negative_dim_keepdim", lambda m, x: x.mean(-2, keepdim=True), [(2, 3, 4)]),
    case("mean_dims", lambda m, x: x.mean((1, 2)), [(2, 3, 4)]),
    case("mean_0d", lambda m, x: x.mean(), [()]),
    case("max_all", lambda m, x: x.max(), [(3, 4)]),
    case("min_all", lambda m, x: m.min(x), [(3, 4)]),
    case("max_all_ties", lambda m, x: x.max(), vals=TIES),
    case("min_all_ties", lambda m, x: x.min(), vals=ALL_TIED),
    case("max_dim", lambda m, x: x.max(1), [(3, 4)]),
    case("max_dim_keepdim", lambda m, x: m.max(x, dim=0, keepdim=True), [(3, 4)]),
    case("min_negative_dim", lambda m, x: x.min(dim=-1), [(2, 3, 4)]),
    case("max_dim_ties", lambda m, x: x.max(dim=1), vals=TIES),
    case("min_dim_ties", lambda m, x: x.min(dim=0), vals=TIES),
    case("max_dim_values_only", lambda m, x: x.max(dim=1).values * 2, [(3, 4)]),
    case("min_dim_indices", lambda m, x: x.min(dim=1)[1], [(3, 4)]),
    case("max_0d", lambda m, x: x.max(), [()]),
    case("max_0d_dim", lambda m, x: x.max(0), [()]),
    case("max_binary_form", lambda m, x, y: m.max(x, y), [(3, 4), (4,)]),
    case("amax", lambda m, x: m.amax(x, 1), [(3, 4)]),
    case("amax_dims_ties", lambda m, x: m.amax(x, (0, 1), keepdim=True), vals=TIES),
    case("amin_all_ties", lambda m, x: m.amin(x), vals=ALL_TIED),
    case("softmax_0d", lambda m, x: x.softmax(0), [()]),
    case("log_softmax_0d", lambda m, x: x.log_softmax(-1), [()]),
    case("logsumexp_0d", lambda m, x: x.logsumexp(0), [()]),
    case("var_0d_biased", lambda m, x: x.var(correction=0), [()]),
    case("var_all", lambda m, x: x.var(), [(3, 4)]),
    case("var_dim", lambda m, x: x.var(1), [(3, 4)]),
    case("var_biased", lambda m, x: x.var(dim=0, unbiased=False), [(3, 4)]),
    case("var_correction_0", lambda m, x: m.var(x, dim=-1, correction=0, keepdim=True), [(2, 5)]),
    case("var_correction_2", lambda m, x: x.var(dim=1, correction=2), [(2, 5)]),
    case("var_dims", lambda m, x: x.var(dim=(0, 1)), [(2, 3, 4)]),
    case("std_all", lambda m, x: x.std(), [(3, 4)]),
    case("std_dim_keepdim", lambda m, x: m.std(x, 0, keepdim=True), [(3, 4)]),
    case("std_correction_0", lambda m, x: x.std(dim=1, correction=0), [(3, 4)]),
    case("logsumexp", lambda m, x: m.logsumexp(x, 1), [(3, 4)]),
    case("logsumexp_keepdim", lambda m, x: x.logsumexp(dim=-1, keepdim=True), [(3, 4)]),
    case("logsumexp_dims", lambda m, x: x.logsumexp(dim=(0, 1)), [(3, 4)]),
    case("logsumexp_large", lambda m, x: x.logsumexp(0), vals=[[1000.0, 1000.0, -5.0]]),
    case("logsumexp_neg_inf", lambda m, x: x.logsumexp(1), vals=[[[-math.inf, -math.inf], [0.0, 1.0]]]),
    case("argmax_all", lambda m, x: x.argmax(), [(3, 4)]),
    case("argmax_dim", lambda m, x: m.argmax(x, dim=1), [(3, 4)]),
    case("argmin_dim_keepdim", lambda m, x: x.argmin(dim=0, keepdim=True), [(3, 4)]),
    case("argmax_ties", lambda m, x: x.argmax(1), vals=TIES),
    case("argmin_ties_all", lambda m, x: x.argmin(), vals=ALL_TIED),
    case("softmax", lambda m, x: m.softmax(x, dim=1), [(3, 4)]),
    case("softmax_negative_dim", lambda m, x: x.softmax(-1), [(2, 3, 4)]),
    case("softmax_dim0", lambda m, x: x.softmax(0), [(2, 3, 4)]),
    case("softmax_large", lambda m, x: x.softmax(0), vals=[[1000.0, 999.0, -1000.0]]),
    # rows of 16 and more along the last axis: the halving max and BLAS sums (ops/rows.py)
    case("softmax_long_rows_odd", lambda m, x: x.softmax(-1), [(4, 5, 37)]),
    case("softmax_long_rows_masked", lambda m, x: x.masked_fill(x > 1.0, float("-inf")).softmax(-1), [(6, 32)]),
    case("softmax_long_rows_nan", lambda m, x: x.masked_fill(x > 1.8, float("nan")).softmax(-1), [(5, 20)]),
    case("log_softmax", lambda m, x: m.log_softmax(x, dim=1), [(3, 4)]),
    case("log_softmax_negative_dim", lambda m, x: x.log_softmax(-2), [(2, 3, 4)]),
    case("log_softmax_large", lambda m, x: x.log_softmax(0), vals=[[1000.0, 0.0, -1000.0]]),
    case("softmax_then_log", lambda m, x: x.softmax(1).log().sum(1), [(3, 4)]),
]

SPECIAL = [
    case("sum_inf_nan", lambda m, x: x.sum(1), vals=[[[math.inf, 1.0], [math.nan, 2.0]]], grad=False),
    case("max_with_inf", lambda m, x: x.max(1), vals=[[[math.inf, 1.0], [-math.inf, 2.0]]]),
    case("max_all_with_nan", lambda m, x: x.max(), vals=[[1.0, math.nan, 3.0]], grad=False),
    case("mean_with_inf", lambda m, x: x.mean(), vals=[[math.inf, 1.0]], grad=False),
    case("softmax_with_neg_inf", lambda m, x: x.softmax(0), vals=[[-math.inf, 0.0, 1.0]]),
    case("max_dim_with_nan", lambda m, x: x.max(1), vals=[[[1.0, math.nan, 3.0], [2.0, 1.0, 0.0]]],
         grad=False),
    case("argmax_with_nan", lambda m, x: x.argmax(1), vals=[[[1.0, math.nan, 3.0], [2.0, 1.0, 0.0]]]),
    case("sum_empty", lambda m, x: x.sum(0), [(0, 3)]),
    case("argmax_with_inf", lambda m, x: x.argmax(), vals=[[1.0, math.inf, 3.0]]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", REDUCTIONS + SPECIAL)
def test_reduction_matches_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", REDUCTIONS[:14] + REDUCTIONS[28:])
def test_reduction_matches_torch_in_float32(fn, shapes, options, device):
    check(fn, shapes, device=device, dtype="float32", **options)


def test_max_dim_returns_named_values_and_indices():
    _, (values, indices) = check(lambda m, x: x.max(dim=1), vals=TIES)
    assert indices.dtype.name == "int64" and not indices.requires_grad
    assert values.requires_grad


def test_max_gradient_goes_to_one_index_per_row_on_ties():
    # torch routes max(dim)'s gradient to the returned index only, and splits a full max evenly.
    _, _ = check(lambda m, x: x.max(dim=1).values.sum(), vals=TIES)
    _, _ = check(lambda m, x: x.max(), vals=TIES)


def test_reduction_over_int_sums_to_int64():
    _, (out,) = check(lambda m, x: x.sum(0), vals=[np.array([[1, 2], [3, 4]], dtype=np.int32)])
    assert out.dtype.name == "int64"
