"""The errors of training and of project files; both say what is wrong and what to do."""
from __future__ import annotations

from pathlib import Path


class TrainingError(ValueError):
    """A run that cannot start: an invalid graph, data that does not fit the model, bad settings,
    or a device that is not there. Raised before any weight changes."""


class ProjectError(ValueError):
    """A project file that cannot be read or written. ``path`` names the file; ``line`` and
    ``column`` point into it for JSON errors (1-based, None when not applicable)."""

    def __init__(self, message: str, path=None, line: int | None = None, column: int | None = None):
        where = ""
        if path is not None:
            where = str(path)
            if line is not None:
                where += f", line {line}" + (f", column {column}" if column is not None else "")
            where += ": "
        super().__init__(where + message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.column = column
