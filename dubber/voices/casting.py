"""Give every speaker a voice: its engine, its voice or reference clip, and the vector to compare takes with.

For each speaker, in order of precedence:

- **Engine**: the `--speakers` file's `engine`, else `--engine`, else the default for the language.
- **Reference clip**: one the user gave (the speakers file's `reference`, else `--reference`)
  always wins; otherwise, when one is needed, the best clip cut from the original audio at that
  speaker's cues (`dubber.voices.references`), written beside the project.
- **Voice**: the speakers file's `voice`, else `--voice`. `auto` matches the reference: a cloning
  engine clones it, any other engine gets its most similar voice (or Kokoro blend, see
  `dubber.voices.match`), optionally shifted in pitch toward the reference. `tune` matches, then searches
  the matched voice's style vector toward the reference (`dubber.voices.tune`; Kokoro), keeping the result
  only when an independent encoder agrees and Whisper still understands it.

A reference is needed when the engine clones or the voice is `auto` or `tune`. With a reference, every
take's similarity to it is measured (cosine of speaker embeddings) and reported.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from dubber.audio.media import read_wav
from dubber.audio.source import DiskAudio
from dubber.config import Config
from dubber.errors import DubberError, UsageError
from dubber.models.speaker_embedding import cosine, default_embedder
from dubber.plugin import registry
from dubber.plugin.engine import Emotion, Engine, Reference
from dubber.project.store import SpeakerEntry, relative_to_project
from dubber.subtitles.cue import Cue, Diagnostic
from dubber.subtitles.speakers import AUTO, TUNE, UNNAMED, SpeakerMap, SpeakerSettings, speaker_names, who
from dubber.voices.apart import MIN_DISTANCE, Seat, cast_apart
from dubber.voices.match import VoiceCatalogue, VoiceMatch, choose_voice, clip_f0, rank_voices
from dubber.voices.sharing import close_voices, shared_voices
from dubber.voices.tune import can_tune, tune_voice
from dubber.voices.references import find_references, speech_around, write_reference

MATCHED = (AUTO, TUNE)  # the voices that are chosen by listening to the speaker's reference
VoiceProgress = Callable[[str, int, int], None]  # (speaker, done, total) while a voice is tuned


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
    progress: VoiceProgress | None = field(default=None, compare=False, repr=False)


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


def plan_speakers(cues: list[Cue], request: VoiceRequest, original: np.ndarray | DiskAudio | None, rate: int,
                  folder: Path, project_path: Path, *, names: Iterable[str] | None = None,
                  settled: Mapping[str, SpeakerEntry] | None = None) -> dict[str, SpeakerPlan]:
    """Decide the engine, voice and reference of every speaker of `cues` (or of `names`); extracted clips are
    written to `folder`. Speakers matched to an engine's voices are cast together, apart from each other and
    from the `settled` speakers (`dubber.voices.apart`)."""
    audio = OriginalAudio(original, rate, cues) if original is not None else None
    lines = Counter(cue.speaker or UNNAMED for cue in cues)
    drafts = [_draft(name, request, audio, folder, project_path) for name in (names or speaker_names(cues))]
    voices = _cast_together(drafts, settled or {}, lines, request.lang)
    return {d.entry.name: _finish(d, request, voices.get(d.entry.name)) for d in drafts}


def plan_speaker(name: str, request: VoiceRequest, original: OriginalAudio | None, folder: Path,
                 project_path: Path, settled: Mapping[str, SpeakerEntry] | None = None) -> SpeakerPlan:
    """Plan one speaker (see the module docstring for the order of precedence); a matched voice is kept apart
    from the `settled` speakers' voices."""
    draft = _draft(name, request, original, folder, project_path)
    voices = _cast_together([draft], {k: v for k, v in (settled or {}).items() if k != name}, Counter(),
                            request.lang)
    return _finish(draft, request, voices.get(name))


@dataclass
class _Draft:
    """A speaker half planned: engine and reference known; a matched voice still to choose among `ranked`."""

    entry: SpeakerEntry
    engine: Engine
    voice: str | None
    reference: Reference | None
    vector: np.ndarray | None
    ranked: VoiceMatch | None = None  # --voice auto on an engine that cannot clone: every candidate
    catalogue: VoiceCatalogue | None = None
    f0: float | None = None  # the reference's median F0 (matched speakers only)
    tune: bool = False  # --voice tune: the matched voice is then tuned toward the reference


