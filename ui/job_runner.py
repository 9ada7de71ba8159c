"""The panel's one long job at a time: its progress and Cancel in the status bar, and what it says at the end."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QProgressBar, QPushButton

from dubber.ui.status_line import StatusLine
from dubber.ui.worker import Job

OUTCOME_WORDS = {"done": "done.", "failed": "failed.",
                 "cancelled": "cancelled; the lines finished before it are kept."}


class JobRunner(QObject):
    """Start a `Job`, show its progress, and report a failure or the lines that failed when it ends.

    `changed` fires when a job starts or ends (what the panel enables depends on it).
    """

    changed = Signal()

    def __init__(self, message: StatusLine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.message = message
        self.job: Job | None = None
        self.errors: list[str] = []  # lines that failed in the running job, said together at its end
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.cancel_button = QPushButton("Cancel")
        self.progress.hide()
        self.cancel_button.hide()

    @property
    def busy(self) -> bool:
        return self.job is not None

    def start(self, title: str, work: Callable[[Any], Any], on_item: Callable[[Any], None] | None = None,
              on_done: Callable[[Any], None] | None = None, on_end: Callable[[], None] | None = None) -> Job:
        """Run `work` on a worker: `on_item` gets each unit handed over, `on_done` the result, `on_end` runs
        however it ends."""
        self.errors = []
        job = Job(title, work, self.parent())
        self.job = job
        if on_item is not None:
            job.item.connect(on_item)
        job.progress.connect(self._on_progress)

        def finish(outcome: str, payload: Any = None) -> None:
            self.job = None
            self.progress.hide()
            self.cancel_button.hide()
            if on_end is not None:
                on_end()
            if outcome == "done" and on_done is not None:
                on_done(payload)
            if outcome == "failed":
                self.message.show_error(payload)
            elif self.errors:
                self.message.show_problem(f"{title}: {len(self.errors)} line(s) failed", "\n".join(self.errors[:12]))
            self.message.show_status(f"{title}: {self._outcome(outcome)}")
            self.changed.emit()

        job.succeeded.connect(lambda result: finish("done", result))
        job.failed.connect(lambda exc: finish("failed", exc))
        job.cancelled.connect(lambda: finish("cancelled"))
        # Deleted once its thread has ended: `succeeded` and the rest come from inside run(), and deleting
        # a QThread that still runs aborts the process.
        job.finished.connect(job.deleteLater)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        self.message.show_status(f"{title}…")
        self.changed.emit()
        job.start()
        return job

    def _outcome(self, outcome: str) -> str:
        """How the job ended, in words; lines that failed make a job that ran to its end a failure."""
        if outcome == "failed" or not self.errors:
            return OUTCOME_WORDS[outcome]
        failed = "failed" if len(self.errors) == 1 else f"{len(self.errors)} lines failed"
        head = f"{failed} ({self.errors[0].splitlines()[0]})"
        return head + "." if outcome == "done" else f"{OUTCOME_WORDS[outcome]} {head[0].upper()}{head[1:]}."

    def _on_progress(self, done: int, total: int, message: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done}/{total}")
        self.message.show_status(message)

    def cancel(self) -> bool:
        """Ask the running job to stop after its current line; False when none runs."""
        if self.job is None:
            return False
        self.job.cancel()
        self.cancel_button.setEnabled(False)
        self.message.show_status(f"{self.job.title}: cancelling after the current line…")
        return True
