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
from pathlib import Path
from typing import Any, Callable

from ..data import DataError, DataSource, load_dataset
from ..data.builtin import check_options
from ..export import ExportError, export_project
from ..graph import GraphError, ModelSpec, get_template, infer_shapes
from ..training import (Project, ProjectError, TrainingError, TrainingSettings, default_loss_for,
                        example_project_path, example_projects, get_loss, load_project, save_project)
from ..training.examples import spec_for_dataset
from ..training.inference import Predictions, Predictor
from ..training.weights_evaluation import evaluate_weights
from . import autosave as autosaves
from . import events as ev
from .errors import UnsavedChanges, WorkspaceError
from .model_edits import replace_all
from .model_fit import model_fit_problem, model_for
from .run_operations import LIVE_SETTINGS, RunOperations
from .runners import ThreadRunner
from .runs import FINISHED, IDLE, Run, RunStateMachine, kept_epoch_of, model_structure
from .undo import UndoHistory

SUFFIX = ".lfproj"
EXAMPLE_ALIASES = {"digits": "digits_cnn"}
DEFAULT_DATA = {"kind": "builtin", "name": "spiral", "options": {}}


class Workspace(RunOperations):
    """See the module docstring. ``runner`` runs the Trainer (default: a :class:`ThreadRunner`)."""

    def __init__(self, runner=None):
        self.events = ev.EventHub()
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
                          data_info=dict(run.data_info) if run else {}, description=self.description)
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
        run = None
        if weights is not None or project.history.get("epoch"):
            run, note = self._reopened_run(project, weights, dataset, file)
            notes += [note] if note else []
        self._replace(project.name, path, project.description, project.spec, source, dataset, unavailable,
                      project.settings, run, how, notes, dirty)
        return notes

    def _reopened_run(self, project: Project, weights, dataset, file: Path) -> tuple[Run, str]:
        """A project saved after training opens as a finished run: curves, kept epoch, weights and
        (when the data loads) the kept weights' predictions and confusion matrix at once."""
        self._run_count += 1
        history = {k: list(v) for k, v in project.history.items()}
        history.setdefault("step_loss", [])
        epochs = len(history.get("epoch") or [])
        kept_epoch, kept_why = kept_epoch_of(history, project.settings.keep_best)
        info = dict(project.data_info)
        run = Run(self._run_count, model_structure(project.spec), project.settings,
                  task=info.get("task") or "classification", total_epochs=epochs,
                  steps_per_epoch=max(1, len(history["step_loss"]) // max(epochs, 1)), history=history,
                  status="finished", reason=f"opened from {file.name}", weights=weights,
                  normalization=project.normalization, data_info=info, kept_epoch=kept_epoch,
                  kept_why=kept_why, class_names=list(info.get("class_names") or []), reopened=True)
        run.best_epoch = kept_epoch if kept_why.startswith("best") else 0
        if weights is None or dataset is None:
            return run, ""
        try:
            evaluation = evaluate_weights(project.spec, dataset, project.settings, weights, kept_epoch)
        except (TrainingError, DataError, GraphError, ValueError) as error:
            return run, f"The trained model's predictions cannot be shown: {error}"
        run.final = dict(evaluation.metrics)
        run.kept_confusion = run.confusion = evaluation.confusion
        run.confusion_epoch = kept_epoch
        run.kept_snapshot = run.latest_snapshot = evaluation.snapshot
        return run, ""

    def _replace(self, name, path, description, spec: ModelSpec, source, dataset, unavailable, settings, run,
                 how: str, notes=(), dirty: bool = False) -> None:
        self.name, self.path, self.description = name, path, description
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
        self._emit(ev.RunStateChanged(state, previous, run.summary() if run is not None else ""))
        self._emit_undo()
        self._announce_dirty(always=True)

    # -- saving ----------------------------------------------------------------------------------

    def save(self) -> Path:
        with self._lock:
            if self.path is None:
                self._refuse("save", "the project has no file yet: use Save As to choose one")
            return self._save_to(self.path, "save")

    def save_as(self, path) -> Path:
        with self._lock:
            path = Path(path)
            if not path.name.endswith(SUFFIX):
                path = path.with_name(path.name + SUFFIX)
            return self._save_to(path, "save as")

    def _save_to(self, path: Path, operation: str) -> Path:
        project, weights = self.project()
        if self.path != path:
            project.name = path.name[:-len(SUFFIX)]
        try:
            save_project(project, path, weights)
        except (ProjectError, OSError) as error:
            self._refuse(operation, f"{error}; the project is still open, try another folder or name")
        self.path, self.name = path, project.name
        self.undo_history.set_clean()
        self._other_dirty = False
        self._emit(ev.ProjectSaved(self.name, path, weights is not None))
        self._emit_undo()
        self._announce_dirty()
        return path

    def autosave_to(self, folder) -> Path | None:
        """Write this session's autosave into ``folder`` when something is unsaved; its path, or None
        when there was nothing to write. Never changes the dirty flag."""
        with self._lock:
            if not self.dirty:
                return None
            folder, stem = Path(folder), autosaves.autosave_stem()
            project, weights = self.project()
            try:
                folder.mkdir(parents=True, exist_ok=True)
                save_project(project, folder / f"{stem}.lfproj", weights)
                if weights is None:
                    autosaves.remove_weights(folder, stem)
                autosaves.write_note(folder, stem, self.name, self.path)
            except (ProjectError, OSError) as error:
                self._refuse("autosave", str(error))
            return folder / f"{stem}.lfproj"

    def pending_autosaves(self, folder) -> list[autosaves.PendingAutosave]:
        """Autosaves a crashed Layerforge left in ``folder``, newest first. Damaged ones are moved
        aside and announced as Refused("recover", where they went), never offered."""
        pending, failed = autosaves.find_pending(Path(folder))
        for failure in failed:
            where = (f"it was moved aside to {failure.moved_to}" if failure.moved_to
                     else "it could not be moved aside, so it will be offered again")
            self._emit(ev.Refused("recover an autosave", f"{failure.reason}; {where}"))
        return pending

    def recover(self, pending: autosaves.PendingAutosave, *, discard: bool = False) -> list[str]:
        """Open the autosave ``pending`` as the project it stands for (its name and file), unsaved."""
        with self._lock:
            self._require_replaceable(f"recover {pending.name!r}", discard)
            base_dir = pending.original_path.parent if pending.original_path else pending.folder
            try:
                notes = self._open_file(pending.path, pending.original_path, base_dir, "recover",
                                        f"recover {pending.name!r}", dirty=True)
            except WorkspaceError as error:
                failure = autosaves.give_up(pending.folder, pending.stem, error.reason)
                raise WorkspaceError(error.operation, f"{error.reason}; the autosave was moved aside to "
                                     f"{failure.moved_to}") from None
            if pending.stem != autosaves.autosave_stem():
                autosaves.remove(pending.folder, pending.stem)   # this session's autosave holds it now
            return notes

    def discard_autosave(self, folder, pending: autosaves.PendingAutosave | None = None) -> None:
        """Delete ``pending`` (Discard on the recovery prompt), or this session's own autosave."""
        autosaves.remove(Path(folder), pending.stem if pending is not None else autosaves.autosave_stem())

    # -- data ------------------------------------------------------------------------------------

    def choose_builtin(self, name: str, options: dict | None = None) -> None:
        with self._lock:
            self._require_idle("choose a dataset")
            try:
                options = check_options(name, dict(options or {}))
                dataset = load_dataset(name, **options)
            except (DataError, KeyError) as error:
                self._refuse("choose a dataset", str(error))
            self._set_data({"kind": "builtin", "name": name, "options": options}, dataset)

    def import_data(self, source: dict, dataset=None, split: dict | None = None, base_dir=None) -> None:
        """Use imported data (``dataset`` when the caller has loaded it already); ``split`` may carry
        val_fraction, test_fraction, standardize and seed from the import dialog."""
        with self._lock:
            self._require_idle("import data")
            try:
                source = DataSource.from_dict(source).to_dict()
                if dataset is None:
                    dataset = DataSource.from_dict(source).load(base_dir)
            except (DataError, OSError) as error:
                self._refuse("import data", str(error))
            self._set_data(source, dataset, split)

    def _set_data(self, source: dict, dataset, split: dict | None = None) -> None:
        self.source, self.dataset, self.data_unavailable = dict(source), dataset, ""
        self._other_dirty = True
        if self.run is not None:
            self.run, self._predictor = None, None
            self._emit(ev.RunReplaced(None, f"the data changed to {dataset.name}: the last run learned other data"))
            previous = self._machine.reset(IDLE)
            self._emit(ev.RunStateChanged(IDLE, previous, ""))
        self._emit_data()
        changes = {k: split[k] for k in ("val_fraction", "test_fraction", "standardize", "seed") if k in (split or {})}
        target = self.settings.target
        if target in ("labels", "values") and target != ("labels" if dataset.task == "classification" else "values"):
            changes["target"] = "auto"
        task = "reconstruction" if target == "input" else dataset.task
        if not get_loss(self.settings.loss).suits(task):
            changes["loss"] = default_loss_for(task)
        if changes:
            self._apply_settings(self.settings.replace(**changes), "import data")
        self._announce_dirty()

    def _load_source(self, source: dict, base_dir) -> tuple[dict, Any, str]:
        """(source with absolute paths, dataset or None, why it could not be loaded or "")."""
        source = dict(source)
        for key in ("path", "targets_path"):
            value = source.get(key)
            if value and base_dir is not None and not Path(value).expanduser().is_absolute():
                source[key] = str((Path(base_dir) / value).resolve())
        try:
            return source, DataSource.from_dict(source).load(), ""
        except (OSError, ValueError) as error:
            return source, None, str(error)

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

    def _apply_settings(self, new: TrainingSettings, operation: str) -> None:
        old = self.settings.to_dict()
        changed = tuple(k for k, v in new.to_dict().items() if old.get(k) != v)
        if not changed:
            return
        if self.busy and set(changed) - LIVE_SETTINGS:
            self._refuse(operation, f"a run is in progress: stop it first to change {', '.join(changed)}")
        self.settings = new
        self._other_dirty = True
        self._emit(ev.SettingsChanged(new, changed))
        if "target" in changed:
            self._emit_data()   # whether the model fits depends on the target

    # -- the model -------------------------------------------------------------------------------

    def edit_model(self, text: str, change: Callable[[ModelSpec], Any], merge_key: Any = None) -> Any:
        """Apply ``change(spec)`` (see ``model_edits``) as one undoable step; returns its result."""
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
            self._refuse(operation, f"a run is in progress ({self.run_state}): stop it first")

    def _require_replaceable(self, operation: str, discard: bool) -> None:
        self._require_idle(operation)
        if self.dirty and not discard:
            self._refuse(operation, f"the project '{self.name}' has unsaved changes: save it first, or "
                         f"discard them", UnsavedChanges)

    def _require_weights(self, operation: str) -> None:
        run = self.run
        if self.busy:
            self._refuse(operation, f"a run is in progress ({self.run_state}): wait for it to end or stop it")
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
