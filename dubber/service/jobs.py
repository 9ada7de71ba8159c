"""A bounded job queue with worker threads: what the service runs dubs on.

A job is submitted, waits in a queue of bounded size (a full queue refuses it at once, so a
client can come back later rather than pile up work), is run by one of the workers, and ends
done, failed or cancelled. A job asked to cancel while it runs stops at its next check
(`Job.check_cancelled`, which the runner calls between lines). Finished jobs are kept, up to
`keep` of them, for their clients to read; older ones are forgotten (their `forget` hook runs).
"""

from __future__ import annotations

import collections
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dubber.errors import Cancelled, DubberError, QueueFull

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
STATES = (QUEUED, RUNNING, DONE, FAILED, CANCELLED)
ENDED = (DONE, FAILED, CANCELLED)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Job:
    """One unit of work, its state and what it reports as it runs (the runner fills `lines` and `result`)."""

    spec: Any  # what to do: the runner's own description of the work
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    state: str = QUEUED
    created_ms: int = field(default_factory=_now_ms)
    started_ms: int | None = None
    finished_ms: int | None = None
    done: int = 0  # units of work finished (lines)
    total: int = 0
    lines: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)
    error: dict[str, str] | None = None  # {"type": ..., "message": ...} when failed
    cancel_requested: threading.Event = field(default_factory=threading.Event, repr=False)
    forget: Callable[[], None] | None = field(default=None, repr=False)  # cleans up when the job is dropped

    def check_cancelled(self) -> None:
        """Raise `Cancelled` if the job was asked to stop (the runner calls this between steps)."""
        if self.cancel_requested.is_set():
            raise Cancelled("the job was cancelled")


class JobQueue:
    """Run jobs on `workers` threads; at most `size` jobs wait, and the rest are refused."""

    def __init__(self, runner: Callable[[Job], None], size: int = 8, workers: int = 1, keep: int = 100) -> None:
        if size < 1 or workers < 1 or keep < 1:
            raise ValueError("the queue size, worker count and kept-job count must be at least 1")
        self.runner = runner
        self.size = size
        self.keep = keep
        self._jobs: dict[str, Job] = {}
        self._waiting: collections.deque[Job] = collections.deque()
        self._ended: collections.deque[str] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"dubber-job-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, spec: Any, forget: Callable[[], None] | None = None, job_id: str | None = None) -> Job:
        """Queue a job for `spec` (under `job_id`, or a new one); raise `QueueFull` when `size` jobs already wait."""
        with self._cond:
            if self._closed:
                raise QueueFull("the service is shutting down")
            if len(self._waiting) >= self.size:
                raise QueueFull(f"{len(self._waiting)} jobs are already waiting (the queue holds {self.size}); "
                                "try again when one has started", waiting=len(self._waiting), size=self.size)
            job = Job(spec, forget=forget) if job_id is None else Job(spec, id=job_id, forget=forget)
            self._jobs[job.id] = job
            self._waiting.append(job)
            self._cond.notify()
            return job

    def get(self, job_id: str) -> Job | None:
        with self._cond:
            return self._jobs.get(job_id)

    def jobs(self) -> list[Job]:
        """Every job known, oldest first."""
        with self._cond:
            return sorted(self._jobs.values(), key=lambda j: j.created_ms)

    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)

    def full(self) -> bool:
        """Whether a job submitted now would be refused (checked again, atomically, by `submit`)."""
        with self._cond:
            return self._closed or len(self._waiting) >= self.size

    def position(self, job: Job) -> int | None:
        """How many jobs wait before this one (0: next to start); None once it has left the queue."""
        with self._cond:
            for i, waiting in enumerate(self._waiting):
                if waiting is job:
                    return i
            return None

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a waiting job at once, or ask a running one to stop; an ended job is left as it is."""
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None or job.state in ENDED:
                return job
            job.cancel_requested.set()
            if job.state == QUEUED:
                self._waiting.remove(job)
                self._end(job, CANCELLED)
            return job

    def remove(self, job_id: str) -> bool:
        """Forget an ended job (its files too); a job still queued or running is not removed."""
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None or job.state not in ENDED:
                return False
            del self._jobs[job_id]
            self._ended.remove(job_id)
        if job.forget:
            job.forget()
        return True

    def close(self, timeout: float | None = None) -> None:
        """Refuse new jobs, cancel the waiting ones, ask running ones to stop and wait for the workers."""
        with self._cond:
            self._closed = True
            while self._waiting:
                job = self._waiting.popleft()
                job.cancel_requested.set()
                self._end(job, CANCELLED)
            for job in self._jobs.values():
                if job.state == RUNNING:
                    job.cancel_requested.set()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._closed:
                    self._cond.wait()
                if self._closed and not self._waiting:
                    return
                job = self._waiting.popleft()
                job.state, job.started_ms = RUNNING, _now_ms()
            self._run(job)

    def _run(self, job: Job) -> None:
        state, error = DONE, None
        try:
            self.runner(job)  # a job that finishes after a cancel was asked for is done: its result stands
        except Cancelled:
            state = CANCELLED
        except DubberError as exc:
            state, error = FAILED, {"type": type(exc).__name__, "message": str(exc)}
        except Exception as exc:  # a bug must not kill the worker: the job says what happened
            state = FAILED
            error = {"type": "InternalError", "message": f"{type(exc).__name__}: {exc}",
                     "trace": "".join(traceback.format_exception(exc))[-4000:]}
        with self._cond:
            job.error = error
            self._end(job, state)

    def _end(self, job: Job, state: str) -> None:
        """Mark a job ended and forget the oldest ended jobs past `keep` (holding the lock)."""
        job.state, job.finished_ms = state, _now_ms()
        self._ended.append(job.id)
        dropped = []
        while len(self._ended) > self.keep:
            old = self._jobs.pop(self._ended.popleft(), None)
            if old is not None:
                dropped.append(old)
        for old in dropped:
            if old.forget:
                old.forget()
