"""The computational graph a forward pass builds, read back from the engine (training.autograd_graph)."""
from __future__ import annotations

import numpy as np
import pytest

from layerforge import engine
from layerforge.data import synthetic
from layerforge.graph import compile_spec
from layerforge.graph.model_templates import mlp_classifier
from layerforge.training import TrainingSettings
from layerforge.training.autograd_graph import (FUSED_IN_TORCH, GraphProbe, forward_pass_count, layer_outputs,
                                                torch_names)
from layerforge.training.build import make_loss


def two_layer_mlp():
    """Input(2) -> fc1 Linear(8) -> tanh1 -> fc2 Linear(3): the graph the issue asks to assert."""
    spec = mlp_classifier(in_features=2, num_classes=3, hidden=8)
    for node_id in [n for n in spec.topological_order() if spec.nodes[n].name in ("fc2", "tanh2")]:
        spec.remove_node(node_id)
    ids = {spec.nodes[n].name: n for n in spec.topological_order()}
    spec.connect(ids["tanh1"], ids["fc3"])
    spec.rename(ids["fc3"], "fc2")
    return spec


@pytest.fixture
def probe():
    settings = TrainingSettings(loss="cross_entropy", batch_size=16, seed=3)
    return GraphProbe(two_layer_mlp(), synthetic.spiral(120), settings)


def test_the_graph_of_a_two_layer_mlp_node_by_node(probe):
    graph = probe.graph(0, step=False)
    described = [(n.name, n.kind, n.shape, n.group) for n in graph.nodes]
    assert described == [
        ("input", "input", (16, 2), None),
        ("fc1.weight", "param", (8, 2), "fc1"), ("fc1.bias", "param", (8,), "fc1"),
        ("fc2.weight", "param", (3, 8), "fc2"), ("fc2.bias", "param", (3,), "fc2"),
        ("LinearBackward", "op", (16, 8), "fc1"),
        ("TanhBackward", "op", (16, 8), "tanh1"),
        ("LinearBackward", "op", (16, 3), "fc2"),
        ("ClassIndexLossBackward", "loss", (), "loss"),
    ]
    ids = {(n.name, n.group): n.id for n in graph.nodes}
    names = {n.id: (n.name, n.group) for n in graph.nodes}
    edges = sorted((names[e.source], names[e.target], e.slot) for e in graph.edges)
    fc1, tanh1, fc2 = ("LinearBackward", "fc1"), ("TanhBackward", "tanh1"), ("LinearBackward", "fc2")
    assert edges == sorted([
        (("input", None), fc1, 0), (("fc1.weight", "fc1"), fc1, 1), (("fc1.bias", "fc1"), fc1, 2),
        (fc1, tanh1, 0),
        (tanh1, fc2, 0), (("fc2.weight", "fc2"), fc2, 1), (("fc2.bias", "fc2"), fc2, 2),
        (fc2, ("ClassIndexLossBackward", "loss"), 0),
    ])
    assert graph.groups == [("fc1", "Linear"), ("tanh1", "Tanh"), ("fc2", "Linear"), ("loss", "Loss")]
    assert graph.inputs_of(ids[fc2]) == [ids[tanh1], ids[("fc2.weight", "fc2")], ids[("fc2.bias", "fc2")]]
    assert not graph.stepped and all(n.grad_norm is None for n in graph.nodes)


def test_each_node_holds_its_output_and_the_loss_its_value(probe):
    graph = probe.graph(1, step=False)
    train = probe.problem.train
    index = probe.batch_indices(1)
    assert np.array_equal(graph.node(graph.named("input")[0].id).value, train.x[index])
    fc1 = graph.named("LinearBackward")[0]
    w, b = graph.named("fc1.weight")[0].value, graph.named("fc1.bias")[0].value
    np.testing.assert_allclose(fc1.value, train.x[index] @ w.T + b, rtol=1e-5, atol=1e-6)
    assert graph.named("ClassIndexLossBackward")[0].value == pytest.approx(graph.loss)


