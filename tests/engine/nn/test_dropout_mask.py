"""Dropout's CPU mask comes from raw 32-bit random words (random.keep_mask): each value is kept with
probability 1 - p and scaled by 1 / (1 - p), the rest are zero; the same seed gives the same mask;
attention's dropout is the same function."""
import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine import random


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9, 0.999])
def test_each_value_is_kept_with_probability_one_minus_p_and_scaled(p):
    lf.manual_seed(0)
    x = lf.ones(400_000)
    out = lf.nn.functional.dropout(x, p).numpy()
    scale = np.float32(1.0 / (1.0 - p))
    assert set(np.unique(out).tolist()) <= {0.0, float(scale)}
    kept = np.count_nonzero(out) / out.size
    # within five standard deviations of a binomial's share
    assert abs(kept - (1 - p)) < 5 * np.sqrt(p * (1 - p) / out.size)


def test_the_same_seed_gives_the_same_mask_and_other_draws_differ():
    x = lf.ones((7, 13, 5))       # an odd number of values: the last word is half used
    lf.manual_seed(3)
    first, second = (lf.nn.functional.dropout(x, 0.3).numpy() for _ in range(2))
    lf.manual_seed(3)
    again = lf.nn.functional.dropout(x, 0.3).numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)


def test_a_generator_of_its_own_and_float64():
    generator = lf.Generator().manual_seed(5)
    out = random.keep_mask((1000,), 0.25, 2.0, np.empty(1000), generator)
    generator.manual_seed(5)
    np.testing.assert_array_equal(out, random.keep_mask((1000,), 0.25, 2.0, np.empty(1000), generator))
    assert out.dtype == np.float64 and set(np.unique(out).tolist()) == {0.0, 2.0}


def test_dropout_keeps_the_gradient_where_it_keeps_the_value():
    lf.manual_seed(1)
    x = lf.randn(64, 100, requires_grad=True)
    out = lf.nn.functional.dropout(x, 0.4)
    out.sum().backward()
    kept = out.detach().numpy() != 0
    np.testing.assert_allclose(x.grad.numpy()[kept], 1 / 0.6, rtol=1e-6)
    assert (x.grad.numpy()[~kept] == 0).all()


def test_attention_weights_dropout_is_the_same_dropout():
    lf.manual_seed(2)
    q = lf.randn(2, 4, 8, 16)
    weights = lf.nn.functional.softmax(q @ q.transpose(-2, -1) / 4.0, dim=-1)
    lf.manual_seed(2)
    _ = lf.randn(2, 4, 8, 16)
    out = lf.nn.functional.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    lf.manual_seed(2)
    _ = lf.randn(2, 4, 8, 16)
    expected = lf.nn.functional.dropout(weights, 0.5) @ q
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
