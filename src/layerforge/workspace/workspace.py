"""The Workspace: the open project as one Qt-free model, and every operation a person does on it.

It owns the project's name, description and file, the model spec (with its shape report and undo
history), the data source and the loaded dataset (or why it could not be loaded), the training
settings, the run (curves, kept weights, predictions) and the run state, and the dirty flag. Each
operation leaves all of it whole and consistent, announces what changed as plain events
(``workspace.events``), and either runs or raises :class:`WorkspaceError` saying why not (also sent
as a ``Refused`` event, for the status bar). See DESIGN.md ("Which way imports run").
"""
from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any, Callable

from ..data import DataError, DataSource
from ..export import ExportError
from ..graph import GraphError, ModelSpec, get_template, infer_shapes
from ..training import (Project, ProjectError, TrainingError, TrainingSettings, example_project_path,
                        example_projects, load_project)
from ..training.examples import spec_for_dataset
from ..training.inference import Predictions, Predictor
from ..training.weights_evaluation import evaluate_weights
from . import events as ev
from .errors import UnsavedChanges, WorkspaceError
from .data_choice import DEFAULT_DATA, DataChoice
from .model_edits import replace_all
from .model_fit import model_fit_problem, model_for
from .model_import import ModelImport
from .project_export import export_project
from .project_files import ProjectFiles
from ..training import LIVE_SETTINGS, ResumeState
from .run_files import read_run_weights
from .run_history import DEFAULT_KEEP_WEIGHTS, SETTINGS_STEP, RunHistory
from .run_record import from_record, record
from .run_operations import RunOperations
from .runners import ThreadRunner
from .runs import FINISHED, IDLE, Run, RunStateMachine, kept_epoch_of, model_structure
from .undo import UndoHistory
from .weights_import import WeightsImport

EXAMPLE_ALIASES = {"digits": "digits_cnn"}