def test_the_gradient_norms_are_those_of_a_plain_backward_and_nothing_is_written(probe):
    before = {k: v.numpy().copy() for k, v in probe.model.state_dict().items()}
    graph = probe.graph(2)
    assert graph.stepped
    assert all(p.grad is None for p in probe.model.parameters())          # hooks only: no .grad written
    assert all(np.array_equal(v.numpy(), before[k]) for k, v in probe.model.state_dict().items())

    model = compile_spec(probe.spec)
    model.load_state_dict({k: engine.from_numpy(v) for k, v in before.items()})
    train, index = probe.problem.train, probe.batch_indices(2)
    loss = make_loss(probe.settings)(model(engine.from_numpy(train.x[index])), engine.from_numpy(train.target[index]))
    loss.backward()
    for name, param in model.named_parameters():
        node = graph.named(name)[0]
        assert node.grad_norm == pytest.approx(float(np.linalg.norm(param.grad.numpy())), rel=1e-5)
        np.testing.assert_allclose(node.grad, param.grad.numpy(), rtol=1e-5, atol=1e-7)
    assert graph.named("ClassIndexLossBackward")[0].grad_norm == 1.0


def test_a_step_counts_one_forward_pass(probe):
    before = forward_pass_count()
    probe.graph(0)
    probe.graph(1, step=False)
    assert forward_pass_count() == before + 2


def test_the_initial_weights_are_those_a_run_starts_from_and_the_random_stream_is_kept():
    from layerforge.training.trainer import Trainer

    spec, data = two_layer_mlp(), synthetic.spiral(60)
    settings = TrainingSettings(loss="cross_entropy", seed=11)
    engine.manual_seed(5)
    expected_next = engine.rand(3).numpy()
    engine.manual_seed(5)
    probe = GraphProbe(spec, data, settings)
    assert np.array_equal(engine.rand(3).numpy(), expected_next)
    trainer = Trainer(spec, data, settings, health=False)
    for key, value in trainer.state_dict().items():
        assert np.array_equal(probe.model.state_dict()[key].numpy(), np.asarray(value))


def test_the_layer_values_caught_by_hooks_are_the_models_own_forward():
    from layerforge.graph import infer_shapes
    from layerforge.workspace import Workspace

    workspace = Workspace()
    workspace.open_example("digits_residual", discard=True)
    spec = workspace.spec
    model = compile_spec(spec).eval()
    report = infer_shapes(spec)
    x = engine.randn(2, *report.input_shape)
    out, values = layer_outputs(model, spec, report, x)
    np.testing.assert_array_equal(out.detach().numpy(), model(x).detach().numpy())
    merges = [n for n in report.order if spec.nodes[n].layer.merge is not None]
    assert merges and all(n in values for n in merges)
    assert values[report.output_id] is out


def test_a_residual_model_groups_its_add_under_the_merge_layer():
    from layerforge.workspace import Workspace

    workspace = Workspace()
    workspace.open_example("digits_residual", discard=True)
    settings = workspace.settings.replace(batch_size=4)
    graph = GraphProbe(workspace.spec, workspace.dataset, settings).graph(0)
    add = graph.named("AddBackward")[0]
    assert add.group == "add1"
    assert len(graph.inputs_of(add.id)) == 2
    assert {graph.node(i).group for i in graph.inputs_of(add.id)} == {"bn2", "relu1"}
    assert all(n.grad_norm is not None and np.isfinite(n.grad_norm) for n in graph.nodes if n.kind != "input")


# ------------------------------------------------------------------------------ against PyTorch
def _canonical_engine(graph):
    """(PyTorch's names, output shape, grad norm, children sorted) from the loss down; params by name."""
    by_id = {n.id: n for n in graph.nodes}

    def form(node_id):
        node = by_id[node_id]
        if node.kind == "param":
            return (("param", node.name), node.shape, node.grad_norm, ())
        children = tuple(sorted((form(i) for i in graph.inputs_of(node_id) if by_id[i].kind != "input"),
                                key=_key))
        return (torch_names(node.name), node.shape, node.grad_norm, children)
    loss = next(n for n in graph.nodes if n.kind == "loss")
    return form(loss.id)


