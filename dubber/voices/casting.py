"""Give every speaker a voice: its engine, its voice or reference clip, and the vector to compare takes with.

For each speaker, in order of precedence:

- **Engine**: the `--speakers` file's `engine`, else `--engine`, else the default for the language.
- **Reference clip**: one the user gave (the speakers file's `reference`, else `--reference`)
  always wins; otherwise, when one is needed, the best clip cut from the original audio at that
  speaker's cues (`dubber.voices.references`), written beside the project.
- **Voice**: the speakers file's `voice`, else `--voice`. `auto` matches the reference: a cloning
  engine clones it, any other engine gets its most similar voice (or Kokoro blend, see
  `dubber.voices.match`), optionally shifted in pitch toward the reference.

A reference is needed when the engine clones or the voice is `auto`. With a reference, every
take's similarity to it is measured (cosine of speaker embeddings) and reported.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from dubber.audio.media import read_wav
from dubber.audio.source import DiskAudio
from dubber.config import Config
from dubber.errors import UsageError
from dubber.models.speaker_embedding import cosine, default_embedder
from dubber.plugin import registry
from dubber.plugin.engine import Emotion, Engine, Reference
from dubber.project.store import SpeakerEntry, relative_to_project
from dubber.subtitles.cue import Cue, Diagnostic
from dubber.subtitles.speakers import AUTO, UNNAMED, SpeakerMap, SpeakerSettings, speaker_names, who
from dubber.voices.match import match_voice
from dubber.voices.references import find_references, speech_around, write_reference


@dataclass
class SpeakerPlan:
    """A speaker ready to dub: its table entry, engine, what it clones, and its reference vector."""

    entry: SpeakerEntry
    engine: Engine
    reference: Reference | None = None  # passed to the engine (cloning engines only)
    vector: np.ndarray | None = None  # the reference clip's speaker embedding, for similarity

    @property
    def voice(self) -> str:
        return self.entry.voice


@dataclass
class VoiceRequest:
    """What the dub asks for, before each speaker's own settings."""

    lang: str
    engine: str | None = None
    voice: str | None = None
    reference: Reference | None = None
    emotion: Emotion | None = None
    config: Config | None = None
    speakers: SpeakerMap | None = None
    match_pitch: bool = False


@dataclass
class OriginalAudio:
    """The video's own audio (an array, or a DiskAudio read by ranges) and every cue, searched for each
    speaker's reference clip.

    Every cue, not just the speaker's: clips are bounded by the other speakers' cues. The speech
    spans are found once (Silero VAD over the stretches around the cues) and shared by all speakers.
    """

    samples: np.ndarray | DiskAudio
    rate: int
    cues: list[Cue]

    @cached_property
    def speech(self) -> list[tuple[int, int]]:  # half-open sample spans
        return speech_around(self.samples, self.rate, self.cues)


def plan_speakers(cues: list[Cue], request: VoiceRequest, original: np.ndarray | None, rate: int,
                  folder: Path, project_path: Path) -> dict[str, SpeakerPlan]:
    """Decide every speaker's engine, voice and reference; extracted clips are written to `folder`."""
    audio = OriginalAudio(original, rate, cues) if original is not None else None
    return {name: plan_speaker(name, request, audio, folder, project_path) for name in speaker_names(cues)}


def plan_speaker(name: str, request: VoiceRequest, original: OriginalAudio | None, folder: Path,
                 project_path: Path) -> SpeakerPlan:
    """Plan one speaker (see the module docstring for the order of precedence)."""
    settings = request.speakers.settings(name) if request.speakers else SpeakerSettings(name)
    engine_name = settings.engine or request.engine or registry.engine_for_language(request.lang)
    engine = registry.get_engine(engine_name, request.config)
    clones = engine.capabilities.cloning != "none"
    voice = settings.voice or request.voice

    reference, source = _user_reference(settings, request)
    if reference is None and (clones or voice == AUTO):
        reference = _extracted_reference(name, original, folder) if original is not None else None
        source = "extracted" if reference is not None else ""
    if voice == AUTO and reference is None:
        raise UsageError(f"--voice auto for {who(name)} needs a reference: there is no original audio to take one from; "
                         f"give a clip with --reference or in the --speakers file")

    entry = SpeakerEntry(name, engine.name, "", reference_source=source)
    if reference is not None:
        entry.reference = relative_to_project(reference.audio_path, project_path)
        entry.reference_text, entry.reference_lang = reference.text, reference.lang
    vector = _vector(reference) if reference is not None else None

    if clones:
        voice = None if voice == AUTO else voice  # a cloning engine speaks in the reference's voice
    elif voice == AUTO:
        voice = _match(entry, engine, request, reference, vector)
    entry.voice = engine.check_voice_choice(request.lang, voice, reference=reference if clones else None,
                                            emotion=request.emotion)
    return SpeakerPlan(entry, engine, reference if clones else None, vector)


