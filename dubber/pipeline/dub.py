"""Dub a video end to end: subtitles -> fitted takes -> one timeline -> mix -> mux, with a report."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dubber.audio import media
from dubber.audio.pitch import shift_pitch
from dubber.audio.source import decode_to_disk
from dubber.audio.speech import speech_span
from dubber.config import Config
from dubber.errors import EngineUnavailable, MediaError, UsageError
from dubber.files import write_json_atomic
from dubber.fitting.fitter import STATUS_FAILED, STATUS_OK, STATUS_TOO_LONG, Fit, FitPolicy, fit_to_slot
from dubber.fitting.intelligibility import Transcriber
from dubber.fitting.report import LineReport, SkippedLine, build_report, summarize
from dubber.fitting.slots import STATUS_OVERLAP, SYNC_CUE, SYNC_FILL, SYNC_SPEECH, Slot, plan_slots
from dubber.handoff.export import Handoff, export_paths, handoff_outputs, planned_files, write_handoff
from dubber.handoff.outputs import Planned, check_outputs
from dubber.mix.blocks import Block, Output, measure_mix, write_blocks
from dubber.mix.mixing import Ducking
from dubber.mix.placement import build_timeline, measure_lines, overlaps, timeline_length
from dubber.pipeline.checkpoints import Checkpoints
from dubber.pipeline.spoken_cues import prepare_cues
from dubber.pipeline.workers import (SerialTranscriber, default_workers, run_ordered, shared_plans, usable_workers,
                                     warm_up)
from dubber.plugin.engine import Emotion, Engine, Reference, SynthesisRequest
from dubber.project.store import (
    LineEntry,
    Project,
    SpeakerEntry,
    TakeRecord,
    lines_for,
    load_project,
    project_path_for,
    references_folder,
    save_project,
    store_take_audio,
)
from dubber.project.takes import best_take
from dubber.subtitles.cue import Cue, Diagnostic
from dubber.subtitles.load import load_subtitles
from dubber.subtitles.speakers import UNNAMED, SpeakerMap
from dubber.subtitles.spoken import FOREIGN_SKIP
from dubber.synthesis.budget import check_spoken_length
from dubber.synthesis.guard import GuardPolicy, guard_engine
from dubber.synthesis.limits import limit_engine
from dubber.text.pronunciation import MarkupError, apply_dictionary, for_engine, plain
from dubber.voices.casting import (SpeakerPlan, VoiceProgress, VoiceRequest, cast_warnings, plan_speaker,
                                   plan_speakers, take_similarity)

OUTPUT_RATE = 48000

Progress = Callable[[int, int, Cue], None]


@dataclass
class DubOptions:
    """Everything that shapes a dub, with the defaults an editor would expect."""

    lang: str = "en"
    engine: str | None = None  # None: the default engine for `lang`
    voice: str | None = None  # None: the engine's default voice for `lang`
    mix: str = "duck"
    ducking: Ducking = field(default_factory=Ducking)  # how the original is lowered under speech (mix "duck")
    seed: int = 0
    policy: FitPolicy = field(default_factory=FitPolicy)
    keep_original: bool = True
    sample_rate: int = OUTPUT_RATE
    config: Config | None = None  # engine settings (model folders, server URLs, timeouts)
    reference: Reference | None = None  # a voice to clone or match (every speaker without its own)
    emotion: Emotion | None = None  # how every line should feel, for engines that take it
    speakers: SpeakerMap | None = None  # per-speaker voices and cue assignments (--speakers)
    candidates: int = 1  # takes rendered per line; the best is kept (see dubber.project.takes)
    match_pitch: bool = False  # with --voice auto, shift matched voices toward the reference's pitch
    project: Path | None = None  # where the project goes; None: beside the output, if any
    loudness: float | None = None  # LUFS to bring the dub track to (true peak <= -1 dBTP); None: as mixed
    exports: tuple[str, ...] = ()  # hand-off files beside the output (dubber.handoff.export.EXPORT_KINDS)
    original_lang: str | None = None  # tag the original audio track(s) with this language
    dialogue_track: bool = False  # also mux the dialogue alone as its own audio track
    engine_guard: GuardPolicy = field(default_factory=GuardPolicy)  # timeouts, output checks, retries
    # word -> pinyin or IPA, written into each line as markup (dubber.text.pronunciation.apply_dictionary)
    pronunciations: dict[str, str] = field(default_factory=dict)
    sync: str | None = None  # speech, cue or fill (dubber.fitting.slots); None: speech when the video has audio
    speak_all: bool = False  # speak sound descriptions, signs, credits, repeats and other languages as written
    foreign: str = FOREIGN_SKIP  # lines in another language: skip them, or "speak" them in their own
    # lines rendered at once (dubber.pipeline.workers); 1 renders them one after another
    workers: int = field(default_factory=default_workers)
    # (speaker, done, total) while --voice tune searches a speaker's voice, before any line is rendered
    voice_progress: VoiceProgress | None = field(default=None, compare=False, repr=False)

    def voice_request(self) -> VoiceRequest:
        return VoiceRequest(self.lang, self.engine, self.voice, self.reference, self.emotion, self.config,
                            self.speakers, self.match_pitch, self.voice_progress)


@dataclass
class DubResult:
    """The outcome of a dub: per-line reports, subtitle diagnostics and the summary."""

    lines: list[LineReport]
    diagnostics: list[Diagnostic]
    summary: dict[str, Any]
    report: dict[str, Any]
    output: Path | None
    written: list[Path] = field(default_factory=list)  # every file written (video, stem, hand-off files)

    skipped: list[SkippedLine] = field(default_factory=list)  # cues not spoken, with the reason

    @property
    def failed(self) -> list[LineReport]:
        """The lines that failed, overran their window or overlap another line's speech: a line shorter than
        its cue is not a failure."""
        return [line for line in self.lines if line.status in (STATUS_FAILED, STATUS_TOO_LONG, STATUS_OVERLAP)
                or (line.sync == SYNC_FILL and line.status != STATUS_OK)]

    @property
    def ok(self) -> bool:
        return not self.failed and not any(d.severity == "error" for d in self.diagnostics)


def fit_cues(cues: list[Cue], plans: dict[str, SpeakerPlan], options: DubOptions,
             progress: Progress | None = None, project_path: Path | None = None,
             done: dict[int, LineEntry] | None = None,
             checkpoint: Callable[[LineEntry], None] | None = None,
             on_line: Callable[[LineEntry], None] | None = None,
             slots: dict[int, Slot] | None = None,
             ) -> tuple[list[tuple[LineReport, Fit | None]], list[LineEntry]]:
    """Speak and fit every cue into its slot (default: each at its cue, `options.sync` or `cue`),
    `options.candidates` takes each, keeping the best.

    A line whose engine call fails is marked failed and the rest go on. Every take is recorded
    (its audio too, beside the project when there is one). A line in `done` that an earlier run
    finished with the same words, slot, voice and seeds is kept as it is, not rendered again.
    Up to `options.workers` lines render at once when every engine takes overlapping calls
    (dubber.pipeline.workers); each line's samples depend on its seed alone, not on the workers.
    As each line is finished, in this thread, `checkpoint` is called (the dub's saves the project), so a
    crash loses nothing saved; then `on_line` (a watcher: the service's per-line status) and `progress`. The
    results come back in cue order. With a project, the fits returned are None: every take's
    audio is on disk.
    """
    workers = usable_workers(plans, options.workers)
    transcriber = _transcriber(options) if options.candidates > 1 else None
    if transcriber is not None and workers > 1:
        transcriber = SerialTranscriber(transcriber)  # type: ignore[assignment]
    if slots is None:
        slots = plan_slots(cues, options.sync or SYNC_CUE, options.policy.borrow_gap)
    ordered = sorted(cues, key=lambda c: (c.start_ms, c.index))

    def fit_one(i: int) -> tuple[LineReport, Fit | None, LineEntry]:
        cue = ordered[i]
        plan = plans[plan_key(cue)]
        slot = slots[cue.index]
        previous = done.get(cue.index) if done else None
        entry = finished_line(previous, cue, plan, options, project_path, slot)
        fit = None
        if entry is None:
            entry = fresh_line(cue, previous)
            line_options = dataclasses.replace(options, policy=options.policy.for_line(entry.borrow_gap,
                                                                                         entry.allow_stretch))
            fits: list[Fit | None] = []
            for k in range(options.candidates):
                record, made = render_take(cue, plan, line_options, options.seed + k, slot, transcriber, project_path)
                record.borrow_gap, record.allow_stretch = entry.borrow_gap, entry.allow_stretch
                entry.takes.append(record)
                fits.append(made)
            entry.chosen = best_take(entry.takes)
            # With a project the take is on disk: the timeline reads it from there, so a long dub
            # never holds every take in memory (and a resumed run places exactly the same samples).
            fit = fits[entry.chosen] if project_path is None else None
        return line_report(entry, cue.line, sync_of(cue, slot)), fit, entry

    finished_count = 0

    def finished(i: int, result: tuple[LineReport, Fit | None, LineEntry]) -> None:
        nonlocal finished_count
        finished_count += 1
        entry = result[2]
        if checkpoint:
            checkpoint(entry)
        if on_line:
            on_line(entry)
        if progress:
            progress(finished_count, len(ordered), ordered[i])

    lines = run_ordered(len(ordered), fit_one, workers, finished)
    return [(report, fit) for report, fit, _ in lines], [entry for _, _, entry in lines]


def sync_of(cue: Cue | LineEntry, slot: Slot) -> str:
    """How a line was timed: to its original speech, to its cue, or filling its cue."""
    if slot.fill:
        return SYNC_FILL
    return SYNC_SPEECH if cue.target_start_ms is not None and slot.target_ms is not None else SYNC_CUE


def plan_key(cue: Cue) -> str:
    """Which plan speaks a cue: its speaker's, or for a line in another language, the speaker's in that one."""
    speaker = cue.speaker or UNNAMED
    return speaker if cue.lang is None or cue.skip else f"{speaker}@{cue.lang}"


def fresh_line(cue: Cue, previous: LineEntry | None) -> LineEntry:
    """A new entry for `cue`, keeping the line's own fitting choices (the panel's) while its cue is unchanged."""
    entry = lines_for([cue], {})[0]
    if previous is not None and previous.is_cue(cue):
        entry.borrow_gap, entry.allow_stretch = previous.borrow_gap, previous.allow_stretch
    return entry


def finished_line(previous: LineEntry | None, cue: Cue, plan: SpeakerPlan, options: DubOptions,
                  project_path: Path | None, slot: Slot) -> LineEntry | None:
    """An earlier run's line, if it is this cue rendered as this run would render it, audio on disk."""
    if previous is None or project_path is None:
        return None
    if not previous.is_cue(cue):
        return None
    if previous.engine or previous.voice or previous.emotion or previous.take is None:
        return None  # the panel changed this line: this run's settings do not describe it
    seeds = {options.seed + k for k in range(options.candidates)}
    window = None if slot.fill else slot.window_ms
    made = {take.seed for take in previous.takes
            if take.engine == plan.engine.name and take.voice == plan.voice
            and take.text == spoken_text(cue.text, options.pronunciations)
            and take.target_ms == slot.target_ms and take.window_ms == window and take.status != STATUS_FAILED
            and take.audio and (project_path.parent / take.audio).is_file()}
    if not seeds <= made:
        return None
    previous.target_start_ms, previous.target_end_ms = cue.target_start_ms, cue.target_end_ms
    return previous


def line_report(entry: LineEntry, source_line: int | None = None, sync: str = SYNC_FILL) -> LineReport:
    """Start a line's report from its chosen take (the timeline measurements come later)."""
    take = entry.take
    if take is None:
        raise ValueError(f"line {entry.index} has no chosen take")
    fill = take.window_ms is None
    return LineReport(index=entry.index, start_ms=entry.start_ms, end_ms=entry.end_ms, speaker=entry.speaker,
                      text=entry.text, engine=take.engine, voice=take.voice, seed=take.seed,
                      target_ms=(entry.duration_ms + take.borrowed_ms) if fill else take.target_ms,
                      line=source_line, status=take.status, reason=take.reason, similarity=take.similarity,
                      wer=take.wer, takes=len(entry.takes), method=take.method, stretch=take.stretch,
                      natural_ms=take.natural_ms, rate=take.rate, heard_rate=take.heard_rate,
                      borrowed_ms=take.borrowed_ms, sync=sync, target_start_ms=entry.target_start_ms,
                      target_end_ms=entry.target_end_ms, part=entry.part, lang=entry.lang)


def render_take(cue: Cue, plan: SpeakerPlan, options: DubOptions, seed: int, slot: Slot | None,
                transcriber: Transcriber | None, project_path: Path | None) -> tuple[TakeRecord, Fit | None]:
    """Render, fit and measure one take of a line for its slot (None: to fill its cue)."""
    slot = slot or Slot(cue.start_ms, cue.end_ms, cue.duration_ms, fill=True)
    record = TakeRecord(seed=seed, engine=plan.engine.name, voice=plan.voice, status=STATUS_FAILED,
                        error_ms=None, speech_ms=None, text=cue.text, target_ms=slot.target_ms,
                        window_ms=None if slot.fill else slot.window_ms)
    started = time.perf_counter()
    try:
        record.text = spoken_text(cue.text, options.pronunciations)
        check_spoken_length(record.text, cue.lang or options.lang)  # a refused line fails here, unspoken
        request = SynthesisRequest(for_engine(record.text, plan.engine.capabilities.pronunciation),
                                   cue.lang or options.lang, plan.voice, seed=seed, reference=plan.reference,
                                   emotion=options.emotion)
        fit = fit_to_slot(engine_for_request(plan.engine, options), request, slot, policy=options.policy)
        record.compute_ms = round((time.perf_counter() - started) * 1000)
        if plan.entry.pitch_semitones:
            fit = shift_fit(fit, plan.entry.pitch_semitones)
    except Exception as exc:  # an engine fault fails this take only
        if record.compute_ms is None:  # fit_line itself failed: the time it spent still counts
            record.compute_ms = round((time.perf_counter() - started) * 1000)
        record.reason = f"{type(exc).__name__}: {exc}"
        return record, None
    record.status, record.reason, record.method = fit.status, fit.reason, fit.method
    record.speech_ms, record.stretch = fit.speech_ms, fit.stretch
    record.error_ms = fit.error_ms if slot.fill else max(fit.speech_ms - slot.window_ms, 0)
    record.sample_rate, record.lead = fit.sample_rate, fit.speech.start
    record.natural_ms, record.rate, record.heard_rate = fit.natural_ms, fit.rate, round(fit.heard_rate, 4)
    record.borrowed_ms = fit.borrowed_ms
    record.requests = len(fit.attempts)  # the plan, if any, the natural take and every re-timed or re-rated one
    record.similarity = take_similarity(plan, fit.samples, fit.sample_rate)
    if transcriber is not None:
        record.transcript = transcriber.transcribe(fit.samples, fit.sample_rate)
        record.wer = round(transcriber.wer([plain(cue.text)], [record.transcript]), 4)
    if project_path is not None:
        record.audio = store_take_audio(fit.samples, fit.sample_rate, project_path)
    return record, fit


def engine_for_request(engine: Engine, options: DubOptions) -> Engine:
    """The engine as a line's requests reach it: guarded (timeout, checks, retries), and a text over
    its length limit split at punctuation, each piece guarded on its own."""
    settings = options.config.engine(engine.name) if options.config is not None else None
    return limit_engine(guard_engine(engine, options.engine_guard), settings)


def spoken_text(text: str, pronunciations: dict[str, str]) -> str:
    """A line's text as it goes to the engine: the project's dictionary written in as markup.

    A take records this, so a dictionary change makes the lines it touches stale, and no others.
    Unreadable markup is left as it is: the engine call fails on it with the message.
    """
    try:
        return apply_dictionary(text, pronunciations)
    except MarkupError:
        return text


def shift_fit(fit: Fit, semitones: float) -> Fit:
    """Shift a fitted clip's pitch, keeping its length, and re-measure its speech span."""
    samples = shift_pitch(fit.samples, fit.sample_rate, semitones)
    span = speech_span(samples, fit.sample_rate) or fit.speech
    return dataclasses.replace(fit, samples=samples, speech=span)


def _transcriber(options: DubOptions) -> Transcriber | None:
    """Return Whisper for ranking English takes, or None where it cannot measure (other languages, not installed)."""
    if options.lang != "en":
        return None
    try:
        return Transcriber()
    except EngineUnavailable:
        return None


def write_outputs(handoff: Handoff, out_path: Path | None, options: DubOptions, keep_original: bool,
                  stem_path: str | Path | None = None) -> list[Path]:
    """Write the dubbed video (with its audio tracks), the stem and the hand-off files asked for.

    The dub track, the dialogue track, the stem and the stems are written in one walk over the mix, block
    by block (dubber.mix.blocks): a feature film's tracks are never whole in memory.
    """
    mixdown = handoff.mixdown
    if options.exports and out_path is None:
        raise UsageError("exports are written beside the output video; give one")
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="dubber-") as tmp:
        outputs, extra = [], []
        if out_path is not None:
            outputs.append(Output(Path(tmp) / "dub.wav", mixdown.channels, _mixed))
            if options.dialogue_track:
                outputs.append(Output(Path(tmp) / "dialogue.wav", 1, _dialogue))
                extra.append(media.AudioTrack(outputs[-1].path, options.lang, "Dub dialogue"))
        if stem_path is not None:  # at the mix's gain, like stems/dialogue.wav: the loudness target moves it too
            outputs.append(Output(Path(stem_path), 1, _dialogue))
        stems = handoff_outputs(handoff, out_path, options.exports) if out_path is not None else []
        write_blocks(mixdown, outputs + stems)
        if out_path is not None:
            written.append(media.mux(handoff.video, outputs[0].path, out_path, dub_lang=options.lang,
                                     keep_original=keep_original, original_lang=options.original_lang,
                                     extra_tracks=extra))
    if stem_path is not None:
        written.append(Path(stem_path))
    if options.exports and out_path is not None:
        written += write_handoff(handoff, out_path, options.exports, [output.path for output in stems] or None)
    return written


