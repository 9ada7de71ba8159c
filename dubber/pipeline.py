"""Dub a video end to end: subtitles -> fitted takes -> one timeline -> mix -> mux, with a report."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dubber import media
from dubber.audio import ms_to_samples, samples_to_ms
from dubber.config import Config
from dubber.cue import Cue, Diagnostic
from dubber.errors import UsageError
from dubber.fitting import STATUS_FAILED, STATUS_OK, Fit, FitPolicy, fit_line
from dubber.mixing import mix
from dubber.plugin import registry
from dubber.plugin.engine import Emotion, Engine, Reference
from dubber.report import LineReport, build_report, summarize, write_json_atomic
from dubber.speech import speech_span
from dubber.subtitles import load_subtitles
from dubber.timeline import Timeline

OUTPUT_RATE = 48000

Progress = Callable[[int, int, Cue], None]


@dataclass
class DubOptions:
    """Everything that shapes a dub, with the defaults an editor would expect."""

    lang: str = "en"
    engine: str | None = None  # None: the default engine for `lang`
    voice: str | None = None  # None: the engine's default voice for `lang`
    mix: str = "duck"
    duck_db: float = 15.0
    seed: int = 0
    policy: FitPolicy = field(default_factory=FitPolicy)
    keep_original: bool = True
    sample_rate: int = OUTPUT_RATE
    config: Config | None = None  # engine settings (model folders, server URLs, timeouts)
    reference: Reference | None = None  # a voice to clone, for engines that can
    emotion: Emotion | None = None  # how every line should feel, for engines that take it


@dataclass
class DubResult:
    """The outcome of a dub: per-line reports, subtitle diagnostics and the summary."""

    lines: list[LineReport]
    diagnostics: list[Diagnostic]
    summary: dict[str, Any]
    report: dict[str, Any]
    output: Path | None

    @property
    def failed(self) -> list[LineReport]:
        return [line for line in self.lines if line.status != STATUS_OK]

    @property
    def ok(self) -> bool:
        return not self.failed and not any(d.severity == "error" for d in self.diagnostics)


def resolve_engine(options: DubOptions) -> Engine:
    """Return the engine the options name, or the default one for the language."""
    name = options.engine or registry.engine_for_language(options.lang)
    engine = registry.get_engine(name, options.config)
    options.voice = engine.check_request(options.lang, options.voice, reference=options.reference,
                                         emotion=options.emotion)
    return engine


def fit_cues(cues: list[Cue], engine: Engine, options: DubOptions,
             progress: Progress | None = None) -> list[tuple[LineReport, Fit | None]]:
    """Speak and fit every cue; a line whose engine call fails is marked failed and the rest go on."""
    results: list[tuple[LineReport, Fit | None]] = []
    ordered = sorted(cues, key=lambda c: (c.start_ms, c.index))
    for i, cue in enumerate(ordered):
        nxt = ordered[i + 1].start_ms if i + 1 < len(ordered) else None
        line = LineReport(index=cue.index, start_ms=cue.start_ms, end_ms=cue.end_ms, speaker=cue.speaker,
                          text=cue.text, engine=engine.name, voice=options.voice or "", seed=options.seed,
                          target_ms=cue.duration_ms, line=cue.line)
        fit: Fit | None = None
        try:
            fit = fit_line(engine, cue.text, options.lang, options.voice, cue.duration_ms, seed=options.seed,
                           policy=options.policy,
                           max_slot_ms=(nxt - cue.start_ms) if nxt is not None else None,
                           reference=options.reference, emotion=options.emotion)
        except Exception as exc:  # an engine fault fails this line only
            line.status, line.reason = STATUS_FAILED, f"{type(exc).__name__}: {exc}"
        if fit is not None:
            line.target_ms = fit.target_ms
            line.natural_ms, line.rate, line.stretch = fit.natural_ms, fit.rate, fit.stretch
            line.heard_rate = round(fit.heard_rate, 4)
            line.borrowed_ms, line.method, line.status, line.reason = (
                fit.borrowed_ms, fit.method, fit.status, fit.reason)
        results.append((line, fit))
        if progress:
            progress(i + 1, len(ordered), cue)
    return results


def build_timeline(fitted: list[tuple[LineReport, Fit | None]], length: int, rate: int) -> Timeline:
    """Place each fitted clip so its measured speech onset lands on its cue's start sample."""
    timeline = Timeline(rate, length)
    for line, fit in fitted:
        if fit is None:
            continue
        onset = ms_to_samples(line.start_ms, rate)
        lead = (fit.speech.start * rate + fit.sample_rate // 2) // fit.sample_rate
        timeline.place(line.index, onset - lead, fit.samples, from_rate=fit.sample_rate)
    return timeline


def measure_lines(fitted: list[tuple[LineReport, Fit | None]], timeline: Timeline, stem: np.ndarray) -> None:
    """Measure each line's speech span on the rendered stem, inside its own clip's extent."""
    extent = {p.key: (max(p.start, 0), min(p.end, timeline.length)) for p in timeline.placements}
    for line, fit in fitted:
        if fit is None or line.index not in extent:
            continue
        lo, hi = extent[line.index]
        span = speech_span(stem[lo:hi], timeline.sample_rate) if hi > lo else None
        if span is None:
            line.status, line.reason = STATUS_FAILED, "no speech found on the timeline (clip outside the video?)"
            continue
        rate = timeline.sample_rate
        line.measure(samples_to_ms(lo + span.start, rate), samples_to_ms(lo + span.end, rate))


def dub(video: str | Path, subtitles: str | Path, output: str | Path | None, options: DubOptions,
        stem_path: str | Path | None = None, report_path: str | Path | None = None,
        progress: Progress | None = None) -> DubResult:
    """Dub `video` with the cues of `subtitles` and write the output video, stem and report."""
    started = time.monotonic()
    video = Path(video)
    info = media.probe(video)
    loaded = load_subtitles(subtitles)
    engine = resolve_engine(options)
    rate = options.sample_rate
    has_audio = bool(info.audio_streams)
    original = media.decode_audio(video, rate) if has_audio else None
    # The timeline spans the video; ffmpeg may not know the duration, so the audio and cues bound it too.
    last_cue = max((c.end_ms for c in loaded.cues), default=0)
    length = max(ms_to_samples(info.duration_ms or last_cue, rate),
                 original.shape[0] if original is not None else 0)

    fitted = fit_cues(loaded.cues, engine, options, progress)
    timeline = build_timeline(fitted, length, rate)
    stem = timeline.render()
    measure_lines(fitted, timeline, stem)
    track = mix(stem, original, timeline.spans(), rate, mode=options.mix, depth_db=options.duck_db)

    out_path = Path(output) if output is not None else None
    if out_path is not None:
        with tempfile.TemporaryDirectory(prefix="dubber-") as tmp:
            wav = Path(tmp) / "dub.wav"
            media.write_wav(wav, track, rate)
            media.mux(video, wav, out_path, dub_lang=media.iso639_2(options.lang),
                      keep_original=options.keep_original and has_audio)
    if stem_path is not None:
        media.write_wav(stem_path, stem, rate)

    lines = [line for line, _ in fitted]
    audio_ms = sum(line.target_ms for line in lines)
    summary = summarize(lines, int((time.monotonic() - started) * 1000), audio_ms)
    inputs = {"video": str(video), "subtitles": str(subtitles), "subtitle_format": loaded.format,
              "subtitle_encoding": loaded.encoding, "lang": options.lang, "engine": engine.name,
              "voice": options.voice, "mix": options.mix, "seed": options.seed,
              "reference": str(options.reference.audio_path) if options.reference else None,
              "output": str(out_path) if out_path else None}
    report = build_report(lines, summary, [d.to_dict() for d in loaded.diagnostics], inputs)
    if report_path is not None:
        write_json_atomic(report_path, report)
    return DubResult(lines, loaded.diagnostics, summary, report, out_path)


def say(text: str, duration_ms: int, output: str | Path, options: DubOptions) -> dict[str, Any]:
    """Speak one line fitted to `duration_ms`, write it as WAV and return the measurement."""
    if not text.strip():
        raise UsageError("nothing to say: the text is empty")
    engine = resolve_engine(options)
    fit = fit_line(engine, text, options.lang, options.voice, duration_ms, seed=options.seed, policy=options.policy,
                   reference=options.reference, emotion=options.emotion)
    media.write_wav(output, fit.samples, fit.sample_rate)  # fit.speech was measured on exactly these samples
    return {
        "target_ms": duration_ms,
        "speech_ms": fit.speech_ms,
        "error_ms": fit.speech_ms - duration_ms,
        "natural_ms": fit.natural_ms,
        "method": fit.method,
        "rate": fit.rate,
        "heard_rate": round(fit.heard_rate, 4),
        "stretch": fit.stretch,
        "status": fit.status,
        "engine": engine.name,
        "voice": options.voice,
        "seed": options.seed,
        "output": str(output),
    }
