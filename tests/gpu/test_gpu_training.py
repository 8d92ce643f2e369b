"""Every template trains on a CUDA GPU, on the GPU, and learns. Skipped where no GPU/cupy is present.

Run with ``tests/gpu/run_gpu_checks.sh`` (``pytest -m gpu``) on a machine with an NVIDIA GPU and cupy.
"""
from __future__ import annotations

import math
import re
import sys

import pytest

import layerforge.engine as lf
from layerforge.data import load_dataset
from layerforge.engine import backend
from layerforge.graph import TEMPLATES
from layerforge.training import Trainer, TrainingError, TrainingSettings
from layerforge.training.examples import spec_for_dataset

DEVICE = "cuda"
ON_DEVICE = backend.is_gpu_array

@pytest.mark.gpu
@pytest.mark.skipif(not lf.cuda.is_available(), reason=f"no CUDA GPU: {lf.cuda.unavailable_reason()}")
@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.key)
def test_template_trains_on_the_gpu_and_learns(template):
    dataset = load_dataset(template.dataset)
    settings = TrainingSettings.from_template(template, device=DEVICE, epochs=3, snapshot_every=0)
    trainer = Trainer(spec_for_dataset(template, dataset), dataset, settings)
    assert trainer.device == DEVICE
    assert all(ON_DEVICE(p._data) for p in trainer.model.parameters())
    result = trainer.run()
    assert result.status == "completed", result.reason
    losses = result.history["step_loss"]
    assert all(math.isfinite(v) for v in losses)
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first, f"{template.key}: the batch loss did not fall on the GPU ({first:.4f} -> {last:.4f})"
    # The optimizer's state lives on the GPU too: nothing fell back to the host.
    for state in trainer.optimizer.state.values():
        for key, value in state.items():
            if key != "step" and isinstance(value, lf.Tensor):
                assert ON_DEVICE(value._data), f"optimizer state {key!r} is on the host"


@pytest.mark.gpu
@pytest.mark.skipif(not lf.cuda.is_available(), reason=f"no CUDA GPU: {lf.cuda.unavailable_reason()}")
def test_auto_picks_the_gpu_for_a_large_model_and_says_why():
    template = next(t for t in TEMPLATES if t.key == "mlp_classifier")
    dataset = load_dataset(template.dataset)
    spec = spec_for_dataset(template, dataset)
    linears = [node.id for node in spec.nodes.values() if node.type == "Linear"]
    spec.set_param(linears[0], "out_features", 1024)
    spec.set_param(linears[1], "out_features", 1024)  # about 1.05 million parameters
    settings = TrainingSettings.from_template(template, device="auto", epochs=1, snapshot_every=0)
    trainer = Trainer(spec, dataset, settings)
    assert trainer.device == "cuda"
    assert trainer.device_reason.startswith("auto: GPU ") and "1,0" in trainer.device_reason
    assert trainer.run().status == "completed"


def test_auto_picks_the_cpu_for_a_playground_model_and_says_why():  # with or without a GPU
    template = next(t for t in TEMPLATES if t.key == "mlp_classifier")
    dataset = load_dataset(template.dataset)
    settings = TrainingSettings.from_template(template, device="auto", epochs=1, snapshot_every=0)
    trainer = Trainer(spec_for_dataset(template, dataset), dataset, settings)
    assert trainer.device == "cpu"
    assert "small" in trainer.device_reason


def _lenet_too_big_for_any_gpu():
    # LeNet on the digits with 524,288 filters in its first convolution: the weights fit (0.3 GB),
    # the first layer's output for one batch does not (about 180 GiB, more than any GPU has).
    digits = load_dataset("digits")
    template = next(t for t in TEMPLATES if t.key == "lenet")
    spec = spec_for_dataset(template, digits)
    first_conv = next(node.id for node in spec.nodes.values() if node.type == "Conv2d")
    spec.set_param(first_conv, "out_channels", 2 ** 19)
    settings = TrainingSettings.from_template(template, device=DEVICE, epochs=1, batch_size=4096,
                                              snapshot_every=0)
    return spec, digits, settings