class Workspace(ProjectFiles, DataChoice, RunOperations, RunHistory, WeightsImport, ModelImport):
    """See the module docstring. ``runner`` runs the Trainer (default: a :class:`ThreadRunner`)."""

    def __init__(self, runner=None):
        self.events = ev.EventHub()
        self.session = uuid.uuid4().hex   # names this workspace's autosaves (see autosave.write_note)
        self.runner = runner or ThreadRunner()
        self._lock = threading.RLock()
        self._machine = RunStateMachine()
        self.undo_history = UndoHistory()
        self._run_count = 0
        self._trainer = None
        self._predictor: tuple[Any, Predictor] | None = None
        self._other_dirty = False
        self._dirty_shown = False
        self.name, self.description, self.path = "untitled", "", None
        self.spec = _empty_spec([2])
        self.report = infer_shapes(self.spec)
        self.source, self.dataset, self.data_unavailable = self._load_source(DEFAULT_DATA, None)
        self.settings = TrainingSettings(device="cpu")
        self.run: Run | None = None
        self.runs: list[Run] = []      # every run of the project, oldest first (the current one among them)

    # -- reading ---------------------------------------------------------------------------------

    @property
    def run_state(self) -> str:
        return self._machine.state

    @property
    def busy(self) -> bool:
        """A run is training, paused or stopping: the project cannot be replaced or edited."""
        return self._machine.busy

    @property
    def dirty(self) -> bool:
        return self._other_dirty or not self.undo_history.is_clean

    @property
    def fit_problem(self) -> str | None:
        """Why the model cannot take the data (None when it fits, or there is no data)."""
        if self.dataset is None:
            return None
        return model_fit_problem(self.report, self.dataset, self.settings.target)

    def project(self) -> tuple[Project, dict | None]:
        """The open project as it stands, with the run's weights (None when untrained or stale)."""
        run = self.run if self.run is not None and self.run.usable else None
        project = Project(self.name, self.spec.copy(), dict(self.source), self.settings,
                          history={k: list(v) for k, v in run.history.items()} if run else {},
                          normalization=run.normalization if run else None,
                          data_info=_with_kept_epoch(run) if run else {}, description=self.description,
                          changes=[dict(c) for c in run.changes] if run else [])
        if run is not None and run.resume is not None:   # saved with the weights: Continue after reopening
            project.resume_tensors, project.resume = run.resume.pack()
        project.runs = [{**record(r), "current": r is run} for r in self.runs]
        project.keep_run_weights = self.keep_run_weights
        return project, (run.weights if run else None)

    # -- replacing the project -------------------------------------------------------------------

    def new(self, template: str | None = None, *, discard: bool = False) -> None:
        """An untitled project on the current data: an Input alone, or ``template`` fitted to the data."""
        with self._lock:
            self._require_replaceable("start a new project", discard)
            device = self.settings.device
            if template is None:
                shape = list(self.dataset.input_shape) if self.dataset is not None else [2]
                spec = _empty_spec(shape)
                settings = TrainingSettings(device=device, loss=self.settings.loss, target=self.settings.target)
            else:
                try:
                    chosen = get_template(template)
                    if self.dataset is None:
                        raise TrainingError(f"template '{template}' needs data to fit: choose a dataset first")
                    spec = spec_for_dataset(chosen, self.dataset)
                    settings = TrainingSettings.from_template(chosen, device=device)
                except (KeyError, TrainingError) as error:
                    self._refuse("start a new project", str(error.args[0] if isinstance(error, KeyError) else error))
            self._replace("untitled", None, "", spec, self.source, self.dataset, self.data_unavailable,
                          settings, None, "new")

    def open(self, path, *, discard: bool = False) -> list[str]:
        """Open a .lfproj project (with its weights: a finished run); returns notes for the user."""
        with self._lock:
            self._require_replaceable("open a project", discard)
            path = Path(path)
            return self._open_file(path, path, path.parent, "open", "open a project")

    def open_example(self, name: str, *, discard: bool = False) -> list[str]:
        """Open a shipped example project (untitled: saving asks for a file)."""
        with self._lock:
            self._require_replaceable("open an example", discard)
            shipped = example_projects()
            key = EXAMPLE_ALIASES.get(name, name) if name not in shipped else name
            try:
                file = example_project_path(key)
            except ProjectError as error:
                self._refuse("open an example", str(error))
            return self._open_file(file, None, file.parent, "example", "open an example")

    def _open_file(self, file: Path, path: Path | None, base_dir, how: str, operation: str,
                   dirty: bool = False) -> list[str]:
        try:
            project, weights = load_project(file)
        except ProjectError as error:
            self._refuse(operation, str(error) + "; the open project is unchanged")
        notes = list(project.warnings)
        source, dataset, unavailable = self._load_source(project.data_source, base_dir)
        if unavailable:
            notes.append(f"The project's data could not be loaded: {unavailable} It is kept in the project; "
                         f"import it again to train.")
        runs, current = self._recorded_runs(project, file, notes)
        numbers = [r.number for r in runs] + ([int(current.get("number") or 0)] if current else [])
        self._run_count = max(numbers, default=0)
        run = None
        if weights is not None or project.history.get("epoch"):
            run, note = self._reopened_run(project, weights, dataset, file)
            notes += [note] if note else []
            if current:   # what the record of runs knows of it: its name, note, time, model as drawn
                recorded = from_record(current)
                for name in ("number", "name", "note", "started_at", "duration_s", "spec_data", "source", "device"):
                    setattr(run, name, getattr(recorded, name))
                if not run.kept_epoch and not recorded.kept_epoch:   # weights of no epoch: say whence (imported)
                    run.kept_why = recorded.kept_why
            else:
                run.spec_data, run.source = project.spec.to_dict(), dict(project.data_source)
            runs.append(run)
            self._run_count = max(r.number for r in runs)
        self.keep_run_weights = project.keep_run_weights or DEFAULT_KEEP_WEIGHTS
        self._replace(project.name, path, project.description, project.spec, source, dataset, unavailable,
                      project.settings, run, how, notes, dirty, runs)
        return notes

    @staticmethod
    def _recorded_runs(project: Project, file: Path, notes: list) -> tuple[list[Run], dict | None]:
        """The project's earlier runs (with the weights kept beside it) and the current run's record."""
        runs, current = [], None
        for data in project.runs:
            if data.get("current"):
                current = data
                continue
            try:
                run = from_record(data)
            except (ValueError, TypeError) as error:
                notes.append(f"A recorded run could not be read and was left out: {error}")
                continue
            run.weights, note = read_run_weights(file, data)
            if note:
                notes.append(f"The weights of {run.name} were not loaded: {note}")
            runs.append(run)
        return runs, current

    def _reopened_run(self, project: Project, weights, dataset, file: Path) -> tuple[Run, str]:
        """A project saved after training opens as a finished run: curves, kept epoch, weights and
        (when the data loads) the kept weights' predictions and confusion matrix at once."""
        self._run_count += 1
        history = {k: list(v) for k, v in project.history.items()}
        history.setdefault("step_loss", [])
        epochs = len(history.get("epoch") or [])
        info = dict(project.data_info)
        kept_epoch, kept_why = _stored_kept_epoch(info, history) or kept_epoch_of(history, project.settings.keep_best)
        run = Run(self._run_count, model_structure(project.spec), project.settings,
                  task=info.get("task") or "classification", total_epochs=epochs,
                  steps_per_epoch=max(1, len(history["step_loss"]) // max(epochs, 1)), history=history,
                  status="finished", reason=f"opened from {file.name}", weights=weights,
                  normalization=project.normalization, data_info=info, kept_epoch=kept_epoch,
                  kept_why=kept_why, class_names=list(info.get("class_names") or []), reopened=True)
        run.best_epoch = kept_epoch if kept_why.startswith("best") else 0
        run.changes = [dict(change) for change in project.changes]
        note = ""
        if project.resume and weights is not None:
            try:
                run.resume = ResumeState.unpack(project.resume_tensors, project.resume, history)
            except TrainingError as error:
                note = f"The run cannot be continued, only restarted: {error}"
        if weights is None or dataset is None:
            return run, note
        try:
            evaluation = evaluate_weights(project.spec, dataset, project.settings, weights, kept_epoch)
        except (TrainingError, DataError, GraphError, ValueError) as error:
            return run, f"The trained model's predictions cannot be shown: {error}"
        run.final = dict(evaluation.metrics)
        run.kept_confusion = run.confusion = evaluation.confusion
        run.confusion_epoch = kept_epoch
        run.kept_snapshot = run.latest_snapshot = evaluation.snapshot
        return run, note

    def _replace(self, name, path, description, spec: ModelSpec, source, dataset, unavailable, settings, run,
                 how: str, notes=(), dirty: bool = False, runs=None) -> None:
        self.name, self.path, self.description = name, path, description
        self.runs = list(runs) if runs is not None else ([run] if run is not None else [])
        self.spec, self.report = spec, infer_shapes(spec)
        self.source, self.dataset, self.data_unavailable = dict(source), dataset, unavailable
        self.settings, self.run, self._trainer, self._predictor = settings, run, None, None
        self.undo_history.clear()
        self._other_dirty = dirty
        state = FINISHED if run is not None and run.has_weights else IDLE
        previous = self._machine.reset(state)
        self._emit(ev.ProjectReplaced(name, path, how, description, tuple(notes)))
        self._emit_model("Open" if how != "new" else "New project", True)
        self._emit_data()
        self._emit(ev.SettingsChanged(settings, tuple(settings.to_dict())))
        self._emit(ev.RunReplaced(run, f"the project was replaced ({how})"))
        self._emit(ev.RunsChanged(tuple(self.runs)))
        self._emit(ev.RunStateChanged(state, previous, run.summary() if run is not None else ""))
        self._emit_undo()
        self._announce_dirty(always=True)

    # -- settings --------------------------------------------------------------------------------

    def set_settings(self, settings: TrainingSettings | None = None, **changes) -> TrainingSettings:
        """Replace the settings, or change some fields (``set_settings(epochs=5)``)."""
        with self._lock:
            try:
                new = (settings or self.settings).replace(**changes)
            except (TrainingError, TypeError) as error:
                self._refuse("change the settings", str(error))
            self._apply_settings(new, "change the settings")
            self._announce_dirty()
            return self.settings

    def set_settings_undoable(self, text: str, **changes) -> TrainingSettings:
        """Change some settings as one step of the undo history ("Use learning rate 0.003"), which
        Undo and Redo take back and forth as they do the model's edits."""
        with self._lock:
            before = self.settings
            try:
                new = before.replace(**changes)
            except (TrainingError, TypeError) as error:
                self._refuse("change the settings", str(error))
            if new.to_dict() == before.to_dict():
                return before
            self._apply_settings(new, "change the settings")
            self.undo_history.push(text, {SETTINGS_STEP: before.to_dict()}, {SETTINGS_STEP: new.to_dict()})
            self._emit_undo()
            self._announce_dirty()
            return self.settings

    def _apply_settings(self, new: TrainingSettings, operation: str) -> None:
        old = self.settings.to_dict()
        changed = tuple(k for k, v in new.to_dict().items() if old.get(k) != v)
        if not changed:
            return
        if self.busy and set(changed) - LIVE_SETTINGS:
            fixed = [name for name in changed if name not in LIVE_SETTINGS]
            self._refuse(operation, f"the model is training: stop training first to change {', '.join(fixed)}")
        if self.busy:
            self.change_settings_live(new)   # taken up at the next batch, marked on the curves
        self.settings = new
        self._other_dirty = True
        self._emit(ev.SettingsChanged(new, changed))
        if "target" in changed:
            self._emit_data()   # whether the model fits depends on the target

    # -- the model -------------------------------------------------------------------------------

    def edit_model(self, text: str, change: Callable[[ModelSpec], Any], merge_key: Any = None,
                   record: bool = True) -> Any:
        """Apply ``change(spec)`` (see ``model_edits``) as one undoable step; returns its result.
        ``record=False``: not a step of its own and not unsaved work (arranging a model just opened)."""
        with self._lock:
            self._require_idle(f"edit the model ({text})")
            before = self.spec.to_dict()
            trial = self.spec.copy()
            try:
                result = change(trial)
            except (GraphError, KeyError, ValueError) as error:
                message = error.message if isinstance(error, GraphError) else (
                    str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error))
                self._refuse(f"edit the model ({text})", message)
            after = trial.to_dict()
            if after != before:
                if record:
                    self.undo_history.push(text, before, after, merge_key)
                self._set_spec(trial, text)
            return result

    def undo(self) -> str:
        return self._step("undo")

    def redo(self) -> str:
        return self._step("redo")

    def _step(self, which: str) -> str:
        with self._lock:
            self._require_idle(which)
            history = self.undo_history
            if not (history.can_undo if which == "undo" else history.can_redo):
                self._refuse(which, f"there is nothing to {which}")
            text, data = history.undo() if which == "undo" else history.redo()
            if SETTINGS_STEP in data:   # settings (a learning rate the finder suggested), maybe a model too
                self._apply_step(data, f"{which.capitalize()} {text}")
            else:
                self._set_spec(ModelSpec.from_dict(data), f"{which.capitalize()} {text}")
            return text

    @property
    def can_undo(self) -> bool:
        return self.undo_history.can_undo and not self.busy

    @property
    def can_redo(self) -> bool:
        return self.undo_history.can_redo and not self.busy

    def use_matching_model(self) -> str:
        """Replace the model with a template made for the data (one undoable step); its name."""
        with self._lock:
            if self.dataset is None:
                self._refuse("use a matching model", self.data_unavailable or "choose a dataset first")
            name, spec, template = model_for(self.dataset)
            self.edit_model(f"Use {name}", replace_all(spec.to_dict()))
            defaults = TrainingSettings.from_template(template, device=self.settings.device)
            self.set_settings(loss=defaults.loss, learning_rate=defaults.learning_rate, epochs=defaults.epochs,
                              batch_size=defaults.batch_size, target=defaults.target)
            return name

    def _set_spec(self, spec: ModelSpec, text: str) -> None:
        structure_changed = model_structure(spec) != model_structure(self.spec)
        self.spec, self.report = spec, infer_shapes(spec)
        run = self.run
        if run is not None and run.has_weights and structure_changed:
            stale = not run.fits(spec)
            if stale != run.stale:
                run.stale = stale
                run.stale_reason = ("the model was edited after training: its predictions and metrics are of "
                                    "the model before the edit; train again (or undo the edit)") if stale else ""
                self._predictor = None
                self._emit(ev.ResultsStale(run, stale, run.stale_reason))
        self._emit_model(text, structure_changed)
        self._emit_undo()
        self._announce_dirty()

    # -- using the trained model -----------------------------------------------------------------

    def predict(self, inputs) -> Predictions:
        """Predictions of the kept weights for raw inputs (the data's units)."""
        with self._lock:
            self._require_weights("predict")
            key = (self.run.number, id(self.run.weights))
            if self._predictor is None or self._predictor[0] != key:
                project, weights = self.project()
                try:
                    self._predictor = (key, Predictor(project, weights))
                except TrainingError as error:
                    self._refuse("predict", str(error))
            predictor = self._predictor[1]
        try:
            return predictor.predict(inputs)
        except (TrainingError, ValueError) as error:
            self._refuse("predict", str(error))

    def export(self, fmt: str, path) -> list[Path]:
        """Export the kept weights: "safetensors", "npz", "onnx" or "pytorch" (export_project)."""
        with self._lock:
            self._require_weights("export")
            project, weights = self.project()
            project_dir = self.path.parent if self.path else None
        try:
            return export_project(project, weights, fmt, Path(path), project_dir=project_dir)
        except (ExportError, OSError, ValueError) as error:
            self._refuse(f"export {fmt}", str(error))

    # -- helpers ---------------------------------------------------------------------------------

    def _refuse(self, operation: str, reason: str, kind: type = WorkspaceError):
        error = kind(operation, reason)
        self._emit(ev.Refused(operation, reason))
        raise error

    def _require_idle(self, operation: str) -> None:
        if self.busy:
            self._refuse(operation, f"the model is training (the run is {self.run_state}): stop training first")

    def _require_replaceable(self, operation: str, discard: bool) -> None:
        self._require_idle(operation)
        if self.dirty and not discard:
            self._refuse(operation, f"the project '{self.name}' has unsaved changes: save it first, or "
                         f"discard them", UnsavedChanges)

    def _require_weights(self, operation: str) -> None:
        run = self.run
        if self.busy:
            self._refuse(operation, f"the model is training (the run is {self.run_state}): wait for it to end or stop it")
        if run is None or not run.has_weights:
            self._refuse(operation, "the model has no trained weights yet: train it first")
        if run.stale:
            self._refuse(operation, run.stale_reason)

    def _move(self, state: str, message: str = "") -> None:
        previous = self._machine.move(state)
        if previous != state:
            self._emit(ev.RunStateChanged(state, previous, message))

    def _emit(self, event) -> None:
        self.events.emit(event)

    def _emit_model(self, text: str, structure_changed: bool) -> None:
        self._emit(ev.ModelChanged(self.spec, self.report, text, structure_changed, self.fit_problem))

    def _emit_data(self) -> None:
        description = DataSource.from_dict(self.source).describe() if self.source else ""
        self._emit(ev.DataChanged(dict(self.source), self.dataset, self.data_unavailable, description,
                                  self.fit_problem))

    def _emit_undo(self) -> None:
        h = self.undo_history
        self._emit(ev.UndoChanged(h.can_undo, h.can_redo, h.undo_text, h.redo_text))

    def _announce_dirty(self, always: bool = False) -> None:
        dirty = self.dirty
        if always or dirty != self._dirty_shown:
            self._dirty_shown = dirty
            self._emit(ev.DirtyChanged(dirty))


def _empty_spec(shape: list) -> ModelSpec:
    spec = ModelSpec()
    spec.add_node("Input", {"shape": list(shape)}, position=(0.0, 0.0))
    return spec


def _with_kept_epoch(run: Run) -> dict:
    """The run's data_info with the epoch its weights are of, so a reopened project names the same one."""
    info = dict(run.data_info)
    if run.kept_epoch:
        info["kept_epoch"], info["kept_why"] = int(run.kept_epoch), run.kept_why
    return info


def _stored_kept_epoch(info: dict, history: dict) -> tuple[int, str] | None:
    epoch, why = info.get("kept_epoch"), info.get("kept_why")
    epochs = list(history.get("epoch") or [])
    if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch in epochs and isinstance(why, str):
        return epoch, why
    return None
