"""Render a batch's lines on a Ray cluster (`dubber batch --ray ADDRESS`).

Only the CLI imports this module, when asked to: Ray is an optional extra (pip install 'dubber[ray]') and
the rest of dubber never imports it.

Each line is a task sent to an actor: one per engine per worker slot (a CPU, or a GPU for engines that
need one: `num_gpus=1`, so they land on GPU nodes), spread over the nodes, each keeping its model loaded
from line to line. A line goes out as everything its render needs (cue, slot, speaker plan, options,
seed), and its take comes back as samples that this process stores by content hash in the video's
project: this process is the projects' only writer, so a rerun after a crash renders only the lines
still missing. When a worker or a node dies, the lines it held are sent to another actor: each line is
filed once, by its video and cue, so none is lost or doubled. A line's samples depend on its seed, text
and slot alone, so they are the same wherever it ran (given the same engine threads: see the README).
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

import ray
from ray.exceptions import (LocalRayletDiedError, NodeDiedError, ObjectLostError, RayActorError, RayTaskError,
                            WorkerCrashedError)

from dubber.errors import EngineUnavailable
from dubber.pipeline.batch import BatchVideo, VideoProgress
from dubber.pipeline.line_plan import LineJob, VideoLines, plan_lines, render_line
from dubber.plugin import registry

log = logging.getLogger(__name__)

# The worker went away, not the line: send the line to another actor.
LOST = (RayActorError, NodeDiedError, WorkerCrashedError, ObjectLostError, LocalRayletDiedError)
RESPAWNS = 3  # times a whole pool may be started again after losing every actor


@ray.remote(max_restarts=0)
class LineActor:
    """One engine kept loaded in one worker process; renders lines with it, one at a time."""

    def render(self, job: LineJob) -> tuple[Any, Any, Any]:
        # The registry keeps one engine per settings in this process: the model loads on the first line.
        return render_line(job, registry.get_engine(job.engine, job.options.config))


class RayExecutor:
    """Render every missing line of a batch on a Ray cluster, ahead of the dubs that place them."""

    def __init__(self, address: str | None = None, actors: int | None = None,
                 runtime_env: dict[str, Any] | None = None) -> None:
        self.address, self.actors, self.runtime_env = address, actors, runtime_env

    def render(self, videos: list[BatchVideo], progress: VideoProgress) -> None:
        if not ray.is_initialized():
            ray.init(address=self.address, runtime_env=self.runtime_env, log_to_driver=False)
        planned: dict[int, VideoLines] = {}
        for number, video in enumerate(videos):
            if video.options is None or video.options.candidates != 1:
                continue  # ranking takes needs Whisper beside the dub: it renders those itself
            try:
                planned[number] = plan_lines(number, video.video, video.subtitles, video.options, video.project)
            except Exception:  # noqa: BLE001 - its dub meets the same problem and reports it for this video
                log.debug("cannot plan %s", video.label, exc_info=True)
                continue
            progress(video, planned[number].done, planned[number].spoken)
        done = {number: lines.done for number, lines in planned.items()}
        try:
            for engine in sorted({job.engine for lines in planned.values() for job in lines.missing}):
                jobs = deque(job for lines in planned.values() for job in lines.missing if job.engine == engine)
                gpu = any(job.needs_gpu for job in jobs)
                for job, result in self._run(jobs, gpu):
                    planned[job.video].finish(job, *result)
                    done[job.video] += 1
                    progress(videos[job.video], done[job.video], planned[job.video].spoken)
        finally:
            for lines in planned.values():
                lines.checkpoint.flush()

    def _pool(self, lines: int, gpu: bool) -> list[Any]:
        """Actors for one engine: one per CPU (or GPU) of the cluster, at most one per line, spread out."""
        slots = int(ray.cluster_resources().get("GPU" if gpu else "CPU", 0))
        if gpu and slots == 0:  # an actor asking for a GPU would wait for one forever
            raise EngineUnavailable("the lines' engine needs a GPU and this Ray cluster has none: add a GPU node "
                                    "(ray start --address HEAD:6379 on it), or dub those videos without --ray")
        count = max(1, min(self.actors or slots, lines))
        resources = {"num_gpus": 1} if gpu else {"num_cpus": 1}
        return [LineActor.options(scheduling_strategy="SPREAD", **resources).remote() for _ in range(count)]

    def _run(self, jobs: deque[LineJob], gpu: bool) -> Any:
        """Yield (job, result) as lines finish; a line whose actor was lost goes to another one."""
        idle = self._pool(len(jobs), gpu)
        running: dict[Any, tuple[LineJob, Any]] = {}
        respawns = 0
        while jobs or running:
            while jobs and idle:
                actor, job = idle.pop(), jobs.popleft()
                running[actor.render.remote(job)] = (job, actor)
            if not running:  # every actor lost: start a pool on what is left of the cluster
                if respawns == RESPAWNS:
                    log.warning("%d lines left to the dubs on this machine: no actor stays up", len(jobs))
                    return
                respawns += 1
                idle = self._pool(len(jobs), gpu)
                continue
            ready, _ = ray.wait(list(running), num_returns=1)
            job, actor = running.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except LOST:
                log.info("line %s lost with its worker: sent again", job.key)
                jobs.appendleft(job)
                continue
            except RayTaskError:  # a fault in dubber itself there: the dub renders the line here and says why
                log.warning("line %s failed on its worker; left to the dub", job.key, exc_info=True)
                idle.append(actor)
                continue
            idle.append(actor)
            yield job, result
