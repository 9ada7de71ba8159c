"""Benchmark voice tuning (`dubber.voices.tune`, issue #23) on real speakers: start against tuned.

For each LibriSpeech reader in bench/data/librispeech (speakers.tsv: an ~8 s reference and held-out clips of
other utterances), the start is what `--voice auto --match-pitch` gives on Kokoro (the nearest voice or blend,
with its pitch shift); the tuned voice is `tune_voice` from it, searching toward the reference alone. Both
speak TEXTS (sentences neither the search nor its checks speak); their takes' speech, joined, is compared
with each held-out clip: the mean cosine under the d-vector (the encoder the search optimises) and GE2E (the
judge). WER is Whisper tiny.en on the takes. `cand` is the search's winner even when tuning did not keep
it, to see what the acceptance rule turned away. Time is the tuning's wall and CPU seconds (the CPU time
says what an idle machine would take where other work shares the cores).

    .venv/bin/python bench/tune.py [--speakers 367,533,...] [--evaluations 34] [--subspace voices,full]
                                   [--pick mean,best] [--sigma 0.3] [--json out.jsonl]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from dubber.audio.pitch import median_f0, shift_pitch
from dubber.audio.samples import resample
from dubber.audio.speech import speech_span
from dubber.fitting.intelligibility import Transcriber
from dubber.models.ge2e import default_judge
from dubber.models.speaker_embedding import cosine, default_embedder
from dubber.plugin.engine import SynthesisRequest
from dubber.plugin.registry import get_engine
from dubber.voices.match import PROBES, VoiceCatalogue, match_voice, reference_vector
from dubber.voices.tune import TUNE_PROBES, TuneSettings, tune_voice

DATA = Path(__file__).parent / "data" / "librispeech"
TEXTS = (
    "The pharmacy on the corner stays open late on Thursdays.",
    "We drove along the coast for hours without seeing another car.",
    "She kept every letter her brother wrote during his years at sea.",
)
RATE = 16000
PAD = 0.2  # seconds of silence around each take's speech when the takes are joined


class Memo:
    """The engine, remembering its takes: configurations that share a search's points (tuned voices are named by
    their packs) speak each once, so the time of a later configuration is only what it adds."""

    def __init__(self, engine) -> None:
        self._engine, self._takes = engine, {}

    def __getattr__(self, name: str):
        return getattr(self._engine, name)

    def synthesize(self, request: SynthesisRequest):
        key = (request.text, request.voice, request.seed)
        if key not in self._takes:
            self._takes[key] = self._engine.synthesize(request)
        return self._takes[key]


def load(name: str) -> np.ndarray:
    samples, rate = sf.read(str(DATA / name), dtype="float32", always_2d=False)
    return resample(samples, rate, RATE)


def speak(engine, voice: str, semitones: float) -> list[np.ndarray]:
    """Speak TEXTS in `voice`, at RATE, shifted as the dub would shift them."""
    out = []
    for text in TEXTS:
        take = engine.synthesize(SynthesisRequest(text, "en", voice))
        audio = resample(take.samples, take.sample_rate, RATE)
        out.append(shift_pitch(audio, RATE, semitones) if semitones else audio)
    return out


def joined(takes: list[np.ndarray]) -> np.ndarray:
    pad = np.zeros(round(PAD * RATE), np.float32)
    parts = []
    for take in takes:
        span = speech_span(take, RATE)
        if span is not None:
            parts += [pad, take[span.start:span.end], pad]
    return np.concatenate(parts)


def judged(takes: list[np.ndarray], held: list[np.ndarray], encoders: dict, asr: Transcriber) -> dict[str, float]:
    clip = joined(takes)
    out = {name: statistics.mean(cosine(enc.embed(clip, RATE), enc.embed(h, RATE)) for h in held)
           for name, enc in encoders.items()}
    out["wer"] = asr.wer(list(TEXTS), [asr.transcribe(t, RATE) for t in takes])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speakers", default="367,533,1688,1998,2033")
    parser.add_argument("--evaluations", type=int, default=TuneSettings.evaluations)
    parser.add_argument("--subspace", default="voices")
    parser.add_argument("--pick", default=TuneSettings.pick)
    parser.add_argument("--sigma", type=float, default=TuneSettings.sigma)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    assert not set(TEXTS) & (set(PROBES["en"]) | set(TUNE_PROBES["en"]))
    rows = {row["id"]: row for row in csv.DictReader(open(DATA / "speakers.tsv"), delimiter="\t")}
    kokoro = get_engine("kokoro")
    engine = Memo(kokoro)  # the catalogue gets the engine itself: its cache is keyed by the engine's module
    catalogue = VoiceCatalogue(kokoro, "en")
    encoders = {"dvector": default_embedder(), "ge2e": default_judge()}
    asr = Transcriber()
    print(f"load average {os.getloadavg()[0]:.1f}; texts: {len(TEXTS)}; held-out: cosine to each clip, mean")
    print(f"{'speaker':8} {'config':12} {'dvec':>13} {'ge2e':>13} {'WER':>11} {'cand ge2e':>9} {'wall':>5} "
          f"{'cpu':>5}  kept? why")
    summary: dict[str, list[dict]] = {}
    for sid in args.speakers.split(","):
        row = rows[sid]
        reference = load(row["reference"])
        held = [load(name) for name in row["held_out"].split(",")]
        match = match_voice(reference_vector(reference, RATE), kokoro, "en", pitch=True,
                            reference_f0=median_f0(reference, RATE), catalogue=catalogue)
        semitones = round(match.pitch_semitones, 2)
        start = judged(speak(engine, match.voice, semitones), held, encoders, asr)
        for subspace, pick in [(s, p) for s in args.subspace.split(",") for p in args.pick.split(",")]:
            settings = TuneSettings(evaluations=args.evaluations, subspace=subspace, sigma=args.sigma, pick=pick,
                                    seed=args.seed)
            wall, cpu = time.perf_counter(), time.process_time()
            result = tune_voice(engine, "en", reference, match.voice, rate=RATE, pitch_semitones=semitones,
                                judge=encoders["ge2e"], transcriber=asr, settings=settings, cache=False)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            cand = judged(speak(engine, result.candidate, semitones), held, encoders, asr)
            end = cand if result.kept else start
            config = f"{subspace[:5]}-{pick}-{args.evaluations}"
            record = {"speaker": sid, "subspace": config, "start_voice": match.voice, "semitones": semitones,
                      "start": start, "end": end, "cand": cand, "wall": wall, "cpu": cpu,
                      "result": {k: v for k, v in result.__dict__.items() if k != "history"},
                      "history": list(result.history)}
            summary.setdefault(config, []).append(record)
            print(f"{sid:8} {config:12} {start['dvector']:.3f}->{end['dvector']:.3f} "
                  f"{start['ge2e']:.3f}->{end['ge2e']:.3f} {start['wer']:>4.0%}->{end['wer']:<4.0%} "
                  f"{cand['ge2e']:>9.3f} {wall:>5.0f} {cpu:>5.0f}  {'kept' if result.kept else 'no'}: "
                  f"{result.reason}", flush=True)
            if args.json:
                with open(args.json, "a", encoding="utf-8") as out:
                    out.write(json.dumps(record) + "\n")
    for subspace, records in summary.items():
        gain = [r["end"]["ge2e"] - r["start"]["ge2e"] for r in records]
        print(f"{subspace}: ge2e {statistics.mean(r['start']['ge2e'] for r in records):.3f} -> "
              f"{statistics.mean(r['end']['ge2e'] for r in records):.3f} (better on {sum(g > 0 for g in gain)}/"
              f"{len(gain)}), dvec {statistics.mean(r['start']['dvector'] for r in records):.3f} -> "
              f"{statistics.mean(r['end']['dvector'] for r in records):.3f}, WER "
              f"{statistics.mean(r['start']['wer'] for r in records):.1%} -> "
              f"{statistics.mean(r['end']['wer'] for r in records):.1%}, "
              f"{statistics.mean(r['wall'] for r in records):.0f} s wall, "
              f"{statistics.mean(r['cpu'] for r in records):.0f} s CPU a speaker")


if __name__ == "__main__":
    main()
