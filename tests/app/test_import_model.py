"""File > Import model… in the window: the file dialog's choice lands on the canvas with its weights; a
model that cannot be imported shows every operator without a layer and leaves the project as it was."""
import numpy as np
import pytest
from PySide6.QtGui import QAction

from layerforge.export import export_onnx
from layerforge.graph import compile_spec
from layerforge.training import example_project_path, load_project
from window_support import app_window, boxes, files, isolated  # noqa: F401

onnx = pytest.importorskip("onnx", reason="ONNX import needs the onnx package (the 'export' extra)")


def cnn_onnx(folder):
    project, _ = load_project(example_project_path("digits_cnn"))
    rng = np.random.default_rng(0)
    weights = {k: (rng.normal(size=tuple(v.shape)) * 0.3).astype(np.float32) if not k.endswith("tracked")
               else np.asarray(v) for k, v in compile_spec(project.spec).state_dict().items()}
    return export_onnx(project.spec, weights, folder / "cnn_from_elsewhere.onnx"), project.spec


def test_the_action_is_in_the_file_menu_after_open(app_window):
    action = app_window.findChild(QAction, "actionImportModel")
    file_menu = next(a.menu() for a in app_window.menuBar().actions() if a.text() == "&File")
    names = [a.objectName() for a in file_menu.actions()]
    assert action is not None and "actionImportModel" in names
    assert names.index("actionImportModel") > names.index("actionOpen")


def test_importing_puts_the_model_on_the_canvas_ready_to_predict(app_window, files, tmp_path):
    path, spec = cnn_onnx(tmp_path)
    files.open_path = str(path)
    app_window.findChild(QAction, "actionImportModel").trigger()
    assert files.asked == ["Import model"]
    workspace = app_window.workspace
    assert workspace.name == "cnn_from_elsewhere"
    # The same layers and wires; the window may lay a long model out again on rows to fit the canvas.
    assert {n.name: (n.type, n.params) for n in workspace.spec.nodes.values()} == \
        {n.name: (n.type, n.params) for n in spec.nodes.values()}
    assert sorted((e.source, e.target, e.index) for e in workspace.spec.edges) == \
        sorted((e.source, e.target, e.index) for e in spec.edges)
    scene_names = sorted(workspace.spec.nodes[node_id].name for node_id in app_window.canvas.model_scene.nodes)
    assert scene_names == sorted(node.name for node in spec.nodes.values())
    assert "cnn_from_elsewhere" in app_window.windowTitle()
    assert "Imported cnn_from_elsewhere.onnx: 10 layers" in app_window.statusBar().currentMessage()
    assert workspace.run.has_weights and not workspace.dirty
    assert app_window.findChild(QAction, "actionPredict").isEnabled()


def test_a_model_that_cannot_be_imported_shows_the_list_and_changes_nothing(app_window, boxes, files, tmp_path):
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Sin", ["x"], ["s"], name="/a/Sin"),
                               helper.make_node("Relu", ["s"], ["r"], name="/b/Relu"),
                               helper.make_node("Cos", ["r"], ["y"], name="/c/Cos")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "waves.onnx"
    path.write_bytes(model.SerializeToString())
    before = (app_window.workspace.name, app_window.workspace.spec.to_dict())
    files.open_path = str(path)
    app_window.findChild(QAction, "actionImportModel").trigger()
    (text,) = boxes.texts("warning")
    assert "2 operators (Cos, Sin)" in text and "Sin '/a/Sin'" in text and "Cos '/c/Cos'" in text
    assert text.count("unchanged") == 1
    assert (app_window.workspace.name, app_window.workspace.spec.to_dict()) == before
    assert "Cannot import waves.onnx" in app_window.statusBar().currentMessage()


def test_unsaved_changes_are_asked_about_first(app_window, boxes, files, tmp_path):
    path, _ = cnn_onnx(tmp_path)
    workspace = app_window.workspace
    workspace.edit_model("Rename", lambda spec: spec.rename(next(iter(spec.nodes)), "start"))
    asked = []
    app_window.projects.ask_unsaved = lambda: asked.append(True) or "cancel"
    files.open_path = str(path)
    app_window.findChild(QAction, "actionImportModel").trigger()
    assert asked and workspace.name != "cnn_from_elsewhere" and workspace.dirty
    app_window.projects.ask_unsaved = lambda: "discard"
    app_window.findChild(QAction, "actionImportModel").trigger()
    assert workspace.name == "cnn_from_elsewhere"
