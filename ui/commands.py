"""The undo stack's commands: each wraps one revertable edit from the core (`dubber.project.edits`)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from dubber.pipeline.session import Session
from dubber.project.edits import EditGroup, LineEdit


class EditCommand(QUndoCommand):
    """Apply a core edit on redo and revert it on undo; `changed` gets the positions of the lines touched."""

    def __init__(self, session: Session, edit: LineEdit | EditGroup, changed: Callable[[list[int]], None]) -> None:
        super().__init__(edit.label)
        self.session, self.edit, self._changed = session, edit, changed

    @property
    def positions(self) -> list[int]:
        return self.edit.positions if isinstance(self.edit, EditGroup) else [self.edit.position]

    def redo(self) -> None:
        self.session.apply(self.edit)
        self._changed(self.positions)

    def undo(self) -> None:
        self.session.revert(self.edit)
        self._changed(self.positions)
