"""Arrays into a model in batches and back: the batch bounds, and the outputs of a split joined once."""
from __future__ import annotations

import numpy as np

import layerforge.engine as lf
from layerforge.training.batching import batch_bounds, to_host


def test_batches_of_a_split_joined_in_order_into_an_array_of_their_own():
    """An epoch's outputs come back as one array in batch order; it is a copy, so later in-place work
    on a batch's tensor (or the engine reusing its buffer) cannot change the epoch's record."""
    batches = [lf.tensor(np.full((n, 3), i, dtype=np.float32)) for i, n in enumerate((4, 4, 2))]
    joined = to_host(batches)
    assert joined.shape == (10, 3) and joined.dtype == np.float32
    assert joined[:, 0].tolist() == [0] * 4 + [1] * 4 + [2] * 2
    batches[0].numpy()[...] = 7.0
    assert joined[0, 0] == 0.0
    single = lf.tensor(np.ones((5, 2), dtype=np.float32))
    alone = to_host([single])
    assert not np.shares_memory(alone, single.numpy())


def test_scalar_losses_stack_and_no_batches_give_the_models_output_shape():
    losses = to_host([lf.tensor(np.float32(0.5)), lf.tensor(np.float32(1.5))])
    assert losses.shape == (2,) and losses.tolist() == [0.5, 1.5]
    model = type("Model", (), {"output_shape": (3,)})()
    empty = to_host([], model)
    assert empty.shape == (0, 3) and empty.dtype == np.float32


def test_a_lone_last_sample_joins_the_batch_before_it():
    assert batch_bounds(10, 4) == [0, 4, 8, 10]
    assert batch_bounds(9, 4) == [0, 4, 9]
    assert batch_bounds(3, 4) == [0, 3]
