"""The main window [mainWindow]: palette | canvas over charts and predictions | inspector, data, training.

The window is views of one :class:`~layerforge.workspace.Workspace` (``window.workspace``): every
widget shows what the workspace announces and changes it only through its operations.
"""
from __future__ import annotations

from importlib import resources

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QLabel, QMainWindow, QMessageBox, QSplitter, QToolBar, QVBoxLayout,
                               QWidget)

from ..training import TrainingError, example_projects
from ..workspace import Workspace, WorkspaceError
from ..workspace import events as ev
from . import theme
from .banner import Banner
from .canvas import ModelCanvas
from .cell_errors import CellErrors
from .charts import TrainingCharts
from .dataset_panel import DatasetPanel
from .document import READ_ONLY_MESSAGE, ModelDocument
from .focus_order import FocusOrder
from .frames import FrameClock
from .health_views import HealthViews
from .help_menu import install_help
from .weights_import_action import install_import_weights
from .model_import_action import install_import_model
from .dataset_actions import install_datasets
from .see_inside_actions import install_code_view
from .see_inside_graph import install_autograd_view
from .icons import app_icon
from .menus import ensure_menu_bar_mnemonics
from .inspector import LayerInspector
from .palette import LayerPalette
from .predictions import PredictionView
from .project_actions import ProjectActions
from .replay_slider import ReplaySlider
from .run_views import RunViews
from .runs_panel import RunsPanel
from .side_column import SideColumn
from .training_panel import TrainingPanel, keep_narrow
from .window_geometry import fit_to_screen
from .workspace_runner import QtRunner

# How the window's width and height are first shared out (splitters; a person's own are remembered).
PALETTE_WIDTH = (160, 200)        # px, on a small and on a large screen
SIDE_WIDTH = (330, 400)           # the inspector, data and training column
CANVAS_SHARE = 55                 # % of the middle column's height for the canvas, the rest for the charts
CHARTS_SHARE = 45                 # % of the results row's width for the charts, the rest for the predictions
LARGE_WIDTH = 2000                # px: a window at least this wide gets the larger palette and column
LIVE_SETTINGS_DELAY_MS = 600      # a setting typed during a run is taken up once the typing pauses this long


def load_stylesheet() -> str:
    try:
        return theme.stylesheet(resources.files("layerforge.ui").joinpath("layerforge.qss").read_text(encoding="utf-8"))
    except OSError:
        return ""


