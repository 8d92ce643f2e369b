"""The window's state as a :class:`~layerforge.training.Project`, and back.

Part 1's window knows a model (the document), a dataset choice, training settings and the charts of
the last run. This module reads them into a Project (to save, autosave, export or predict) and puts a
loaded Project back into the window, including the last run's curves and trained weights. It also
keeps the trained weights of the latest run (:class:`TrainedRun`), which the window itself does not
hold once the worker thread has ended.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ..data import ArrayDataset, DataSource
from ..graph import ModelSpec
from ..training import Project, TrainingSettings

IMPORTED_PREFIX = "imported:"


def model_structure(spec: ModelSpec) -> dict:
    """What decides the weights' names and shapes: the spec without canvas positions."""
    data = spec.to_dict()
    for node in data.get("nodes", []):
        node.pop("position", None)
    return data


@dataclass
class TrainedRun:
    """What a finished (or stopped, or failed) run leaves: weights and what they were trained on."""

    structure: dict
    weights: dict
    history: dict = field(default_factory=dict)
    normalization: dict | None = None
    data_info: dict = field(default_factory=dict)

    def fits(self, spec: ModelSpec) -> bool:
        """True while the model on the canvas is still the one these weights belong to."""
        return model_structure(spec) == self.structure


class ProjectState:
    """Reads and writes one window's project; attached to the window by ``install_part2``."""

    def __init__(self, window):
        self.window = window
        self.path: Path | None = None
        self.description = ""
        self.trained: TrainedRun | None = None
        self.history: dict = {}
        self.imported: dict[str, tuple[dict, ArrayDataset]] = {}   # combo key -> (source dict, dataset)
        # A project's data that could not be loaded (moved, renamed): kept, so that saving the project
        # does not replace its data choice with whatever the dataset box happened to show.
        self.unavailable_source: dict | None = None
        self._unavailable_index = -1
        window.run.session.runEnded.connect(self._run_ended)

    # -- the latest run --------------------------------------------------------------------------

    def _run_ended(self, _event) -> None:
        trainer = self.window.run.session.trainer
        if trainer is None or trainer.step == 0:
            return
        self.trained = TrainedRun(model_structure(trainer.spec), trainer.state_dict(),
                                  {k: list(v) for k, v in trainer.history.items()},
                                  trainer.normalization, trainer.data_info)
        self.history = self.trained.history
        mark_dirty(self.window)

    def weights(self) -> dict | None:
        """The trained weights, when they still belong to the model on the canvas."""
        if self.trained is not None and self.trained.fits(self.window.document.spec):
            return self.trained.weights
        return None

    # -- data choice -----------------------------------------------------------------------------

    def data_source(self) -> dict:
        panel = self.window.dataset_panel
        if self.unavailable_source is not None and panel.combo.currentIndex() == self._unavailable_index:
            return dict(self.unavailable_source)
        key = panel.combo.currentData()
        if isinstance(key, str) and key in self.imported:
            return dict(self.imported[key][0])
        return {"kind": "builtin", "name": key, "options": dict(getattr(panel, "options", {}) or {})}

    def show_imported(self, source: dict, dataset: ArrayDataset) -> None:
        """Add an imported dataset to the dataset box and choose it (the panel lists only built-ins)."""
        panel = self.window.dataset_panel
        self._take_over_combo()
        key = IMPORTED_PREFIX + DataSource.from_dict(source).describe()
        self.imported[key] = (dict(source), dataset)
        label = f"{dataset.name} — {dataset.task} (imported)"
        combo = panel.combo
        index = combo.findData(key)
        combo.blockSignals(True)
        if index < 0:
            combo.addItem(label, key)
            index = combo.count() - 1
        combo.setItemText(index, label)
        combo.setItemData(index, DataSource.from_dict(source).describe(), 3)   # Qt.ToolTipRole
        combo.setCurrentIndex(index)
        combo.blockSignals(False)
        self._show_dataset(dataset)

    def _show_dataset(self, dataset: ArrayDataset) -> None:
        panel = self.window.dataset_panel
        panel.dataset = dataset
        panel.options = {}
        panel._describe(dataset)
        panel._draw_preview(dataset)
        panel.datasetChanged.emit(dataset)

    def _take_over_combo(self) -> None:
        """Route choices of imported entries here; built-ins still go to the panel."""
        panel = self.window.dataset_panel
        if getattr(panel, "_part2_routed", False):
            return
        panel.combo.currentIndexChanged.disconnect(panel._changed)
        panel.combo.currentIndexChanged.connect(self._combo_changed)
        panel._part2_routed = True

    def _combo_changed(self, index: int) -> None:
        key = self.window.dataset_panel.combo.itemData(index)
        if isinstance(key, str) and key in self.imported:
            self._show_dataset(self.imported[key][1])
        else:
            self.window.dataset_panel._changed(index)

    def forget_file(self) -> None:
        """Another project replaced this one (an example): no file, no weights, no curves of its own."""
        self.path = None
        self.description = ""
        self.trained = None
        self.history = {}
        self.unavailable_source = None

    # -- window -> project -----------------------------------------------------------------------

    def project(self) -> tuple[Project, dict | None]:
        """The open project as it stands, and its trained weights (None when untrained or edited since)."""
        window = self.window
        weights = self.weights()
        trained = self.trained if weights is not None else None
        project = Project(window.project_name, window.document.spec.copy(), self.data_source(),
                          window.training_panel.settings(), history=dict(self.history) if trained else {},
                          normalization=trained.normalization if trained else None,
                          data_info=dict(trained.data_info) if trained else {}, description=self.description)
        return project, weights

    # -- project -> window -----------------------------------------------------------------------

    def apply(self, project: Project, weights: dict | None, path: Path | None, base_dir=None) -> list[str]:
        """Show ``project`` in the window; returns notes for the user (e.g. data that could not load)."""
        window = self.window
        notes = list(project.warnings)
        window.project_name = project.name
        self.description = project.description
        window.document.replace(project.spec)
        window.training_panel.set_settings(project.settings)
        source = project.data_source
        self.unavailable_source = None
        if source.get("kind") == "builtin":
            window.dataset_panel.select(source["name"], source.get("options") or {})
        else:
            try:
                dataset = DataSource.from_dict(source).load(base_dir)
            except (OSError, ValueError) as error:
                notes.append(f"The project's data could not be loaded: {error} It is kept in the project; "
                             f"import it again (Import data…) to train.")
                self.unavailable_source = self._absolute(source, base_dir)
                self._unavailable_index = window.dataset_panel.combo.currentIndex()
            else:
                self.show_imported(self._absolute(source, base_dir), dataset)
        window.training_panel.set_settings(project.settings)
        self.trained = None
        self.history = {k: list(v) for k, v in project.history.items()}
        if weights is not None:
            self.trained = TrainedRun(model_structure(project.spec), dict(weights), self.history,
                                      project.normalization, dict(project.data_info))
        restore_curves(window.charts, self.history, project.data_info.get("task") or _task_of(window))
        window.banner.clear()
        self.path = path
        mark_clean(window)
        window.arrange_opened_model()
        return notes

    @staticmethod
    def _absolute(source: dict, base_dir) -> dict:
        """Paths made absolute, so the imported entry keeps working wherever the project is saved next."""
        source = dict(source)
        for key in ("path", "targets_path"):
            value = source.get(key)
            if value and base_dir is not None and not Path(value).expanduser().is_absolute():
                source[key] = str((Path(base_dir) / value).resolve())
        return source


