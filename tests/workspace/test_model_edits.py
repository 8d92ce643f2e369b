"""The canvas's structural edits, headless: each is one undoable step of ``Workspace.edit_model``."""
from __future__ import annotations

import pytest

from layerforge.workspace import WorkspaceError, model_edits


def ids(workspace):
    return {node.name: node_id for node_id, node in workspace.spec.nodes.items()}


def feeds(workspace, node_id):
    return sorted((workspace.spec.nodes[e.source].name, e.index) for e in workspace.spec.inputs_of(node_id))


def reads(workspace, node_id):
    return sorted(workspace.spec.nodes[e.target].name for e in workspace.spec.outputs_of(node_id))


def test_a_layer_appended_to_a_new_project_is_wired_after_its_input(workspace):
    workspace.new(discard=True)
    input_id = next(iter(workspace.spec.nodes))
    new = workspace.edit_model("Add Linear", model_edits.append_layer("Linear"))
    assert feeds(workspace, new) == [("input1", 0)]
    second = workspace.edit_model("Add ReLU", model_edits.append_layer("ReLU"))
    assert feeds(workspace, second) == [(workspace.spec.nodes[new].name, 0)]
    assert workspace.spec.nodes[second].position[0] > workspace.spec.nodes[new].position[0] \
        > workspace.spec.nodes[input_id].position[0]
    assert workspace.spec.nodes[second].position[1] == workspace.spec.nodes[input_id].position[1]
    workspace.undo()
    assert second not in workspace.spec.nodes and not workspace.spec.outputs_of(new)


def test_appending_follows_the_end_of_the_chain_not_the_last_layer_added(workspace):
    names = ids(workspace)
    spare = workspace.edit_model("Add", model_edits.add_layer("Dropout", (0.0, 300.0)))   # alone, unwired
    new = workspace.edit_model("Add Softmax", model_edits.append_layer("Softmax"))
    assert feeds(workspace, new) == [("fc3", 0)]
    assert not workspace.spec.outputs_of(spare)
    assert names["fc3"] in workspace.spec.nodes


def test_insert_before_and_after_land_in_line_and_push_what_follows(workspace):
    names = ids(workspace)
    fc2_x = workspace.spec.nodes[names["fc2"]].position[0]
    before = workspace.edit_model("Insert", model_edits.insert_before(names["fc2"], "Dropout"))
    assert feeds(workspace, before) == [("tanh1", 0)] and feeds(workspace, names["fc2"]) == [
        (workspace.spec.nodes[before].name, 0)]
    assert workspace.spec.nodes[before].position[1] == workspace.spec.nodes[names["tanh1"]].position[1]
    assert workspace.spec.nodes[names["fc2"]].position[0] > fc2_x
    after = workspace.edit_model("Insert", model_edits.insert_after(names["fc2"], "ReLU"))
    assert feeds(workspace, after) == [("fc2", 0)] and reads(workspace, after) == ["tanh2"]
    assert workspace.report.ok
    workspace.undo()
    workspace.undo()
    assert feeds(workspace, names["fc2"]) == [("tanh1", 0)]
    assert workspace.spec.nodes[names["fc2"]].position[0] == fc2_x


def test_a_quick_fix_insertion_lands_in_line_between_the_layers_it_joins(workspace):
    workspace.open_example("digits_cnn", discard=True)
    names = ids(workspace)
    workspace.edit_model("Delete", model_edits.remove([names["flatten1"]]))
    workspace.edit_model("Connect", model_edits.connect(names["pool2"], names["fc1"]))
    linear = "fc1"
    error = workspace.report.errors_for(names[linear])[0]
    assert error.quick_fix["type"] == "Flatten"
    new = workspace.edit_model("Fix", model_edits.apply_quick_fix(error.quick_fix))
    source = workspace.spec.inputs_of(new)[0].source
    assert workspace.spec.nodes[new].position[1] == workspace.spec.nodes[source].position[1]
    assert workspace.spec.nodes[source].position[0] < workspace.spec.nodes[new].position[0] \
        < workspace.spec.nodes[names[linear]].position[0]
    assert workspace.report.ok


