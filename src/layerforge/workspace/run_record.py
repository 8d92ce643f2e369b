"""A run as the project keeps it (issue #16): its record (JSON data: when, how long, device, model,
data, settings, changes, curves, kept epoch and metrics), its curves thinned past a limit so a
project stays small, what differs between two runs, and its prediction snapshots kept within a
memory budget for the epoch slider. Qt-free."""
from __future__ import annotations

import math

import numpy as np

from ..graph import ModelSpec
from ..graph.spec_diff import spec_changes
from ..training import TrainingError, TrainingSettings
from ..training.steering import change_text, setting_changes
from .runs import Run, headline_metric, model_structure

MAX_STEP_POINTS = 2000          # a recorded run's per-step curve is thinned to this many points
SNAPSHOT_BUDGET = 48 * 2 ** 20  # bytes of prediction snapshots one run keeps for the epoch slider


# -- the record ----------------------------------------------------------------------------------

def record(run: Run) -> dict:
    """The run as JSON data (its weights are kept apart, in a file of their own)."""
    return {"number": run.number, "name": run.name, "note": run.note, "started_at": run.started_at,
            "duration_s": run.duration_s, "device": run.device, "status": run.status, "reason": run.reason,
            "task": run.task, "model": run.spec_data or run.structure, "data": dict(run.source),
            "settings": run.settings.to_dict(), "changes": [dict(c) for c in run.changes],
            "history": thinned(run.history, run.steps_per_epoch), "kept_epoch": run.kept_epoch,
            "kept_why": run.kept_why, "best_epoch": run.best_epoch, "final": run.final,
            "steps_per_epoch": run.steps_per_epoch, "total_epochs": run.total_epochs,
            "class_names": list(run.class_names), "continued_from": run.continued_from,
            "normalization": run.normalization, "data_info": dict(run.data_info)}


def from_record(data: dict) -> Run:
    """A run of the project's history, from its record; ValueError says what is wrong with it."""
    if not isinstance(data, dict):
        raise ValueError("a run must be an object")
    try:
        settings = TrainingSettings.from_dict(data["settings"])
        spec = ModelSpec.from_dict(data["model"])
    except (KeyError, TrainingError) as error:
        raise ValueError(f"run {data.get('number', '?')}: {error}") from None
    except Exception as error:   # a model the graph refuses  # noqa: BLE001
        raise ValueError(f"run {data.get('number', '?')}: its model: {error}") from None
    history = data.get("history") or {}
    if not isinstance(history, dict) or not all(isinstance(v, list) for v in history.values()):
        raise ValueError(f"run {data.get('number', '?')}: 'history' must be an object of lists")
    history = {key: [math.nan if v is None else v for v in values] for key, values in history.items()}
    history.setdefault("step_loss", [])
    run = Run(int(data["number"]), model_structure(spec), settings, task=str(data.get("task") or "classification"),
              total_epochs=int(data.get("total_epochs") or len(history.get("epoch") or [])),
              steps_per_epoch=max(1, int(data.get("steps_per_epoch") or 1)), device=str(data.get("device") or ""),
              history=history, status=str(data.get("status") or "finished"), reason=str(data.get("reason") or ""),
              best_epoch=int(data.get("best_epoch") or 0), kept_epoch=int(data.get("kept_epoch") or 0),
              kept_why=str(data.get("kept_why") or ""), final=dict(data.get("final") or {}),
              class_names=list(data.get("class_names") or []), reopened=True,
              changes=[dict(c) for c in data.get("changes") or [] if isinstance(c, dict)],
              continued_from=int(data.get("continued_from") or 0), name=str(data.get("name") or ""),
              note=str(data.get("note") or ""), started_at=float(data.get("started_at") or 0.0),
              duration_s=float(data.get("duration_s") or 0.0), spec_data=spec.to_dict(),
              source=dict(data.get("data") or {}), normalization=data.get("normalization"),
              data_info=dict(data.get("data_info") or {}))
    return run


def thinned(history: dict, steps_per_epoch: int, limit: int = MAX_STEP_POINTS) -> dict:
    """The curves with the per-step ones thinned to ``limit`` points (evenly, the last one kept);
    each step keeps its place on the epoch axis ("step_x"), so the thinned curve lies where it was."""
    result = {key: list(values) for key, values in history.items()}
    losses = list(history.get("step_loss") or [])
    xs = list(history.get("step_x") or [])
    if len(xs) != len(losses):
        xs = [(i + 1) / max(1, steps_per_epoch) for i in range(len(losses))]
    if len(losses) > limit:
        keep = np.unique(np.linspace(0, len(losses) - 1, limit).round().astype(int))
        losses, xs = [losses[i] for i in keep], [xs[i] for i in keep]
    result["step_loss"], result["step_x"] = losses, xs
    return result


# -- reading and comparing -----------------------------------------------------------------------

def best_metric(run: Run) -> str:
    """What the run is worth, in a few words: "validation accuracy 96.7%", "validation R² 0.981"."""
    return headline_metric(run.kept_metrics(), run.task)


def differences(a: Run, b: Run) -> list[str]:
    """What changed from run ``a`` to run ``b``: the model ("fc1: units 16 -> 32", "inserted Dropout
    dropout1 after fc1"), the data, and the settings ("lr 0.01 -> 0.003")."""
    lines = spec_changes(a.spec_data or a.structure, b.spec_data or b.structure)
    if a.source and b.source and a.source != b.source:
        lines.append(f"data: {_source_name(a.source)} -> {_source_name(b.source)}")
    changes = [c for c in setting_changes(a.settings, b.settings) if c[0] != "device"]
    lines += [change_text([change]) for change in changes]
    return lines


def _source_name(source: dict) -> str:
    return str(source.get("name") or source.get("path") or source.get("kind") or "data")


# -- snapshots for the epoch slider --------------------------------------------------------------

def keep_snapshot(run: Run, snapshot, budget: int = SNAPSHOT_BUDGET) -> None:
    """Keep ``snapshot`` (its epoch's predictions) with the run; past ``budget`` bytes, every other one
    of the older half goes (never the first, the kept epoch's or the newest), so a long run keeps
    its whole course, more coarsely further back."""
    run.snapshots[snapshot.epoch] = snapshot
    while _size(run.snapshots) > budget and len(run.snapshots) > 3:
        epochs = sorted(run.snapshots)
        older = [e for e in epochs[1:len(epochs) // 2] if e != run.kept_epoch]
        dropped = older[::2] or [e for e in epochs[1:-1] if e != run.kept_epoch][:1]
        if not dropped:
            break
        for epoch in dropped:
            del run.snapshots[epoch]


def _size(snapshots: dict) -> int:
    total = 0
    for snapshot in snapshots.values():
        for value in snapshot.data.values():
            total += getattr(value, "nbytes", 64)
    return total


def snapshot_at(run: Run, epoch: int):
    """The kept snapshot nearest to ``epoch`` (at or before it where there is one)."""
    if not run.snapshots:
        return None
    epochs = sorted(run.snapshots)
    before = [e for e in epochs if e <= epoch]
    return run.snapshots[before[-1] if before else epochs[0]]
