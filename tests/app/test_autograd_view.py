"""View > Computational graph, the parameter inspector and the step-through, driven as a person does."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from window_support import train

from layerforge import engine
from layerforge.app.autograd_items import GraphNodeItem, GroupFrameItem
from layerforge.app.autograd_layout import fold_runs, layout
from layerforge.app.dialogs.step_through_dialog import StepThroughDialog
from layerforge.data import synthetic
from layerforge.graph import ModelSpec, compile_spec
from layerforge.training import TrainingSettings
from layerforge.training.autograd_graph import GraphProbe, forward_pass_count
from layerforge.training.build import make_loss


def open_graph(qtbot, window):
    graph = window.see_inside_graph
    action = window.findChild(type(graph.action), "actionShowAutograd")
    assert action is graph.action and "Computational" in action.text()
    action.trigger()
    qtbot.waitUntil(lambda: graph.view.graph is not None, timeout=5000)
    return graph.view


def _click(qtbot, view, item, double: bool = False):
    view.canvas.ensureVisible(item)
    point = view.canvas.mapFromScene(item.sceneBoundingRect().center())
    if double:
        qtbot.mouseDClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=point)
    else:
        qtbot.mouseClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=point)


def test_the_spiral_mlp_is_drawn_as_its_engine_graph(qtbot, window):
    view = open_graph(qtbot, window)
    assert view.objectName() == "autogradView" and view.isVisible()
    graph = view.graph
    ops = [n.name for n in graph.nodes if n.kind in ("op", "loss")]
    assert ops == ["LinearBackward", "TanhBackward", "LinearBackward", "TanhBackward", "LinearBackward",
                   "ClassIndexLossBackward"]
    params = [(n.name, n.shape) for n in graph.nodes if n.kind == "param"]
    assert params == [("fc1.weight", (16, 2)), ("fc1.bias", (16,)), ("fc2.weight", (16, 16)), ("fc2.bias", (16,)),
                      ("fc3.weight", (3, 16)), ("fc3.bias", (3,))]
    assert len(graph.edges) == 6 + 5 + 1          # the parameters, the chain of ops, the batch
    assert set(view.items) == {n.id for n in graph.nodes}
    assert set(view.frames) == {"fc1", "tanh1", "fc2", "tanh2", "fc3", "loss"}
    # Each frame holds the nodes its layer built; the parameters sit in their layer's frame.
    for node_id, item in view.items.items():
        node = graph.node(node_id)
        if node.group is not None:
            assert view.frames[node.group].sceneBoundingRect().contains(item.sceneBoundingRect())
    assert not graph.stepped and "press Step" in view.status.text()


def test_step_shows_the_gradient_norms_of_a_plain_backward_without_changing_the_weights(qtbot, window):
    view = open_graph(qtbot, window)
    weights = {k: v.numpy().copy() for k, v in view.probe.model.state_dict().items()}
    qtbot.mouseClick(view.step_button, Qt.MouseButton.LeftButton)
    graph = view.graph
    assert graph.stepped and "forward and backward" in view.status.text()
    model = compile_spec(window.workspace.spec)
    model.load_state_dict({k: engine.from_numpy(v) for k, v in weights.items()})
    train_split, index = view.probe.problem.train, graph.batch
    loss = make_loss(window.workspace.settings)(model(engine.from_numpy(train_split.x[index])),
                                                engine.from_numpy(train_split.target[index]))
    loss.backward()
    assert graph.loss == pytest.approx(loss.item(), rel=1e-6)
    for name, param in model.named_parameters():
        assert graph.named(name)[0].grad_norm == pytest.approx(float(np.linalg.norm(param.grad.numpy())), rel=1e-5)
    assert all(np.array_equal(v.numpy(), weights[k]) for k, v in view.probe.model.state_dict().items())
    assert all(p.grad is None for p in view.probe.model.parameters())
    first = graph.batch.copy()
    view.step_button.click()                      # the next press takes the next batch
    assert not np.array_equal(view.graph.batch, first) and "Batch 2 of" in view.status.text()


def test_clicking_a_parameter_shows_its_tensor_in_the_inspector(qtbot, window):
    view = open_graph(qtbot, window)
    view.step()
    node = view.graph.named("fc1.weight")[0]
    _click(qtbot, view, view.items[node.id])
    inspector = view.inspector
    assert inspector.node is node and view.items[node.id].isSelected()
    assert inspector.title.text() == "fc1.weight"
    assert "shape (16, 2)" in inspector.details.text() and "float32" in inspector.details.text()
    assert "cpu" in inspector.details.text()
    assert float(inspector.stat("value", "min")) == pytest.approx(node.value.min(), rel=1e-3)
    assert float(inspector.stat("value", "max")) == pytest.approx(node.value.max(), rel=1e-3)
    assert float(inspector.stat("grad", "norm")) == pytest.approx(node.grad_norm, rel=1e-2)
    assert inspector.values_plot.mode == "heatmap" and inspector.grad_plot.mode == "heatmap"
    inspector.mode.setCurrentIndex(inspector.mode.findData("histogram"))
    assert inspector.values_plot.mode == "histogram"


def test_the_hidden_view_does_no_work_while_the_model_trains(qtbot, window):
    view = open_graph(qtbot, window)
    window.see_inside_graph.action.trigger()       # hidden again
    assert not view.isVisible()
    builds, passes = view.builds, forward_pass_count()
    train(qtbot, window, epochs=3)
    assert (view.builds, forward_pass_count()) == (builds, passes)
    window.see_inside_graph.action.trigger()       # shown: one forward pass, with the trained weights
    qtbot.waitUntil(lambda: view.builds == builds + 1, timeout=5000)
    assert "run 1's weights" in view.status.text()


def test_the_shown_view_follows_a_run_live_and_the_run_ends_as_it_would_without_it(qtbot, window):
    """While shown, the view steps with the running run's weights every few seconds; its passes
    (a model built, dropout drawn) take nothing from the run's random stream: the same seed gives
    the same weights as a run trained with the view hidden."""
    document, spec = window.document, window.workspace.spec
    document.insert_after(spec.node_by_name("tanh1").id, "Dropout")   # a layer that draws numbers
    # long enough for a live step with room to spare: 25 epochs ran 0.4 s, the first live step landing
    # at 0.33 s, and on a loaded machine (two test suites at once) after the run had ended
    train(qtbot, window, epochs=150)
    hidden_run = window.workspace.run.weights
    view = open_graph(qtbot, window)
    view.live_timer.setInterval(20)
    seen = []
    window.training_panel.restart_button.click()   # afresh, from the same seed
    qtbot.waitUntil(lambda: window.workspace.run_state == "running", timeout=5000)
    qtbot.waitUntil(lambda: seen.append(view.status.text()) or "(live)" in view.status.text(), timeout=20_000)
    qtbot.waitUntil(lambda: not window.run.running, timeout=30_000)
    assert not view.live_timer.isActive() and "run 2's weights" in view.status.text()
    shown_run = window.workspace.run.weights
    assert set(shown_run) == set(hidden_run)
    for name in hidden_run:
        np.testing.assert_array_equal(shown_run[name].numpy(), hidden_run[name].numpy(), err_msg=name)


def test_double_clicking_a_layer_steps_through_it(qtbot, window):
    view = open_graph(qtbot, window)
    _click(qtbot, view, view.frames["tanh1"], double=True)
    dialog = view.dialogs[-1]
    qtbot.addWidget(dialog)
    assert isinstance(dialog, StepThroughDialog) and dialog.objectName() == "stepThroughDialog"
    assert dialog.steps.count() == 2 and not dialog.back_button.isEnabled()
    dialog.next_button.click()
    assert "Forward 1 of 1: TanhBackward" in dialog.heading.text()
    cards = dialog.cards_shown()
    inputs, output = cards[0], cards[-1]
    x = np.array([float(t) for t in inputs.numbers()])
    y = np.array([float(t) for t in output.numbers()])
    np.testing.assert_allclose(y, np.tanh(x), rtol=2e-3, atol=2e-3)   # as shown, to 3 digits
    dialog.next_button.click()
    assert "Backward 1 of 1" in dialog.heading.text() and not dialog.next_button.isEnabled()
    dialog.back_button.click()
    assert "Forward 1 of 1" in dialog.heading.text()
    dialog.sample.setValue(5)
    assert dialog.position == -1 and "sample 5" in dialog.windowTitle()


def test_double_clicking_a_layer_on_the_canvas_steps_through_it(qtbot, window):
    canvas = window.canvas
    node_id = window.workspace.spec.node_by_name("fc2").id
    item = canvas.model_scene.nodes[node_id]
    canvas.ensureVisible(item)
    point = canvas.mapFromScene(item.sceneBoundingRect().center())
    qtbot.mouseDClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=point)
    dialogs = window.see_inside_graph.view.dialogs
    assert dialogs and dialogs[-1].layer == "fc2"
    qtbot.addWidget(dialogs[-1])
    dialogs[-1].step()
    assert [c.findChild(type(dialogs[-1].heading), "tensorCardTitle").text() for c in dialogs[-1].cards_shown()] == [
        "<b>tanh1 output</b>", "<b>fc2.weight</b>", "<b>fc2.bias</b>", "<b>LinearBackward output</b>"]
    assert window.see_inside_graph.dock.isHidden()   # the graph itself stayed closed: no work there


# ------------------------------------------------------------------------- folding a deep stack
def deep_stack(blocks: int) -> ModelSpec:
    spec = ModelSpec()
    previous = spec.add_node("Input", {"shape": (2,)}).id
    for _ in range(blocks):
        for kind, params in (("Linear", {"out_features": 4}), ("Tanh", {})):
            node = spec.add_node(kind, params).id
            spec.connect(previous, node)
            previous = node
    last = spec.add_node("Linear", {"out_features": 3}).id
    spec.connect(previous, last)
    return spec


def test_a_deep_stack_of_identical_blocks_folds_into_one_with_its_count():
    settings = TrainingSettings(loss="cross_entropy", batch_size=8)
    graph = GraphProbe(deep_stack(12), synthetic.spiral(40), settings).graph(0)
    folds = fold_runs(graph)
    assert len(folds) == 1 and folds[0].period == 2 and folds[0].count in (11, 12)
    closed, opened = layout(graph), layout(graph, expanded={folds[0].key})
    assert len(closed.positions) < len(opened.positions) == len(graph.nodes)
    assert set(closed.frames) < set(opened.frames)
    shown = folds[0].shown
    stand_ins = [n.id for g in shown for n in graph.in_group(g) if n.id in closed.stand_ins]
    assert stand_ins and all(len(closed.stand_ins[i]) == folds[0].count - 1 for i in stand_ins)
    for source, target in closed.edges:   # every drawn edge joins two drawn nodes
        assert source in closed.positions and target in closed.positions


def test_the_view_draws_a_folded_graph_and_unfolds_it_on_a_click(qtbot, window):
    window.workspace.edit_model("Deep stack", lambda spec: _replace(spec, deep_stack(10)))
    view = open_graph(qtbot, window)
    assert view.graph is not None, view.status.text()
    badges = [i for i in view.scene.items() if type(i).__name__ == "FoldBadgeItem"]
    assert len(badges) == 1 and "× " in badges[0].text
    drawn = len(view.items)
    _click(qtbot, view, badges[0])
    assert len(view.items) == len(view.graph.nodes) > drawn
    assert all(isinstance(i, GraphNodeItem) for i in view.items.values())
    assert all(isinstance(f, GroupFrameItem) for f in view.frames.values())


def _replace(spec: ModelSpec, other: ModelSpec) -> None:
    for node_id in list(spec.nodes):
        spec.remove_node(node_id)
    for node_id in other.topological_order():
        node = other.nodes[node_id]
        spec.add_node(node.type, dict(node.params), name=node.name)
    ids = {other.nodes[i].name: spec.node_by_name(other.nodes[i].name).id for i in other.nodes}
    for edge in other.edges:
        spec.connect(ids[other.nodes[edge.source].name], ids[other.nodes[edge.target].name])


def test_moving_a_layer_keeps_the_graph_and_renaming_it_renames_its_frame(qtbot, window):
    view = open_graph(qtbot, window)
    builds = view.builds
    node_id = window.workspace.spec.node_by_name("fc1").id
    window.workspace.edit_model("Move", lambda spec: spec.move(node_id, (10.0, 300.0)))
    assert view.builds == builds
    window.workspace.edit_model("Rename", lambda spec: spec.rename(node_id, "first"))
    assert view.builds == builds + 1
    assert "first" in view.frames and "fc1" not in view.frames
    assert [n.name for n in view.graph.nodes if n.kind == "param"][:2] == ["first.weight", "first.bias"]


@pytest.mark.parametrize("example", ["spiral", "digits_residual", "waveforms_lstm", "transformer_sequences"])
def test_no_two_nodes_or_layer_frames_overlap(example):
    from layerforge.workspace import Workspace

    workspace = Workspace()
    workspace.open_example(example, discard=True)
    if workspace.dataset is None:
        pytest.skip(f"the data of {example} is not here: {workspace.data_unavailable}")
    graph = GraphProbe(workspace.spec, workspace.dataset, workspace.settings.replace(batch_size=4)).graph(0)
    placed = layout(graph)
    assert set(placed.positions) == {n.id for n in graph.nodes}

    def overlap(a, b):
        return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]
    for rects in (list(placed.positions.values()), list(placed.frames.values())):
        clashes = [(a, b) for i, a in enumerate(rects) for b in rects[i + 1:] if overlap(a, b)]
        assert not clashes
    for source, target in placed.edges:   # data flows left to right (a parameter feeds its op from above)
        assert placed.positions[source][0] <= placed.positions[target][0]


def test_a_layers_context_menu_steps_through_it_and_the_input_offers_nothing(qtbot, window):
    from PySide6.QtGui import QAction

    from layerforge.app.canvas.context_menu import node_menu
    spec = window.workspace.spec
    menu = node_menu(window.canvas, spec.node_by_name("fc1").id)
    step = menu.findChild(QAction, "stepThroughLayer")
    assert step is not None and step.isEnabled()
    step.trigger()
    dialogs = window.see_inside_graph.view.dialogs
    assert dialogs and dialogs[-1].layer == "fc1"
    qtbot.addWidget(dialogs[-1])
    inputs = node_menu(window.canvas, spec.node_by_name("input1").id)
    assert inputs.findChild(QAction, "stepThroughLayer") is None
