"""An editing session over one project: open a video and its subtitles, render lines, preview, export.

This is what the Qt panel drives, and it holds no Qt. Rendering a take stores its audio but does
not change the project: the panel renders on a worker thread and then applies the result as a
`dubber.project.edits` edit through its undo stack (`apply` / `revert` here), so the editor never waits
and every change can be taken back. The project file is saved after every edit.

The mix a preview plays is the same mix that export writes, computed for its window alone
(dubber.mix.blocks), so what is heard while editing is what is exported. The original audio is decoded
once to a file in a folder that lives as long as the session, and read by ranges.
"""

from __future__ import annotations

import copy
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from dubber.audio import media
from dubber.audio.samples import ms_to_samples
from dubber.audio.source import DiskAudio, decode_to_disk
from dubber.errors import MediaError, UsageError
from dubber.files import write_json_atomic
from dubber.fitting.fitter import STATUS_FAILED
from dubber.fitting.report import LineReport, build_report, summarize
from dubber.fitting.slots import (
    Slot,
    next_onsets,
    overlap_words,
    overlapping,
    plan_slots,
)
from dubber.handoff.export import Handoff, export_paths, planned_files
from dubber.handoff.outputs import check_outputs
from dubber.mix.blocks import Mixdown, measure_mix
from dubber.mix.placement import lazy_clip, measure_lines, overlaps, stored_clip, timeline_length
from dubber.mix.timeline import Clip, Timeline, place_clips
from dubber.pipeline.dub import (
    DubOptions,
    line_report,
    render_take,
    spoken_ms,
    sync_of,
    write_outputs,
)
from dubber.pipeline.spoken_cues import prepare_cues
from dubber.pipeline.line_status import (  # noqa: F401  (the statuses, as the panel imports them from here)
    FAILED,
    NEEDS_WORK,
    OFF,
    OK,
    OVERLAP,
    PENDING,
    SKIPPED,
    STALE,
    STATUS_COLOURS,
    STATUS_OF_TAKE,
    STATUS_WORDS,
    UNFITTABLE,
    line_status,
    made_for_another_slot,
    stale_take,
)
from dubber.project.edits import Edit
from dubber.project.store import (
    LineEntry,
    Project,
    SpeakerEntry,
    TakeRecord,
    emotion_from_dict,
    lines_for,
    load_project,
    project_path_for,
    references_folder,
    save_project,
)
from dubber.subtitles.cue import Cue, Diagnostic
from dubber.subtitles.load import SubtitleLine, load_subtitles, save_subtitles
from dubber.text.pronunciation import plain
from dubber.voices.casting import (SpeakerPlan, VoiceRequest, plan_for_line, plan_from_entry, plan_speaker,
                                   plan_speakers)

TAKE_CACHE = 64  # take clips kept decoded in memory
# The timing of one edit version: its slots, each line's next onset, the lines overlapping another and where
# each line's speech lies.
_Timing = tuple[int, dict[int, Slot], dict[int, int | None], dict[int, tuple[int, int]], dict[int, tuple[int, int]]]


@dataclass
class ExportResult:
    """What an export wrote and measured."""

    lines: list[LineReport]
    summary: dict[str, Any]
    written: list[Path] = field(default_factory=list)


