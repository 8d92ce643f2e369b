"""Indexing, rearranging and contraction ops against PyTorch: scatter/index_* families, flips and rolls,
triangles and diagonals, splits and stacks, einsum/tensordot, the add* products, kron, cross, cdist.
Values, dtypes, every input's gradient, negative dims and empty tensors; then float64 gradchecks."""
import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import DEVICES, check, torch

pytestmark = [pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:torch.meshgrid:UserWarning"),
              pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter:UserWarning"),
              pytest.mark.filterwarnings("ignore:Using torch.cross without specifying the dim arg:UserWarning")]


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


def T(m, values):  # an int64 index tensor, built with the module in use
    return m.tensor(values)


SCATTER = [
    case("scatter_src", lambda m, x, s: x.scatter(1, T(m, [[0, 2], [3, 1], [1, 1]]), s), [(3, 4), (3, 2)]),
    # PyTorch's own backward refuses a src larger than the index, and an empty index: values only there
    case("scatter_src_larger", lambda m, x, s: m.scatter(x, 0, T(m, [[2, 0, 1]]), s), [(3, 4), (2, 5)],
         grad=False),
    case("scatter_value", lambda m, x: x.scatter(-1, T(m, [[0], [3], [2]]), 1.5), [(3, 4)]),
    case("scatter_reduce_add_legacy", lambda m, x, s: x.scatter(1, T(m, [[0, 0], [1, 1], [2, 3]]), s, reduce="add"),
         [(3, 4), (3, 2)], grad=False),
    case("scatter_add", lambda m, x, s: m.scatter_add(x, 1, T(m, [[0, 0], [3, 1], [1, 1]]), s), [(3, 4), (3, 2)]),
    case("scatter_add_dim0", lambda m, x, s: x.scatter_add(0, T(m, [[1, 1, 0, 2]]), s), [(3, 4), (1, 4)]),
    case("scatter_add_empty_index", lambda m, x, s: x.scatter_add(1, m.zeros(3, 0, dtype=m.long), s),
         [(3, 4), (3, 2)], grad=False),
    case("scatter_add_src_larger", lambda m, x, s: x.scatter_add(1, T(m, [[0, 0], [3, 1]]), s), [(3, 4), (3, 3)],
         grad=False),
    *[case(f"scatter_reduce_{reduce}{'' if include else '_exclude_self'}",
           lambda m, x, s, reduce=reduce, include=include: x.scatter_reduce(
               1, T(m, [[0, 0, 2], [3, 1, 3], [1, 1, 1]]), s, reduce, include_self=include),
           [(3, 4), (3, 3)], low=0.5)
      for reduce in ("sum", "prod", "mean", "amax", "amin") for include in (True, False)],
    case("scatter_reduce_prod_zeros", lambda m, x, s: x.scatter_reduce(0, T(m, [0, 0, 1, 1, 2]), s, "prod"),
         vals=[[0.0, 2.0, 3.0], [1.5, 0.0, 0.0, 2.0, 4.0]]),
    case("scatter_reduce_amax_ties", lambda m, x, s: x.scatter_reduce(0, T(m, [0, 0, 1]), s, "amax"),
         vals=[[2.0, 1.0], [2.0, 2.0, 0.5]]),
    case("scatter_reduce_mean_int", lambda m, x, s: x.scatter_reduce(0, T(m, [0, 0, 1]), s, "mean"),
         vals=[np.array([1, 7]), np.array([2, 4, 5])]),
    case("index_select", lambda m, x: m.index_select(x, 1, T(m, [3, 0, 0])), [(3, 4)]),
    case("index_select_negative_dim", lambda m, x: x.index_select(-3, T(m, [1])), [(2, 3, 4)]),
    case("index_select_empty", lambda m, x: x.index_select(0, m.zeros(0, dtype=m.long)), [(3, 4)]),
    case("index_add", lambda m, x, s: x.index_add(0, T(m, [0, 2, 0]), s), [(3, 4), (3, 4)]),
    case("index_add_alpha", lambda m, x, s: m.index_add(x, 1, T(m, [1, 1]), s, alpha=-2.0), [(3, 4), (3, 2)]),
    case("index_copy", lambda m, x, s: x.index_copy(1, T(m, [3, 0]), s), [(3, 4), (3, 2)]),
    case("index_fill", lambda m, x: x.index_fill(1, T(m, [0, 2]), -1.0), [(3, 4)]),
    case("masked_select", lambda m, x: m.masked_select(x, x > 0), [(3, 4)]),
    case("masked_select_broadcast", lambda m, x: x.masked_select(m.tensor([True, False, True, True])), [(3, 4)]),
    case("masked_scatter", lambda m, x, s: x.masked_scatter(x > 0, s), [(3, 4), (4, 4)]),
    case("take", lambda m, x: m.take(x, T(m, [[0, 11], [5, 5]])), [(3, 4)]),
    case("take_along_dim", lambda m, x: m.take_along_dim(x, T(m, [[0, 3], [1, 1], [2, 0]]), 1), [(3, 4)]),
    case("take_along_dim_broadcast", lambda m, x: x.take_along_dim(T(m, [[1, 0]]), dim=-1), [(3, 4)]),
    case("take_along_dim_flat", lambda m, x: m.take_along_dim(x, T(m, [[0, 7]])), [(3, 4)]),
]

