"""Section (d) of bench/voice.py: voice identity on real speakers (issue #23).

The speakers are LibriSpeech readers (bench/real_speakers.py): a reference clip of about 8 s, which a
system gets as the speaker's voice, and held-out clips of other utterances, which judge the result.
Each system speaks TEXTS for each speaker; its takes, each trimmed to its speech with PAD s of silence
around it and joined (about as long as the reference), make one clip. Under each encoder:

- sim: the mean of the cosines between that clip's vector and each held-out clip's vector;
- own: the same for the speaker's own reference clip; stranger: its mean over the other nine speakers'
  reference clips (both sexes, also when fewer speakers are evaluated);
- norm = (sim - stranger) / (own - stranger): 0 is a stranger, 1 the speaker's own voice.

The encoders are the d-vector (`dubber.models.speaker_embedding`, the one matching optimises) and the
independent GE2E judge (`dubber.models.ge2e`). WER is Whisper tiny.en on each take against its text
(`dubber.fitting.intelligibility`, as bench/duration.py and bench/candidates.py use it); s is the time
the system took for the speaker (matching, synthesis and pitch shift; not the judging).

A system is a function in SYSTEMS from a speaker and the texts to its takes. The first run of `auto` also
measures Kokoro's voice catalogue and each new blend (cached under the dubber cache folder), so its time
per speaker falls on later runs. `tune` is `--voice tune` (match, then `dubber.voices.tune` from the matched
voice toward the reference clip alone); its time is the tuning's, and a tuning already cached costs none, so
its s is honest only on a first run (clear `$DUBBER_CACHE_DIR/voices/tunings`). With both `auto` and `tune`
run, a last line says on how many speakers tune beat auto under each encoder and the change in WER.
"""

from __future__ import annotations

import statistics
import tempfile
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from dubber.audio.media import write_wav
from dubber.audio.pitch import shift_pitch
from dubber.audio.speech import speech_span
from dubber.errors import EngineUnavailable
from dubber.fitting.intelligibility import Transcriber
from dubber.models.speaker_embedding import cosine, default_embedder
from dubber.plugin.engine import Reference, SynthesisRequest
from dubber.plugin.registry import get_engine
from dubber.subtitles.speakers import AUTO, TUNE
from dubber.voices.casting import VoiceRequest, plan_speaker
from dubber.voices.match import PROBES, Embedder, VoiceCatalogue
from real_speakers import RealSpeaker, load_speakers

TEXTS = (
    "The pharmacy on the corner stays open late on Thursdays.",
    "We drove along the coast for hours without seeing another car.",
    "She kept every letter her brother wrote during his years at sea.",
)
PAD = 0.2  # seconds of silence around each take's speech when the takes are joined, as around the clips
MATCH_ENGINE = "kokoro"


@dataclass
class Spoken:
    """A system's takes for one speaker, and what it chose."""

    takes: list[np.ndarray]
    rate: int
    choice: str  # the voice spoken with, as the system names it


def speak_piper(speaker: RealSpeaker, texts: Sequence[str]) -> Spoken:
    """Piper's one English voice, whoever the speaker is."""
    engine = get_engine("piper")
    takes = [engine.synthesize(SynthesisRequest(text, "en")) for text in texts]
    return Spoken([t.samples for t in takes], takes[0].sample_rate, takes[0].voice)


@cache
def kokoro_catalogue() -> VoiceCatalogue:
    return VoiceCatalogue(get_engine(MATCH_ENGINE), "en")


def speak_matched(speaker: RealSpeaker, texts: Sequence[str], voice: str = AUTO) -> Spoken:
    """--voice auto --match-pitch on Kokoro, as a dub casts one speaker (dubber.voices.casting.plan_speaker): the
    nearest voice or blend in the speaker's register, shifted toward its F0 when that raises the similarity;
    with `voice` TUNE, that voice then tuned toward the reference."""
    catalogue = kokoro_catalogue()
    with tempfile.TemporaryDirectory(prefix="voice-real-") as scratch:
        clip = Path(scratch) / f"{speaker.id}.wav"
        write_wav(clip, speaker.reference, speaker.rate)
        request = VoiceRequest("en", engine=MATCH_ENGINE, voice=voice, reference=Reference(clip), match_pitch=True)
        plan = plan_speaker(speaker.id, request, None, Path(scratch), Path(scratch) / "project.json")
    entry = plan.entry
    takes = [catalogue.engine.synthesize(SynthesisRequest(text, "en", plan.voice)) for text in texts]
    semitones = entry.pitch_semitones
    samples = [shift_pitch(t.samples, t.sample_rate, semitones) if semitones else t.samples for t in takes]
    choice = f"{plan.voice} {semitones:+.1f} st"
    if entry.tuned_from:
        choice += f" (from {entry.tuned_from}, {'kept' if entry.tuned else 'not kept'}: {entry.tune_reason})"
    return Spoken(samples, takes[0].sample_rate, choice)


SYSTEMS: dict[str, Callable[[RealSpeaker, Sequence[str]], Spoken]] = {
    "piper": speak_piper,
    "auto": speak_matched,
    "tune": lambda speaker, texts: speak_matched(speaker, texts, TUNE),
}


@dataclass
class Judged:
    """One system on one speaker."""

    speaker: RealSpeaker
    system: str
    choice: str
    seconds: float
    sim: dict[str, float] = field(default_factory=dict)
    norm: dict[str, float] = field(default_factory=dict)
    hyps: list[str] = field(default_factory=list)
    wer: float = 0.0


