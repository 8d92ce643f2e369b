"""Stepping through one layer on one sample (training.step_recorder)."""
from __future__ import annotations

import numpy as np
import pytest

from layerforge import engine
from layerforge.graph import compile_spec
from layerforge.training import TrainingError
from layerforge.training.autograd_graph import GraphProbe
from layerforge.training.build import make_loss
from layerforge.training.step_recorder import record_layer
from layerforge.workspace import Workspace


@pytest.fixture(scope="module")
def spiral_probe():
    workspace = Workspace()
    workspace.open_example("spiral", discard=True)
    return GraphProbe(workspace.spec, workspace.dataset, workspace.settings)


def _plain_backward(probe, sample):
    """The same sample through a plain engine forward and backward, with the layer inputs kept."""
    model = compile_spec(probe.spec).eval()
    model.load_state_dict(probe.model.state_dict())
    train = probe.problem.train
    x = engine.from_numpy(train.x[[sample]]).requires_grad_(True)
    h = model.fc1(x)
    h.retain_grad()
    loss = make_loss(probe.settings)(model.fc3(model.tanh2(model.fc2(model.tanh1(h)))),
                                     engine.from_numpy(train.target[[sample]]))
    loss.backward()
    return model, x, h, loss


def test_a_linear_layer_steps_forward_then_backward_with_the_engines_values(spiral_probe):
    recording = record_layer(spiral_probe, "fc1", 7)
    model, x, h, loss = _plain_backward(spiral_probe, 7)
    assert (recording.layer, recording.layer_type, recording.sample) == ("fc1", "Linear", 7)
    assert recording.label == spiral_probe.problem.class_names[int(spiral_probe.problem.train.raw.y[7])]
    assert recording.loss == pytest.approx(loss.item(), rel=1e-6)
    assert [(s.phase, s.name) for s in recording.steps] == [("forward", "LinearBackward"),
                                                           ("backward", "LinearBackward")]
    forward, backward = recording.forward[0], recording.backward[0]
    assert [t.label for t in forward.inputs] == ["x (the sample)", "fc1.weight", "fc1.bias"]
    assert forward.formula.startswith("y = x")
    np.testing.assert_allclose(forward.output.value, h.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(backward.output.grad, h.grad.numpy(), rtol=1e-5, atol=1e-8)
    grads = [x.grad, model.fc1.weight.grad, model.fc1.bias.grad]
    for recorded, expected in zip(backward.inputs, grads):
        np.testing.assert_allclose(recorded.grad, expected.numpy(), rtol=1e-5, atol=1e-8)


def test_backward_runs_in_the_engines_order_and_the_later_layer_reads_the_earlier_output(spiral_probe):
    recording = record_layer(spiral_probe, "tanh1", 0)
    step = recording.forward[0]
    assert step.name == "TanhBackward" and [t.label for t in step.inputs] == ["fc1 output"]
    np.testing.assert_allclose(step.output.value, np.tanh(step.inputs[0].value), rtol=1e-6)
    # The gradient a tanh hands back is its output's times 1 - y**2: the engine's node, read back.
    back = recording.backward[0]
    np.testing.assert_allclose(back.inputs[0].grad, back.output.grad * (1 - back.output.value ** 2),
                               rtol=1e-4, atol=1e-7)


def test_nothing_changes_in_the_model_it_steps_through(spiral_probe):
    before = {k: v.numpy().copy() for k, v in spiral_probe.model.state_dict().items()}
    record_layer(spiral_probe, "fc2", 3)
    assert all(p.grad is None for p in spiral_probe.model.parameters())
    assert all(np.array_equal(v.numpy(), before[k]) for k, v in spiral_probe.model.state_dict().items())


def test_bad_requests_say_what_is_wrong(spiral_probe):
    with pytest.raises(TrainingError, match="no layer named 'nope'"):
        record_layer(spiral_probe, "nope", 0)
    n = len(spiral_probe.problem.train)
    with pytest.raises(TrainingError, match=f"sample {n} is out of range"):
        record_layer(spiral_probe, "fc1", n)


def test_the_loss_steps_with_the_target_it_compares_with(spiral_probe):
    recording = record_layer(spiral_probe, "loss", 2)
    step = recording.forward[0]
    assert step.name == "ClassIndexLossBackward" and [t.label for t in step.inputs] == ["fc3 output", "target"]
    assert step.inputs[1].value.tolist() == [int(spiral_probe.problem.train.target[2])]
    logits = step.inputs[0].value[0]
    expected = -np.log(np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum())[step.inputs[1].value[0]]
    assert float(step.output.value) == pytest.approx(expected, rel=1e-5)
    back = recording.backward[0]
    softmax = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(back.inputs[0].grad[0], softmax - np.eye(3)[step.inputs[1].value[0]], rtol=1e-4, atol=1e-6)