def _canonical_torch(loss, model):
    """The same for PyTorch's graph, with the nodes the engine fuses folded into the last of them."""
    names = {id(p): n for n, p in model.named_parameters()}
    grad_out = {}
    stack, seen = [loss.grad_fn], set()
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen or not fn.next_functions and hasattr(fn, "variable"):
            continue
        seen.add(id(fn))
        fn.register_prehook(lambda grads, fn=fn: grad_out.__setitem__(fn, grads[0].detach().clone()))
        stack.extend(f for f, _ in fn.next_functions)
    loss.backward()
    folded_into = {run[-1]: run[:-1] for run in FUSED_IN_TORCH.values()}

    def children_of(fn):
        result = []
        for child, _ in fn.next_functions:
            if child is None:
                continue
            if child.name() in folded_into.get(fn.name(), ()):   # e.g. AddmmBackward0's TBackward0
                result.extend(children_of(child))
                inner = child.name()
                result = [r for r in result if r is not None]
                fused.setdefault(fn, []).insert(0, inner)
            else:
                result.append(child)
        return result

    fused: dict = {}

    def form(fn):
        if hasattr(fn, "variable"):
            p = fn.variable
            return (("param", names[id(p)]), tuple(p.shape), float(p.grad.norm()), ())
        kids = children_of(fn)
        children = tuple(sorted((form(c) for c in kids), key=_key))
        grad = grad_out[fn]
        return (tuple(fused.get(fn, [])) + (fn.name(),), tuple(grad.shape), float(grad.norm()), children)
    return form(loss.grad_fn)


def _key(form):
    return repr((form[0], form[1]))


def _assert_same(ours, theirs, where="loss"):
    assert ours[0] == theirs[0], f"{where}: {ours[0]} vs {theirs[0]}"
    assert ours[1] == theirs[1], f"{where} {ours[0]}: shape {ours[1]} vs {theirs[1]}"
    assert ours[2] == pytest.approx(theirs[2], rel=1e-4, abs=1e-7), f"{where} {ours[0]}: grad norm"
    assert len(ours[3]) == len(theirs[3]), f"{where} {ours[0]}: inputs {[c[0] for c in ours[3]]} vs " \
                                           f"{[c[0] for c in theirs[3]]}"
    for a, b in zip(ours[3], theirs[3]):
        _assert_same(a, b, f"{where} <- {ours[0][-1]}")


def test_the_graph_matches_what_torch_builds_for_the_same_model(probe):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the graph's structure")
    graph = probe.graph(0)
    model = compile_spec(probe.spec, nn=torch.nn)
    model.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in probe.model.state_dict().items()})
    train, index = probe.problem.train, probe.batch_indices(0)
    out = model(torch.from_numpy(train.x[index]))
    loss = torch.nn.functional.cross_entropy(out, torch.from_numpy(train.target[index]))
    assert loss.item() == pytest.approx(graph.loss, rel=1e-5)
    theirs = _canonical_torch(loss, model)
    ours = _canonical_engine(graph)
    assert theirs[0] == ("LogSoftmaxBackward0", "NllLossBackward0")
    _assert_same(ours, theirs)


def test_a_layer_with_its_own_forward_owns_the_ops_it_runs():
    """The positional embedding calls its table with positions and adds: its ops are its own, and
    the token embedding before it keeps its lookup."""
    from layerforge.workspace import Workspace

    workspace = Workspace()
    workspace.open_example("transformer_sequences", discard=True)
    if workspace.dataset is None:
        pytest.skip(f"the example's data is not here: {workspace.data_unavailable}")
    graph = GraphProbe(workspace.spec, workspace.dataset, workspace.settings.replace(batch_size=2)).graph(0)
    assert [n.name for n in graph.in_group("embed1")] == ["embed1.weight", "EmbeddingBackward"]
    assert sorted(n.name for n in graph.in_group("pos1")) == ["AddBackward", "EmbeddingBackward", "pos1.weight"]
    assert graph.in_group("encoder1") and all(n.grad_norm is not None for n in graph.in_group("encoder1"))