class MainWindow(QMainWindow):
    def __init__(self, example: str = "spiral"):
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowIcon(app_icon())
        self._shown_once = False
        self.runner = QtRunner(self)
        self.workspace = Workspace(runner=self.runner)
        self.document = ModelDocument(self.workspace, parent=self)
        self._build_widgets()
        self.projects = ProjectActions(self)
        self._build_actions()
        self._connect()
        install_help(self)   # Help menu, File > Examples…
        install_import_weights(self)   # File > Import weights… (a PyTorch/safetensors/npz state dict)
        install_import_model(self)   # File > Import model… (ONNX onto the canvas)
        install_datasets(self)   # Data > Get dataset…, the offer to download an example's data
        install_code_view(self)   # View > Code, Model > Analyze, File > Export diagram
        install_autograd_view(self)   # View > Computational graph, double-click a layer to step through it
        self.setStyleSheet(load_stylesheet())
        fit_to_screen(self)   # a size that fits the screen it opens on (not a fixed 1400x900)
        self.workspace.open_example(example, discard=True)
        self.show_status(f"Opened the '{self.workspace.name}' example. Press Train to start.")

    # -- construction ----------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.palette_panel = LayerPalette()
        self.canvas = ModelCanvas(self.document)
        self.inspector = LayerInspector(self.document)
        self.dataset_panel = DatasetPanel()
        self.training_panel = TrainingPanel()
        self._live_settings_timer = QTimer(self)   # settings edited during a run: committed once typing pauses
        self._live_settings_timer.setSingleShot(True)
        self._live_settings_timer.setInterval(LIVE_SETTINGS_DELAY_MS)
        self._live_settings_timer.timeout.connect(self._commit_edited_settings)
        self.charts = TrainingCharts()
        self.predictions = PredictionView()
        self.banner = Banner()
        self.run = RunViews(self)
        self.health_views = HealthViews(self)   # each layer's health on the canvas while it trains
        self.cell_errors = CellErrors(self)     # a confusion cell clicked lists its samples
        self.frames = FrameClock(self)
        self.frames.add_feed(self.runner.deliver)
        self.frames.add(self.charts.redraw_if_dirty, self.charts)
        self.frames.add(self.predictions.draw_pending, self.predictions)
        self.frames.add(self.run.update_progress, self.training_panel.progress, light=True)

        # The epoch slider under the predictions; the Runs panel in a dock (View > Runs).
        self.replay = ReplaySlider(self)
        predictions_box = QWidget()
        predictions_box.setObjectName("predictionsBox")
        box_layout = QVBoxLayout(predictions_box)
        box_layout.setContentsMargins(0, 0, 0, 0)
        box_layout.setSpacing(0)
        box_layout.addWidget(self.predictions, 1)
        box_layout.addWidget(self.replay)
        self.runs_panel = RunsPanel(self)
        self.runs_dock = QDockWidget("Runs", self)
        self.runs_dock.setObjectName("runsDock")
        self.runs_dock.setWidget(self.runs_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.runs_dock)
        self.runs_dock.hide()
        self._runs_panel_offered = False   # it opens by itself once, at a second run
        self.runs_panel.runPicked.connect(self.replay.pick)
        self.workspace.events.connect(self._offer_runs_panel, ev.RunsChanged)

        results = QSplitter(Qt.Orientation.Horizontal)
        results.setObjectName("resultsSplitter")
        results.addWidget(self.charts)
        results.addWidget(predictions_box)
        results.setStretchFactor(0, 5)
        results.setStretchFactor(1, 6)
        results.setChildrenCollapsible(False)
        self.charts.setMinimumWidth(300)
        # The matrix's two-line caption wraps rather than widening the results past a 1280 px screen.
        self.predictions.confusion.caption.setWordWrap(True)
        center = QSplitter(Qt.Orientation.Vertical)
        center.setObjectName("centerSplitter")
        center.addWidget(self.canvas)
        center.addWidget(results)
        center.setChildrenCollapsible(False)
        # What the window gains or loses goes to the canvas and the charts alike. The banner floats
        # over the canvas's top edge: coming and going, it moves nothing under the cursor.
        center.setStretchFactor(0, CANVAS_SHARE)
        center.setStretchFactor(1, 100 - CANVAS_SHARE)
        self.banner.float_over(self.canvas)

        # Inspector, data and training: stacked where the window is tall enough, else in tabs; the
        # run controls stay in view below them.
        self.side_column = SideColumn(self.inspector, self.dataset_panel, self.training_panel)
        self.canvas.model_scene.nodeSelectionChanged.connect(self.side_column.show_layer_tab)
        keep_narrow(self.dataset_panel.combo)   # a long dataset name must not widen the column

        main = QSplitter(Qt.Orientation.Horizontal)
        main.setObjectName("mainSplitter")
        main.addWidget(self.palette_panel)
        main.addWidget(center)
        main.addWidget(self.side_column)
        main.setStretchFactor(0, 0)
        main.setStretchFactor(1, 1)   # the palette and the side column keep their width
        main.setStretchFactor(2, 0)
        main.setChildrenCollapsible(False)
        self.palette_panel.setMinimumWidth(150)
        self.setCentralWidget(main)
        self.splitters = {"main": main, "center": center, "results": results}

        self.device_label = QLabel("Device: CPU")
        self.statusBar().addPermanentWidget(self.device_label)

    def _build_actions(self) -> None:
        self.action_undo = QAction("&Undo", self)
        self.action_undo.setObjectName("actionUndo")
        self.action_undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.action_undo.triggered.connect(lambda: self._step("undo"))
        self.action_redo = QAction("&Redo", self)
        self.action_redo.setObjectName("actionRedo")
        # Ctrl+Y as well as the platform's redo keys (Ctrl+Shift+Z here): people bring either habit.
        redo_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Redo)
        self.action_redo.setShortcuts(redo_keys + [key for key in [QKeySequence("Ctrl+Y")] if key not in redo_keys])
        self.action_redo.triggered.connect(lambda: self._step("redo"))
        for action in (self.action_undo, self.action_redo):
            action.setEnabled(False)
        self.action_train = QAction("&Train", self)
        self.action_train.setObjectName("actionTrain")
        self.action_train.setShortcut(QKeySequence("F5"))
        self.action_train.triggered.connect(lambda: self.run.start())

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        examples = file_menu.addMenu("Open exa&mple")   # E is Export's
        examples.setObjectName("examplesMenu")
        for name in example_projects():
            examples.addAction(name, lambda n=name: self.open_example(n))
        file_menu.addSeparator()
        file_menu.addAction("&Quit", QKeySequence.StandardKey.Quit, self.close)
        edit_menu = menu.addMenu("&Edit")
        canvas = self.canvas
        for action in (self.action_undo, self.action_redo, None, canvas.action_copy, canvas.action_paste,
                       canvas.action_delete, canvas.action_select_all):
            edit_menu.addSeparator() if action is None else edit_menu.addAction(action)
        view_menu = menu.addMenu("&View")
        for action in (canvas.action_auto_layout, canvas.action_fit, canvas.action_zoom_in, canvas.action_zoom_out):
            view_menu.addAction(action)
        runs_action = self.runs_dock.toggleViewAction()
        runs_action.setObjectName("actionShowRuns")
        runs_action.setText("&Runs")
        runs_action.setShortcut(QKeySequence("Ctrl+Shift+R"))
        view_menu.addSeparator()
        view_menu.addAction(runs_action)
        self.addAction(runs_action)
        run_menu = menu.addMenu("&Run")
        run_menu.addAction(self.action_train)
        self.addAction(self.action_train)

        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        for action in (self.action_undo, self.action_redo, None, canvas.action_auto_layout, canvas.action_fit,
                       canvas.action_zoom_in, canvas.action_zoom_out, None, canvas.action_delete):
            toolbar.addSeparator() if action is None else toolbar.addAction(action)
        self.addToolBar(toolbar)
        # Tab runs palette, canvas, inspector, data, training (Train last of its settings), then the results.
        run_controls = self.training_panel.train_button.parentWidget()
        self.focus_order = FocusOrder(self, [self.palette_panel, canvas, self.inspector, self.dataset_panel,
                                             self.training_panel, run_controls, self.charts, self.predictions])
        ensure_menu_bar_mnemonics(self)   # an Alt letter for every item (the example list's too)

    def _connect(self) -> None:
        hub = self.workspace.events
        hub.connect(self._project_replaced, ev.ProjectReplaced)
        hub.connect(lambda _event: self._update_title(), ev.ProjectSaved, ev.DirtyChanged)
        hub.connect(self._undo_changed, ev.UndoChanged)
        hub.connect(lambda event: self.training_panel.set_settings(event.settings), ev.SettingsChanged)
        hub.connect(self._data_changed, ev.DataChanged)
        self.canvas.message.connect(self.show_status)
        self.canvas.model_scene.nodeSelectionChanged.connect(self.inspector.show_nodes)
        self.palette_panel.addLayerRequested.connect(self.add_layer_after_selection)
        self.dataset_panel.builtinChosen.connect(self._choose_builtin)
        self.dataset_panel.importedChosen.connect(self._choose_imported)
        self.training_panel.trainRequested.connect(self.run.start)
        self.training_panel.restartRequested.connect(self.run.restart)
        self.training_panel.pauseToggled.connect(self.run.toggle_pause)
        self.training_panel.stopRequested.connect(self.run.stop)
        self.training_panel.settingsEdited.connect(self._settings_edited)

    # -- project ---------------------------------------------------------------------------------

    def open_example(self, name: str) -> bool:
        """File > Open example (asks about unsaved changes first)."""
        return self.projects.open_example(name)

    @property
    def project_name(self) -> str:
        return self.workspace.name

    @property
    def is_dirty(self) -> bool:
        return self.workspace.dirty

    def _offer_runs_panel(self, event) -> None:
        """The Runs panel opens by itself once, when a project has a second run to compare."""
        if len(event.runs) >= 2 and not self._runs_panel_offered:
            self._runs_panel_offered = True
            self.runs_dock.show()

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.workspace.name}{'*' if self.workspace.dirty else ''} — Layerforge")

    def _project_replaced(self, _event) -> None:
        self._update_title()
        self.arrange_opened_model()

    def arrange_opened_model(self) -> None:
        """Fit a model that was just opened to the view (once the window is on screen)."""
        if self._shown_once:
            self._arrange_opened_model()

    def _undo_changed(self, event: ev.UndoChanged) -> None:
        busy = self.workspace.busy
        self.action_undo.setEnabled(event.can_undo and not busy)
        self.action_redo.setEnabled(event.can_redo and not busy)
        self.action_undo.setText(f"&Undo {_literal(event.undo_text)}" if event.undo_text else "&Undo")
        self.action_redo.setText(f"&Redo {_literal(event.redo_text)}" if event.redo_text else "&Redo")
        self.action_undo.setIconText("Undo")   # the tool bar keeps its short label; the menu says what
        self.action_redo.setIconText("Redo")

    def _step(self, which: str) -> None:
        try:
            getattr(self.workspace, which)()
        except WorkspaceError:
            pass   # the Refused event puts the reason in the status bar

    # -- data and settings -----------------------------------------------------------------------

    def _choose_builtin(self, name: str, options: dict) -> None:
        try:
            self.workspace.choose_builtin(name, options)
        except WorkspaceError:
            self._data_changed(None)   # the box goes back to the data the workspace holds

    def _choose_imported(self, source: dict, dataset) -> None:
        try:
            self.workspace.import_data(source, dataset)
        except WorkspaceError:
            self._data_changed(None)

    def _data_changed(self, _event) -> None:
        workspace = self.workspace
        dataset = workspace.dataset
        self.dataset_panel.show_data(workspace.source, dataset, workspace.data_unavailable,
                                     _event.description if _event is not None else "")
        if dataset is not None:
            self.training_panel.set_task("reconstruction" if workspace.settings.target == "input" else dataset.task)
            self.training_panel.set_settings(workspace.settings)

    def _settings_edited(self) -> None:
        if self.workspace.busy:
            # During a run a change is taken up at the next batch and marked on the curves: wait until
            # the typing pauses, so "30" epochs is one change and not "3" first (which would end the run).
            self._live_settings_timer.start()
            return
        self._commit_edited_settings()

    def _commit_edited_settings(self) -> None:
        try:
            self.commit_settings()
        except (WorkspaceError, TrainingError, ValueError) as error:
            self.show_status(str(getattr(error, "reason", error)))
            self.training_panel.set_settings(self.workspace.settings)

    def commit_settings(self) -> None:
        """Hand the settings shown to the workspace (TrainingError for a value it cannot take)."""
        settings = self.training_panel.settings()
        if settings.to_dict() != self.workspace.settings.to_dict():
            self.workspace.set_settings(settings)

    # -- editing ---------------------------------------------------------------------------------

    def add_layer_after_selection(self, layer_type: str) -> str | None:
        """Palette double-click / Enter: add after the selected layer, else after the last layer of the
        chain (in a new project, after the Input); wired in either way."""
        selected = self.canvas.model_scene.selected_node_ids()
        if len(selected) == 1:
            node_id = self.document.insert_after(selected[0], layer_type)
        else:
            node_id = self.document.append_layer(layer_type)
        if node_id is not None:
            self.canvas.model_scene.select_nodes([node_id])
            self.canvas.ensureVisible(self.canvas.model_scene.nodes[node_id], 40, 40)
            self.show_status(f"Added {layer_type}.")
        return node_id

    def use_matching_model(self) -> None:
        try:
            name = self.workspace.use_matching_model()
        except WorkspaceError:
            return
        self.canvas.fit_to_view()
        self.show_status(f"Replaced the model with the {name} template for '{self.workspace.dataset.name}' "
                         f"(Undo brings it back).")

    # -- training --------------------------------------------------------------------------------

    def set_editing_locked(self, locked: bool) -> None:
        """While a run trains, the model, the data and the settings cannot change."""
        self.canvas.model_scene.set_read_only(locked)
        self.inspector.refresh()
        self.dataset_panel.combo.setEnabled(not locked)
        self.palette_panel.setEnabled(not locked)
        self.action_train.setEnabled(not locked)
        history = self.workspace.undo_history
        self.action_undo.setEnabled(not locked and history.can_undo)
        self.action_redo.setEnabled(not locked and history.can_redo)
        self.palette_panel.setToolTip(READ_ONLY_MESSAGE if locked else "")

    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 15_000)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            self.share_out_space()
            self._arrange_opened_model()  # the viewport has its real size only now

    def share_out_space(self) -> None:
        """Size the splitters for the window as it is now: the palette and the side column a fixed
        width (a little more on a large screen), the canvas and the charts what is left, the canvas a
        little more than half of the height. The layout remembered from last time, where it fits this
        screen, replaces this (Appearance.restore_layout)."""
        main, center, results = self.splitters["main"], self.splitters["center"], self.splitters["results"]
        width = max(main.width(), self.width())
        large = width >= LARGE_WIDTH
        palette = max(self.palette_panel.minimumSizeHint().width(), PALETTE_WIDTH[large])
        side = max(self.side_column.minimumSizeHint().width(), SIDE_WIDTH[large])
        main.setSizes([palette, max(0, width - palette - side), side])
        height = center.height()
        floor = self.charts.minimumHeight()
        canvas = min(max(0, height - floor), round(height * CANVAS_SHARE / 100))
        center.setSizes([canvas, height - canvas])
        middle = max(0, width - palette - side)
        results.setSizes([round(middle * CHARTS_SHARE / 100), middle - round(middle * CHARTS_SHARE / 100)])

    def _arrange_opened_model(self) -> None:
        """Fit a freshly opened model to the view, wrapping it onto rows if it would be unreadable."""
        if self.canvas.needs_wrapping():
            self.canvas.auto_layout(record=False)  # arranging what was opened is not an edit to undo
        self.canvas.fit_to_view()

    # -- closing ---------------------------------------------------------------------------------

    def confirm_close_during_training(self) -> bool:
        """Asked when the window closes mid-run; tests replace this method to answer for the user."""
        answer = QMessageBox.question(self, "Training in progress",
                                      "A model is training. Stop training and close Layerforge?",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event) -> None:
        if self.workspace.busy:
            if not self.confirm_close_during_training():
                event.ignore()
                return
            self.show_status("Stopping training…")
            if not self.run.shutdown():
                event.ignore()
                self.show_status("Training did not stop in time; try closing again.")
                return
        event.accept()
        # The views' subscriptions are the only path from the workspace back to the window's widgets:
        # dropped here, the closed window is freed by reference counting, not by a garbage collection
        # at some later moment inside Qt's event loop (where freeing widgets once hung and crashed).
        self.workspace.events.disconnect_all()


def _literal(text: str) -> str:
    """``text`` shown as it is in a menu (an "&" in it is no Alt letter)."""
    return text.replace("&", "&&")