def _mixed(block: Block) -> np.ndarray:
    return block.mix


def _dialogue(block: Block) -> np.ndarray:
    return block.scaled(block.stem)


def dub_outputs(output: str | Path | None, options: DubOptions, stem_path: str | Path | None = None,
                report_path: str | Path | None = None) -> list[Planned]:
    """Every file and folder a dub writes: the video, stem, report, hand-off files, and the project."""
    planned = planned_files(output, stem_path, report_path=report_path, exports=options.exports)
    project = options.project or (project_path_for(output) if output is not None else None)
    if project is not None:
        planned.append(Planned(Path(project), "the project", resumed=True))
    return planned


def dub_inputs(video: str | Path, subtitles: str | Path, options: DubOptions) -> list[Path]:
    """Every file a dub reads: the video, the subtitles, the speakers file and every clip it names."""
    clips = [options.reference.audio_path if options.reference else None,
             options.emotion.audio_path if options.emotion else None]
    if options.speakers is not None:
        clips += [options.speakers.path, *(s.reference for s in options.speakers.speakers.values())]
    return [Path(video), Path(subtitles), *(Path(clip) for clip in clips if clip is not None)]


def dub(video: str | Path, subtitles: str | Path, output: str | Path | None, options: DubOptions,
        stem_path: str | Path | None = None, report_path: str | Path | None = None,
        progress: Progress | None = None, on_line: Callable[[LineEntry], None] | None = None,
        on_start: Callable[[list[LineEntry], list[Diagnostic]], None] | None = None,
        overwrite: bool = False) -> DubResult:
    """Dub `video` with the cues of `subtitles` and write the output video, stem and report.

    No file is written over an input, and an existing one only with `overwrite` (found out before any
    work). `on_start(lines, diagnostics)` is called once every line is known (those not spoken too) and
    every problem with the input found, before any line is rendered; `progress(done, total, cue)` and
    `on_line(entry)` as each line is finished. An exception either raises stops the dub there (the
    project keeps the finished lines).

    The original audio is decoded to a file in a folder that lives as long as the dub, and read by ranges.
    """
    with tempfile.TemporaryDirectory(prefix="dubber-original-") as sound:
        return _dub(Path(video), subtitles, output, options, stem_path, report_path, progress, on_line, on_start,
                    overwrite, Path(sound))


