"""Render a dub's lines on several worker threads sharing the engines, results back in cue order.

Threads, not processes, measured with bench/workers.py (20 Piper lines, engine load included, on a
shared two-core machine): two threads sharing one engine at 1 intra-op thread used 7.0 CPU seconds,
as one thread did (6.7), while two spawned processes used 11.5 (each pays for Python, dubber's imports
and its own model) and took 23 s of wall time against 14; at 2 intra-op threads per session the same
work costs 8.3 (idle threads spin). Kokoro, 8 Japanese lines: 16.8 CPU seconds on one thread at 1
intra-op thread, 16.9 on two threads sharing the engine (57 s of wall time against 76), 20.3 at 2 intra-op
threads. Processes would also need every engine, plan and callback carried across. onnxruntime releases the GIL while a graph runs, which is where a line's time goes; espeak-ng
and the Japanese g2p are locked inside the engines.

Only engines that declare `thread_safe` (the built-in ONNX ones) are shared by several workers; a dub
with any other engine renders one line at a time, as before. The callbacks (checkpoint, watcher,
progress) all run in the calling thread, one at a time, as each line finishes.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TypeVar

import numpy as np

from dubber.config import Config
from dubber.fitting.intelligibility import Transcriber
from dubber.plugin import registry
from dubber.plugin.engine import Engine
from dubber.voices.casting import SpeakerPlan

log = logging.getLogger(__name__)

MAX_WORKERS = 4  # more lines in flight than this gain nothing on a desktop and hold more audio in memory

T = TypeVar("T")


def cores() -> int:
    """The CPU cores this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)


def default_workers() -> int:
    """One worker per core, at most MAX_WORKERS."""
    return max(1, min(cores(), MAX_WORKERS))


def usable_workers(plans: dict[str, SpeakerPlan], workers: int) -> int:
    """How many lines may render at once: `workers` when every engine takes overlapping calls, else 1."""
    if workers > 1 and all(plan.engine.thread_safe for plan in plans.values()):
        return workers
    return 1


def session_threads() -> int:
    """Intra-op threads for a dub's shared engines: the cores divided among `default_workers()`.

    It follows the machine, not the worker count asked for, because onnxruntime's sums come out a few
    bits apart with another thread count, and a seed must give the same samples on any number of workers."""
    return max(1, cores() // default_workers())


def shared_plans(plans: dict[str, SpeakerPlan], config: Config | None) -> dict[str, SpeakerPlan]:
    """The plans with each engine that takes overlapping calls opened with `session_threads()` intra-op
    threads (1 each on a machine of up to four cores), unless its config table sets `threads`."""
    base = config or Config(Path(), found=False)
    return {key: plan if (tuned := _shared_config(plan.engine, base)) is None
            else dataclasses.replace(plan, engine=registry.get_engine(plan.engine.name, tuned))
            for key, plan in plans.items()}


def _shared_config(engine: Engine | type[Engine], base: Config) -> Config | None:
    """The config that opens `engine` with `session_threads()` intra-op threads; None: it keeps its own."""
    settings = base.engine(engine.name)
    if not engine.thread_safe or "threads" in settings:
        return None
    values = {**settings.values, "threads": session_threads()}
    tuned = dataclasses.replace(settings, values=values)
    return dataclasses.replace(base, engines={**base.engines, engine.name: tuned})


def warm_up(name: str | None, lang: str, config: Config | None) -> threading.Thread:
    """Start loading, on a background thread, the engine a dub will most likely use (`name`, else the language's
    default) as `shared_plans` will open it. Nothing waits for it: the first line finds the model loaded, or
    waits on the engine's own lock. A failure is left for that line to report, as a line."""

    def load() -> None:
        try:
            base = config or Config(Path(), found=False)
            cls = registry.engine_class(name or registry.engine_for_language(lang))
            registry.get_engine(cls.name, _shared_config(cls, base) or config).warm_up()
        except Exception:  # noqa: BLE001 - only a head start: the dub's own call raises it where it is reported
            log.debug("warming up the engine failed", exc_info=True)

    thread = threading.Thread(target=load, name="dubber-warm-up", daemon=True)
    thread.start()
    return thread


class SerialTranscriber:
    """A transcriber that several workers share: one transcription at a time (Whisper's model is one)."""

    def __init__(self, inner: Transcriber) -> None:
        self.inner = inner
        self._lock = threading.Lock()

    def transcribe(self, samples: np.ndarray, rate: int) -> str:
        with self._lock:
            return self.inner.transcribe(samples, rate)

    def wer(self, references: list[str], hypotheses: list[str]) -> float:
        return self.inner.wer(references, hypotheses)


def run_ordered(count: int, work: Callable[[int], T], workers: int,
                finished: Callable[[int, T], None] | None = None) -> list[T]:
    """Run `work(i)` for every i below `count` on `workers` threads and return the results in order of i.

    `finished(i, result)` is called in this thread as each one ends. Work starts in order of i, at most
    `workers` at once. An exception from `work` (or `finished`) stops the run: nothing new starts, the
    lines already running finish (and are reported), then the first exception is raised. With one
    worker everything runs here, one after another.
    """
    results: list[T | None] = [None] * count
    if workers <= 1 or count <= 1:
        for i in range(count):
            results[i] = work(i)
            if finished:
                finished(i, results[i])  # type: ignore[arg-type]
        return results  # type: ignore[return-value]
    error: BaseException | None = None
    with ThreadPoolExecutor(min(workers, count), thread_name_prefix="dubber-line") as pool:
        running: dict[Future[T], int] = {}
        started = 0
        try:
            while started < count or running:
                while error is None and started < count and len(running) < workers:
                    running[pool.submit(work, started)] = started
                    started += 1
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=running.__getitem__):
                    i = running.pop(future)
                    try:
                        results[i] = future.result()
                        if finished:
                            finished(i, results[i])  # type: ignore[arg-type]
                    except Exception as exc:
                        error = error or exc
        except BaseException:  # interrupted: let the running lines end, start none
            for future in running:
                future.cancel()
            raise
    if error is not None:
        raise error
    return results  # type: ignore[return-value]
