"""Auto-layout draws a model as a layered graph: skip connections run around the nodes, no shape label
covers a node or another wire, a long model wraps where the fewest wires cross, and a layer inserted
into a laid-out model lands in line (one undo step)."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt

from layerforge.app import create_main_window
from layerforge.app.canvas.layout import band_starts, columns_of, layered_positions, skip_levels
from layerforge.graph import ModelSpec


def chain(spec: ModelSpec, layers, after=None):
    ids = []
    for layer_type, params in layers:
        node = spec.add_node(layer_type, params)
        if after is not None:
            spec.connect(after, node.id)
        after = node.id
        ids.append(node.id)
    return ids


def residual_spec() -> tuple[ModelSpec, dict[str, str]]:
    """input, conv, relu, [conv, bn, relu, conv, bn] + skip from relu -> add, relu, pool, flatten, linear."""
    spec = ModelSpec()
    conv = {"out_channels": 4, "kernel_size": 3, "padding": 1}
    stem = chain(spec, [("Input", {"shape": (1, 8, 8)}), ("Conv2d", conv), ("ReLU", {})])
    branch = chain(spec, [("Conv2d", conv), ("BatchNorm2d", {}), ("ReLU", {}), ("Conv2d", conv),
                          ("BatchNorm2d", {})], after=stem[-1])
    add = spec.add_node("Add")
    spec.connect(branch[-1], add.id)
    spec.connect(stem[-1], add.id)
    tail = chain(spec, [("ReLU", {}), ("Flatten", {}), ("Linear", {"out_features": 10})], after=add.id)
    return spec, {"relu": stem[-1], "add": add.id, "last": tail[-1]}


def test_columns_are_longest_distances_and_a_skip_connection_gets_a_lane_level():
    spec, ids = residual_spec()
    columns = columns_of(spec)
    assert columns[ids["relu"]] == 2 and columns[ids["add"]] == 8 and columns[ids["last"]] == 11
    assert skip_levels(spec) == {(ids["relu"], ids["add"], 1): 0}
    # A skip connection around another one runs one lane further out.
    outer = spec.add_node("Add")
    spec.connect(ids["add"], outer.id)
    first = next(iter(spec.nodes))
    spec.connect(first, outer.id, 1)
    levels = skip_levels(spec)
    assert levels[(first, outer.id, 1)] == 1 and levels[(ids["relu"], ids["add"], 1)] == 0


def test_a_long_model_wraps_where_one_wire_crosses_so_a_residual_block_stays_on_one_band():
    spec, ids = residual_spec()
    columns = columns_of(spec)
    starts = band_starts(spec, columns, 12, 5)
    block = range(columns[ids["relu"]], columns[ids["add"]] + 1)
    assert not any(start in block[1:] for start in starts), f"a band starts inside the block: {starts}"
    positions = layered_positions(spec, 5)
    block_ys = {positions[n][1] for n, c in columns.items() if c in block}
    assert len(block_ys) == 1
    # A plain chain is cut as late as possible: 12 columns, 5 to a band -> 5 + 5 + 2.
    plain = ModelSpec()
    chain(plain, [("Input", {"shape": (4,)})] + [("ReLU", {})] * 11)
    assert band_starts(plain, columns_of(plain), 12, 5) == [0, 5, 10]


def test_gaps_hold_the_shape_labels_and_the_lanes_of_skip_connections():
    spec, ids = residual_spec()
    narrow = layered_positions(spec)
    wide = layered_positions(spec, label_width=lambda edge: 90.0)
    columns = columns_of(spec)
    by_column = {c: n for n, c in columns.items()}
    step = wide[by_column[4]][0] - wide[by_column[3]][0]
    assert step == 120 + 90 + 2 * 10, "a 90 px label gets its width and a margin on each side"
    # Where the skip rises (after the relu) and lands (before the add) the gap has room for its lane.
    plain_step = narrow[by_column[4]][0] - narrow[by_column[3]][0]
    rise_step = narrow[by_column[3]][0] - narrow[by_column[2]][0]
    fall_step = narrow[by_column[8]][0] - narrow[by_column[7]][0]
    assert rise_step > plain_step and fall_step > plain_step


def node_rect(item, margin=0.0) -> QRectF:
    return item.sceneBoundingRect().adjusted(9 - margin, 2 - margin, -9 + margin, -2 + margin)


def test_the_residual_example_is_one_band_with_its_skip_connection_over_the_nodes(qtbot):
    window = create_main_window("digits_residual")
    qtbot.addWidget(window)
    window.resize(2400, 1300)
    window.show()
    qtbot.waitExposed(window)
    window.canvas.action_auto_layout.trigger()
    scene, spec = window.canvas.model_scene, window.document.spec
    add = next(n for n, node in spec.nodes.items() if node.type == "Add")
    skip = next(edge for key, edge in scene.edges.items() if key[1] == add and edge.lane_level == 0
                and spec.nodes[key[0]].type == "ReLU")
    # The skip connection touches no node but its own two ends, and runs above the row.
    for node_id, item in scene.nodes.items():
        if item not in (skip.source_item, skip.target_item):
            assert not skip.stroke.intersects(node_rect(item)), f"the skip wire crosses {node_id}"
    assert skip.path().boundingRect().top() < min(i.pos().y() for i in scene.nodes.values() if
                                                   abs(i.pos().y() - skip.source_item.pos().y()) < 1)
    # No shape label covers a node or another wire.
    for key, edge in scene.edges.items():
        label = edge.label_item.sceneBoundingRect()
        for node_id, item in scene.nodes.items():
            assert not label.intersects(node_rect(item)), f"the label of {key} covers {node_id}"
        for other_key, other in scene.edges.items():
            if other is not edge:
                assert not other.stroke.intersects(label), f"the label of {key} covers the wire {other_key}"
    # And the view shows the whole model: it fits at a readable zoom on a large screen.
    assert window.canvas.mapFromScene(scene.nodes[add].sceneBoundingRect()).boundingRect().right() \
        < window.canvas.viewport().width()


def ids_by_name(window):
    return {node.name: node_id for node_id, node in window.document.spec.nodes.items()}


def test_a_quick_fix_in_a_laid_out_model_lands_in_line_and_is_laid_out_again(window, qtbot):
    canvas, document = window.canvas, window.document
    canvas.action_auto_layout.trigger()
    assert canvas.is_tidy(document.spec)
    before = {n: node.position for n, node in document.spec.nodes.items()}
    ids = ids_by_name(window)
    document.set_param(ids["input1"], "shape", "1, 4")
    link = window.canvas.model_scene.nodes[ids["fc1"]].quick_fix_item
    canvas.centerOn(link.sceneBoundingRect().center())
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton,
                     pos=canvas.mapFromScene(link.sceneBoundingRect().center()))
    spec = document.spec
    flatten = next(n for n, node in spec.nodes.items() if node.type == "Flatten")
    assert document.report.ok and canvas.is_tidy(spec), "the model is laid out again"
    assert spec.nodes[ids["input1"]].position[0] < spec.nodes[flatten].position[0] < spec.nodes[ids["fc1"]].position[0]
    rows = {round(node.position[1]) for node in spec.nodes.values()}
    assert len(rows) <= 2, "in line: the flatten joins the chain's row, not a row of its own"
    window.action_undo.trigger()   # the insertion and the layout are one step
    assert flatten not in document.spec.nodes
    window.action_undo.trigger()
    assert {n: node.position for n, node in document.spec.nodes.items()} == before


def test_an_insertion_leaves_a_model_arranged_by_hand_as_it_was(window):
    canvas, document = window.canvas, window.document
    ids = ids_by_name(window)
    document.move({ids["fc3"]: (900.0, 300.0)})
    assert not canvas.is_tidy(document.spec)
    input_before = document.spec.nodes[ids["input1"]].position
    new = document.insert_after(ids["fc1"], "Dropout")
    spec = document.spec
    assert new in spec.nodes and spec.nodes[ids["input1"]].position == input_before
    assert spec.nodes[ids["fc3"]].position[1] == 300.0, "the layer moved by hand stays where it was put"


def test_delete_in_the_middle_of_a_chain_offers_to_reconnect_its_neighbours(window, qtbot):
    canvas, document = window.canvas, window.document
    ids = ids_by_name(window)
    canvas.model_scene.select_nodes([ids["tanh1"]])
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert ids["tanh1"] not in document.spec.nodes
    offer = canvas.offer
    assert offer.isVisible() and "Deleted tanh1" in offer.text
    assert offer.action_button.text() == "Reconnect fc1 → fc2"
    assert offer.geometry().bottom() > canvas.height() / 2, "at the foot of the canvas, away from the banner"
    qtbot.mouseClick(offer.action_button, Qt.MouseButton.LeftButton)
    assert (ids["fc1"], ids["fc2"]) in {(e.source, e.target) for e in document.spec.edges}
    assert document.report.ok and not offer.isVisible()
    window.action_undo.trigger()   # the reconnection and the deletion are two steps
    assert (ids["fc1"], ids["fc2"]) not in {(e.source, e.target) for e in document.spec.edges}
    window.action_undo.trigger()
    assert ids["tanh1"] in document.spec.nodes


def test_the_reconnect_offer_goes_with_the_next_edit_and_is_not_made_where_shapes_do_not_fit(window, qtbot):
    canvas, document = window.canvas, window.document
    ids = ids_by_name(window)
    canvas.model_scene.select_nodes([ids["tanh1"]])
    canvas.action_delete.trigger()
    assert canvas.offer.isVisible()
    document.set_param(ids["fc3"], "out_features", 5)
    assert not canvas.offer.isVisible(), "another edit takes the offer away"
    canvas.model_scene.select_nodes([ids["input1"]])
    canvas.action_delete.trigger()                     # the first layer: nothing to reconnect
    assert ids["input1"] not in document.spec.nodes and not canvas.offer.isVisible()


def test_no_reconnect_offer_where_the_neighbours_shapes_do_not_fit(qtbot):
    window = create_main_window("digits_cnn")
    qtbot.addWidget(window)
    window.show()
    spec = window.document.spec
    flatten = next(n for n, node in spec.nodes.items() if node.type == "Flatten")
    window.canvas.model_scene.select_nodes([flatten])
    window.canvas.action_delete.trigger()   # a Linear straight after a convolution does not fit
    assert flatten not in window.document.spec.nodes and not window.canvas.offer.isVisible()
