"""Shared by the train.py tests: a run in the app's Trainer and the same project exported from its
initial weights, and train.py run in this process (fast) or as a script."""
import importlib.util
import json
import sys
from types import SimpleNamespace

import numpy as np

from layerforge.training import TrainingSettings
from layerforge.training.trainer import Trainer
from layerforge.workspace.project_export import export_project


def app_run_and_export(folder, spec, dataset, **settings):
    """(the app's RunResult, its Trainer): trained headless, and exported to ``folder`` with the weights
    it started from, so train.py starts where the app started."""
    settings = TrainingSettings(**{"device": "cpu", "snapshot_every": 0, **settings})
    trainer = Trainer(spec, dataset, settings, health=False)
    initial = trainer.state_dict()
    project = SimpleNamespace(name="demo", spec=spec, normalization=None, settings=settings,
                              load_dataset=lambda base_dir=None: dataset)
    result = trainer.run()
    project.normalization = trainer.normalization
    export_project(project, initial, "pytorch", folder)
    return result, trainer


def load_train_module(folder, name="train"):
    """train.py (or another generated file) as a fresh module; model.py is imported from ``folder``."""
    sys.modules.pop("model", None)
    loader_spec = importlib.util.spec_from_file_location(f"exported_{name}_{abs(hash(str(folder)))}",
                                                         folder / f"{name}.py")
    module = importlib.util.module_from_spec(loader_spec)
    loader_spec.loader.exec_module(module)
    return module


def run_train_py(folder, monkeypatch, *args, module=None):
    """``python train.py --data data.npz ARGS`` in this process (no torch start-up per run); returns
    the history it wrote (history.json, or --history's file)."""
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setattr(sys, "argv", ["train.py", "--data", "data.npz", *args])
    try:
        (module or load_train_module(folder)).main()
    finally:
        sys.modules.pop("model", None)
    history = args[list(args).index("--history") + 1] if "--history" in args else "history.json"
    return json.loads((folder / history).read_text())


def max_difference(app_history, history, key):
    app, ours = np.asarray(app_history[key], dtype=np.float64), np.asarray(history[key], dtype=np.float64)
    assert app.shape == ours.shape, f"{key}: the app ran {app.shape} epochs, train.py {ours.shape}"
    return float(np.max(np.abs(app - ours))) if app.size else 0.0


def read_state(path):
    from safetensors.numpy import load_file

    return load_file(str(path))