def _draft(name: str, request: VoiceRequest, original: OriginalAudio | None, folder: Path,
           project_path: Path) -> _Draft:
    """Choose the engine and the reference clip, and rank the voices of a speaker to match."""
    settings = request.speakers.settings(name) if request.speakers else SpeakerSettings(name)
    engine_name = settings.engine or request.engine or registry.engine_for_language(request.lang)
    engine = registry.get_engine(engine_name, request.config)
    clones = engine.capabilities.cloning != "none"
    voice = settings.voice or request.voice

    reference, source = _user_reference(settings, request)
    if voice == TUNE and not clones and not can_tune(engine):  # said before any clip is cut
        raise UsageError(f"--voice tune for {who(name)}: {engine.name} has no style vector to tune (Kokoro has); "
                         f"use --voice auto, or --engine kokoro", engine=engine.name)
    if reference is None and (clones or voice in MATCHED):
        reference = _extracted_reference(name, original, folder) if original is not None else None
        source = "extracted" if reference is not None else ""
    if voice in MATCHED and reference is None:
        raise UsageError(f"--voice {voice} for {who(name)} needs a reference: there is no original audio to take "
                         f"one from; give a clip with --reference or in the --speakers file")

    entry = SpeakerEntry(name, engine.name, "", reference_source=source)
    if reference is not None:
        entry.reference = relative_to_project(reference.audio_path, project_path)
        entry.reference_text, entry.reference_lang = reference.text, reference.lang
    vector = _vector(reference) if reference is not None else None
    draft = _Draft(entry, engine, voice, reference, vector)
    if clones:
        draft.voice = None if voice in MATCHED else voice  # a cloning engine speaks in the reference's voice
    elif voice in MATCHED and reference is not None and vector is not None:
        draft.catalogue = VoiceCatalogue(engine, request.lang)
        draft.ranked = rank_voices(vector, draft.catalogue)
        draft.f0 = clip_f0(reference)
        draft.tune = voice == TUNE
    return draft


def _cast_together(drafts: list[_Draft], settled: Mapping[str, SpeakerEntry], lines: Counter[str],
                   lang: str) -> dict[str, str]:
    """Choose the matched speakers' voices together (nothing to choose: no speaker is matched)."""
    matched = [d for d in drafts if d.ranked is not None]
    if not matched:
        return {}
    catalogues = {d.engine.name: d.catalogue for d in matched if d.catalogue is not None}
    seats = [Seat(d.entry.name, d.engine.name, d.ranked.candidates, max(1, lines[d.entry.name]), d.f0)
             for d in matched if d.ranked is not None]
    fixed = [(d.entry.name, d.engine.name, d.engine.check_voice_choice(lang, d.voice)) for d in drafts
             if d.ranked is None and d.engine.capabilities.cloning == "none"]
    fixed += [(name, e.engine, e.voice) for name, e in settled.items()
              if all(d.entry.name != name for d in drafts)]
    seats += [Seat(name, engine, ((voice, 0.0),)) for name, engine, voice in fixed
              if voice and engine in catalogues and name != UNNAMED]

    def distance(engine: str, a: str, b: str) -> float:
        catalogue = catalogues[engine]
        return 1.0 - cosine(catalogue.vector(a), catalogue.vector(b))

    cast = cast_apart(seats, distance, lambda engine, voice: catalogues[engine].f0(voice))
    return cast.voices


def _finish(draft: _Draft, request: VoiceRequest, voice: str | None) -> SpeakerPlan:
    """Settle the speaker's voice (a matched one: `voice`, chosen with the others) and check it."""
    entry, engine = draft.entry, draft.engine
    chosen = draft.voice
    if draft.ranked is not None and draft.catalogue is not None and draft.vector is not None:
        match = choose_voice(draft.ranked, voice or draft.ranked.voice, draft.catalogue, draft.vector,
                             pitch=request.match_pitch, reference_f0=draft.f0)
        _record(entry, match)
        chosen = match.voice
        if draft.tune and draft.reference is not None:
            chosen = _tune(entry, engine, request, draft.reference, match)
    clones = engine.capabilities.cloning != "none"
    entry.voice = engine.check_voice_choice(request.lang, chosen, reference=draft.reference if clones else None,
                                            emotion=request.emotion)
    return SpeakerPlan(entry, engine, draft.reference if clones else None, draft.vector)


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


