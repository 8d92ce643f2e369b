"""The project's runs (issue #16): every run recorded, the weights of the last few kept, compare,
restore (undoable), rename, note and delete. Mixed into ``Workspace``; the records are
``run_record``'s, their files ``run_files``'s."""
from __future__ import annotations

from ..graph import ModelSpec
from ..training import TrainingSettings
from . import events as ev
from .run_record import differences
from .runs import BUSY, FINISHED, Run

SETTINGS_STEP = "layerforge_settings"   # marks an undo step that holds settings (and maybe a model too)

DEFAULT_KEEP_WEIGHTS = 3   # runs whose weights are kept (beside the project): the current one and the last few
MAX_KEEP_WEIGHTS = 50


class RunHistory:
    """runs / run_by_number / compare_runs / restore_run / rename_run / note_run / delete_run /
    set_keep_run_weights."""

    keep_run_weights: int = DEFAULT_KEEP_WEIGHTS

    def run_by_number(self, number: int) -> Run:
        for run in self.runs:
            if run.number == number:
                return run
        self._refuse("find a run", f"there is no run {number} in this project")

    def compare_runs(self, first: int, second: int) -> list[str]:
        """What changed from run ``first`` to run ``second`` (model, data, settings), one line each."""
        return differences(self.run_by_number(first), self.run_by_number(second))

    def rename_run(self, number: int, name: str) -> None:
        with self._lock:
            name = " ".join(str(name).split())
            if not name:
                self._refuse("rename the run", "a run needs a name")
            run = self.run_by_number(number)
            if run.name != name:
                run.name = name
                self._history_changed()

    def note_run(self, number: int, note: str) -> None:
        with self._lock:
            run = self.run_by_number(number)
            if run.note != note:
                run.note = str(note)
                self._history_changed()

    def delete_run(self, number: int) -> None:
        """Forget a run (its curves, record and weights). The run that trains cannot be deleted."""
        with self._lock:
            run = self.run_by_number(number)
            if run is self.run and self.busy:
                self._refuse("delete the run", "it is training: stop it first")
            self.runs.remove(run)
            if run is self.run:
                self.run, self._predictor = None, None
                self._emit(ev.RunReplaced(None, f"{run.name} was deleted"))
                previous = self._machine.reset("idle")
                self._emit(ev.RunStateChanged("idle", previous, ""))
            self._history_changed()

    def set_keep_run_weights(self, count: int) -> None:
        """How many runs keep their weights (the current one included); older runs keep their record."""
        with self._lock:
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_KEEP_WEIGHTS:
                self._refuse("keep run weights", f"keep the weights of 1 to {MAX_KEEP_WEIGHTS} runs, not {count!r}")
            self.keep_run_weights = count
            self._drop_old_weights()
            self._history_changed()

    def restore_run(self, number: int) -> Run:
        """Bring run ``number`` back: its model (as it was drawn), its settings and, when kept, its
        weights become the project's. The model and settings are one undo step; the run becomes the
        current one (its curves, predictions and banner)."""
        with self._lock:
            self._require_idle("restore a run")
            run = self.run_by_number(number)
            if not run.spec_data:
                self._refuse("restore the run", f"{run.name} did not record its model")
            before = {"spec": self.spec.to_dict(), SETTINGS_STEP: self.settings.to_dict()}
            after = {"spec": dict(run.spec_data), SETTINGS_STEP: run.settings.to_dict()}
            self._apply_step(after, f"Restore {run.name}")
            self.undo_history.push(f"Restore {run.name}", before, after)
            self._emit_undo()
            if run is not self.run:
                self.run, self._predictor = run, None
                run.stale = not run.fits(self.spec)
                self._emit(ev.RunReplaced(run, f"{run.name} restored"))
                previous = self._machine.reset(FINISHED if run.has_weights else "idle")
                self._emit(ev.RunStateChanged(self._machine.state, previous, run.summary()))
            self._history_changed()
            return run

    def _apply_step(self, data: dict, text: str) -> None:
        """Put an undo step's state in place: the settings and/or the model it holds."""
        if SETTINGS_STEP in data:
            self._apply_settings(TrainingSettings.from_dict(data[SETTINGS_STEP]), text)
        if "spec" in data:
            self._set_spec(ModelSpec.from_dict(data["spec"]), text)
        else:
            self._emit_undo()
            self._announce_dirty()

    # -- bookkeeping -----------------------------------------------------------------------------

    def _record_started(self, run: Run, replacing: Run | None) -> None:
        """A run began: a new entry, or (continued) in the place of the run it continues."""
        if replacing is not None and replacing in self.runs:
            run.name, run.note = replacing.name, replacing.note
            run.started_at = replacing.started_at or run.started_at
            self.runs[self.runs.index(replacing)] = run
        else:
            self.runs.append(run)
        self._history_changed()

    def _drop_old_weights(self) -> None:
        """Only the newest ``keep_run_weights`` runs keep their weights (the current one always does,
        and counts among them); the older ones keep their record and curves."""
        kept = 1 if self.run is not None and self.run.weights is not None else 0
        for run in reversed(self.runs):
            if run is self.run or run.weights is None or run.status in BUSY:
                continue
            if kept < self.keep_run_weights:
                kept += 1
            else:
                run.weights, run.resume = None, None

    def _history_changed(self) -> None:
        self._other_dirty = True
        self._emit(ev.RunsChanged(tuple(self.runs)))
        self._announce_dirty()