def mark_clean(window) -> None:
    """The project now matches what is on disk: no unsaved mark in the title."""
    window.set_modified(False)


def mark_dirty(window) -> None:
    """Something the project file holds changed outside the undo stack (data, settings, a run)."""
    window.set_modified(True)


def _task_of(window) -> str:
    dataset = window.dataset_panel.dataset
    return dataset.task if dataset is not None else "classification"


def restore_curves(charts, history: dict, task: str) -> None:
    """Draw a stored run's curves (``Trainer.history``) as if it had just run."""
    charts.clear_previous()
    epochs = list(history.get("epoch") or [])
    steps = list(history.get("step_loss") or [])
    if not epochs:
        charts.redraw_if_dirty()
        return
    per_epoch = max(1, len(steps) // len(epochs))
    charts.begin_run(per_epoch, "classification" if task == "classification" else "regression", len(epochs))
    rates = list(history.get("lr") or [])
    for step, loss in enumerate(steps, start=1):
        epoch_index = min(len(rates) - 1, (step - 1) // per_epoch) if rates else -1
        rate = rates[epoch_index] if rates else float("nan")
        charts.add_batch(step, _number(loss), _number(rate))
    for i, epoch in enumerate(epochs):
        train = {k[6:]: _number(v[i]) for k, v in history.items() if k.startswith("train_") and i < len(v)}
        val = {k[4:]: _number(v[i]) for k, v in history.items() if k.startswith("val_") and i < len(v)}
        charts.add_epoch(int(epoch), train, val)
    charts.redraw_if_dirty()


def _number(value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return value if math.isfinite(value) else float("nan")


def settings_with_split(settings: TrainingSettings, split: dict) -> TrainingSettings:
    """Training settings carrying the import dialog's split and standardisation choices."""
    keys = ("val_fraction", "test_fraction", "standardize", "seed")
    return settings.replace(**{k: split[k] for k in keys if k in split})
