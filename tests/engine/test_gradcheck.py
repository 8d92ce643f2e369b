"""float64 numerical gradient checks of every differentiable op; these need no torch."""
import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine import autograd
from layerforge.engine.gradcheck import GradcheckError, gradcheck
from layerforge.engine.ops import pad


def inputs(*shapes, low=-2.0, high=2.0, seed=0):
    rng = np.random.default_rng(seed)
    return [lf.tensor(rng.uniform(low, high, size=s), dtype=lf.float64, requires_grad=True)
            for s in shapes]


def case(name, fn, *shapes, **options):
    return pytest.param(fn, shapes, options, id=name)


POSITIVE = {"low": 0.5, "high": 2.0}
CASES = [
    case("add_broadcast", lambda x, y: x + y, (3, 4), (4,)),
    case("sub_broadcast", lambda x, y: x - y, (3, 1), (1, 4)),
    case("mul_broadcast", lambda x, y: x * y, (2, 3, 4), (3, 1)),
    case("div", lambda x, y: x / y, (3, 4), (3, 4), **POSITIVE),
    case("scalar_ops", lambda x: (2.0 - x) * 3.0 / 4.0 + 1.0 - 2.0 / (x + 5.0), (3,)),
    case("neg", lambda x: -x, (3,)),
    case("pow_tensor", lambda x, y: x ** y, (3, 4), (4,), **POSITIVE),
    case("pow_scalar", lambda x: x ** 3 + x ** 2 + x ** 0.5, (5,), **POSITIVE),
    case("rpow", lambda x: 1.7 ** x, (5,)),
    case("matmul_2d", lambda x, y: x @ y, (3, 4), (4, 2)),
    case("matmul_vec", lambda x, y: x @ y, (4,), (4, 3)),
    case("matmul_mat_vec", lambda x, y: x @ y, (2, 3, 4), (4,)),
    case("matmul_broadcast_batch", lambda x, y: x @ y, (2, 1, 3, 4), (5, 4, 2)),
    case("exp_log_sqrt", lambda x: x.exp() + x.log() + x.sqrt(), (4,), **POSITIVE),
    case("abs", lambda x: x.abs(), (6,), low=0.1),
    case("sin_cos_tanh", lambda x: x.sin() * x.cos() + x.tanh(), (5,)),
    case("sigmoid_relu", lambda x: x.sigmoid() + (x - 0.03).relu(), (7,)),
    case("clamp", lambda x: x.clamp(-0.7, 0.9), (8,)),
    case("maximum_minimum", lambda x, y: lf.maximum(x, y) + lf.minimum(x, y * 2), (3, 4), (4,)),
    case("where", lambda x, y: lf.where(x > 0, x, y), (3, 4), (3, 4)),
    case("sum_mean", lambda x: x.sum(0) + x.mean(-1, keepdim=True), (3, 3)),
    case("max_min_dim", lambda x: x.max(1).values + x.min(dim=0, keepdim=True)[0].sum(), (3, 4)),
    case("max_all", lambda x: x.max() * x.min(), (3, 4)),
    case("amax", lambda x: lf.amax(x, (0, 2)), (2, 3, 4)),
    case("var_std", lambda x: x.var(1) + x.std(0, correction=0).sum(), (3, 4)),
    case("logsumexp", lambda x: x.logsumexp(1), (3, 4)),
    case("softmax", lambda x: x.softmax(-1), (3, 4)),
    case("log_softmax", lambda x: x.log_softmax(0), (3, 4)),
    case("reshape_permute", lambda x: x.reshape(4, 6).T.permute(1, 0).flatten(), (2, 3, 4)),
    case("squeeze_unsqueeze_expand", lambda x: x.unsqueeze(0).expand(2, 3, 4).squeeze(), (3, 1)),
    case("cat_stack", lambda x, y: lf.cat([x, y], 1) * lf.stack([x, y], 1).reshape(2, 6), (2, 3), (2, 3)),
    case("split_chunk", lambda x: x.split(2)[1] * x.chunk(3)[0], (6, 2)),
    case("pad_constant", lambda x: pad(x, (1, 2, 0, 1)), (2, 3)),
    case("pad_reflect", lambda x: pad(x, (2, 1), mode="reflect"), (1, 2, 4)),
    case("pad_replicate", lambda x: pad(x, (2, 3), mode="replicate"), (1, 2, 3)),
    case("getitem_basic", lambda x: x[1:, None, ::2] * x[..., 0][0], (3, 4)),
    case("getitem_advanced", lambda x: x[lf.tensor([0, 2, 0])] + x[x > 0].sum(), (3, 4)),
    case("gather", lambda x: lf.gather(x, 1, lf.tensor([[0, 0], [3, 1], [2, 2]])), (3, 4)),
    case("repeat", lambda x: x.repeat(2, 3), (2, 2)),
    case("mlp", lambda x, w, b: ((x @ w + b).tanh() @ w.T).sigmoid().sum(), (5, 3), (3, 3), (3,)),
]


@pytest.mark.parametrize("fn, shapes, options", CASES)
def test_gradients_match_central_differences(fn, shapes, options):
    assert gradcheck(fn, inputs(*shapes, **options))


def test_gradcheck_catches_a_wrong_gradient():
    class WrongSquare(autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2 * x

    with pytest.raises(GradcheckError, match="analytic directional derivative"):
        gradcheck(WrongSquare.apply, inputs((4,)))
    assert gradcheck(WrongSquare.apply, inputs((4,)), raise_exception=False) is False


def test_gradcheck_wants_float64_inputs():
    with pytest.raises(ValueError, match="float64"):
        gradcheck(lambda x: x * 2, [lf.ones(2, requires_grad=True)])
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda x: x * 2, [lf.ones(2, dtype=lf.float64)])
