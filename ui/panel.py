"""What the panel's actions see of the window: the open session, the selected line, undo, jobs, messages."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtGui import QUndoStack

from dubber.pipeline.session import Session
from dubber.project.store import LineEntry
from dubber.ui.job_runner import JobRunner
from dubber.ui.line_editor import LineEditor
from dubber.ui.status_line import StatusLine


class Panel(Protocol):
    """The window as the actions use it (they never import the window, which assembles them)."""

    session: Session | None
    undo: QUndoStack
    jobs: JobRunner
    message: StatusLine
    editor: LineEditor

    def current_position(self) -> int | None: ...

    def current_line(self) -> LineEntry | None: ...

    def lines_changed(self, positions: list[int]) -> None:
        """Redraw what an edit to the lines at `positions` changed."""

    def update_enabled(self) -> None:
        """Enable what the selected line and the job state allow."""
