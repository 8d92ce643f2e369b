"""Work placed on a second GPU stays there: the ops, their gradients, the optimizer and the Trainer.

cupy runs every kernel on the *current* GPU (device 0 unless code says otherwise) and puts its
result there; PyTorch runs an op on its inputs' device. Without care, a model moved to "cuda:1"
computes on GPU 0 through peer access. These need two GPUs: the simulated GPU has two
(LAYERFORGE_SIMULATED_GPU=1), and refuses a kernel reading another GPU's array.
"""
from __future__ import annotations

import pytest

import layerforge.engine as lf
from layerforge.data import load_dataset
from layerforge.engine import backend
from layerforge.graph import get_template
from layerforge.training import Trainer, TrainingSettings
from layerforge.training.examples import spec_for_dataset

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(lf.cuda.device_count() < 2, reason="needs two CUDA GPUs")]
SECOND = lf.device("cuda:1")


def on_second(tensor) -> bool:
    return tensor is not None and backend.device_of(tensor._data) == SECOND


def test_a_model_on_the_second_gpu_trains_there():
    lf.manual_seed(0)
    model = lf.nn.Sequential(
        lf.nn.Conv2d(1, 4, 3, padding=1), lf.nn.BatchNorm2d(4), lf.nn.ReLU(), lf.nn.MaxPool2d(2),
        lf.nn.Flatten(), lf.nn.Linear(4 * 4 * 4, 16), lf.nn.Tanh(), lf.nn.Dropout(0.2), lf.nn.Linear(16, 3))
    model.to("cuda:1")
    optimizer = lf.optim.Adam(model.parameters(), lr=0.01)
    x = lf.randn(8, 1, 8, 8, device="cuda:1")
    y = lf.tensor([0, 1, 2, 0, 1, 2, 0, 1], device="cuda:1")
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = lf.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert on_second(loss) and losses[-1] < losses[0]
    for name, p in model.named_parameters():
        assert on_second(p) and on_second(p.grad), name
    for name, buffer in model.named_buffers():
        assert on_second(buffer), name
    for state in optimizer.state.values():
        assert on_second(state["exp_avg"]) and on_second(state["exp_avg_sq"])


def test_an_lstm_and_a_fused_optimizer_on_the_second_gpu():
    lstm = lf.nn.LSTM(3, 5, batch_first=True).to("cuda:1")
    optimizer = lf.optim.SGD(lstm.parameters(), lr=0.1, momentum=0.9, fused=True)
    x = lf.randn(2, 4, 3, device="cuda:1")
    for _ in range(3):
        optimizer.zero_grad()
        out, (h, c) = lstm(x)
        (out.pow(2).mean() + h.sum() * 0.1).backward()
        optimizer.step()
    assert on_second(out) and on_second(h) and on_second(c)
    assert all(on_second(p) and on_second(optimizer.state[p]["momentum_buffer"]) for p in lstm.parameters())


def test_moving_between_gpus_carries_the_gradient_back():
    a = lf.ones(3, device="cuda:0", requires_grad=True)
    b = a.to("cuda:1") * 2
    assert on_second(b)
    b.sum().backward()
    assert a.grad.device == lf.device("cuda:0") and a.grad.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(RuntimeError, match="same device.*cuda:0 and cuda:1|same device.*cuda:1 and cuda:0"):
        lf.ones(2, device="cuda:0") + lf.ones(2, device="cuda:1")


def test_optimizer_state_from_the_first_gpu_loads_onto_the_second():
    first = lf.nn.Linear(3, 2).to("cuda:0")
    optimizer = lf.optim.Adam(first.parameters())
    first(lf.randn(4, 3, device="cuda:0")).sum().backward()
    optimizer.step()
    second = lf.nn.Linear(3, 2).to("cuda:1")
    second.load_state_dict(first.state_dict())
    moved = lf.optim.Adam(second.parameters())
    moved.load_state_dict(optimizer.state_dict())
    assert all(on_second(s["exp_avg"]) for s in moved.state.values())
    second(lf.randn(4, 3, device="cuda:1")).sum().backward()
    moved.step()
    assert all(on_second(p) for p in second.parameters())


def test_random_numbers_on_the_second_gpu_are_seeded_and_stay_there():
    lf.manual_seed(3)
    a = lf.randn(5, device="cuda:1")
    lf.manual_seed(3)
    b = lf.randn(5, device="cuda:1")
    assert on_second(a) and lf.equal(a, b)
    assert on_second(lf.randperm(6, device="cuda:1"))


def test_the_trainer_runs_on_the_second_gpu():
    spiral = load_dataset("spiral")
    template = get_template("mlp_classifier")
    settings = TrainingSettings.from_template(template, device="cuda:1", epochs=2, snapshot_every=0)
    trainer = Trainer(spec_for_dataset(template, spiral), spiral, settings)
    assert trainer.device == "cuda:1" and "cuda:1" in trainer.device_reason
    assert all(on_second(p) for p in trainer.model.parameters())
    result = trainer.run()
    assert result.status == "completed", result.reason
    assert all(on_second(p) for p in trainer.model.parameters())
