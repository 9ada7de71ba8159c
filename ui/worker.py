"""Long work off the GUI thread: one job at a time, with progress, partial results and cancel.

A job is a plain function given a `JobControl`. It reports progress and hands over results one by
one (a rendered take per line, say), which reach the GUI thread as queued signals, so the window
keeps drawing and each finished line shows at once. Cancel is cooperative: the job checks between
units of work (a line), so a line already at the engine finishes first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThread, Signal


class Cancelled(Exception):
    """The user cancelled the job."""


class JobControl:
    """What a running job sees: a cancel flag, and ways to report progress and hand over results."""

    def __init__(self, thread: Job) -> None:
        self._thread = thread
        self._cancel = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Stop here if the user cancelled."""
        if self._cancel.is_set():
            raise Cancelled()

    def progress(self, done: int, total: int, message: str) -> None:
        self._thread.progress.emit(done, total, message)

    def hand_over(self, item: object) -> None:
        """Give one finished unit of work to the GUI thread."""
        self._thread.item.emit(item)

    def cancel(self) -> None:
        self._cancel.set()


class Job(QThread):
    """Run `work(control)` on its own thread; `succeeded`, `failed` or `cancelled` fires once at the end."""

    progress = Signal(int, int, str)
    item = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)  # the exception
    cancelled = Signal()

    def __init__(self, title: str, work: Callable[[JobControl], Any], parent: Any = None) -> None:
        super().__init__(parent)
        self.title = title
        self._work = work
        self.control = JobControl(self)

    def run(self) -> None:
        try:
            result = self._work(self.control)
        except Cancelled:
            self.cancelled.emit()
        except Exception as exc:  # shown to the user in plain words by the window
            self.failed.emit(exc)
        else:
            if self.control.cancelled:
                self.cancelled.emit()
            else:
                self.succeeded.emit(result)

    def cancel(self) -> None:
        self.control.cancel()