def _dub(video: Path, subtitles: str | Path, output: str | Path | None, options: DubOptions,
         stem_path: str | Path | None, report_path: str | Path | None, progress: Progress | None,
         on_line: Callable[[LineEntry], None] | None,
         on_start: Callable[[list[LineEntry], list[Diagnostic]], None] | None, overwrite: bool,
         sound: Path) -> DubResult:
    started = time.monotonic()
    info = media.probe(video)
    loaded = load_subtitles(subtitles, speak_all=options.speak_all)
    rate = options.sample_rate
    out_path = Path(output) if output is not None else None
    if options.exports and out_path is None:
        raise UsageError("exports are written beside the output video; give one")
    if out_path is not None:  # found out now, not after every line is rendered
        media.check_output_video(out_path)
        if not info.video_streams:
            raise MediaError(f"{str(video)!r} has no video stream to dub: give a video file", path=str(video))
    check_outputs(dub_outputs(out_path, options, stem_path, report_path), dub_inputs(video, subtitles, options),
                  overwrite)
    has_audio = bool(info.audio_streams)
    warm_up(options.engine, options.lang, options.config)  # loads the model while the original is read
    original = decode_to_disk(video, rate, sound) if has_audio else None
    diagnostics = list(loaded.diagnostics)
    project_path = options.project or (project_path_for(out_path) if out_path is not None else None)
    with tempfile.TemporaryDirectory(prefix="dubber-refs-") as scratch:
        # Extracted reference clips live beside the project (or only for this run without one).
        ref_folder = references_folder(project_path) if project_path else Path(scratch)
        planned = plan_dub(video, loaded, info.duration_ms, options, original, rate, project_path,
                           ref_folder, Path(scratch) / "project.json", diagnostics)
        cues, sync, spoken, done, slots = planned.cues, planned.sync, planned.spoken, planned.done, planned.slots
        options, plans, speakers, all_lines = planned.options, planned.plans, planned.speakers, planned.all_lines
        length = timeline_length(info.duration_ms, max((c.end_ms for c in spoken), default=0), original, rate)
        diagnostics += cast_warnings(speakers, loaded.path, options.lang, options.config)
        if on_start:
            on_start(all_lines, diagnostics)
        checkpoint = None
        if project_path is not None:
            checkpoint = Checkpoints(project_path, Project(str(video), str(subtitles), options.lang, speakers,
                                                           pronunciations=options.pronunciations, sync=sync),
                                     all_lines)
        try:
            fitted, entries = fit_cues(spoken, plans, options, progress, project_path, done, checkpoint, on_line,
                                       slots)
        finally:
            if checkpoint is not None:
                checkpoint.flush()  # the lines finished since the last save, whatever stopped the dub
    timeline = build_timeline(fitted, entries, length, rate, slots, project_path)
    lines = [line for line, _ in fitted]
    measure_lines(lines, timeline, slots, options.policy.accept_ms)
    mixdown, loudness = measure_mix(timeline, original, options.mix, options.ducking, options.loudness)
    handoff = Handoff(mixdown, lines, video, info, options.lang)
    written = write_outputs(handoff, out_path, options, options.keep_original and has_audio, stem_path)

    skipped = [SkippedLine(c.index, c.line, c.start_ms, c.end_ms, c.text, c.skip, c.skip_reason)
               for c in cues if not c.spoken]
    summary = summarize(lines, int((time.monotonic() - started) * 1000), spoken_ms(lines))
    summary.update(sync=sync, skipped=len(skipped), overlaps=overlaps(lines))
    engines = sorted({plan.engine.name for plan in plans.values()})
    inputs = {"video": str(video), "subtitles": str(subtitles), "subtitle_format": loaded.format,
              "subtitle_encoding": loaded.encoding, "lang": options.lang, "engine": ", ".join(engines),
              "voice": options.voice, "mix": options.mix, "seed": options.seed, "candidates": options.candidates,
              "sync": sync, "speak_all": options.speak_all, "foreign": options.foreign,
              "loudness": options.loudness, "ducking": dataclasses.asdict(options.ducking),
              "reference": str(options.reference.audio_path) if options.reference else None,
              "output": str(out_path) if out_path else None,
              "project": str(project_path) if project_path else None}
    report = build_report(lines, summary, [d.to_dict() for d in diagnostics], inputs)
    report["skipped"] = [dataclasses.asdict(line) for line in skipped]
    report["speakers"] = {name: dataclasses.asdict(plan.entry) for name, plan in plans.items()}
    if loudness is not None:
        report["loudness"] = loudness.to_dict()
    if options.exports and out_path is not None:
        report["exports"] = {kind: str(path) for kind, path in export_paths(out_path, options.exports).items()}
    if project_path is not None:
        finished = {entry.index: entry for entry in entries}
        save_project(Project(str(video), str(subtitles), options.lang, speakers,
                             [finished.get(line.index, line) for line in all_lines], options.pronunciations, sync),
                     project_path)
    if report_path is not None:
        write_json_atomic(report_path, report)
        written.append(Path(report_path))
    return DubResult(lines, diagnostics, summary, report, out_path, written, skipped)


