"""The Code panel, Model > Analyze and File > Export diagram, attached by one call:
``install_code_view(window)``.

View > Code (Ctrl+Shift+C) [actionShowCode] opens the Code panel [codeView] in a dock [codeDock]; the
window's saved layout remembers whether it was open. Model > Analyze… [actionAnalyze] opens the table
of layers [analyzeDialog]. File > Export diagram… [actionExportDiagram] saves the canvas as SVG or PNG.
Everything is reached from the returned :class:`CodeAndAnalysis` (also ``window.code_and_analysis``).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDockWidget, QMenu, QMessageBox

from .actions import named_action
from .canvas.diagram_export import DiagramError, export_diagram
from .code_view import CodeView
from .dialogs.analyze_dialog import AnalyzeDialog
from .file_dialogs import save_file
from .menus import menu_named
from .persist import file_name_for

CODE_SHORTCUT = "Ctrl+Shift+C"
DIAGRAM_FILTERS = {"SVG image (*.svg)": ".svg", "PNG image, 2x (*.png)": ".png"}


def menu_before(window, title: str, before: str) -> QMenu:
    """The menu-bar menu ``title``, made just before the menu ``before`` when it does not exist yet."""
    bar = window.menuBar()
    existing = [a for a in bar.actions() if a.menu() is not None]
    for action in existing:
        if action.text().replace("&", "") == title.replace("&", ""):
            return action.menu()
    anchor = next((a for a in existing if a.text().replace("&", "") == before.replace("&", "")), None)
    if anchor is None:
        return menu_named(window, title)
    menu = QMenu(title, bar)
    bar.insertMenu(anchor, menu)
    return menu


class CodeAndAnalysis:
    def __init__(self, window):
        self.window = window
        self.analyze_dialog: AnalyzeDialog | None = None
        self.last_diagram: Path | None = None

        self.code_view = CodeView(window.workspace)
        self.code_dock = QDockWidget("Code", window)
        self.code_dock.setObjectName("codeDock")
        self.code_dock.setWidget(self.code_view)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.code_dock)
        self.code_dock.hide()
        self.action_code = self.code_dock.toggleViewAction()
        self.action_code.setObjectName("actionShowCode")
        self.action_code.setText("&Code")
        self.action_code.setShortcut(QKeySequence(CODE_SHORTCUT))
        self.action_code.setStatusTip("The PyTorch code of the model and of its training, as the export writes it")
        view_menu = menu_named(window, "&View")
        view_menu.addAction(self.action_code)
        window.addAction(self.action_code)   # the key works wherever the focus is

        scene = window.canvas.model_scene
        scene.nodeSelectionChanged.connect(self.code_view.show_nodes)
        self.code_view.layerClicked.connect(self.select_layer)
        self.code_view.show_nodes(scene.selected_node_ids())

        self.action_analyze = named_action(window, "actionAnalyze", "&Analyze…", self.show_analysis,
                                           tip="Every layer's output shape, parameters, activation memory and "
                                               "FLOPs per sample, with the totals")
        model_menu = menu_before(window, "&Model", "&Run")
        model_menu.setObjectName(model_menu.objectName() or "modelMenu")
        model_menu.addAction(self.action_analyze)

        self.action_export_diagram = named_action(
            window, "actionExportDiagram", "Export &diagram…", self.export_diagram_asked,
            tip="Save the model on the canvas as an SVG or PNG picture, for a paper or slides")
        file_menu = menu_named(window, "&File")
        file_menu.insertAction(_quit_section(file_menu), self.action_export_diagram)
        # The export menu is added later by the window's commands: the item moves beside it when the
        # File menu opens, so it sits with the other exports.
        file_menu.aboutToShow.connect(self._place_beside_exports)

    # -- the code panel --------------------------------------------------------------------------

    def select_layer(self, node_id: str) -> None:
        """A line of the Code panel (or a row of Analyze) was clicked: its layer becomes the canvas's
        selection."""
        canvas = self.window.canvas
        node = canvas.model_scene.nodes.get(node_id)
        if node is None:
            return
        canvas.model_scene.select_nodes([node_id])
        canvas.ensureVisible(node, 40, 40)

    # -- analyze ---------------------------------------------------------------------------------

    def show_analysis(self) -> AnalyzeDialog:
        dialog = self.analyze_dialog
        if dialog is None:
            dialog = self.analyze_dialog = AnalyzeDialog(self.window.workspace, self.window)
            dialog.layerActivated.connect(self.select_layer)
        else:
            dialog.refresh()
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    # -- the diagram -----------------------------------------------------------------------------

    def export_diagram_asked(self) -> Path | None:
        window = self.window
        workspace = window.workspace
        fallback = workspace.path.parent if workspace.path is not None else None
        path, chosen = save_file(window, "Export diagram", file_name_for(workspace.name, ".svg"),
                                 ";;".join(DIAGRAM_FILTERS), fallback)
        if not path:
            return None
        path = Path(path)
        if path.suffix.lower() not in (".svg", ".png"):
            path = path.with_name(path.name + DIAGRAM_FILTERS.get(chosen, ".svg"))
        return self.export_diagram_to(path)

    def export_diagram_to(self, path: Path) -> Path | None:
        try:
            written = export_diagram(self.window.canvas.model_scene, path, title=self.window.workspace.name)
        except DiagramError as error:
            QMessageBox.warning(self.window, "Export diagram", str(error))
            return None
        self.last_diagram = written
        self.window.show_status(f"Saved the diagram to {written}.")
        return written

    def _place_beside_exports(self) -> None:
        file_menu = self.window.findChild(QMenu, "exportMenu")
        menu = menu_named(self.window, "&File")
        actions = menu.actions()
        exports = next((a for a in actions if a.menu() is not None and a.menu() is file_menu), None)
        if exports is None or file_menu is None:
            return
        index = actions.index(exports)
        following = actions[index + 1] if index + 1 < len(actions) else None
        if following is not self.action_export_diagram:
            menu.removeAction(self.action_export_diagram)
            menu.insertAction(following, self.action_export_diagram)


def _quit_section(file_menu: QMenu):
    """The separator before Quit (the item goes above it), or None (the end of the menu)."""
    actions = file_menu.actions()
    for index, action in enumerate(actions):
        if action.text().replace("&", "").startswith("Quit"):
            return actions[index - 1] if index and actions[index - 1].isSeparator() else action
    return None


def install_code_view(window) -> CodeAndAnalysis:
    """Attach the Code panel, Model > Analyze and File > Export diagram to ``window`` (once)."""
    existing = getattr(window, "code_and_analysis", None)
    if existing is None:
        existing = window.code_and_analysis = CodeAndAnalysis(window)
    return existing