REARRANGE = [
    case("select", lambda m, x: (x.select(1, 2), m.select(x, -1, -1)), [(3, 4)]),
    case("narrow", lambda m, x: (m.narrow(x, 1, 1, 2), x.narrow(0, -2, 2)), [(3, 4)]),
    case("movedim", lambda m, x: (m.movedim(x, 0, -1), x.movedim((0, 1), (2, 0)), m.moveaxis(x, -1, 0)), [(2, 3, 4)]),
    case("flip", lambda m, x: (m.flip(x, [0, 2]), x.flip(1), x.flip(0, 1)), [(2, 3, 4)]),
    case("fliplr_flipud", lambda m, x: (m.fliplr(x), m.flipud(x)), [(3, 4)]),
    case("roll", lambda m, x: (m.roll(x, 1, 1), x.roll(-5, 0), m.roll(x, (1, 2), (0, 1))), [(3, 4)]),
    case("roll_flat", lambda m, x: m.roll(x, 3), [(3, 4)]),
    case("roll_empty", lambda m, x: m.roll(x, 2, 0), [(0, 3)]),
    case("rot90", lambda m, x: (m.rot90(x), x.rot90(2), m.rot90(x, -1, (1, 0)), m.rot90(x, 3)), [(3, 4)]),
    case("tril_triu", lambda m, x: (m.tril(x), x.triu(1), m.tril(x, -1), x.triu(-2)), [(3, 4)]),
    case("tril_batched", lambda m, x: m.tril(x), [(2, 3, 3)]),
    case("tril_int", lambda m, x: m.triu(x), vals=[np.arange(9).reshape(3, 3)]),
    case("diagonal", lambda m, x: (m.diagonal(x), x.diagonal(1), x.diagonal(-1)), [(3, 4)]),
    case("diagonal_dims", lambda m, x: m.diagonal(x, 1, 0, 2), [(3, 2, 4)]),
    case("diagonal_negative_dims", lambda m, x: x.diagonal(0, -1, -3), [(3, 2, 4)]),
    case("diag_embed", lambda m, x: (m.diag_embed(x), m.diag_embed(x, 1), m.diag_embed(x, -1, 0, 2)), [(2, 3)]),
    case("diag", lambda m, x, v: (m.diag(x), x.diag(1), m.diag(v), m.diag(v, -2)), [(3, 4), (3,)]),
    case("diagflat_trace", lambda m, x: (m.diagflat(x), m.trace(x)), [(2, 2)]),
    case("repeat_interleave", lambda m, x: (m.repeat_interleave(x, 2), x.repeat_interleave(2, dim=1)), [(2, 3)]),
    case("repeat_interleave_counts", lambda m, x: x.repeat_interleave(T(m, [1, 0, 3]), dim=0), [(3, 2)]),
    case("repeat_interleave_index_form", lambda m, x: m.repeat_interleave(x), vals=[np.array([2, 0, 1])]),
    case("unfold", lambda m, x: (x.unfold(1, 2, 1), x.unfold(-1, 3, 2), x.unfold(0, 3, 1)), [(3, 7)]),
    case("tensor_split", lambda m, x: (m.tensor_split(x, 3, 1), x.tensor_split([1, 5], dim=1)), [(2, 7)]),
    case("hsplit_vsplit", lambda m, x: (m.hsplit(x, 2), m.vsplit(x, [1])), [(4, 6)]),
    case("stacks", lambda m, x, y: (m.hstack([x, y]), m.vstack([x, y]), m.dstack([x, y]), m.column_stack([x, y]),
                                    m.row_stack([x, y])), [(2, 3), (2, 3)]),
    case("stacks_1d", lambda m, x, y: (m.hstack([x, y]), m.vstack([x, y]), m.column_stack([x, y])), [(3,), (3,)]),
    case("atleast", lambda m, x, y: (m.atleast_1d(x), m.atleast_2d(x), m.atleast_3d(y), m.atleast_2d(x, y)),
         [(), (3,)]),
    case("meshgrid_ij", lambda m, x, y: m.meshgrid(x, y, indexing="ij"), [(3,), (4,)]),
    case("meshgrid_xy", lambda m, x, y, z: m.meshgrid(x, y, z, indexing="xy"), [(3,), (4,), (2,)]),
    case("cartesian_prod", lambda m, x, y: m.cartesian_prod(x, y), [(3,), (2,)]),
]

