"""Speak one line fitted to a duration, outside any video: `dubber say` and the service's /tts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dubber.audio import media
from dubber.audio.samples import samples_to_ms
from dubber.errors import UsageError
from dubber.fitting.fitter import Fit, fit_line
from dubber.handoff.outputs import Planned, check_outputs
from dubber.pipeline.dub import DubOptions, engine_for_request, shift_fit
from dubber.plugin.engine import SynthesisRequest
from dubber.subtitles.speakers import UNNAMED
from dubber.synthesis.budget import check_spoken_length
from dubber.text.pronunciation import apply_dictionary, for_engine
from dubber.voices.casting import plan_speaker, take_similarity


def speak(text: str, duration_ms: int, options: DubOptions, folder: Path) -> tuple[Fit, dict[str, Any]]:
    """Speak one line fitted to `duration_ms`: the fitted clip and its measurement.

    `folder` is where a reference clip's relative path is read from (nothing is written to it).
    A line over its budget (dubber.synthesis.budget: its length as spoken, its estimated length against
    `duration_ms`) is refused with OverBudget before any synthesis.
    """
    if not text.strip():
        raise UsageError("nothing to say: the text is empty")
    check_spoken_length(text, options.lang)
    plan = plan_speaker(UNNAMED, options.voice_request(), None, folder, folder / "line.wav")
    engine = plan.engine
    spoken = for_engine(apply_dictionary(text, options.pronunciations), engine.capabilities.pronunciation)
    request = SynthesisRequest(spoken, options.lang, plan.voice, seed=options.seed, reference=plan.reference,
                               emotion=options.emotion)
    fit = fit_line(engine_for_request(engine, options), request, duration_ms, policy=options.policy)
    if plan.entry.pitch_semitones:
        fit = shift_fit(fit, plan.entry.pitch_semitones)
    return fit, {
        "target_ms": duration_ms,
        "speech_ms": fit.speech_ms,
        "error_ms": fit.speech_ms - duration_ms,
        # where the speech lies in the clip (the clip carries a little silence either side)
        "speech_start_ms": samples_to_ms(fit.speech.start, fit.sample_rate),
        "speech_end_ms": samples_to_ms(fit.speech.end, fit.sample_rate),
        "natural_ms": fit.natural_ms,
        "method": fit.method,
        "rate": fit.rate,
        "heard_rate": round(fit.heard_rate, 4),
        "stretch": fit.stretch,
        "status": fit.status,
        "reason": fit.reason,
        "engine": engine.name,
        "voice": plan.voice,
        "similarity": take_similarity(plan, fit.samples, fit.sample_rate),
        "seed": options.seed,
        "sample_rate": fit.sample_rate,
    }


def say(text: str, duration_ms: int, output: str | Path, options: DubOptions,
        overwrite: bool = False) -> dict[str, Any]:
    """Speak one line fitted to `duration_ms`, write it as WAV and return the measurement.

    An existing `output` is replaced only with `overwrite`, and never a clip the line is spoken from:
    refused before the engine is asked.
    """
    output = Path(output)
    clips = [options.reference.audio_path if options.reference else None,
             options.emotion.audio_path if options.emotion else None]
    check_outputs([Planned(output, "the WAV")], clips, overwrite)
    # No original audio: nothing is extracted, so no folder is written to.
    fit, measured = speak(text, duration_ms, options, output.parent)
    media.write_wav(output, fit.samples, fit.sample_rate)  # fit.speech was measured on exactly these samples
    return {**measured, "output": str(output)}
