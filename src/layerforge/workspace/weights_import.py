"""Import weights (File > Import weights...): a PyTorch checkpoint, a safetensors or an npz file's
state dict into the model on the canvas. Mixed into ``Workspace``.

``match_weights(path)`` says what would happen (matched, missing, unexpected, wrong shape; see
``weights_match``) without changing anything; ``import_weights(path)`` does it. Files are read by
``engine.load``, whose PyTorch reader runs no code. The weights the file does not give keep the
current run's (when they belong to the model on the canvas) or a fresh initialisation with the
settings' seed, and the imported file must give at least one.

The import is a step of the project's record of runs: a new run, "Imported <file>", ended and
current, whose kept weights are the imported ones. So everything that uses a run's weights uses
them at once: Predict, Export, the prediction views and metrics (evaluated on the data, as a
reopened project's are). Continue trains on from them, with a fresh optimizer (the file's optimizer
state belongs to another program's parameters); Train starts afresh as always; the earlier runs stay
in the list, so Restore brings their weights back.
"""
from __future__ import annotations

import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import engine
from ..engine.serialization import SerializationError
from ..graph import GraphError, compile_spec
from ..training import ResumeState, Trainer, TrainingError
from ..training.weights_evaluation import evaluate_weights
from . import events as ev
from .runs import FINISHED, Run, headline_metric, model_structure
from .weights_match import WeightsMatch, find_state_dict, match

__all__ = ["WeightsImport", "WeightsMatch", "ImportedRun", "WEIGHTS_SUFFIXES"]

WEIGHTS_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors", ".npz")


@dataclass(repr=False)
class ImportedRun(Run):
    """A run whose weights were imported, not trained: its banner says so."""

    imported_from: str = ""
    match_headline: str = ""

    def summary(self) -> str:
        metric = headline_metric(self.kept_metrics(), self.task)
        text = f"Weights imported from {self.imported_from}: {self.match_headline}"
        if metric:
            text += f". {metric[0].upper()}{metric[1:]}"
        text += ". Continue trains on from them"
        return text + (f" — {self.stale_reason}" if self.stale else "")


