"""View > Code: the PyTorch code of the canvas, live, with the selected layer's lines marked."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QTextCursor
from PySide6.QtWidgets import QDockWidget

from layerforge.app import theme
from layerforge.app.code_highlighter import COLORS
from layerforge.app.code_view import CodeView
from layerforge.export.pytorch_model_code import model_source
from layerforge.export.train_script import training_code
from layerforge.graph import compile_spec
from layerforge.training import Project, example_project_path, load_project
from layerforge.workspace.project_export import training_hint

from window_support import (app_window, boxes, close_window, files, isolated, open_project,  # noqa: F401
                            open_window)


def open_code(qtbot, window) -> CodeView:
    parts = window.code_and_analysis
    parts.action_code.trigger()
    qtbot.waitUntil(lambda: parts.code_dock.isVisible() and parts.code_view.regenerations > 0)
    return parts.code_view


def node_named(window, name: str) -> str:
    return window.workspace.spec.node_by_name(name).id


def line_texts(view: CodeView, lines) -> list[str]:
    document = view.editor.document()
    return [document.findBlockByNumber(line).text().strip() for line in lines]


def test_view_code_opens_the_model_and_its_training_as_the_export_writes_them(qtbot, window):
    assert window.findChild(QDockWidget, "codeDock").isHidden()
    view = open_code(qtbot, window)
    assert view is window.findChild(CodeView, "codeView")
    text = view.text()
    workspace = window.workspace
    class_start = text.index("class Model(nn.Module):")
    exported = model_source(workspace.spec, workspace.report, workspace.name)
    shown_class = view.code.model_code[view.code.model_code.index("class Model"):]
    assert shown_class in exported   # the exporter's text, cut at the class, not written again
    assert "self.fc1 = nn.Linear(2, 16, bias=True)" in text[class_start:]
    training = text[text.index("# Training"):]
    project = workspace.project()[0]
    written = training_code(training_hint(project))
    assert training.split("\n", 1)[1] == written   # train.py's own part, under the panel's caption
    assert "nn.CrossEntropyLoss()" in training and "torch.optim.Adam(" in training
    assert ".backward()" in training and "optimizer.step()" in training
    assert view.editor.isReadOnly()
    assert view.editor.font().fixedPitch() or view.editor.fontInfo().fixedPitch()
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "View")
    assert window.code_and_analysis.action_code in view_menu.actions()
    assert window.code_and_analysis.action_code.shortcut().toString() == "Ctrl+Shift+C"


def test_editing_the_canvas_and_the_settings_changes_the_code(qtbot, window):
    view = open_code(qtbot, window)
    fc1 = node_named(window, "fc1")
    assert window.document.set_param(fc1, "out_features", 24)
    qtbot.waitUntil(lambda: "self.fc1 = nn.Linear(2, 24, bias=True)" in view.text())
    assert "self.fc2 = nn.Linear(24, 16, bias=True)" in view.text()   # the next layer's input follows
    new_id = window.add_layer_after_selection("ReLU")
    qtbot.waitUntil(lambda: f"self.{window.workspace.spec.nodes[new_id].name} = nn.ReLU()" in view.text())
    window.workspace.set_settings(optimizer="sgd", optimizer_params={"momentum": 0.9}, learning_rate=0.05)
    qtbot.waitUntil(lambda: "torch.optim.SGD(" in view.text())


def test_an_invalid_model_shows_the_reason_instead_of_code(qtbot, window):
    view = open_code(qtbot, window)
    fc1 = node_named(window, "fc1")
    window.document.remove([fc1])   # the Input no longer reaches the rest
    qtbot.waitUntil(lambda: view.code.problem != "")
    assert "class Model" not in view.text()
    assert view.text().startswith("# The model is not valid")
    assert view.code.problem in view.caption.text()
    window.workspace.undo()
    qtbot.waitUntil(lambda: "class Model" in view.text())
    assert view.caption.text().startswith("What File > Export")


def test_the_selected_layers_lines_are_marked_and_a_clicked_line_selects_its_layer(qtbot, window):
    view = open_code(qtbot, window)
    scene = window.canvas.model_scene
    scene.select_nodes([node_named(window, "fc2")])
    assert line_texts(view, view.marked_lines()) == ["self.fc2 = nn.Linear(16, 16, bias=True)",
                                                     "x = self.fc2(x)  # (batch, 16)"]
    selections = view.editor.extraSelections()
    assert selections and all(s.format.background().color() != view.editor.palette().base().color()
                              for s in selections)

    # Click the line of tanh1 in forward(): the canvas selects tanh1 (and the inspector shows it).
    document = view.editor.document()
    line = next(i for i in range(document.blockCount())
                if document.findBlockByNumber(i).text().strip().startswith("x = self.tanh1(x)"))
    cursor = QTextCursor(document.findBlockByNumber(line))
    view.editor.setTextCursor(cursor)
    view.editor.ensureCursorVisible()
    point = view.editor.cursorRect(cursor).center()
    qtbot.mouseClick(view.editor.viewport(), Qt.MouseButton.LeftButton, pos=point)
    tanh1 = node_named(window, "tanh1")
    assert scene.selected_node_ids() == [tanh1]
    assert line in view.marked_lines()
    assert window.inspector.isVisibleTo(window)

    scene.clearSelection()
    assert view.marked_lines() == []


def test_a_hidden_panel_does_not_regenerate_and_catches_up_when_shown(qtbot, window):
    view = open_code(qtbot, window)
    parts = window.code_and_analysis
    parts.action_code.trigger()   # closes it
    qtbot.waitUntil(lambda: not parts.code_dock.isVisible())
    before = view.regenerations
    fc1 = node_named(window, "fc1")
    for width in (20, 21, 22):
        window.document.set_param(fc1, "out_features", width)
    window.workspace.set_settings(learning_rate=0.02)
    qtbot.wait(300)
    assert view.regenerations == before
    parts.action_code.trigger()
    qtbot.waitUntil(lambda: parts.code_dock.isVisible())
    assert view.regenerations == before + 1
    assert "nn.Linear(2, 22, bias=True)" in view.text()
    # Edits in a burst while shown regenerate once, after the pause.
    for width in (30, 31, 32):
        window.document.set_param(fc1, "out_features", width)
    qtbot.waitUntil(lambda: "nn.Linear(2, 32, bias=True)" in view.text())
    qtbot.wait(200)
    assert view.regenerations == before + 2


def test_copy_all_and_the_colours_read_in_both_themes(qtbot, window):
    view = open_code(qtbot, window)
    QGuiApplication.clipboard().clear()
    view.copy_button.click()
    assert QGuiApplication.clipboard().text() == view.text()
    # Ctrl+A, Ctrl+C in the panel select and copy its text (not the canvas's layers).
    QGuiApplication.clipboard().clear()
    view.editor.setFocus()
    qtbot.waitUntil(view.editor.hasFocus)
    qtbot.keyClick(view.editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(view.editor, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == view.text()
    for dark in (False, True):
        base = theme.DARK["base"] if dark else theme.LIGHT["base"]
        for token, pair in COLORS.items():
            ratio = theme.contrast_ratio(theme.QColor(pair[dark]), theme.QColor(base))
            assert ratio >= theme.MIN_TEXT_CONTRAST, (token, dark, ratio)
    # The keyword "def" is coloured; a comment is italic.
    document = view.editor.document()
    block = next(document.findBlockByNumber(i) for i in range(document.blockCount())
                 if document.findBlockByNumber(i).text().startswith("    def forward"))
    formats = block.layout().formats()
    assert any(f.start == 4 and f.length == 3 for f in formats)


def test_the_code_panel_is_remembered_open(qtbot, app_window, monkeypatch):  # noqa: F811
    from PySide6.QtCore import QRect

    from layerforge.app import window_geometry

    # A screen the saved window fits on (the offscreen one is small), so the layout is restored.
    monkeypatch.setattr(window_geometry, "available_geometry", lambda widget=None: QRect(0, 0, 3000, 2000))
    open_code(qtbot, app_window)
    app_window.commands.appearance.save_layout()
    second = open_window(qtbot)
    try:
        assert second.findChild(QDockWidget, "codeDock").isHidden()
        assert second.commands.appearance.restore_layout()
        qtbot.waitUntil(lambda: second.code_and_analysis.code_dock.isVisible())
        assert "class Model" in second.code_and_analysis.code_view.text()
    finally:
        close_window(second)


def test_the_shown_code_gives_the_windows_predictions_under_pytorch_and_the_engine(qtbot, app_window):  # noqa: F811
    """The shown class Model, run by real PyTorch and by the engine as ``torch``, with the window's
    weights, gives the window's own predictions."""
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle for the generated code")
    import layerforge.engine as engine

    project = load_project(example_project_path("digits_residual"))[0]
    weights = compile_spec(project.spec).state_dict()   # the weights it starts training from
    open_project(app_window, Project("residual", project.spec, project.data_source, project.settings), weights)
    view = open_code(qtbot, app_window)
    qtbot.waitUntil(lambda: "self.add1" not in view.text() and "x + relu1" in view.text())
    code = view.code.model_code
    assert code.startswith("import torch\nfrom torch import nn\n")

    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 1, 8, 8)).astype(np.float32)
    expected = app_window.workspace.predict(x).outputs
    state = {key: np.asarray(value.numpy() if hasattr(value, "numpy") else value)
             for key, value in app_window.workspace.project()[1].items()}

    namespace = {}
    exec(compile(code, "<code view>", "exec"), namespace)
    model = namespace["Model"]()
    model.load_state_dict({key: torch.from_numpy(value.copy()) for key, value in state.items()})
    with torch.no_grad():
        by_torch = model.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(by_torch, expected, atol=1e-5, rtol=0)

    as_engine = code.replace("import torch\nfrom torch import nn\n",
                             "import layerforge.engine as torch\nfrom layerforge.engine import nn\n", 1)
    namespace = {}
    exec(compile(as_engine, "<code view, engine>", "exec"), namespace)
    model = namespace["Model"]()
    model.load_state_dict({key: engine.from_numpy(value.copy()) for key, value in state.items()})
    with engine.no_grad():
        by_engine = model.eval()(engine.from_numpy(x)).numpy()
    np.testing.assert_allclose(by_engine, expected, atol=1e-5, rtol=0)
