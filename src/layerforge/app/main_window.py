"""The main window [mainWindow]: palette | canvas over charts and predictions | inspector, data, training."""
from __future__ import annotations

from importlib import resources

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QLabel, QMainWindow, QMessageBox, QScrollArea, QSplitter, QToolBar, QVBoxLayout,
                               QWidget)

from ..training import TrainingSettings
from .banner import Banner
from .canvas import ModelCanvas
from .charts import TrainingCharts
from .dataset_panel import DatasetPanel
from .document import READ_ONLY_MESSAGE, ModelDocument
from .frames import FrameClock
from .examples import example_names, model_fit_problem, model_for, open_example
from .icons import app_icon
from .inspector import LayerInspector
from .palette import LayerPalette
from .predictions import PredictionView
from .run_controller import RunController
from .training_panel import TrainingPanel

DEFAULT_SIZE = (1400, 900)


def load_stylesheet() -> str:
    try:
        return resources.files("layerforge.ui").joinpath("layerforge.qss").read_text(encoding="utf-8")
    except OSError:
        return ""


class MainWindow(QMainWindow):
    def __init__(self, example: str = "spiral"):
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowIcon(app_icon())
        self.resize(*DEFAULT_SIZE)
        self.project_name = "untitled"
        self._settings_dirty = False
        self._shown_once = False
        self.document = ModelDocument(parent=self)
        self._build_widgets()
        self._build_actions()
        self._connect()
        self.setStyleSheet(load_stylesheet())
        self.open_example(example)

    # -- construction ----------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.palette_panel = LayerPalette()
        self.canvas = ModelCanvas(self.document)
        self.inspector = LayerInspector(self.document)
        self.dataset_panel = DatasetPanel()
        self.training_panel = TrainingPanel()
        self.charts = TrainingCharts()
        self.predictions = PredictionView()
        self.banner = Banner()
        self.run = RunController(self)
        self.frames = FrameClock(self)
        self.frames.add_feed(self.run.session.deliver)
        self.frames.add(self.charts.redraw_if_dirty, self.charts)
        self.frames.add(self.predictions.draw_pending, self.predictions)
        self.frames.add(self.run.update_progress, self.training_panel.progress, light=True)

        results = QSplitter(Qt.Orientation.Horizontal)
        results.setObjectName("resultsSplitter")
        results.addWidget(self.charts)
        results.addWidget(self.predictions)
        results.setStretchFactor(0, 5)
        results.setStretchFactor(1, 6)
        results.setSizes([400, 510])
        self.charts.setMinimumWidth(340)
        center = QSplitter(Qt.Orientation.Vertical)
        center.setObjectName("centerSplitter")
        center.addWidget(self.canvas)
        center.addWidget(results)
        center.setSizes([430, 420])
        # The canvas takes what the window gains or loses, a banner coming and going included: the
        # charts keep their size, so they do not jump (and relayout every axis) when a run ends.
        center.setStretchFactor(0, 1)
        center.setStretchFactor(1, 0)
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.setSpacing(2)
        middle_layout.addWidget(self.banner)
        middle_layout.addWidget(center, 1)

        inspector_scroll = QScrollArea()
        inspector_scroll.setWidgetResizable(True)
        inspector_scroll.setWidget(self.inspector)
        inspector_scroll.setObjectName("inspectorScroll")
        inspector_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        run_column = QWidget()
        run_layout = QVBoxLayout(run_column)
        run_layout.setContentsMargins(0, 0, 0, 0)
        run_layout.addWidget(self.dataset_panel)
        run_layout.addWidget(self.training_panel)
        run_layout.addStretch(1)
        run_scroll = QScrollArea()
        run_scroll.setWidgetResizable(True)
        run_scroll.setWidget(run_column)
        run_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        right = QSplitter(Qt.Orientation.Vertical)
        right.setObjectName("rightSplitter")
        right.addWidget(inspector_scroll)
        right.addWidget(run_scroll)
        right.setSizes([250, 610])

        main = QSplitter(Qt.Orientation.Horizontal)
        main.setObjectName("mainSplitter")
        main.addWidget(self.palette_panel)
        main.addWidget(middle)
        main.addWidget(right)
        main.setStretchFactor(1, 1)
        main.setCollapsible(0, False)
        self.palette_panel.setMinimumWidth(160)
        main.setSizes([170, 910, 320])
        self.setCentralWidget(main)

        self.device_label = QLabel("Device: CPU")
        self.statusBar().addPermanentWidget(self.device_label)

    def _build_actions(self) -> None:
        stack = self.document.undo_stack
        self.action_undo = stack.createUndoAction(self, "Undo")
        self.action_undo.setObjectName("actionUndo")
        self.action_undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.action_redo = stack.createRedoAction(self, "Redo")
        self.action_redo.setObjectName("actionRedo")
        self.action_redo.setShortcut(QKeySequence.StandardKey.Redo)
        self.action_train = QAction("Train", self)
        self.action_train.setObjectName("actionTrain")
        self.action_train.setShortcut(QKeySequence("F5"))
        self.action_train.triggered.connect(self.run.start)

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        examples = file_menu.addMenu("Open &example")
        for name in example_names():
            examples.addAction(name, lambda n=name: self._ask_and_open(n))
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

    def _connect(self) -> None:
        self.document.undo_stack.cleanChanged.connect(self._update_title)
        self.document.refused.connect(self.show_status)
        self.document.changed.connect(self._model_changed)
        self.canvas.message.connect(self.show_status)
        self.canvas.model_scene.nodeSelectionChanged.connect(self.inspector.show_nodes)
        self.palette_panel.addLayerRequested.connect(self.add_layer_after_selection)
        self.dataset_panel.datasetChanged.connect(self._dataset_changed)
        self.dataset_panel.message.connect(self.show_status)
        self.training_panel.trainRequested.connect(self.run.start)
        self.training_panel.pauseToggled.connect(self.run.toggle_pause)
        self.training_panel.stopRequested.connect(self.run.stop)
        self.training_panel.settingsEdited.connect(self._mark_settings_dirty)
        self.run.status.connect(self.show_status)
        self.run.runningChanged.connect(self._running_changed)

    # -- project ---------------------------------------------------------------------------------

    def open_example(self, name: str) -> None:
        project = open_example(name)
        self.project_name = project.name
        self.document.replace(project.spec)
        self.training_panel.set_settings(project.settings)
        source = project.data_source
        if source.get("kind") == "builtin":
            self.dataset_panel.select(source["name"], source.get("options") or {})
        self.training_panel.set_settings(project.settings)
        self.charts.clear_previous()
        self._settings_dirty = False
        self.document.undo_stack.setClean()
        self.banner.clear()
        self._update_title()
        if self._shown_once:
            self._arrange_opened_model()
        self.show_status(f"Opened the '{project.name}' example. Press Train to start.")

    def _ask_and_open(self, name: str) -> None:
        if self.run.running:
            self.show_status("Stop training before opening another project.")
            return
        self.open_example(name)

    @property
    def is_dirty(self) -> bool:
        return self._settings_dirty or not self.document.undo_stack.isClean()

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.project_name}{'*' if self.is_dirty else ''} — Layerforge")

    def _mark_settings_dirty(self) -> None:
        self._settings_dirty = True
        self._update_title()

    def set_modified(self, modified: bool) -> None:
        """For projects and autosave (part 2): the project now differs from its file (True), or was
        just saved or opened (False: the undo stack is marked clean too)."""
        self._settings_dirty = modified
        if not modified:
            self.document.undo_stack.setClean()
        self._update_title()

    def arrange_opened_model(self) -> None:
        """Fit a model that was just opened to the view (once the window is on screen)."""
        if self._shown_once:
            self._arrange_opened_model()

    # -- editing ---------------------------------------------------------------------------------

    def add_layer_after_selection(self, layer_type: str) -> str | None:
        """Palette double-click / Enter: add after the selected layer (wired in), else beside the model."""
        selected = self.canvas.model_scene.selected_node_ids()
        after = selected[0] if len(selected) == 1 else None
        if after is None:
            spec = self.document.spec
            right = max((n.position[0] for n in spec.nodes.values()), default=-170.0)
            position = (right + 170.0, 0.0)
        else:
            position = self.document.spec.nodes[after].position
        node_id = self.document.add_layer(layer_type, position, after=after)
        if node_id is not None:
            self.canvas.model_scene.select_nodes([node_id])
            self.canvas.ensureVisible(self.canvas.model_scene.nodes[node_id], 40, 40)
            self.show_status(f"Added {layer_type}.")
        return node_id

    def _model_changed(self) -> None:
        self._update_title()
        self._check_fit()

    def _dataset_changed(self, dataset) -> None:
        target = self.training_panel.settings().target
        self.training_panel.set_task("reconstruction" if target == "input" else dataset.task)
        if target in ("labels", "values"):
            # "labels" came with a classification example; let the new data's task decide instead
            # (read the settings again: set_task may have switched the loss to one that suits the data).
            self.training_panel.set_settings(self.training_panel.settings().replace(target="auto"))
        self.predictions.show_dataset(dataset)
        self._mark_settings_dirty()
        self._check_fit()

    def _check_fit(self) -> None:
        dataset = self.dataset_panel.dataset
        if dataset is None or self.run.running:
            return
        problem = model_fit_problem(self.document.report, dataset, self.training_panel.settings().target)
        if problem is not None:
            self.banner.show_message("warning", problem + " Edit the Input/last layer, or use a model made for it.",
                                     "Use a matching model", self.use_matching_model)
        elif self.banner.level == "warning":
            self.banner.clear()

    def use_matching_model(self) -> None:
        dataset = self.dataset_panel.dataset
        name, spec, template = model_for(dataset)
        data = spec.to_dict()
        self.document.edit(f"Use {name}", lambda current: _replace_all(current, data))
        defaults = TrainingSettings.from_template(template, device=self.training_panel.settings().device)
        self.training_panel.set_settings(self.training_panel.settings().replace(
            loss=defaults.loss, learning_rate=defaults.learning_rate, epochs=defaults.epochs,
            batch_size=defaults.batch_size, target=defaults.target))
        self.canvas.fit_to_view()
        self.show_status(f"Replaced the model with the {name} template for '{dataset.name}' (Undo brings it back).")

    # -- training --------------------------------------------------------------------------------

    def _running_changed(self, running: bool) -> None:
        if not running:
            self.frames.flush()
        self.document.set_read_only(running)
        self.canvas.model_scene.set_read_only(running)
        self.inspector.refresh()
        self.dataset_panel.combo.setEnabled(not running)
        self.palette_panel.setEnabled(not running)
        self.action_train.setEnabled(not running)
        # Undo/redo would change the model behind the run's back; the stack re-enables them only when
        # it changes, which it cannot while editing is refused, so set them right after the run too.
        stack = self.document.undo_stack
        self.action_undo.setEnabled(not running and stack.canUndo())
        self.action_redo.setEnabled(not running and stack.canRedo())
        if running:
            self.palette_panel.setToolTip(READ_ONLY_MESSAGE)
        else:
            self.palette_panel.setToolTip("")
            self._check_fit()

    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 15_000)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shown_once:
            self._shown_once = True
            self._arrange_opened_model()  # the viewport has its real size only now

    def _arrange_opened_model(self) -> None:
        """Fit a freshly opened model to the view, wrapping it onto rows if it would be unreadable."""
        if self.canvas.needs_wrapping():
            self.canvas.auto_layout()
            self.document.undo_stack.clear()  # arranging what was opened is not an edit to undo
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
        if self.run.running:
            if not self.confirm_close_during_training():
                event.ignore()
                return
            self.show_status("Stopping training…")
            if not self.run.shutdown():
                event.ignore()
                self.show_status("Training did not stop in time; try closing again.")
                return
        event.accept()


def _replace_all(spec, data: dict) -> None:
    """Turn ``spec`` into the model ``data`` in place (one undoable edit)."""
    from ..graph import ModelSpec
    fresh = ModelSpec.from_dict(data)
    spec.nodes, spec.edges = fresh.nodes, fresh.edges
