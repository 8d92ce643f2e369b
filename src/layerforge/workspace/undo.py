"""The model's undo history, free of Qt: whole spec snapshots before and after each edit.

Models are small, and snapshots cannot drift out of step with the spec the way hand-written inverse
operations can (the same reasoning as the window's QUndoStack of ``SpecEditCommand``). Consecutive
edits with the same ``merge_key`` (a spin box's arrows on one parameter) merge into one step. The
clean index marks the step the file on disk matches: the dirty flag is "not at the clean index".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Step:
    text: str
    before: dict
    after: dict
    merge_key: Any = None


class UndoHistory:
    def __init__(self):
        self._steps: list[Step] = []
        self._index = 0            # steps[:index] are done, steps[index:] can be redone
        self._clean: int | None = 0   # None: the saved state was dropped from the history (never clean again)

    # -- recording -------------------------------------------------------------------------------

    def push(self, text: str, before: dict, after: dict, merge_key: Any = None) -> None:
        """Record an edit that took the spec from ``before`` to ``after`` (already applied)."""
        if self._clean is not None and self._clean > self._index:
            self._clean = None     # the saved state sat in the redo branch this edit discards
        del self._steps[self._index:]
        top = self._steps[-1] if self._steps else None
        if (merge_key is not None and top is not None and top.merge_key == merge_key
                and self._clean != self._index):   # never merge across a save
            top.after = after
            if top.after == top.before:            # edited back to where it started: no step at all
                self._steps.pop()
                self._index -= 1
            return
        self._steps.append(Step(text, before, after, merge_key))
        self._index += 1

    def clear(self) -> None:
        """Forget everything (another project); the empty history is clean."""
        self._steps.clear()
        self._index = 0
        self._clean = 0

    # -- moving ----------------------------------------------------------------------------------

    @property
    def can_undo(self) -> bool:
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._steps)

    @property
    def undo_text(self) -> str:
        return self._steps[self._index - 1].text if self.can_undo else ""

    @property
    def redo_text(self) -> str:
        return self._steps[self._index].text if self.can_redo else ""

    def undo(self) -> tuple[str, dict]:
        """(text, the spec to restore); IndexError when there is nothing to undo."""
        if not self.can_undo:
            raise IndexError("nothing to undo")
        self._index -= 1
        step = self._steps[self._index]
        return step.text, step.before

    def redo(self) -> tuple[str, dict]:
        if not self.can_redo:
            raise IndexError("nothing to redo")
        step = self._steps[self._index]
        self._index += 1
        return step.text, step.after

    # -- the clean mark --------------------------------------------------------------------------

    def set_clean(self) -> None:
        self._clean = self._index

    @property
    def is_clean(self) -> bool:
        return self._clean == self._index

    def __len__(self) -> int:
        return len(self._steps)