CONTRACT = [
    case("einsum_matmul", lambda m, x, y: m.einsum("ij,jk->ik", x, y), [(3, 4), (4, 2)]),
    case("einsum_batched", lambda m, x, y: m.einsum("bij,bjk->bik", x, y), [(2, 3, 4), (2, 4, 5)]),
    case("einsum_attention", lambda m, q, k: m.einsum("bhqd,bhkd->bhqk", q, k), [(2, 2, 3, 4), (2, 2, 5, 4)]),
    case("einsum_outer_dot", lambda m, x, y: (m.einsum("i,j->ij", x, y), m.einsum("i,i->", x, x)), [(3,), (4,)]),
    case("einsum_implicit", lambda m, x, y: m.einsum("ij,jk", x, y), [(3, 4), (4, 2)]),
    case("einsum_implicit_transpose", lambda m, x: m.einsum("ba", x), [(3, 4)]),
    case("einsum_trace_diagonal", lambda m, x: (m.einsum("ii", x), m.einsum("ii->i", x)), [(3, 3)]),
    case("einsum_sum_out", lambda m, x: m.einsum("ijk->j", x), [(2, 3, 4)]),
    case("einsum_ellipsis", lambda m, x, y: m.einsum("...ij,...jk->...ik", x, y), [(2, 3, 4), (2, 4, 5)]),
    case("einsum_ellipsis_broadcast", lambda m, x, y: m.einsum("...ij,jk->...ik", x, y), [(2, 2, 3, 4), (4, 5)]),
    case("einsum_three", lambda m, x, y, z: m.einsum("ij,jk,kl->il", x, y, z), [(2, 3), (3, 4), (4, 2)]),
    case("einsum_list_form", lambda m, x, y: m.einsum("i,i->i", [x, y]), [(3,), (3,)]),
    case("tensordot_int", lambda m, x, y: m.tensordot(x, y, 2), [(2, 3, 4), (3, 4, 5)]),
    case("tensordot_lists", lambda m, x, y: m.tensordot(x, y, dims=([0, 2], [2, 0])), [(2, 3, 4), (4, 5, 2)]),
    case("tensordot_zero", lambda m, x, y: m.tensordot(x, y, 0), [(2,), (3,)]),
    case("mv", lambda m, a, v: (m.mv(a, v), a.mv(v)), [(3, 4), (4,)]),
    case("addmm", lambda m, i, a, b: (m.addmm(i, a, b), i.addmm(a, b, beta=0.5, alpha=2.0)), [(3, 2), (3, 4), (4, 2)]),
    case("addmm_broadcast_bias", lambda m, i, a, b: m.addmm(i, a, b), [(2,), (3, 4), (4, 2)]),
    case("baddbmm", lambda m, i, a, b: (m.baddbmm(i, a, b), i.baddbmm(a, b, beta=-1, alpha=0.5)),
         [(2, 3, 2), (2, 3, 4), (2, 4, 2)]),
    case("addbmm_addmv_addr", lambda m, i, a, b, v, w: (m.addbmm(i, a, b), m.addmv(i[:, 0], i, w[:2], alpha=3),
                                                        m.addr(i, v, w[:2])),
         [(3, 2), (2, 3, 4), (2, 4, 2), (3,), (4,)]),
    case("addmm_beta_zero_ignores_nan", lambda m, i, a, b: m.addmm(i * float("nan"), a, b, beta=0),
         [(3, 2), (3, 4), (4, 2)], grad=False),
    case("inner", lambda m, x, y: (m.inner(x, y), x.inner(y[0])), [(2, 3), (4, 3)]),
    case("kron", lambda m, x, y: (m.kron(x, y), x.kron(y[0])), [(2, 3), (3, 2)]),
    case("kron_ndims", lambda m, x, y: m.kron(x, y), [(2,), (2, 3, 2)]),
    case("cross", lambda m, x, y: (m.cross(x, y, dim=1), x.cross(y, dim=-1)), [(4, 3), (4, 3)]),
    case("cross_default_dim", lambda m, x, y: m.cross(x, y), [(3, 2), (3, 2)]),
    case("cdist", lambda m, x, y: m.cdist(x, y), [(4, 3), (5, 3)]),
    case("cdist_p", lambda m, x, y: (m.cdist(x, y, p=1), m.cdist(x, y, p=3), m.cdist(x, y, p=float("inf"))),
         [(2, 4, 3), (2, 5, 3)]),
    case("cdist_zero_distance", lambda m, x: m.cdist(x, x), [(3, 2)]),
    case("cdist_p0", lambda m, x, y: m.cdist(x, y, p=0), vals=[[[1.0, 2.0], [0.0, 0.0]], [[1.0, 0.0]]]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", SCATTER + REARRANGE + CONTRACT)
def test_rearranging_op_matches_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", SCATTER[:6] + REARRANGE[:10] + CONTRACT[:4])
def test_rearranging_op_matches_torch_in_float32(fn, shapes, options, device):
    check(fn, shapes, device=device, dtype="float32", **options)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("args", [(3, 4), (4, 3, 1), (3, 3, -1), (0, 2)])
def test_triangle_indices_match_torch(args, device):
    for name in ("tril_indices", "triu_indices"):
        ours = getattr(lf, name)(*args, device=device)
        assert ours.device == lf.device(device) and ours.dtype == lf.int64
        np.testing.assert_array_equal(ours.cpu().numpy(), getattr(torch, name)(*args).numpy())


@pytest.mark.parametrize("device", DEVICES)
def test_in_place_forms_write_into_the_tensor(device):
    theirs = torch.zeros(3, 4)
    ours = lf.zeros(3, 4, device=device)
    index = [[1], [0], [3]]
    assert ours.scatter_(1, lf.tensor(index, device=device), 1.0) is ours
    theirs.scatter_(1, torch.tensor(index), 1.0)
    ours.index_fill_(0, lf.tensor([2], device=device), -2.0).tril_()
    theirs.index_fill_(0, torch.tensor([2]), -2.0).tril_()
    np.testing.assert_array_equal(ours.cpu().numpy(), theirs.numpy())
    for wrap in (False, True):
        t, o = torch.zeros(7, 3), lf.zeros(7, 3, device=device)
        t.fill_diagonal_(5.0, wrap=wrap)
        o.fill_diagonal_(5.0, wrap=wrap)
        np.testing.assert_array_equal(o.cpu().numpy(), t.numpy())


@pytest.mark.parametrize("call", [
    pytest.param(lambda m: m.zeros(3).scatter(0, m.tensor([3]), 1.0), id="scatter_index_out_of_range"),
    pytest.param(lambda m: m.zeros(2, 3).scatter(1, m.tensor([0]), 1.0), id="scatter_index_ndim"),
    pytest.param(lambda m: m.zeros(3).scatter_reduce(0, m.tensor([0]), m.ones(1), "median"), id="bad_reduce"),
    pytest.param(lambda m: m.zeros(3).index_select(0, m.tensor([[0]])), id="index_select_2d_index"),
    pytest.param(lambda m: m.zeros(3).narrow(0, 2, 2), id="narrow_past_the_end"),
    pytest.param(lambda m: m.zeros(3, 3).diagonal(0, 1, 1), id="diagonal_same_dims"),
    pytest.param(lambda m: m.einsum("ij,jk->ik", m.zeros(2, 3), m.zeros(2, 3)), id="einsum_size_mismatch"),
    pytest.param(lambda m: m.cdist(m.zeros(2, 3), m.zeros(2, 4)), id="cdist_columns"),
    pytest.param(lambda m: m.cross(m.zeros(2, 3), m.zeros(2, 3), dim=0), id="cross_dim_not_3"),
    pytest.param(lambda m: m.zeros(3).unfold(0, 4, 1), id="unfold_size_too_big"),
    pytest.param(lambda m: m.tril(m.zeros(3)), id="tril_1d"),
])
def test_invalid_arguments_raise_torchs_exception_type(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(Exception) as ours:
        call(lf)
    assert type(ours.value) is type(theirs.value), f"{ours.value!r} where torch raises {theirs.value!r}"


def test_gradcheck_of_rearranging_ops():
    rng = np.random.default_rng(3)

    def inputs(*shapes):
        return [lf.tensor(rng.uniform(0.5, 2.0, s), dtype=lf.float64, requires_grad=True) for s in shapes]

    x, s = inputs((3, 4), (3, 3))
    index = lf.tensor([[0, 0, 2], [3, 1, 3], [1, 1, 1]])
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        assert lf.gradcheck(lambda a, b: a.scatter_reduce(1, index, b, reduce, include_self=False), [x, s])
    distinct = lf.tensor([[0, 3, 2], [3, 1, 0], [1, 2, 0]])  # a repeated index keeps only one write
    assert lf.gradcheck(lambda a, b: (a.scatter(1, distinct, b), a.index_add(1, lf.tensor([0, 0, 3]), b),
                                      a.index_copy(1, lf.tensor([2, 0, 3]), b),
                                      a.masked_scatter(a > 1, b)), [x, s])
    assert lf.gradcheck(lambda a: (a.roll(1, 1), a.flip(0), a.rot90(), a.triu(), a.diagonal(1), lf.diag_embed(a),
                                   a.repeat_interleave(lf.tensor([1, 0, 2]), dim=0), a.unfold(1, 2, 1),
                                   a.take_along_dim(lf.tensor([[1], [0], [3]]), 1)), [x])
    a, b, c = inputs((2, 3, 4), (2, 4, 5), (3,))
    assert lf.gradcheck(lambda p, q: (lf.einsum("bij,bjk->bik", p, q), lf.einsum("bii->bi", p[:, :, :3]),
                                      lf.tensordot(p, q, ([0, 2], [0, 1])), lf.kron(p[0], q[1]),
                                      lf.cdist(p, q.transpose(1, 2)), lf.cdist(p, p, p=3)), [a, b])
    assert lf.gradcheck(lambda p, v: lf.cross(p[:, :, :3], v.expand(2, 3, 3), dim=-1), [a, c])
