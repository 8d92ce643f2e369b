"""Import a model (File > Import model...): an ONNX file becomes the open project, with its weights.

Mixed into ``Workspace``. ``import_model(path)`` reads the file (``export.onnx_import``: every
operator a catalog layer, or a refusal naming all that are not) and opens the result as a new
untitled project named after the file, the way an example opens: the imported weights are its
finished run's kept weights, so Predict and Export work at once and Train starts from them
(Continue has no optimizer state to go on with). A file the exporter wrote comes back with its
input normalisation. Refused while a run is busy, and on unsaved changes unless ``discard``; on any
refusal the open project is exactly as it was.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import engine
from ..export import ExportError
from ..export.onnx_import import ImportedModel, import_onnx
from ..data import DataError
from ..graph import GraphError, infer_shapes
from ..training import ResumeState, Trainer, TrainingError, TrainingSettings
from ..training.weights_evaluation import evaluate_weights
from .model_fit import model_fit_problem
from .runs import Run, headline_metric, model_structure

OPERATION = "import a model"
MODEL_SUFFIXES = (".onnx",)


class ModelImport:
    """import_model."""

    last_import: ImportedModel | None = None   # what the last import read (the CLI and the window describe it)

    def import_model(self, path, *, discard: bool = False) -> list[str]:
        """Open the model in ``path`` (an .onnx file) as a new untitled project; returns notes for the user."""
        with self._lock:
            self._require_replaceable(OPERATION, discard)
            path = Path(path)
            try:
                imported = import_onnx(path)
            except ExportError as error:   # ModelImportError: what is wrong, every operator without a layer
                self._refuse(OPERATION, f"{error}\nThe open project is unchanged.")
            except (OSError, MemoryError) as error:
                self._refuse(OPERATION, f"cannot read '{path}' ({error}); the open project is unchanged")
            self._open_imported(imported, path)
            self.last_import = imported
            return [f"Imported {path.name}: {imported.summary()}.", *imported.notes]

    def _open_imported(self, imported: ImportedModel, path: Path) -> None:
        spec, dataset = imported.spec, self.dataset
        # A model with the exporter's standardisation reads standardised data; any other reads it raw.
        settings = TrainingSettings(device=self.settings.device, loss=self.settings.loss, target=self.settings.target,
                                    standardize=imported.normalization is not None)
        description = f"Imported from {path.name}"
        weights = OrderedDict((key, engine.from_numpy(np.array(array, copy=True, order="C")))
                              for key, array in imported.state_dict.items())
        report = infer_shapes(spec)
        task, normalization, data_info, class_names, resume, steps = _task(report, spec), None, {}, [], None, 1
        evaluation, notes = None, []
        if dataset is not None and model_fit_problem(report, dataset, settings.target) is None:
            try:   # what Train would see: the split, the standardisation, the optimizer to go on with
                trainer = Trainer(spec.copy(), dataset, settings, initial_state=weights, health=False)
                task, normalization, data_info = trainer.problem.task, trainer.normalization, trainer.data_info
                class_names, steps = list(trainer.problem.class_names), trainer.steps_per_epoch
                resume = ResumeState(OrderedDict(weights), trainer.optimizer.state_dict(), None, None, 0, 0, 0, {},
                                     settings.to_dict())
                evaluation = evaluate_weights(spec, dataset, settings, weights, 0)
            except (TrainingError, GraphError, DataError, ValueError) as error:
                notes.append(f"The imported weights cannot be evaluated on the data: {error}")
        elif dataset is not None:
            notes.append(f"The imported model does not fit the current data; choose data whose samples are "
                         f"{tuple(report.input_shape)} to train or evaluate it.")
        if imported.normalization is not None:
            normalization = imported.normalization
        run = ImportedModelRun(1, model_structure(spec), settings, task=task, total_epochs=0, steps_per_epoch=steps,
                               status="finished", reason=f"imported from {path.name}", weights=weights,
                               normalization=normalization, data_info=data_info or {"task": task}, kept_epoch=0,
                               kept_why=f"imported from {path.name}", class_names=class_names,
                               name=f"Imported {path.name}", started_at=time.time(), spec_data=spec.to_dict(),
                               source=dict(self.source), resume=resume, device="cpu", imported_from=path.name)
        if evaluation is not None:
            run.final = dict(evaluation.metrics)
            run.kept_confusion = run.confusion = evaluation.confusion
            run.kept_snapshot = run.latest_snapshot = evaluation.snapshot
        self._run_count = 1
        imported.notes.extend(notes)
        self._replace(imported.name, None, description, spec, self.source, dataset, self.data_unavailable,
                      settings, run, "import", tuple(imported.notes), False, [run])


@dataclass(repr=False)
class ImportedModelRun(Run):
    """The run a model import opens with: no epochs, the file's weights kept; its banner says so."""

    imported_from: str = ""

    def summary(self) -> str:
        metric = headline_metric(self.kept_metrics(), self.task)
        text = f"Model imported from {self.imported_from} with its weights"
        if metric:
            text += f". {metric[0].upper()}{metric[1:]}"
        text += ". Predict and Export use them; Continue trains on from them" if self.resume is not None else \
            ". Predict and Export use them; Train starts afresh"
        return text + (f" — {self.stale_reason}" if self.stale else "")


def _task(report, spec) -> str:
    """A model ending in (Log)Softmax, or giving several scores, classifies; one output value regresses."""
    last = spec.nodes[report.output_id]
    if last.type in ("Softmax", "LogSoftmax"):
        return "classification"
    return "regression" if tuple(report.output_shape) == (1,) else "classification"
