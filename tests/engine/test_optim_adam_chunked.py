"""Adam updates a large parameter a cache-sized slice at a time; the result is bit for bit the
whole-array update (the same operations in the same order on every element), with AMSGrad, L2 and
decoupled weight decay, maximize, a size that is not a multiple of the slice, and a non-contiguous
parameter (which takes the whole-array path)."""
import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.optim import Adam


def _train(options, chunk, shape=(301, 229), transpose=False):
    rng = np.random.default_rng(0)
    start = rng.standard_normal(shape).astype(np.float32)
    param = lf.tensor(start.T.copy().T if transpose else start, requires_grad=True)
    small = lf.tensor(rng.standard_normal(7).astype(np.float32), requires_grad=True)  # never sliced
    optimizer = Adam([param, small], lr=0.01, **options)
    optimizer.CHUNK_ELEMENTS = chunk
    for _ in range(4):
        param.grad = lf.tensor(rng.standard_normal(shape).astype(np.float32))
        small.grad = lf.tensor(rng.standard_normal(7).astype(np.float32))
        optimizer.step()
    state = optimizer.state[param]
    return [param.detach().numpy(), state["exp_avg"].numpy(), state["exp_avg_sq"].numpy(), small.detach().numpy()]


@pytest.mark.parametrize("options", [{}, {"amsgrad": True}, {"weight_decay": 0.1}, {"maximize": True},
                                     {"weight_decay": 0.1, "decoupled_weight_decay": True}])
def test_sliced_update_equals_the_whole_array_update_bit_for_bit(options):
    sliced = _train(options, chunk=1000)  # 68,929 elements: 68 full slices and a short one
    whole = _train(options, chunk=10 ** 9)
    for a, b in zip(sliced, whole):
        np.testing.assert_array_equal(a, b)


def test_a_non_contiguous_parameter_is_updated_whole_and_correctly():
    sliced = _train({}, chunk=1000, transpose=True)
    whole = _train({}, chunk=10 ** 9, transpose=True)
    for a, b in zip(sliced, whole):
        np.testing.assert_array_equal(a, b)
