"""The one error the workspace raises: an operation that cannot run now, and why."""
from __future__ import annotations


class WorkspaceError(ValueError):
    """``operation`` names what was asked ("open", "start_run", "edit the model"); ``reason`` says why
    it cannot be done and what to do instead. The workspace also announces it as a Refused event."""

    def __init__(self, operation: str, reason: str):
        super().__init__(f"cannot {operation}: {reason}")
        self.operation = operation
        self.reason = reason


class UnsavedChanges(WorkspaceError):
    """The open project has unsaved changes: save it, or repeat the operation with discard=True."""
