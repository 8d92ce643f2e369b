"""The open project as one Qt-free model: spec, data, settings, runs, run state; every user
operation (new/open/save/autosave/import/train/export/predict); plain events. See ``workspace.py``."""
from . import events, model_edits
from .autosave import FailedAutosave, PendingAutosave
from .errors import UnsavedChanges, WorkspaceError
from .runners import SynchronousRunner, ThreadRunner
from .runs import BUSY, FAILED, FINISHED, IDLE, PAUSED, RUNNING, STATES, STOPPING, Run, RunStateMachine
from .undo import UndoHistory
from .workspace import Workspace

__all__ = [
    "BUSY", "FAILED", "FINISHED", "FailedAutosave", "IDLE", "PAUSED", "PendingAutosave", "RUNNING", "Run",
    "RunStateMachine", "STATES", "STOPPING", "SynchronousRunner", "ThreadRunner", "UndoHistory",
    "UnsavedChanges", "Workspace", "WorkspaceError", "events", "model_edits",
]