@dataclass
class DubPlan:
    """What a dub decides before it renders a line (`plan_dub`); a cluster's driver plans the same way."""

    cues: list[Cue]
    sync: str
    spoken: list[Cue]
    done: dict[int, LineEntry]  # an earlier run's lines, by cue index
    slots: dict[int, Slot]
    options: DubOptions  # the earlier project's pronunciations added
    plans: dict[str, SpeakerPlan]  # engines opened to be shared among the workers
    speakers: dict[str, SpeakerEntry]
    all_lines: list[LineEntry]


def plan_dub(video: Path, loaded: Any, duration_ms: int, options: DubOptions,
             original: Any, rate: int, project_path: Path | None, ref_folder: Path, scratch_project: Path,
             diagnostics: list[Diagnostic]) -> DubPlan:
    """Plan a dub of `loaded` subtitles: the cues it speaks, their slots, each speaker's plan, and the lines an
    earlier run's project (at `project_path`) finished; problems found are added to `diagnostics`."""
    cues, sync = prepare_cues(loaded.cues, loaded.path, options, duration_ms, original, rate, diagnostics)
    spoken = [cue for cue in cues if cue.spoken]
    previous = _previous_project(project_path, video, options, diagnostics) if project_path else None
    done = {line.index: line for line in previous.lines} if previous is not None else {}
    # A line that chose in the panel to borrow the gap after it keeps that slot while its cue is unchanged.
    borrowing = {cue.index for cue in spoken if cue.index in done and done[cue.index].is_cue(cue)
                 and done[cue.index].borrow_gap}
    slots = plan_slots(spoken, sync, options.policy.borrow_gap, duration_ms, borrowing)
    if previous is not None:
        # The project's dictionary carries over to the next run; entries given now win.
        options = dataclasses.replace(options, pronunciations={**previous.pronunciations, **options.pronunciations})
    plans, speakers = _plans(spoken, options, original, rate, ref_folder, project_path or scratch_project)
    plans = shared_plans(plans, options.config)  # the cores shared among the workers
    return DubPlan(cues, sync, spoken, done, slots, options, plans, speakers, lines_for(cues, done))