class WeightsImport:
    """match_weights / import_weights."""

    _weights_cache: tuple | None = None   # ((path, mtime, size), found_in, tensors): the file read last

    def match_weights(self, path) -> WeightsMatch:
        """What importing ``path`` would match, miss and leave over; nothing changes.
        WorkspaceError for a file that cannot be read or holds no state dict."""
        with self._lock:
            operation = "import weights"
            self._require_idle(operation)
            return self._weights_match(Path(path), operation)[0]

    def import_weights(self, path, apply: bool = True) -> WeightsMatch:
        """Put the weights of ``path`` that match the model into it, as a new run (see the module
        docstring); ``apply=False`` is ``match_weights``. Refused when nothing matches."""
        with self._lock:
            operation = "import weights"
            self._require_idle(operation)
            path = Path(path)
            result, model_state, tensors = self._weights_match(path, operation)
            if not apply:
                return result
            if not result.any_matched:
                first = "; ".join(result.problems()[:3])
                self._refuse(operation, f"nothing in '{path.name}' matches the model's weights by name or shape "
                                        f"({first}{'; ...' if len(result.problems()) > 3 else ''})")
            weights = OrderedDict()
            given = {model: name for model, name, _ in result.matched}
            for key, value in model_state.items():
                target = value.detach().cpu().numpy()
                if key in given:
                    source = tensors[given[key]].detach().cpu().numpy()
                    weights[key] = engine.from_numpy(np.array(source, dtype=target.dtype, copy=True, order="C"))
                else:
                    weights[key] = engine.from_numpy(np.array(target, copy=True, order="C"))
            self._add_imported_run(path, result, weights)
            self._weights_cache = None   # the run holds what it needs; the file's tensors are let go
            result.applied = True
            return result

    # -- reading and matching ----------------------------------------------------------------------

    def _weights_match(self, path: Path, operation: str):
        if not self.report.ok:
            self._refuse(operation, f"the model is not valid: {self.report.errors[0].message}")
        found_in, tensors = self._read_weights(path, operation)
        model_state, kept = self._base_weights(operation)
        model_shapes = OrderedDict((key, tuple(value.shape)) for key, value in model_state.items())
        file_shapes = OrderedDict((key, tuple(value.shape)) for key, value in tensors.items())
        result = match(path, model_shapes, file_shapes, found_in)
        result.kept = kept
        return result, model_state, tensors

    def _read_weights(self, path: Path, operation: str) -> tuple[str, dict]:
        try:
            info = os.stat(path)
        except OSError as error:
            self._refuse(operation, f"'{path}' cannot be read: {error.strerror or error}")
        key = (str(path.resolve()), info.st_mtime_ns, info.st_size)
        if self._weights_cache is not None and self._weights_cache[0] == key:
            return self._weights_cache[1], self._weights_cache[2]
        try:
            loaded = engine.load(path, map_location="cpu")
        except (SerializationError, OSError, ValueError) as error:
            self._refuse(operation, str(error))
        except MemoryError:
            self._refuse(operation, f"'{path.name}' is too large for this machine's memory")
        try:
            found_in, tensors = find_state_dict(loaded, lambda value: isinstance(value, engine.Tensor))
        except ValueError as error:
            self._refuse(operation, f"'{path.name}' cannot be imported: {error}")
        self._weights_cache = (key, found_in, tensors)
        return found_in, tensors

    def _base_weights(self, operation: str) -> tuple[OrderedDict, str]:
        """The model's weights before the import: the current run's where they belong to the model
        on the canvas, else a fresh initialisation (the settings' seed, as Train would start)."""
        run = self.run
        try:
            engine.manual_seed(self.settings.seed)
            model = compile_spec(self.spec)
        except GraphError as error:
            self._refuse(operation, f"the model cannot be built: {error}")
        state = model.state_dict()
        if run is not None and run.usable and run.fits(self.spec):
            names = {key: value for key, value in run.weights.items()}
            if list(names) == list(state) and all(tuple(names[k].shape) == tuple(v.shape) for k, v in state.items()):
                return OrderedDict((k, _as_tensor(names[k])) for k in state), f"the weights of {run.name}"
        return state, "a fresh initialisation (seed {})".format(self.settings.seed)

    # -- the run it becomes -------------------------------------------------------------------------

    def _add_imported_run(self, path: Path, result: WeightsMatch, weights: OrderedDict) -> None:
        settings, dataset = self.settings, self.dataset
        task, normalization, data_info, class_names, resume, steps = "classification", None, {}, [], None, 1
        evaluation, note = None, ""
        if dataset is not None:
            try:   # what Train would see: the split, the standardisation, the optimizer to continue with
                trainer = Trainer(self.spec.copy(), dataset, settings, initial_state=weights, health=False)
                task, normalization, data_info = trainer.problem.task, trainer.normalization, trainer.data_info
                class_names, steps = list(trainer.problem.class_names), trainer.steps_per_epoch
                resume = ResumeState(OrderedDict(weights), trainer.optimizer.state_dict(), None, None, 0, 0, 0, {},
                                     settings.to_dict())
                evaluation = evaluate_weights(self.spec, dataset, settings, weights, 0)
            except (TrainingError, GraphError, ValueError) as error:
                note = f"The imported weights cannot be evaluated on the data: {error}"
        self._run_count += 1
        run = ImportedRun(self._run_count, model_structure(self.spec), settings, task=task, total_epochs=0,
                          steps_per_epoch=max(1, steps), status="finished", reason=f"weights imported from {path.name}",
                          weights=weights, normalization=normalization, data_info=data_info,
                          kept_epoch=0, kept_why=f"imported from {path.name}", class_names=class_names,
                          name=f"Imported {path.name}", note=_note(result, note), started_at=time.time(),
                          spec_data=self.spec.to_dict(), source=dict(self.source), resume=resume,
                          device="cpu", imported_from=path.name, match_headline=result.headline())
        if evaluation is not None:
            run.final = dict(evaluation.metrics)
            run.kept_confusion = run.confusion = evaluation.confusion
            run.kept_snapshot = run.latest_snapshot = evaluation.snapshot
        self.runs.append(run)
        self.run, self._predictor, self._trainer = run, None, None
        self._drop_old_weights()
        self._emit(ev.RunReplaced(run, f"weights imported from {path.name}"))
        if run.kept_snapshot is not None:
            self._emit(ev.SnapshotReady(run, run.kept_snapshot, True))
        previous = self._machine.reset(FINISHED)
        self._emit(ev.RunStateChanged(FINISHED, previous, run.summary()))
        self._history_changed()
        if note:
            self._emit(ev.Refused("show the imported weights' predictions", note))


def _as_tensor(value):
    return value if isinstance(value, engine.Tensor) else engine.from_numpy(np.asarray(value))


def _note(result: WeightsMatch, extra: str) -> str:
    lines = [result.headline() + ".", f"The weights the file did not give keep {result.kept}."
             if result.missing or result.wrong_shape else ""]
    lines += result.problems()[:20]
    if len(result.problems()) > 20:
        lines.append(f"... and {len(result.problems()) - 20} more")
    if extra:
        lines.append(extra)
    return "\n".join(line for line in lines if line)