def judges() -> dict[str, Embedder]:
    """Return the encoders to judge with: the d-vector, and GE2E when it is installed (a line says when not)."""
    out: dict[str, Embedder] = {"dvector": default_embedder()}
    try:
        from dubber.models.ge2e import default_judge

        out["ge2e"] = default_judge()
    except (ImportError, EngineUnavailable) as exc:
        print(f"    GE2E judge missing ({exc}): similarity under the d-vector encoder only", flush=True)
    return out


def joined(takes: Sequence[np.ndarray], rate: int) -> np.ndarray:
    """Join the takes' speech, each with PAD s of silence on either side."""
    pad = np.zeros(round(PAD * rate), np.float32)
    parts = []
    for take in takes:
        span = speech_span(take, rate)
        if span is not None:
            parts += [pad, np.asarray(take[span.start:span.end], np.float32), pad]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def similarity(vector: np.ndarray, held_out: Sequence[np.ndarray]) -> float:
    return statistics.mean(cosine(vector, h) for h in held_out)


def real_speakers(systems: Sequence[str] | None = None, limit: int | None = None,
                  avoid: Sequence[str] = ()) -> dict[str, list[Judged]]:
    """Section (d): print each system's normalised similarity, WER and time per real speaker, and their means."""
    names = list(systems or SYSTEMS)
    if unknown := [n for n in names if n not in SYSTEMS]:
        sys.exit(f"unknown systems {unknown}; known: {', '.join(SYSTEMS)}")
    if overlap := set(TEXTS) & (set(PROBES["en"]) | set(avoid)):
        sys.exit(f"evaluation texts must not be probe or reference sentences: {overlap}")
    everyone = load_speakers()
    speakers = everyone[:limit]
    print(f"(d) real speakers: {len(speakers)} LibriSpeech test-other readers; each system speaks {len(TEXTS)} "
          "sentences, joined;\n    sim = mean cosine to each held-out clip; "
          "norm = (sim - stranger) / (own - stranger)")
    encoders = judges()
    asr = Transcriber()
    # Every speaker's clips are embedded once: "stranger" takes all the others, also when fewer are evaluated.
    refs = {name: [enc.embed(s.reference, s.rate) for s in everyone] for name, enc in encoders.items()}
    held = {name: [[enc.embed(h, s.rate) for h in s.held_out] for s in everyone] for name, enc in encoders.items()}
    head = "".join(f" {name + ' sim':>11} {'norm':>6}" for name in encoders)
    print(f"    {'speaker':8} {'system':7}{head} {'WER':>6} {'s':>6}  voice")
    results: dict[str, list[Judged]] = {name: [] for name in names}
    for i, speaker in enumerate(speakers):
        own = {name: similarity(refs[name][i], held[name][i]) for name in encoders}
        stranger = {name: statistics.mean(similarity(refs[name][j], held[name][i])
                                          for j in range(len(everyone)) if j != i) for name in encoders}
        print(f"    {speaker.label:8} {speaker.name}: own " + ", ".join(f"{n} {own[n]:.3f}" for n in encoders)
              + "; stranger " + ", ".join(f"{n} {stranger[n]:.3f}" for n in encoders))
        for name in names:
            started = time.monotonic()
            spoken = SYSTEMS[name](speaker, TEXTS)
            result = Judged(speaker, name, spoken.choice, time.monotonic() - started)
            clip = joined(spoken.takes, spoken.rate)
            for enc_name, enc in encoders.items():
                result.sim[enc_name] = similarity(enc.embed(clip, spoken.rate), held[enc_name][i])
                result.norm[enc_name] = ((result.sim[enc_name] - stranger[enc_name])
                                         / (own[enc_name] - stranger[enc_name]))
            result.hyps = [asr.transcribe(take, spoken.rate) for take in spoken.takes]
            result.wer = asr.wer(list(TEXTS), result.hyps)
            results[name].append(result)
            cells = "".join(f" {result.sim[n]:>11.3f} {result.norm[n]:>+6.2f}" for n in encoders)
            print(f"    {'':8} {name:7}{cells} {result.wer:>6.1%} {result.seconds:>6.1f}  {result.choice}", flush=True)
    print(f"    mean over {len(speakers)} speakers (norm: min..max; WER over all {len(speakers) * len(TEXTS)} takes)")
    for name in names:
        rows = results[name]
        cells = "".join(f" {enc}: norm {statistics.mean(r.norm[enc] for r in rows):+.2f} "
                        f"({min(r.norm[enc] for r in rows):+.2f}..{max(r.norm[enc] for r in rows):+.2f}),"
                        for enc in encoders)
        wer = asr.wer([t for _ in rows for t in TEXTS], [h for r in rows for h in r.hyps])
        print(f"    {name:7}{cells} WER {wer:.1%}, {statistics.mean(r.seconds for r in rows):.1f} s a speaker")
    if "auto" in results and "tune" in results:
        pairs = list(zip(results["auto"], results["tune"]))
        wers = {name: asr.wer([t for _ in rows for t in TEXTS], [h for r in rows for h in r.hyps])
                for name, rows in results.items() if name in ("auto", "tune")}
        cells = ", ".join(f"{enc} better on {sum(t.norm[enc] > a.norm[enc] for a, t in pairs)}/{len(pairs)} "
                          f"(mean {statistics.mean(t.norm[enc] - a.norm[enc] for a, t in pairs):+.3f})"
                          for enc in encoders)
        print(f"    tune against auto: {cells}; WER {wers['tune'] - wers['auto']:+.1%} points")
    return results
