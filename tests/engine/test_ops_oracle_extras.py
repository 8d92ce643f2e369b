"""The long tail of torch functions and Tensor methods against PyTorch: NaN-aware statistics and
quantiles, covariance, differences and trapezoid rules, searching and enumerating, the other spellings
(greater, ravel, tile, ...), integer helpers, dtype questions, in-place method forms, storage queries."""
import math

import numpy as np
import pytest

import layerforge.engine as lf
from engine_oracle import DEVICES, check, torch

pytestmark = [pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:torch.range is deprecated:UserWarning"),
              pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning")]

NAN = math.nan
WITH_NAN = [[[1.0, NAN, 3.0, 0.5], [2.0, -1.0, 4.0, 4.5], [NAN, NAN, NAN, NAN]]]


def case(name, fn, shapes=(), **options):
    return pytest.param(fn, shapes, options, id=name)


STATS = [
    case("nansum", lambda m, x: (m.nansum(x), x.nansum(1), m.nansum(x, dim=0, keepdim=True)), vals=WITH_NAN),
    case("nansum_int", lambda m, x: m.nansum(x), vals=[np.array([1, 2, 3])]),
    case("nanmean", lambda m, x: (m.nanmean(x[:2]), x.nanmean(1)), vals=WITH_NAN),
    case("quantile_scalar", lambda m, x: (m.quantile(x, 0.3), x.quantile(0.5, dim=1), m.quantile(x, 1.0, 0, True)),
         [(3, 5)]),
    case("quantile_vector", lambda m, x: [m.quantile(x, q, dim=-1) for q in [m.tensor([0.0, 0.25, 0.6, 1.0],
                                                                                      dtype=x.dtype)]] +
         [m.quantile(x, m.tensor([0.1, 0.9], dtype=x.dtype)), m.quantile(x, m.tensor([0.5], dtype=x.dtype), 0, True)],
         [(3, 4)]),
    *[case(f"quantile_{mode}", lambda m, x, mode=mode: m.quantile(x, m.tensor([0.1, 0.5, 0.7], dtype=x.dtype), dim=1,
                                                                 interpolation=mode), [(2, 6)])
      for mode in ("lower", "higher", "nearest", "midpoint")],
    case("quantile_nan", lambda m, x: m.quantile(x, 0.5, dim=1), vals=WITH_NAN),
    case("nanquantile", lambda m, x: (m.nanquantile(x, 0.4, dim=1), x[:2].nanquantile(0.9)), vals=WITH_NAN),
    # the index of an all-NaN row's nanmedian is unspecified in PyTorch: rows with a number here
    case("nanmedian", lambda m, x: (m.nanmedian(x[:2]), m.nanmedian(x[:2], 1), x[:2].nanmedian(0, keepdim=True)),
         vals=WITH_NAN),
    case("aminmax", lambda m, x: (m.aminmax(x), m.aminmax(x, dim=1), x.aminmax(dim=0, keepdim=True)), [(3, 4)]),
    case("std_var_mean", lambda m, x: (m.std_mean(x), m.var_mean(x, 1), m.std_mean(x, 0, correction=0)), [(3, 4)]),
    case("cov", lambda m, x: (m.cov(x), x.cov(correction=0), m.cov(x[0])), [(3, 5)]),
    case("cov_weights", lambda m, x, a: m.cov(x, fweights=m.tensor([1, 2, 1, 3, 1], device=x.device), aweights=a),
         [(2, 5), (5,)], low=0.2, high=1.0),
    case("corrcoef", lambda m, x: (m.corrcoef(x), x.corrcoef()), [(3, 6)]),
    case("dist", lambda m, x, y: (m.dist(x, y), x.dist(y, 1), m.dist(x, y, float("inf")), m.dist(x, x)),
         [(3, 4), (4,)]),
    case("diff", lambda m, x, p: (m.diff(x), x.diff(n=2, dim=0), m.diff(x, dim=1, prepend=p, append=p)),
         [(4, 5), (4, 1)]),
    case("trapezoid", lambda m, y, x: (m.trapezoid(y), m.trapezoid(y, dx=0.5, dim=0), m.trapezoid(y, x),
                                       m.trapz(y, x)), [(3, 5), (5,)]),
    case("cumulative_trapezoid", lambda m, y, x: (m.cumulative_trapezoid(y), m.cumulative_trapezoid(y, x, dim=-1)),
         [(3, 5), (5,)]),
    case("fmax_fmin", lambda m, x, y: (m.fmax(x, y), m.fmin(x, y), x.fmax(y)),
         vals=[[NAN, 1.0, 2.0, NAN, 3.0], [0.5, NAN, 2.0, NAN, 1.0]]),
    case("fmax_broadcast", lambda m, x, y: m.fmax(x, y), [(3, 4), (4,)]),
]

SEARCH = [
    case("nonzero", lambda m, x: (m.nonzero(x), x.nonzero(as_tuple=True), m.argwhere(x)),
         vals=[np.array([[0, 1, 0], [2, 0, 3]])]),
    case("nonzero_0d", lambda m, x: m.nonzero(x), vals=[np.array(5)]),
    case("isin", lambda m, x, y: (m.isin(x, y), m.isin(x, y, invert=True)), vals=[np.arange(6).reshape(2, 3),
                                                                                     np.array([1, 4, 9])]),
    case("searchsorted", lambda m, s, v: (m.searchsorted(s, v), m.searchsorted(s, v, right=True),
                                          m.searchsorted(s, v, side="right", out_int32=True)),
         vals=[np.array([1.0, 3.0, 5.0, 7.0]), np.array([[3.0, 6.0], [0.0, 9.0]])]),
    case("searchsorted_batched", lambda m, s, v: m.searchsorted(s, v),
         vals=[np.array([[1, 3, 5], [2, 4, 6]]), np.array([[3, 6], [1, 5]])]),
    case("bucketize", lambda m, v, b: (m.bucketize(v, b), m.bucketize(v, b, right=True)),
         vals=[np.array([[1, 5, 9], [3, 7, 2]]), np.array([1, 3, 5, 7])]),
    case("unique_consecutive", lambda m, x: (m.unique_consecutive(x), x.unique_consecutive(return_inverse=True,
                                                                                         return_counts=True)),
         vals=[np.array([1, 1, 2, 2, 3, 1, 1, 2])]),
    case("unique_consecutive_dim", lambda m, x: m.unique_consecutive(x, dim=0, return_counts=True),
         vals=[np.array([[1, 2], [1, 2], [3, 4], [1, 2]])]),
    case("unravel_index", lambda m, i: m.unravel_index(i, (3, 4)), vals=[np.array([0, 5, 11, -1])]),
    case("combinations", lambda m, x: (m.combinations(x), m.combinations(x, 3), m.combinations(x, 2, True)),
         [(4,)]),
    case("block_diag", lambda m, a, b, c: m.block_diag(a, b, c), [(2, 3), (1, 2), (3,)]),
    # PyTorch's own backward of vander fails (it writes into a tensor its graph saved): values only
    case("vander", lambda m, x: (m.vander(x), m.vander(x, 4, increasing=True)), [(3,)], grad=False),
    case("broadcast", lambda m, x, y: (m.broadcast_to(x, (2, 3, 4)), *m.broadcast_tensors(x, y)), [(3, 1), (2, 1, 4)]),
]

SCATTERS = [
    case("select_scatter", lambda m, x, s: (m.select_scatter(x, s, 0, 1), x.select_scatter(s, -2, -1)),
         [(3, 3), (3,)]),
    case("slice_scatter", lambda m, x, s: (m.slice_scatter(x, s, 1, 0, 4, 2), x.slice_scatter(s[:, :1], dim=1, start=3)),
         [(3, 4), (3, 2)]),
    case("diagonal_scatter", lambda m, x, s: (m.diagonal_scatter(x, s), x.diagonal_scatter(s[:2], 1),
                                              m.diagonal_scatter(x, s[:2], -1)), [(3, 3), (3,)]),
    case("diagonal_scatter_dims", lambda m, x, s: m.diagonal_scatter(x, s, 0, 2, 0), [(2, 3, 2), (3, 2)]),
    *[case(f"index_reduce_{r}", lambda m, x, s, r=r: (x.index_reduce(0, m.tensor([0, 2, 0], device=x.device), s, r),
                                                     x.index_reduce(1, m.tensor([1, 1], device=x.device), s[:, :2],
                                                                    r, include_self=False)),
           [(3, 3), (3, 3)], low=0.5) for r in ("prod", "mean", "amax", "amin")],
    case("renorm", lambda m, x: (m.renorm(x, 2, 0, 1.0), x.renorm(1, 1, 2.5)), [(3, 4)]),
    case("adjoint_selu_", lambda m, x: (m.adjoint(x), m.selu_(x.clone()), m.celu_(x.clone()),
                                        m.threshold_(x.clone(), 0.1, 0.0)), [(2, 3)], grad=False),
]

ALIASES = [
    case("comparison_names", lambda m, x, y: (m.greater(x, y), m.greater_equal(x, y), m.less(x, y), m.less_equal(x, y),
                                              m.not_equal(x, y), x.greater(y), x.less_equal(y)), [(3, 4), (4,)],
         grad=False),
    case("clamp_min_max", lambda m, x: (m.clamp_min(x, -0.5), m.clamp_max(x, 0.5), x.clamp_min(0.1)), [(3, 4)]),
    case("ravel_tile_swapdims", lambda m, x: (m.ravel(x), x.tile((2,)), m.tile(x, (2, 1, 1)), m.swapdims(x, 0, 1)),
         [(2, 3)]),
    case("vdot_ger_chain", lambda m, a, b, c: (m.vdot(a, a), m.ger(a, b), m.chain_matmul(c, c.t(), c)),
         [(3,), (2,), (3, 3)]),
    case("splits", lambda m, x: (*m.split_with_sizes(x, [1, 3]), *m.unsafe_split(x, 2), *x.unsafe_chunk(2, 1)),
         [(4, 2)]),
    case("gcd_lcm", lambda m, a, b: (m.gcd(a, b), m.lcm(a, b), a.gcd(b)), vals=[np.array([12, -18, 0, 7]),
                                                                            np.array([8, 12, 5, 0])]),
    case("ldexp", lambda m, x, e: (m.ldexp(x, e), x.ldexp(e)), vals=[np.array([1.5, -2.0, 0.25]),
                                                                    np.array([1, 0, 3])]),
    case("frexp", lambda m, x: m.frexp(x), vals=[np.array([0.0, 8.0, -0.75, 1e-3])], grad=False),
    case("inf_predicates", lambda m, x: (m.isposinf(x), m.isneginf(x), m.isreal(x), x.isposinf()),
         vals=[[math.inf, -math.inf, NAN, 1.0]], grad=False),
    case("in_place_methods", lambda m, x: (x.clone().abs_(), x.clone().exp_(), x.clone().sin_(), x.clone().clamp_min_(0),
                                           x.clone().lerp_(x * 0, 0.25), x.clone().eq_(x * 0 + 0.5),
                                           x.clone().unsqueeze_(0), x.clone().t_(), x.clone().fmod_(0.3),
                                           x.clone().nan_to_num_()), [(3, 4)], grad=False),
    case("top_level_in_place", lambda m, x: (m.abs_(x.clone()), m.sigmoid_(x.clone()), m.relu_(x.clone())),
         [(3,)], grad=False),
    case("top_level_functional", lambda m, x: (m.selu(x), m.celu(x, 0.5), m.hardshrink(x, 0.3),
                                               m.threshold(x, 0.1, 2.0), m.cosine_similarity(x, x.flip(0), 1)),
         [(3, 4)]),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", STATS + SEARCH + SCATTERS + ALIASES)
def test_tail_op_matches_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", STATS[:6] + SEARCH[10:13])
def test_tail_op_matches_torch_in_float32(fn, shapes, options, device):
    check(fn, shapes, device=device, dtype="float32", **options)


DTYPE_NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def test_dtype_questions_answer_as_torch():
    for a in DTYPE_NAMES:
        for b in DTYPE_NAMES:
            ta, tb, oa, ob = getattr(torch, a), getattr(torch, b), getattr(lf, a if a != "bool" else "bool"), \
                getattr(lf, b if b != "bool" else "bool")
            assert lf.promote_types(oa, ob).name == str(torch.promote_types(ta, tb))[6:], (a, b)
            assert lf.can_cast(oa, ob) == torch.can_cast(ta, tb), (a, b)
    for left, right in [(np.array([1, 2]), 2.5), (np.array(1.0), np.array([1, 2], np.int32)), (True, 3),
                        (np.array([1], np.uint8), np.array([1], np.int8))]:
        def make(m, v):
            return m.tensor(v) if isinstance(v, np.ndarray) else v
        assert lf.result_type(make(lf, left), make(lf, right)).name == \
            str(torch.result_type(make(torch, left), make(torch, right)))[6:]


@pytest.mark.parametrize("make", [
    pytest.param(lambda m: m.logspace(-2, 2, 5), id="logspace"),
    pytest.param(lambda m: m.logspace(0, 3, 4, base=2, dtype=m.float64), id="logspace_base"),
    pytest.param(lambda m: m.range(1, 4), id="range_inclusive"),
    pytest.param(lambda m: m.range(0, 1, 0.25), id="range_step"),
    pytest.param(lambda m: m.scalar_tensor(3), id="scalar_tensor"),
    pytest.param(lambda m: m.asarray([1, 2]), id="asarray"),
])
def test_creation_functions_match_torch(make):
    ours, theirs = make(lf), make(torch)
    assert ours.dtype.name == str(theirs.dtype)[6:] and tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_storage_queries_and_flags_answer_as_torch():
    for make in (lambda m: m.zeros(2, 3, 4), lambda m: m.zeros(2, 3, 4).transpose(0, 2), lambda m: m.zeros(())):
        ours, theirs = make(lf), make(torch)
        assert ours.stride() == theirs.stride() and ours.is_contiguous() == theirs.is_contiguous()
        assert ours.nbytes == theirs.nbytes and ours.ndimension() == theirs.ndimension()
    x = lf.zeros(2)
    assert x.is_cpu and not x.is_sparse and not x.is_quantized and not x.is_meta and x.get_device() == -1
    assert lf.is_floating_point(x) and not lf.is_complex(x) and lf.is_signed(x) and not lf.is_signed(x.byte())
    assert lf.is_same_size(x, lf.ones(2)) and lf.is_nonzero(lf.tensor([2]))
    with pytest.raises(RuntimeError):
        lf.is_nonzero(lf.tensor([1, 2]))


def test_rng_state_round_trips_and_multinomial_samples_the_weights():
    state = lf.get_rng_state()
    first = lf.rand(4)
    lf.set_rng_state(state)
    assert lf.rand(4).tolist() == first.tolist()
    lf.manual_seed(0)
    draws = lf.multinomial(lf.tensor([0.1, 0.0, 0.9]), 20000, replacement=True)
    counts = np.bincount(draws.numpy(), minlength=3) / 20000
    assert counts[1] == 0 and abs(counts[2] - 0.9) < 0.02
    picks = lf.multinomial(lf.tensor([[1.0, 0.0, 2.0, 3.0]] * 50), 3)
    assert picks.shape == (50, 3) and (picks != 1).all() and all(len(set(r)) == 3 for r in picks.tolist())
    with pytest.raises(RuntimeError):
        lf.multinomial(lf.tensor([1.0, 1.0]), 3)
    filled = lf.zeros(10000).bernoulli_(0.3)
    assert abs(filled.mean().item() - 0.3) < 0.03
    assert abs(lf.zeros(20000).exponential_(2.0).mean().item() - 0.5) < 0.03


@pytest.mark.parametrize("make", [
    pytest.param(lambda m: m.hann_window(5), id="hann"), pytest.param(lambda m: m.hann_window(6, False), id="hann_sym"),
    pytest.param(lambda m: m.hamming_window(4), id="hamming"),
    pytest.param(lambda m: m.hamming_window(7, True, 0.5, 0.5, dtype=m.float64), id="hamming_params"),
    pytest.param(lambda m: m.blackman_window(5), id="blackman"), pytest.param(lambda m: m.bartlett_window(6), id="bartlett"),
    pytest.param(lambda m: m.kaiser_window(5), id="kaiser"), pytest.param(lambda m: m.kaiser_window(7, False, 5.0), id="kaiser_sym"),
    pytest.param(lambda m: m.hann_window(1), id="length_1"), pytest.param(lambda m: m.hann_window(0), id="length_0"),
])
def test_window_functions_match_torch(make):
    ours, theirs = make(lf), make(torch)
    assert ours.dtype.name == str(theirs.dtype)[6:] and tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


MISC = [
    case("histogram", lambda m, x: m.histogram(x, bins=4), [(20,)], grad=False),
    case("histogram_range_weight", lambda m, x, w: m.histogram(x, 3, range=(-1.0, 1.0), weight=w, density=True),
         [(20,), (20,)], grad=False),
    case("histogram_edges", lambda m, x: x.histogram(m.tensor([-2.0, 0.0, 0.5, 2.0], dtype=x.dtype)), [(20,)], grad=False),
    case("pdist", lambda m, x: (m.pdist(x), m.pdist(x, p=1)), [(4, 3)]),
    case("channel_shuffle", lambda m, x: m.channel_shuffle(x, 2), [(2, 4, 3)]),
    case("gradient", lambda m, x: (*m.gradient(x), *m.gradient(x, spacing=0.5, dim=1)), [(4, 5)]),
    case("rsub_fill", lambda m, x: (m.rsub(x, 2.0), m.rsub(x, x * 3, alpha=2), m.fill(x, 1.5)), [(2, 3)]),
    case("embedding_put", lambda m, w: (m.embedding(w, m.tensor([[0, 2], [1, 1]], device=w.device)),
                                        m.put(w, m.tensor([0, 5], device=w.device), m.ones(2, dtype=w.dtype, device=w.device))),
         [(3, 4)], grad=False),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("fn, shapes, options", MISC)
def test_misc_functions_match_torch(fn, shapes, options, device):
    check(fn, shapes, device=device, **options)