def test_a_layer_spliced_into_a_wire_takes_its_place(workspace):
    names = ids(workspace)
    new = workspace.edit_model("Splice", model_edits.splice("Dropout", names["tanh1"], names["fc2"], 0))
    assert feeds(workspace, new) == [("tanh1", 0)] and reads(workspace, new) == ["fc2"]
    assert feeds(workspace, names["fc2"]) == [(workspace.spec.nodes[new].name, 0)]
    workspace.undo()
    assert feeds(workspace, names["fc2"]) == [("tanh1", 0)] and new not in workspace.spec.nodes


def test_replace_keeps_the_wires_position_and_a_chosen_name(workspace):
    names = ids(workspace)
    position = workspace.spec.nodes[names["tanh1"]].position
    same = workspace.edit_model("Replace", model_edits.replace_layer(names["tanh1"], "ReLU"))
    node = workspace.spec.nodes[same]
    assert same == names["tanh1"] and node.type == "ReLU" and node.position == position
    assert node.name.startswith("relu")              # an automatic name follows the new type
    assert feeds(workspace, same) == [("fc1", 0)] and reads(workspace, same) == ["fc2"]
    workspace.edit_model("Rename", model_edits.rename(names["fc2"], "hidden"))
    workspace.edit_model("Replace", model_edits.replace_layer(names["fc2"], "Linear"))
    assert workspace.spec.nodes[names["fc2"]].name == "hidden"          # a chosen name stays
    assert workspace.spec.nodes[names["fc2"]].params["out_features"] == 16   # shared settings stay
    workspace.undo()
    workspace.undo()
    workspace.undo()
    assert workspace.spec.nodes[names["tanh1"]].type == "Tanh"


def test_duplicate_and_disconnect(workspace):
    names = ids(workspace)
    copy = workspace.edit_model("Duplicate", model_edits.duplicate(names["fc2"]))
    assert workspace.spec.nodes[copy].params == workspace.spec.nodes[names["fc2"]].params
    assert workspace.spec.nodes[copy].name != "fc2" and not feeds(workspace, copy)
    workspace.edit_model("Disconnect", model_edits.disconnect_all(names["fc2"]))
    assert not feeds(workspace, names["fc2"]) and not reads(workspace, names["fc2"])
    workspace.undo()
    assert feeds(workspace, names["fc2"]) == [("tanh1", 0)] and reads(workspace, names["fc2"]) == ["tanh2"]


def test_deleting_a_middle_layer_reconnects_its_neighbours_only_when_the_shapes_fit(workspace):
    names = ids(workspace)
    assert model_edits.reconnection(workspace.spec, names["tanh1"]) == [(names["fc1"], names["fc2"], 0)]
    workspace.edit_model("Delete", model_edits.remove_and_reconnect(names["tanh1"]))
    assert feeds(workspace, names["fc2"]) == [("fc1", 0)] and workspace.report.ok
    workspace.undo()
    assert feeds(workspace, names["fc2"]) == [("tanh1", 0)]
    # The ends of the chain have no two neighbours to join.
    assert model_edits.reconnection(workspace.spec, names["input1"]) == []
    assert model_edits.reconnection(workspace.spec, names["fc3"]) == []


def test_reconnecting_is_refused_when_the_shapes_would_not_fit(workspace):
    workspace.open_example("digits_cnn", discard=True)
    names = ids(workspace)
    flatten = names["flatten1"]
    assert model_edits.reconnection(workspace.spec, flatten) == []     # a Linear cannot read an image
    with pytest.raises(WorkspaceError):
        workspace.edit_model("Delete", model_edits.remove_and_reconnect(flatten))
    assert flatten in workspace.spec.nodes