@pytest.mark.gpu
@pytest.mark.skipif(not lf.cuda.is_available(), reason=f"no CUDA GPU: {lf.cuda.unavailable_reason()}")
def test_a_run_too_big_for_the_gpu_is_refused_before_it_starts_with_the_numbers():
    spec, digits, settings = _lenet_too_big_for_any_gpu()
    with pytest.raises(TrainingError, match=r"needs about .* but cuda.* available") as refusal:
        Trainer(spec, digits, settings)
    assert "Conv2d" in str(refusal.value) or "batch size" in str(refusal.value), str(refusal.value)
    assert lf.ones(3, device=DEVICE).sum().item() == 3.0  # nothing was left allocated


@pytest.mark.gpu
@pytest.mark.skipif(not lf.cuda.is_available(), reason=f"no CUDA GPU: {lf.cuda.unavailable_reason()}")
def test_a_run_too_big_for_the_gpu_fails_saying_what_was_asked_and_what_is_free(monkeypatch):
    # Where the estimate falls short (it is an estimate), the device's own out-of-memory still ends
    # the run cleanly, naming what was asked and what was free.
    spec, digits, settings = _lenet_too_big_for_any_gpu()
    monkeypatch.setattr("layerforge.training.trainer.choose_fitting_device",
                        lambda spec, report, settings, n, device, reason: (device, reason, None))
    trainer = Trainer(spec, digits, settings)
    result = trainer.run()
    assert result.status == "failed"
    assert isinstance(result.error, backend.DeviceOutOfMemoryError), result.reason
    assert "is out of memory in Conv2d.forward" in result.reason, result.reason
    assert re.search(r"\d+\.\d\d GiB was asked for", result.reason), result.reason
    assert "is free on the device" in result.reason and "smaller batch size" in result.reason
    del trainer, result
    lf.cuda.empty_cache()
    assert lf.ones(3, device=DEVICE).sum().item() == 3.0  # the GPU is usable again


@pytest.mark.gpu
@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.key)
def test_a_training_step_reads_its_loss_once_and_no_outputs_from_the_gpu(template):
    # Each read from the GPU waits for its queue to drain. A step reads its loss (the live curve and
    # the divergence check need it); outputs reach the host once per split and epoch, not per batch.
    cupy = sys.modules.get("cupy")
    if not hasattr(cupy, "host_syncs"):
        pytest.skip("host reads are counted on the simulated GPU (LAYERFORGE_SIMULATED_GPU=1)")
    dataset = load_dataset(template.dataset)
    epochs = 2
    settings = TrainingSettings.from_template(template, device=DEVICE, epochs=epochs, snapshot_every=0)
    trainer = Trainer(spec_for_dataset(template, dataset), dataset, settings, health=False)
    cupy.host_syncs.reset()
    result = trainer.run()
    assert result.status == "completed", result.reason
    steps = len(result.history["step_loss"])
    counts = dict(cupy.host_syncs.counts)
    assert counts.get("item") == steps, counts
    splits = 3  # train outputs, validation outputs and losses per epoch; train/val/test at the end
    assert counts.get("get", 0) <= splits * epochs + 2 * splits, counts
    assert not {"float", "int", "tolist"} & set(counts), counts
    # The layers' health (issue #16) reads from the GPU on its own steps only (every 50th, the first
    # and the last), never on the others: the same run with it reads more only by those reports.
    reports = []
    trainer = Trainer(spec_for_dataset(template, dataset), dataset, settings,
                      listener=lambda event: reports.append(event) if type(event).__name__ == "LayerHealth" else None)
    cupy.host_syncs.reset()
    assert trainer.run().status == "completed"
    with_health = dict(cupy.host_syncs.counts)
    assert with_health.get("item") == steps and 1 <= len(reports) <= 2 + steps // 50, (with_health, len(reports))
    layers = len(trainer.spec.nodes)
    extra = with_health.get("get", 0) + with_health.get("bool", 0) - counts.get("get", 0) - counts.get("bool", 0)
    assert extra <= len(reports) * 12 * layers, (extra, len(reports), layers)
