"""Training-batch augmentation: random crop with padding and horizontal flip, saved with the data
source, applied by the Trainer to training batches only."""
import numpy as np
import pytest

from layerforge.data import DataError, DataSource
from layerforge.data.augment import BatchAugmenter, augmenter_for, check_augment


def test_settings_are_checked_and_kept_only_when_on():
    assert check_augment({"crop_padding": 0, "hflip": False}) == {}
    assert check_augment({"crop_padding": 4, "hflip": True}) == {"crop_padding": 4, "hflip": True}
    with pytest.raises(DataError, match="'crop_padding' must be a whole number of pixels in 0..16"):
        check_augment({"crop_padding": 40})
    with pytest.raises(DataError, match="unknown key.*'rotate'"):
        check_augment({"rotate": 10})
    source = DataSource.from_dict({"kind": "builtin", "name": "digits", "augment": {"hflip": True}})
    assert source.to_dict()["augment"] == {"hflip": True}
    assert "augment" not in DataSource.builtin("digits").to_dict()
    assert source.load().augment == {"hflip": True}
    with pytest.raises(DataError, match="augmentation .* works on images"):
        DataSource.from_dict({"kind": "builtin", "name": "spiral", "augment": {"hflip": True}}).load()


def test_flip_and_crop_move_pixels_and_pad_with_black():
    x = np.arange(2 * 1 * 4 * 4, dtype=np.float32).reshape(2, 1, 4, 4) + 1
    flip = BatchAugmenter({"hflip": True}, np.zeros((1, 4, 4)), seed=0)
    outs = [flip(x, 1, b) for b in range(8)]
    for out in outs:
        for i in range(2):
            assert np.array_equal(out[i], x[i]) or np.array_equal(out[i], x[i, :, :, ::-1])
    assert any(not np.array_equal(out, x) for out in outs) and np.array_equal(x[0, 0, 0], [1, 2, 3, 4])
    crop = BatchAugmenter({"crop_padding": 2}, np.full((1, 4, 4), -5.0), seed=0)
    out = crop(x, 1, 0)
    assert out.shape == x.shape and out.dtype == np.float32
    for i in range(2):   # every output is a window of the image padded with the black value
        padded = np.pad(x[i, 0], 2, constant_values=-5.0)
        windows = [padded[a:a + 4, b:b + 4] for a in range(5) for b in range(5)]
        assert any(np.array_equal(out[i, 0], w) for w in windows)
    np.testing.assert_array_equal(crop(x, 1, 0), out)   # the same (seed, epoch, batch): the same batch
    assert not all(np.array_equal(crop(x, 1, b), out) for b in range(1, 6))


def test_trainer_augments_training_batches_only():
    from layerforge.graph import get_template
    from layerforge.training import Trainer, TrainingSettings
    from layerforge.training.examples import spec_for_dataset

    dataset = DataSource.from_dict({"kind": "builtin", "name": "digits",
                                    "augment": {"crop_padding": 1, "hflip": True}}).load()
    spec = spec_for_dataset(get_template("lenet"), dataset)
    trainer = Trainer(spec, dataset, TrainingSettings(epochs=1, batch_size=64, device="cpu", snapshot_every=0),
                      health=False)
    seen = []
    real = trainer.model.forward

    def spy(inputs):
        seen.append((trainer.model.training, inputs.numpy().copy()))
        return real(inputs)

    trainer.model.forward = spy
    assert trainer.run().ok
    train_batches = [x for training, x in seen if training]
    assert train_batches and any(x.shape[0] == 64 for x in train_batches)
    raw = trainer.problem.train.x
    assert not any(np.array_equal(x, raw[:len(x)]) for x in train_batches)
    assert augmenter_for(dataset, trainer.problem.model_inputs) is not None
