"""The job queue: bounded, in order, cancellable, and a failing job never takes a worker down."""

from __future__ import annotations

import threading
import time

import pytest

from dubber.errors import MediaError, QueueFull
from dubber.service.jobs import CANCELLED, DONE, FAILED, QUEUED, RUNNING, Job, JobQueue


class Gate:
    """A runner that holds each job until the test lets it go, noting the order jobs ran in."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release = threading.Event()
        self.entered = threading.Event()

    def __call__(self, job: Job) -> None:
        self.started.append(job.spec)
        self.entered.set()
        while not self.release.wait(0.01):
            job.check_cancelled()
        job.result = {"spec": job.spec}


def _wait(job: Job, states: tuple[str, ...], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while job.state not in states:
        assert time.monotonic() < deadline, f"job stuck in {job.state}"
        time.sleep(0.005)


def test_jobs_run_in_order_and_a_full_queue_refuses_more():
    gate = Gate()
    queue = JobQueue(gate, size=2, workers=1)
    first = queue.submit("a")
    assert gate.entered.wait(5) and first.state == RUNNING
    second, third = queue.submit("b"), queue.submit("c")
    assert queue.full() and [queue.position(second), queue.position(third)] == [0, 1]
    with pytest.raises(QueueFull, match="2 jobs are already waiting"):
        queue.submit("d")
    gate.release.set()
    for job in (first, second, third):
        _wait(job, (DONE,))
    assert gate.started == ["a", "b", "c"] and third.result == {"spec": "c"}
    assert first.started_ms is not None and first.finished_ms >= first.started_ms
    queue.close(5)


def test_cancelling_a_waiting_job_removes_it_and_a_running_one_stops_at_its_next_check():
    gate = Gate()
    queue = JobQueue(gate, size=4, workers=1)
    running, waiting = queue.submit("a"), queue.submit("b")
    assert gate.entered.wait(5)
    assert queue.cancel(waiting.id).state == CANCELLED and queue.waiting() == 0
    queue.cancel(running.id)
    _wait(running, (CANCELLED,))
    assert running.result == {} and gate.started == ["a"]
    assert queue.cancel(running.id).state == CANCELLED  # an ended job stays as it ended
    queue.close(5)


def test_a_failing_job_records_its_typed_error_and_the_worker_goes_on():
    def runner(job: Job) -> None:
        if job.spec == "bad":
            raise MediaError("demo.mp4: no audio")
        if job.spec == "bug":
            raise KeyError("oops")
        job.result = {"ok": True}

    queue = JobQueue(runner, size=4, workers=1)
    bad, bug, good = queue.submit("bad"), queue.submit("bug"), queue.submit("good")
    for job in (bad, bug, good):
        _wait(job, (DONE, FAILED))
    assert bad.state == FAILED and bad.error == {"type": "MediaError", "message": "demo.mp4: no audio"}
    assert bug.state == FAILED and bug.error["type"] == "InternalError" and "KeyError" in bug.error["message"]
    assert good.state == DONE and good.result == {"ok": True}
    queue.close(5)


def test_only_the_newest_ended_jobs_are_kept_and_the_rest_are_cleaned_up():
    forgotten: list[str] = []
    queue = JobQueue(lambda job: None, size=8, workers=1, keep=2)
    jobs = [queue.submit(str(i), forget=lambda i=i: forgotten.append(str(i))) for i in range(4)]
    for job in jobs:
        _wait(job, (DONE,))
    assert [job.spec for job in queue.jobs()] == ["2", "3"] and forgotten == ["0", "1"]
    assert queue.get(jobs[0].id) is None
    assert queue.remove(jobs[3].id) and forgotten == ["0", "1", "3"]
    assert not queue.remove(jobs[3].id)
    queue.close(5)


def test_a_job_still_running_is_not_removed():
    gate = Gate()
    queue = JobQueue(gate, size=2, workers=1)
    job = queue.submit("a")
    assert gate.entered.wait(5)
    assert not queue.remove(job.id) and queue.get(job.id) is job
    gate.release.set()
    queue.close(5)
    assert job.state == DONE


def test_closing_cancels_what_waits_and_refuses_new_jobs():
    gate = Gate()
    queue = JobQueue(gate, size=4, workers=1)
    running, waiting = queue.submit("a"), queue.submit("b")
    assert gate.entered.wait(5)
    queue.close(5)
    assert running.state == CANCELLED and waiting.state == CANCELLED
    with pytest.raises(QueueFull, match="shutting down"):
        queue.submit("c")


def test_two_workers_run_two_jobs_at_once():
    gate = Gate()
    queue = JobQueue(gate, size=4, workers=2)
    a, b = queue.submit("a"), queue.submit("b")
    _wait(a, (RUNNING,))
    _wait(b, (RUNNING,))
    assert queue.waiting() == 0
    gate.release.set()
    _wait(a, (DONE,))
    _wait(b, (DONE,))
    queue.close(5)


def test_a_queue_needs_room():
    with pytest.raises(ValueError):
        JobQueue(lambda job: None, size=0)
    assert Job("x").state == QUEUED
