"""utils.data: batching, shuffling, collation, splits, as a training loop relies on them."""
from collections import namedtuple

import numpy as np
import pytest

import layerforge.engine as lf
from layerforge.engine.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset,
                                          IterableDataset, RandomSampler, SequentialSampler, Subset,
                                          TensorDataset, default_collate, random_split)


def _dataset(n=10):
    x = lf.arange(n * 2, dtype=lf.float32).reshape(n, 2)
    y = lf.arange(n)
    return TensorDataset(x, y)


class _SlowPath(Dataset):
    """The same samples as a TensorDataset, but not one: forces per-sample collation."""

    def __init__(self, inner):
        self.inner = inner

    def __getitem__(self, i):
        return self.inner[i]

    def __len__(self):
        return len(self.inner)


def _rows(loader):
    return [batch[1].tolist() for batch in loader]


def test_tensor_dataset_indexes_rows_and_checks_sizes():
    ds = _dataset(4)
    x, y = ds[2]
    assert x.tolist() == [4.0, 5.0] and y.item() == 2 and len(ds) == 4
    with pytest.raises(ValueError, match=r"Size mismatch.*\[3, 4\]"):
        TensorDataset(lf.zeros(3, 2), lf.zeros(4))


def test_sequential_batches_cover_everything_in_order():
    loader = DataLoader(_dataset(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert _rows(batches) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    x, y = batches[0]
    assert x.shape == (4, 2) and x.dtype == lf.float32 and y.dtype == lf.int64
    assert x.tolist()[1] == [2.0, 3.0]


def test_drop_last_drops_the_short_batch():
    loader = DataLoader(_dataset(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert _rows(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_shuffle_is_a_permutation_reproducible_from_a_seed():
    def epoch_orders(seed):
        loader = DataLoader(_dataset(50), batch_size=8, shuffle=True,
                            generator=lf.Generator().manual_seed(seed))
        return [sum(_rows(loader), []) for _ in range(2)]

    first, second = epoch_orders(3)
    assert sorted(first) == list(range(50)) and first != list(range(50))
    assert first != second, "each epoch must reshuffle"
    assert epoch_orders(3) == [first, second]
    assert epoch_orders(4)[0] != first


def test_shuffle_without_generator_follows_manual_seed():
    lf.manual_seed(11)
    a = sum(_rows(DataLoader(_dataset(30), batch_size=7, shuffle=True)), [])
    lf.manual_seed(11)
    b = sum(_rows(DataLoader(_dataset(30), batch_size=7, shuffle=True)), [])
    assert a == b and sorted(a) == list(range(30))


@pytest.mark.parametrize("shuffle,drop_last", [(False, False), (True, False), (True, True)])
def test_fast_path_gives_the_same_batches_as_per_sample_collation(shuffle, drop_last):
    ds = _dataset(23)
    fast = DataLoader(ds, batch_size=5, shuffle=shuffle, drop_last=drop_last,
                      generator=lf.Generator().manual_seed(0))
    slow = DataLoader(_SlowPath(ds), batch_size=5, shuffle=shuffle, drop_last=drop_last,
                      generator=lf.Generator().manual_seed(0))
    fast_batches, slow_batches = list(fast), list(slow)
    assert len(fast_batches) == len(slow_batches) == len(fast)
    for (fx, fy), (sx, sy) in zip(fast_batches, slow_batches):
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())
        np.testing.assert_array_equal(fy.numpy(), sy.numpy())
        assert fx.dtype == sx.dtype and fy.dtype == sy.dtype


def test_fast_path_batches_do_not_alias_the_dataset():
    ds = _dataset(8)
    x, _ = next(iter(DataLoader(ds, batch_size=4)))
    x.fill_(-1.0)
    assert ds.tensors[0].tolist()[0] == [0.0, 1.0]


def test_subset_of_tensor_dataset_batches_the_subset_rows():
    ds = _dataset(10)
    inner = Subset(ds, [9, 7, 5, 3, 1])
    outer = Subset(inner, [4, 0, 2])
    assert _rows(DataLoader(inner, batch_size=2)) == [[9, 7], [5, 3], [1]]
    assert _rows(DataLoader(outer, batch_size=3)) == [[1, 9, 5]]


def test_collate_of_dicts_tuples_numbers_and_arrays():
    Point = namedtuple("Point", "x y")
    samples = [{"image": np.full((2, 2), i, dtype=np.float32), "label": i, "weight": 0.5 * i,
                "name": f"s{i}", "pair": (lf.tensor([i, i]), i), "point": Point(i, -i),
                "flag": np.float32(i)} for i in range(3)]
    batch = default_collate(samples)
    assert batch["image"].shape == (3, 2, 2) and batch["image"].dtype == lf.float32
    assert batch["label"].tolist() == [0, 1, 2] and batch["label"].dtype == lf.int64
    assert batch["weight"].dtype == lf.float64  # Python floats collate to float64, as in PyTorch
    assert batch["name"] == ["s0", "s1", "s2"]
    assert isinstance(batch["pair"], list) and batch["pair"][0].shape == (3, 2)
    assert isinstance(batch["point"], Point) and batch["point"].y.tolist() == [0, -1, -2]
    assert batch["flag"].dtype == lf.float32


def test_loader_collates_a_dataset_of_dicts():
    class Records(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": lf.ones(3) * i, "y": i % 2}

    batches = list(DataLoader(Records(), batch_size=2))
    assert [b["y"].tolist() for b in batches] == [[0, 1], [0, 1], [0]]
    assert batches[1]["x"].tolist() == [[2.0] * 3, [3.0] * 3]


def test_collate_errors_name_the_problem():
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(RuntimeError, match=r"\[2\] at entry 0 and \[3\] at entry 1"):
        default_collate([lf.zeros(2), lf.zeros(3)])
    with pytest.raises(TypeError, match="object"):
        default_collate([object(), object()])


def test_custom_collate_fn_and_batch_sampler():
    ds = _dataset(6)
    loader = DataLoader(ds, batch_size=3, collate_fn=lambda samples: [int(s[1]) for s in samples])
    assert list(loader) == [[0, 1, 2], [3, 4, 5]]
    sampler = BatchSampler(SequentialSampler(ds), batch_size=4, drop_last=False)
    loader = DataLoader(ds, batch_sampler=sampler)
    assert _rows(loader) == [[0, 1, 2, 3], [4, 5]] and len(loader) == 2
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, batch_sampler=sampler, shuffle=True)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=SequentialSampler(ds), shuffle=True)


def test_explicit_sampler_and_replacement():
    ds = _dataset(10)
    sampler = RandomSampler(ds, replacement=True, num_samples=25, generator=lf.Generator().manual_seed(1))
    loader = DataLoader(ds, batch_size=10, sampler=sampler)
    rows = sum(_rows(loader), [])
    assert len(rows) == 25 and len(loader) == 3 and set(rows) <= set(range(10))
    assert len(set(rows)) < 25  # drawn with replacement


def test_batch_size_none_yields_single_converted_samples():
    samples = list(DataLoader([np.ones(2), np.zeros(2)], batch_size=None))
    assert all(isinstance(s, lf.Tensor) and s.shape == (2,) for s in samples)


def test_iterable_dataset_streams_in_batches():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(7))

    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]


def test_random_split_by_lengths_and_fractions():
    ds = _dataset(10)
    train, val = random_split(ds, [7, 3], generator=lf.Generator().manual_seed(0))
    assert len(train) == 7 and len(val) == 3
    assert sorted(train.indices + val.indices) == list(range(10))
    again, _ = random_split(ds, [7, 3], generator=lf.Generator().manual_seed(0))
    assert again.indices == train.indices
    a, b, c = random_split(ds, [0.5, 0.3, 0.2], generator=lf.Generator().manual_seed(0))
    assert (len(a), len(b), len(c)) == (5, 3, 2)
    parts = random_split(_dataset(11), [0.34, 0.33, 0.33])
    assert [len(p) for p in parts] == [4, 4, 3]  # the remainder goes round-robin, as in PyTorch
    with pytest.raises(ValueError, match=r"Sum of input lengths \(9\).*\(10\)"):
        random_split(ds, [5, 4])
    x, y = train[0]
    assert y.item() == train.indices[0]


def test_concat_dataset():
    both = _dataset(3) + _dataset(2)
    assert isinstance(both, ConcatDataset) and len(both) == 5
    assert both[3][1].item() == 0 and both[-1][1].item() == 1
