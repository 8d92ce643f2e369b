"""Headless training: settings, the Trainer and its events, and project files.

No Qt here: the GUI's worker thread calls ``Trainer.run()`` and turns the events it receives into
signals; the CLI prints them. See DESIGN.md ("Trainer events", "Threads").
"""
from .choices import (LOSSES, OPTIMIZERS, SCHEDULES, Choice, default_loss_for, get_loss, get_optimizer, get_schedule,
                      losses_for)
from .errors import ProjectError, TrainingError
from .events import (BatchEnd, EpochEnd, Event, Histogram, LayerHealth, LayerReport, PredictionSnapshot, RunFailed,
                     RunFinished, RunStarted, RunStopped, SettingsApplied)
from .project import Project, example_project_path, example_projects, load_project, save_project
from .project_lock import ProjectLock, ProjectLocked
from .settings import TrainingSettings
from .steering import LIVE_SETTINGS, ResumeState
from .trainer import RunResult, Trainer

__all__ = [
    "BatchEnd", "Choice", "EpochEnd", "Event", "Histogram", "LayerHealth", "LayerReport", "LOSSES", "OPTIMIZERS", "PredictionSnapshot", "Project", "ProjectError", "ProjectLock", "ProjectLocked",
    "LIVE_SETTINGS", "ResumeState", "RunFailed", "RunFinished", "RunResult", "RunStarted", "RunStopped", "SCHEDULES",
    "SettingsApplied", "Trainer",
    "TrainingError", "TrainingSettings", "default_loss_for", "get_loss", "get_optimizer", "get_schedule",
    "example_project_path", "example_projects", "load_project", "losses_for", "save_project",
]