class Session:
    """One open project, its video, and the speakers' voices, ready to render and export."""

    def __init__(self, project: Project, path: Path, options: DubOptions | None = None,
                 diagnostics: list[Diagnostic] | None = None) -> None:
        self.project = project
        self.path = Path(path).absolute()
        self.options = replace(options or DubOptions(), lang=project.lang, project=self.path)
        # Entries given now (--pronunciations) join the project's dictionary; renders read it from there.
        project.pronunciations = {**project.pronunciations, **self.options.pronunciations}
        self.diagnostics = diagnostics or []
        self.version = 0  # bumped by every edit, so cached mixes know they are out of date
        self._plans: dict[str, SpeakerPlan] | None = None
        self._planned: dict[str, SpeakerEntry] = {}  # the speaker entries `_plans` were made from
        self._plan_lock = threading.Lock()
        self._save_lock = threading.RLock()  # a worker's first render may add speakers while an edit saves
        self._clips: OrderedDict[str, tuple[np.ndarray, int]] = OrderedDict()
        # The last measured mix (its peak guard and loudness plan), by edit version and mix settings.
        self._measured: tuple[tuple[Any, ...], Mixdown] | None = None
        self._placed: tuple[int, Timeline] | None = None  # the takes placed, by edit version
        self._frames: dict[str, int] = {}  # each take file's length, read once
        self._sound: tempfile.TemporaryDirectory[str] | None = None  # the decoded original's folder
        self._original: tuple[DiskAudio | None] | None = None
        self._original_lock = threading.Lock()
        self._slots: _Timing | None = None
        self._foreign: dict[tuple[str, str], SpeakerPlan] = {}
        self.loudness: dict[str, Any] | None = None  # what normalising the last mix measured

    # -- opening --------------------------------------------------------------------------

    @classmethod
    def open(cls, video: str | Path, subtitles: str | Path | None = None, options: DubOptions | None = None,
             project_path: str | Path | None = None) -> Session:
        """Open a video: reopen the project beside it, or create one from `subtitles`.

        Reopening with other subtitles re-reads the cues; a line whose number, times and text are
        unchanged keeps its takes and its own voice.
        """
        video = Path(video).absolute()
        media.probe(video)  # a clear error now, naming the file, rather than at export
        path = Path(project_path).absolute() if project_path else project_path_for(video)
        if path.exists():
            project = load_project(path)
            moved = Path(project.video) != video  # the folder was moved, or the project named another copy
            project.video = str(video)
            if subtitles is None or Path(subtitles).absolute() == Path(project.subtitles).absolute():
                session = cls(project, path, options)
                if moved:
                    session.save()
                return session
        else:
            if subtitles is None:
                raise UsageError(f"{video}: no project beside it yet; give its subtitles too")
            project = Project(str(video), "", (options or DubOptions()).lang)
        session = cls(project, path, options)
        session.read_subtitles(subtitles)
        session.save()
        return session

    def read_subtitles(self, subtitles: str | Path) -> None:
        """Read the cues anew: which are spoken, each one's original speech; unchanged lines keep their takes."""
        loaded = load_subtitles(subtitles, speak_all=self.options.speak_all)
        if not loaded.cues:
            raise UsageError(f"{subtitles}: no usable cue: "
                             + "; ".join(str(d) for d in loaded.errors()[:3]))
        diagnostics = list(loaded.diagnostics)
        cues, sync = prepare_cues(loaded.cues, loaded.path, self.options, self.info.duration_ms, self.original,
                                  self.rate, diagnostics)
        self.project.subtitles = str(Path(subtitles).absolute())
        self.project.sync = sync
        self.project.lines = lines_for(cues, {line.index: line for line in self.project.lines})
        self.diagnostics = diagnostics

    @classmethod
    def open_project(cls, path: str | Path, options: DubOptions | None = None) -> Session:
        """Open a project file directly."""
        path = Path(path).absolute()
        return cls(load_project(path), path, options)

    # -- the video ------------------------------------------------------------------------

    @property
    def video(self) -> Path:
        return Path(self.project.video)

    @cached_property
    def info(self) -> media.MediaInfo:
        return media.probe(self.video)

    @property
    def original(self) -> DiskAudio | None:
        """The video's own audio at the output rate, [n, channels] on disk (sliced like an array), or None
        without an audio track. Decoded once, on first use, into a folder that `close` removes."""
        with self._original_lock:
            if self._original is None:
                audio = None
                if self.info.audio_streams:
                    self._sound = tempfile.TemporaryDirectory(prefix="dubber-session-")
                    audio = decode_to_disk(self.video, self.options.sample_rate, self._sound.name)
                self._original = (audio,)
            return self._original[0]

    def close(self) -> None:
        """Remove the decoded original (it is decoded again if asked for). Also done when the session is collected."""
        with self._original_lock:
            if self._sound is not None:
                self._sound.cleanup()
            self._sound, self._original = None, None

    @property
    def rate(self) -> int:
        return self.options.sample_rate

    @property
    def length(self) -> int:
        """The timeline's length in samples."""
        last = max((line.end_ms for line in self.project.lines), default=0)
        return timeline_length(self.info.duration_ms, last, self.original, self.rate)

    @property
    def duration_ms(self) -> int:
        return self.length * 1000 // self.rate

    # -- voices ---------------------------------------------------------------------------

    def plans(self) -> dict[str, SpeakerPlan]:
        """Every speaker's voice: from the project when it has them, else planned now (and saved)."""
        with self._plan_lock:
            if self._plans is not None and self.project.speakers != self._planned:
                self._plans = None  # a speaker's entry changed (a cast edit or its undo): plan from the entries
            if self._plans is None:
                self._plans = self._make_plans()
                self._planned = copy.deepcopy(self.project.speakers)
            return self._plans

    def _make_plans(self) -> dict[str, SpeakerPlan]:
        names = dict.fromkeys(line.speaker for line in self.project.lines)
        plans = {name: plan_from_entry(entry, self.path, self.options.config)
                 for name, entry in self.project.speakers.items() if name in names}
        missing = [name for name in names if name not in plans]
        if missing:
            # References are cut with every cue in view: other speakers' cues bound each clip. Voices matched
            # now keep apart from each other and from the speakers already cast.
            cues = [self.cue(line) for line in self.project.lines]
            plans.update(plan_speakers(cues, self.options.voice_request(), self.original, self.rate,
                                       references_folder(self.path), self.path, names=missing,
                                       settled=self.project.speakers))
            with self._save_lock:
                for name in missing:
                    self.project.speakers[name] = plans[name].entry
                self.save()
        return plans

    def plan_for(self, line: LineEntry, speaker: SpeakerPlan | None = None) -> SpeakerPlan:
        """The plan a line is spoken with: its speaker's (or `speaker`, a plan not in the project yet), with the
        line's own engine or voice; a line in another language, that language's default voice."""
        lang = line.lang or self.project.lang
        if lang != self.project.lang and not (line.engine or line.voice):
            key = (line.speaker, lang)
            with self._plan_lock:
                if key not in self._foreign:
                    request = VoiceRequest(lang, config=self.options.config, emotion=self.options.emotion)
                    self._foreign[key] = plan_speaker(line.speaker, request, None, references_folder(self.path),
                                                      self.path)
                return self._foreign[key]
        base = speaker or self.plans()[line.speaker]
        return plan_for_line(base, line.engine, line.voice, lang, self.options.config, self.path,
                             emotion_from_dict(line.emotion))

    @staticmethod
    def cue(line: LineEntry) -> Cue:
        return Cue(line.index, line.start_ms, line.end_ms, line.text, line.speaker, part=line.part, lang=line.lang,
                   target_start_ms=line.target_start_ms, target_end_ms=line.target_end_ms)

    # -- timing ---------------------------------------------------------------------------

    def slots(self) -> dict[int, Slot]:
        """Every spoken line's slot (dubber.fitting.slots), planned once per edit."""
        return self._timing()[1]

    def _timing(self) -> _Timing:
        cached = self._slots
        if cached is None or cached[0] != self.version:
            slots = self._plan([line for line in self.project.lines if line.spoken])
            following = next_onsets({index: slot.onset_ms for index, slot in slots.items()})
            later = {index: nxt[0] if nxt else None for index, nxt in following.items()}
            spans = self._spans(slots)
            cached = self._slots = (self.version, slots, later, overlapping(spans), spans)
        return cached

    def _spans(self, slots: dict[int, Slot]) -> dict[int, tuple[int, int]]:
        """Where each line's speech lies on the timeline: its take's, placed at its slot's onset (what the
        export measures, without rendering); a line not dubbed yet, or whose take is stale (its next take
        is made for its slot), its whole slot."""
        spans = {}
        for line in self.project.lines:
            slot, take = slots.get(line.index), line.take
            if slot is None or (take is not None and take.status == STATUS_FAILED):
                continue
            if take is None or take.speech_ms is None or stale_take(line, take, self.project.speakers.get(line.speaker),
                                                                 self.project.pronunciations, slot):
                spans[line.index] = (slot.onset_ms, slot.end_ms)
            else:
                spans[line.index] = (slot.onset_ms, slot.onset_ms + take.speech_ms)
        return spans

    def spans(self) -> dict[int, tuple[int, int]]:
        """Where each spoken line's speech lies on the timeline (ms), as its status is judged."""
        return self._timing()[4]

    def overlap(self, line: LineEntry) -> str:
        """Which line's speech this line's overlaps on the timeline, in words; "" when none."""
        crossing = self._timing()[3].get(line.index)
        return overlap_words(*crossing) if crossing else ""

    def _plan(self, lines: list[LineEntry]) -> dict[int, Slot]:
        return plan_slots(lines, self.project.sync, self.options.policy.borrow_gap, self.video_ms,
                          {line.index for line in lines if line.borrow_gap})

    @cached_property
    def video_ms(self) -> int | None:
        """The video's length, bounding the last line; None while the video cannot be read (statuses and
        edits still work on the project alone)."""
        try:
            return self.info.duration_ms
        except MediaError:
            return None

    def slot_for(self, line: LineEntry) -> Slot:
        """The slot of `line` as it stands (it may be an edited copy of a project line)."""
        others = [other for other in self.project.lines if other.spoken and other.index != line.index]
        return self._plan([*others, line])[line.index]

    def keeps_take(self, line: LineEntry) -> bool:
        """Whether `line` (an edited copy of a project line) can keep its take: its slot is the one the take
        was made for (a move of line and speech together), or it has no take to keep."""
        take = line.take
        return take is None or not line.spoken or not made_for_another_slot(take, self.slot_for(line))

    # -- rendering ------------------------------------------------------------------------

    def next_seed(self, line: LineEntry) -> int:
        """A seed this line has not been rendered with."""
        return max((t.seed for t in line.takes), default=self.options.seed - 1) + 1

    def render(self, line: LineEntry, seed: int | None = None, speaker: SpeakerPlan | None = None) -> TakeRecord:
        """Render, fit and measure a take of `line` as it stands; store its audio. The project is unchanged.

        Safe on a worker thread: it reads the line it is given and the other lines' start times. `speaker`
        speaks it with a speaker plan not applied yet (a cast change renders its lines before it lands).
        """
        line = copy.deepcopy(line)
        if not line.spoken:
            raise UsageError(f"line {line.index} is not spoken ({line.skip_reason}); speak it anyway first")
        plan = self.plan_for(line, speaker)
        emotion = emotion_from_dict(line.emotion) or self.options.emotion
        options = replace(self.options, emotion=emotion, pronunciations=dict(self.project.pronunciations),
                          policy=self.options.policy.for_line(line.borrow_gap, line.allow_stretch))
        seed = self.next_seed(line) if seed is None else seed
        record, _ = render_take(self.cue(line), plan, options, seed, self.slot_for(line), None, self.path)
        record.borrow_gap, record.allow_stretch = line.borrow_gap, line.allow_stretch
        return record

    # -- edits ----------------------------------------------------------------------------

    def apply(self, edit: Edit) -> None:
        """Apply an edit and save."""
        with self._save_lock:
            edit.apply(self.project)
            self._changed()

    def revert(self, edit: Edit) -> None:
        """Take an edit back and save."""
        with self._save_lock:
            edit.revert(self.project)
            self._changed()

    def _changed(self) -> None:
        self.version += 1
        self.save()

    def save(self) -> None:
        with self._save_lock:
            save_project(self.project, self.path)

    def status(self, line: LineEntry) -> str:
        _, slots, later, crossing, _ = self._timing()
        return line_status(line, self.options.policy.accept_ms, self.project.speakers.get(line.speaker),
                           self.project.pronunciations, slots.get(line.index), later.get(line.index),
                           crossing.get(line.index))

    def needing_work(self) -> list[int]:
        """Positions of the lines that are out of sync, stale, failed, overlapping or not rendered."""
        return [i for i, line in enumerate(self.project.lines) if self.status(line) in NEEDS_WORK]

    # -- audio ----------------------------------------------------------------------------

    def take_audio(self, take: TakeRecord) -> tuple[np.ndarray, int]:
        """A take's clip, mono float32, and its rate (kept decoded for the most recent takes)."""
        if not take.audio:
            raise UsageError("this take has no audio (the engine failed)")
        if take.audio not in self._clips:
            samples, rate = media.read_wav(self.path.parent / take.audio)
            self._clips[take.audio] = (samples if samples.ndim == 1 else samples.mean(axis=1), rate)
            while len(self._clips) > TAKE_CACHE:
                self._clips.popitem(last=False)
        self._clips.move_to_end(take.audio)
        return self._clips[take.audio]

    def clip(self, line: LineEntry) -> Clip | None:
        """The chosen take of a line, ready to place at its slot, or None when it has no audio."""
        take = line.take
        if take is None or not take.audio:
            return None
        samples, rate = self.take_audio(take)
        slot = self.slots().get(line.index)
        return stored_clip(line, samples, rate, slot.onset_ms if slot else None)

    def _placed_clip(self, line: LineEntry, slot: Slot) -> Clip | None:
        return lazy_clip(line, self.path.parent, slot.onset_ms, self._frames) or self.clip(line)

    def mixed(self, mode: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return (stem, track) whole in memory: the dub alone, before the mix's gain (export writes it at that
        gain), and mixed with the original (brought to the session's loudness target, if any), as export
        writes it. For short clips and tests: export and previews work by ranges."""
        mixdown = self._measured_mix(mode)
        return mixdown.timeline.render(), mixdown.track(0, mixdown.length)

    def _measured_mix(self, mode: str | None) -> Mixdown:
        """The mix as export writes it: its gains measured in blocks on the timeline as it stands, once per
        edit version and mix setting."""
        key = (self.version, *self._mix_settings(mode))
        cached = self._measured
        if cached is not None and cached[0] == key:
            return cached[1]
        mixdown, result = measure_mix(self._timeline(), self.original, key[1], self.options.ducking,
                                      self.options.loudness)
        self.loudness = result.to_dict() if result is not None else None
        self._measured = (key, mixdown)
        return mixdown

    def _mix_settings(self, mode: str | None) -> tuple[Any, ...]:
        return mode or self.options.mix, self.options.ducking, self.options.loudness

    def _timeline(self) -> Timeline:
        """Every chosen take placed at its slot; read from disk only where it is rendered."""
        cached = self._placed
        if cached is not None and cached[0] == self.version:
            return cached[1]
        slots = self.slots()
        clips = [c for c in (self._placed_clip(line, slots[line.index]) for line in self.project.lines
                             if line.index in slots) if c is not None]
        timeline = place_clips(clips, self.length, self.rate)
        self._placed = (self.version, timeline)
        return timeline

    def preview_audio(self, start_ms: int, end_ms: int) -> np.ndarray:
        """The exported mix between two times, [n, channels], mixed for this window alone.

        The gains are those last measured (the peak guard and the loudness plan: a property of the whole
        track, which one edited line barely moves), applied locally (the limiter reads only the mix around
        the window): a moved block previews at once on a feature-length project. Only when no mix was
        measured yet with these settings is it measured, once, in blocks. Export always measures anew.
        """
        settings = self._mix_settings(None)
        cached = self._measured
        if cached is None or cached[0][1:] != settings:
            mixdown = self._measured_mix(None)
        else:
            mixdown = replace(cached[1], timeline=self._timeline())
        b = min(ms_to_samples(max(end_ms, 0), self.rate), mixdown.length)
        a = min(ms_to_samples(max(start_ms, 0), self.rate), b)
        return mixdown.track(a, b)

    # -- export ---------------------------------------------------------------------------

    def inputs(self) -> list[Path]:
        """The files the session reads and keeps: the video, the subtitles, the project, its speakers' clips."""
        clips = [self.path.parent / entry.reference for entry in self.project.speakers.values() if entry.reference]
        subtitles = [Path(self.project.subtitles)] if self.project.subtitles else []
        return [self.video, *subtitles, self.path, *clips]

    def export(self, output: str | Path | None = None, stem_path: str | Path | None = None,
               subtitles_path: str | Path | None = None, report_path: str | Path | None = None,
               mode: str | None = None, overwrite: bool = False) -> ExportResult:
        """Write what is asked: the dubbed video and the hand-off files of `options.exports` beside it,
        the dub stem, the dubbed subtitles (at the measured speech spans), the report.

        Nothing is written over an input, and an existing file only with `overwrite`: that is refused
        before anything is mixed or written.
        """
        if not any((output, stem_path, subtitles_path, report_path)):
            raise UsageError("nothing to export: choose a video, a stem, subtitles or a report")
        if self.options.exports and output is None:
            raise UsageError("timelines, subtitles and stems are written beside the video; choose one")
        if output is not None:
            media.check_output_video(output)
        check_outputs(planned_files(output, stem_path, subtitles_path, report_path, self.options.exports),
                      self.inputs(), overwrite)
        started = time.monotonic()
        mixdown = self._measured_mix(mode)
        timeline = mixdown.timeline
        slots = self.slots()
        rendered = [line for line in self.project.lines if line.take is not None and line.index in slots]
        reports = [line_report(line, sync=sync_of(line, slots[line.index])) for line in rendered]
        measure_lines(reports, timeline, slots, self.options.policy.accept_ms)  # on the very placements mixed
        handoff = Handoff(mixdown, reports, self.video, self.info, self.project.lang)
        options = replace(self.options, mix=mode or self.options.mix)
        keep = self.options.keep_original and self.original is not None
        written = write_outputs(handoff, Path(output) if output is not None else None, options, keep, stem_path)
        if subtitles_path is not None:
            # Lines not rendered yet keep their cue times: the file still holds every line.
            spoken = dict(zip((line.index for line in reports), handoff.subtitle_lines()))
            written.append(save_subtitles(subtitles_path, [
                spoken.get(line.index) or SubtitleLine(line.start_ms, line.end_ms, plain(line.text), line.speaker)
                for line in self.project.lines]))
        summary = summarize(reports, int((time.monotonic() - started) * 1000), spoken_ms(reports))
        summary.update(not_rendered=len(slots) - len(rendered), sync=self.project.sync,
                       skipped=len(self.project.lines) - len(slots), overlaps=overlaps(reports))
        if self.loudness is not None:
            summary["loudness"] = self.loudness
        if report_path is not None:
            inputs = {"video": self.project.video, "subtitles": self.project.subtitles, "lang": self.project.lang,
                      "mix": options.mix, "ducking": asdict(self.options.ducking), "loudness": self.options.loudness,
                      "output": str(output) if output else None, "project": str(self.path)}
            report = build_report(reports, summary, [], inputs)
            if self.options.exports and output is not None:
                report["exports"] = {kind: str(path)
                                     for kind, path in export_paths(Path(output), self.options.exports).items()}
            write_json_atomic(report_path, report)
            written.append(Path(report_path))
        return ExportResult(reports, summary, written)
