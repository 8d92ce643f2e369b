"""Every template trains on a CUDA GPU, on the GPU, and learns. Skipped where no GPU/cupy is present.

Run with ``tests/gpu/run_gpu_checks.sh`` (``pytest -m gpu``) on a machine with an NVIDIA GPU and cupy.
"""
from __future__ import annotations

import math

import pytest

import layerforge.engine as lf
from layerforge.data import load_dataset
from layerforge.engine import backend
from layerforge.graph import TEMPLATES
from layerforge.training import Trainer, TrainingSettings
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


def test_auto_picks_the_cpu_for_a_playground_model_and_says_why():  # with or without a GPU
    template = next(t for t in TEMPLATES if t.key == "mlp_classifier")
    dataset = load_dataset(template.dataset)
    settings = TrainingSettings.from_template(template, device="auto", epochs=1, snapshot_every=0)
    trainer = Trainer(spec_for_dataset(template, dataset), dataset, settings)
    assert trainer.device == "cpu"
    assert "small" in trainer.device_reason