def spoken_ms(lines: list[LineReport]) -> int:
    """How much dubbed speech the lines hold, as measured on the timeline."""
    return sum(line.speech_end_ms - line.speech_start_ms for line in lines
               if line.speech_start_ms is not None and line.speech_end_ms is not None)


def _plans(spoken: list[Cue], options: DubOptions, original: np.ndarray | None, rate: int, folder: Path,
           project_path: Path) -> tuple[dict[str, SpeakerPlan], dict[str, SpeakerEntry]]:
    """Every speaker's plan (and, for lines in another language, one in that language), and the
    speakers table the project keeps."""
    own = [cue for cue in spoken if plan_key(cue) == (cue.speaker or UNNAMED)]
    plans = plan_speakers(own, options.voice_request(), original, rate, folder, project_path)
    speakers = {name: plan.entry for name, plan in plans.items()}
    for cue in spoken:
        key = plan_key(cue)
        if key not in plans:  # a line in its own language: that language's default engine and voice
            request = VoiceRequest(cue.lang or options.lang, config=options.config, emotion=options.emotion)
            plans[key] = plan_speaker(cue.speaker or UNNAMED, request, None, folder, project_path)
    return plans, speakers


def _previous_project(project_path: Path, video: Path, options: DubOptions,
                      diagnostics: list[Diagnostic]) -> Project | None:
    """The project an earlier run of the same dub left, to resume its lines and keep its dictionary.

    A project for another video or language is not resumed (it is overwritten, as before). One that
    cannot be read is set aside under a new name, never overwritten, and the dub starts afresh.
    """
    if not project_path.exists():
        return None
    try:
        previous = load_project(project_path)
    except UsageError as exc:
        if getattr(exc, "newer", False):
            raise  # a newer dubber's project: refuse rather than overwrite it
        aside = project_path.with_name(f"{project_path.name}.damaged-{int(time.time())}")
        os.replace(project_path, aside)
        diagnostics.append(Diagnostic(str(project_path), None, "warning", "project-damaged",
                                      f"{exc}; set aside as {aside.name}, dubbing afresh"))
        return None
    same_video = Path(previous.video).absolute() == video.absolute() or \
        (project_path.parent / previous.video).absolute() == video.absolute()
    return previous if same_video and previous.lang == options.lang else None
