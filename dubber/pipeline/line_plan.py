"""A video's lines planned as its dub plans them, so they can be rendered elsewhere (on a cluster's workers).

`plan_lines` plans as `dub()` does (`plan_dub`): the cues spoken, their slots, each speaker's plan, and the
project an earlier run left; it names every line still missing as a `LineJob` that carries all a worker
needs. `VideoLines.finish` files a rendered take in the project as `fit_cues` would, this process being the
project's only writer. `dub()` then resumes the project, finds those lines done and only places and mixes
them. Were the two plans ever to disagree, `dub()` would render such a line itself: the outputs stay the
same, only the work comes back to this machine.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dubber.audio import media
from dubber.audio.source import decode_to_disk
from dubber.fitting.slots import Slot
from dubber.pipeline.checkpoints import Checkpoints
from dubber.pipeline.dub import DubOptions, finished_line, fresh_line, plan_dub, plan_key, render_take
from dubber.pipeline.workers import shared_plans
from dubber.plugin.engine import Engine
from dubber.project.store import LineEntry, Project, TakeRecord, lines_for, references_folder, store_take_audio
from dubber.project.takes import best_take
from dubber.subtitles.cue import Cue
from dubber.subtitles.load import load_subtitles
from dubber.voices.casting import SpeakerPlan


@dataclass
class LineJob:
    """One line to render, self-contained: its speaker's plan travels without its engine (a worker opens
    its own from `engine` and `options.config`, as the dub opens it)."""

    video: int  # which video of the batch
    cue: Cue
    engine: str
    plan: SpeakerPlan  # its engine left out
    options: DubOptions  # the line's own (its fitting choices), with no callbacks
    seed: int
    slot: Slot
    borrow_gap: bool = False
    allow_stretch: bool = False
    needs_gpu: bool = False  # its engine's: the worker must hold a GPU

    @property
    def key(self) -> tuple[int, int]:
        return self.video, self.cue.index


def render_line(job: LineJob, engine: Engine) -> tuple[TakeRecord, np.ndarray | None, int | None]:
    """Render a line's take with `engine` (opened as its dub opens it); return the take and its samples."""
    plan = shared_plans({"": dataclasses.replace(job.plan, engine=engine)}, job.options.config)[""]
    record, fit = render_take(job.cue, plan, job.options, job.seed, job.slot, None, None)
    return record, (fit.samples if fit is not None else None), (fit.sample_rate if fit is not None else None)


@dataclass
class VideoLines:
    """A video's lines: how many it speaks, those still to render, and the project they are filed in."""

    spoken: int
    missing: list[LineJob]
    project_path: Path
    checkpoint: Checkpoints

    @property
    def done(self) -> int:
        return self.spoken - len(self.missing)

    def finish(self, job: LineJob, record: TakeRecord, samples: np.ndarray | None, rate: int | None) -> LineEntry:
        """File a rendered take as the line's, its audio stored by content beside the project, and save."""
        entry = lines_for([job.cue], {})[0]
        entry.borrow_gap, entry.allow_stretch = job.borrow_gap, job.allow_stretch
        record.borrow_gap, record.allow_stretch = job.borrow_gap, job.allow_stretch
        if samples is not None and rate is not None:
            record.audio = store_take_audio(samples, rate, self.project_path)
        entry.takes.append(record)
        entry.chosen = best_take(entry.takes)
        self.checkpoint(entry)
        return entry


def plan_lines(number: int, video: Path, subtitles: Path, options: DubOptions, project_path: Path) -> VideoLines:
    """Plan a video's lines as `dub()` does (`plan_dub`), with one take a line (`candidates` 1)."""
    if options.candidates != 1:
        raise ValueError("ranking several takes a line needs Whisper here: leave those lines to the dub")
    options = dataclasses.replace(options, voice_progress=None)
    info = media.probe(video)
    loaded = load_subtitles(subtitles, speak_all=options.speak_all)
    project_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dubber-original-") as sound:
        rate = options.sample_rate
        original = decode_to_disk(video, rate, Path(sound)) if info.audio_streams else None
        planned = plan_dub(video, loaded, info.duration_ms, options, original, rate, project_path,
                           references_folder(project_path), project_path, list(loaded.diagnostics))
    options = planned.options
    project = Project(str(video), str(subtitles), options.lang, planned.speakers,
                      pronunciations=options.pronunciations, sync=planned.sync)
    missing = []
    for cue in sorted(planned.spoken, key=lambda c: (c.start_ms, c.index)):
        plan, slot, earlier = planned.plans[plan_key(cue)], planned.slots[cue.index], planned.done.get(cue.index)
        if finished_line(earlier, cue, plan, options, project_path, slot) is not None:
            continue
        entry = fresh_line(cue, earlier)
        borrow, stretch = entry.borrow_gap, entry.allow_stretch
        line_options = dataclasses.replace(options, policy=options.policy.for_line(borrow, stretch))
        missing.append(LineJob(number, cue, plan.engine.name, dataclasses.replace(plan, engine=None), line_options,
                               options.seed, slot, borrow, stretch, plan.engine.capabilities.needs_gpu))
    return VideoLines(len(planned.spoken), missing, project_path, Checkpoints(project_path, project, planned.all_lines))