def plan_from_entry(entry: SpeakerEntry, project_path: Path, config: Config | None) -> SpeakerPlan:
    """Rebuild a speaker's plan from its saved entry: a reopened project re-extracts and re-matches nothing."""
    engine = registry.get_engine(entry.engine, config)
    reference = entry_reference(entry, project_path)
    vector = _vector(reference) if reference is not None and reference.audio_path.is_file() else None
    return SpeakerPlan(entry, engine, reference if engine.capabilities.cloning != "none" else None, vector)


def plan_for_line(base: SpeakerPlan, engine_name: str | None, voice: str | None, lang: str,
                  config: Config | None, project_path: Path, emotion: Emotion | None = None) -> SpeakerPlan:
    """The speaker's plan with one line's own engine or voice in place of the speaker's."""
    if engine_name is None and voice is None:
        return base
    engine = registry.get_engine(engine_name or base.engine.name, config)
    same_engine = engine.name == base.engine.name
    clones = engine.capabilities.cloning != "none"
    reference = entry_reference(base.entry, project_path) if clones else None
    chosen = voice if voice is not None else (base.voice if same_engine and base.voice else None)
    checked = engine.check_voice_choice(lang, chosen, reference=reference, emotion=emotion)
    keep_pitch = same_engine and checked == base.voice  # the pitch shift was matched to that voice
    entry = replace(base.entry, engine=engine.name, voice=checked,
                    pitch_semitones=base.entry.pitch_semitones if keep_pitch else 0.0)
    return SpeakerPlan(entry, engine, reference, base.vector)


def entry_reference(entry: SpeakerEntry, project_path: Path) -> Reference | None:
    """Return the reference clip a speaker entry names, resolved against the project's folder."""
    if not entry.reference:
        return None
    path = Path(entry.reference)
    return Reference(path if path.is_absolute() else project_path.parent / path, entry.reference_text,
                     entry.reference_lang)


def _user_reference(settings: SpeakerSettings, request: VoiceRequest) -> tuple[Reference | None, str]:
    if settings.reference is not None:
        return Reference(settings.reference, settings.reference_text, settings.reference_lang), "user"
    if request.reference is not None:
        return request.reference, "user"
    return None, ""


def _extracted_reference(name: str, original: OriginalAudio, folder: Path) -> Reference | None:
    """Cut the best clip of this speaker from the original audio, or None when there is none."""
    candidates = find_references(original.samples, original.rate, original.cues, name, keep=1,
                                 speech=original.speech)
    # The original's language is not known (subtitles are usually a translation): lang stays None.
    return write_reference(candidates[0], original.samples, original.rate, folder) if candidates else None


def _vector(reference: Reference) -> np.ndarray:
    samples, rate = read_wav(reference.audio_path)
    return default_embedder().embed(samples, rate)


def _match(entry: SpeakerEntry, engine: Engine, request: VoiceRequest, reference: Reference,
           vector: np.ndarray) -> str:
    """Pick the engine's voice closest to the reference and record the similarities in `entry`."""
    match = match_voice(vector, engine, request.lang, reference=reference, pitch=request.match_pitch)
    entry.matched = True
    entry.similarity, entry.default_similarity = round(match.similarity, 4), round(match.default_similarity, 4)
    if match.pitch_semitones:
        entry.pitch_semitones = round(match.pitch_semitones, 2)
        entry.pitched_similarity = (round(match.pitched_similarity, 4)
                                    if match.pitched_similarity is not None else None)
    return match.voice


def take_similarity(plan: SpeakerPlan, samples: np.ndarray, rate: int) -> float | None:
    """Return a take's similarity to its speaker's reference, or None without one."""
    if plan.vector is None:
        return None

    return round(cosine(default_embedder().embed(samples, rate), plan.vector), 4)


def shared_voices(speakers: dict[str, SpeakerEntry], source: str) -> list[Diagnostic]:
    """A warning for each voice that several named speakers were cast with: listeners cannot tell them apart.
    A cloning engine speaks each speaker's own reference (no voice of its own), so it is never counted."""
    cast: dict[tuple[str, str, float], list[str]] = {}
    for name, entry in speakers.items():
        if name != UNNAMED and entry.voice:
            cast.setdefault((entry.engine, entry.voice, round(entry.pitch_semitones, 1)), []).append(name)
    notes = []
    for (engine, voice, _), names in cast.items():
        if len(names) > 1:
            listed = ", ".join(names[:-1]) + f" and {names[-1]}"
            every = "both" if len(names) == 2 else "all"
            notes.append(Diagnostic(source, None, "warning", "shared-voice",
                                    f"speakers {listed} are {every} dubbed with {engine}'s voice {voice}: give each "
                                    f"its own (--speakers, or --voice auto with an engine of several voices)"))
    return notes