def _record(entry: SpeakerEntry, match: VoiceMatch) -> None:
    """Keep in the speaker's entry how close the matched voice (and the default) came to the reference."""
    entry.matched = True
    entry.similarity, entry.default_similarity = round(match.similarity, 4), round(match.default_similarity, 4)
    if match.pitch_semitones:
        entry.pitch_semitones = round(match.pitch_semitones, 2)
        entry.pitched_similarity = (round(match.pitched_similarity, 4)
                                    if match.pitched_similarity is not None else None)


def _tune(entry: SpeakerEntry, engine: Engine, request: VoiceRequest, reference: Reference,
          match: VoiceMatch) -> str:
    """Tune the matched voice toward the reference (as its takes will be pitched); record and return the answer."""
    report = request.progress
    result = tune_voice(engine, request.lang, reference, match.voice, pitch_semitones=match.pitch_semitones,
                        progress=(lambda done, total: report(entry.name, done, total)) if report else None)
    entry.tuned_from, entry.tuned, entry.tune_reason = result.start_voice, result.kept, result.reason
    entry.tune_similarity = [round(result.start_similarity, 4), round(result.end_similarity, 4)]
    if result.start_judged is not None and result.end_judged is not None:
        entry.tune_judged = [round(result.start_judged, 4), round(result.end_judged, 4)]
    if result.start_wer is not None and result.end_wer is not None:
        entry.tune_wer = [round(result.start_wer, 4), round(result.end_wer, 4)]
    entry.tune_seconds = result.seconds
    return result.voice


def take_similarity(plan: SpeakerPlan, samples: np.ndarray, rate: int) -> float | None:
    """Return a take's similarity to its speaker's reference, or None without one."""
    if plan.vector is None:
        return None

    return round(cosine(default_embedder().embed(samples, rate), plan.vector), 4)


def cast_warnings(speakers: dict[str, SpeakerEntry], source: str, lang: str,
                  config: Config | None = None) -> list[Diagnostic]:
    """A warning for each voice several named speakers were cast with, and for each pair of named speakers whose
    voices were measured closer than `apart.MIN_DISTANCE`: listeners cannot tell them apart."""
    named = [entry for name, entry in speakers.items() if name != UNNAMED and (entry.voice or entry.reference)]
    cloning = cloning_engines({entry.engine for entry in named})
    notes = []
    for group in shared_voices(named, cloning):
        listed = ", ".join(group.speakers[:-1]) + f" and {group.speakers[-1]}"
        every = "both" if len(group.speakers) == 2 else "all"
        notes.append(Diagnostic(source, None, "warning", "shared-voice",
                                f"speakers {listed} are {every} dubbed with {group.engine}'s voice {group.voice}: "
                                f"give each its own (--speakers, or --voice auto with an engine of several voices)"))
    for pair in close_voices(named, known_distance(lang, config), cloning):
        first, second = pair.speakers
        notes.append(Diagnostic(source, None, "warning", "close-voices",
                                f"speakers {first} and {second} are dubbed with {pair.engine}'s voices "
                                f"{pair.voices[0]} and {pair.voices[1]}, only {pair.distance:.2f} apart (at least "
                                f"{MIN_DISTANCE:.2f} is heard as two people): {pair.engine} has no voice that "
                                f"keeps them apart"))
    return notes


def cloning_engines(engines: set[str]) -> set[str]:
    """The engines among `engines` that clone a clip (one that cannot be loaded is taken as not cloning)."""
    found = set()
    for name in engines:
        try:
            if registry.engine_class(name).capabilities.cloning != "none":
                found.add(name)
        except DubberError:
            continue
    return found


def known_distance(lang: str, config: Config | None) -> Callable[[str, str, str], float | None]:
    """How far apart two voices of an engine are, from measurements already made (None where there are none)."""
    catalogues: dict[str, VoiceCatalogue | None] = {}

    def distance(engine: str, a: str, b: str) -> float | None:
        if engine not in catalogues:
            try:
                catalogues[engine] = VoiceCatalogue(registry.get_engine(engine, config), lang)
            except DubberError:
                catalogues[engine] = None
        catalogue = catalogues[engine]
        first = catalogue.known_vector(a) if catalogue is not None else None
        second = catalogue.known_vector(b) if catalogue is not None else None
        return None if first is None or second is None else 1.0 - cosine(first, second)

    return distance
