"""Section (c) of bench/voice.py: what K=3 candidates per line gain over K=1, in WER and fit.

English lines are spoken by Piper against targets of natural × 0.7 … 1.4, each rendered with seeds
0, 1, 2 through the pipeline's own `render_take` (fit, similarity to the speaker's reference,
Whisper WER) and ranked by `dubber.project.takes.best_take`. K=1 is the seed-0 take, what a dub without
--candidates keeps; K=3 is the best of the three.
"""

from __future__ import annotations

import statistics
import sys
import time

from dubber.audio.speech import speech_span
from dubber.fitting.intelligibility import Transcriber
from dubber.pipeline.dub import DubOptions, render_take
from dubber.plugin.engine import SynthesisRequest
from dubber.plugin.registry import get_engine
from dubber.project.store import SpeakerEntry, TakeRecord
from dubber.project.takes import best_take
from dubber.subtitles.cue import Cue
from dubber.voices.casting import SpeakerPlan
from dubber.voices.match import reference_vector

LINES = [
    "The ferry leaves the harbour at half past nine every morning.",
    "I told you twice already, the key is under the blue flower pot.",
    "Nobody expected the storm to reach the valley before midnight.",
    "Could you pass me the salt, and maybe a little more bread?",
    "Her grandfather built this bridge with his own two hands.",
    "We should have turned left at the old petrol station.",
    "The museum closes early on Sundays, so let's go on Saturday.",
    "If the train is late again, I am going to walk home.",
    "Thirty seven people signed the letter before lunchtime.",
    "He whispered the answer, but the teacher heard him anyway.",
    "Bring a warm coat; the mountain gets cold after sunset.",
    "The recipe calls for three eggs and a cup of sugar.",
]
FACTORS = [0.7, 0.8, 0.9, 1.1, 1.25, 1.4]  # target = natural speech length × factor
REFERENCE_TEXT = "A short sentence in the same voice, used as the speaker's reference clip."


def candidates_gain(k: int = 3, lines: list[str] | None = None) -> None:
    """Print fit and WER for K=1 against the best of K takes."""
    started = time.monotonic()
    engine = get_engine("piper")
    ref = engine.synthesize(SynthesisRequest(REFERENCE_TEXT, "en"))
    plan = SpeakerPlan(SpeakerEntry("", engine.name, engine.check_voice_choice("en", None)), engine,
                       vector=reference_vector(ref.samples, ref.sample_rate))
    transcriber = Transcriber()
    options = DubOptions(lang="en")
    firsts: list[TakeRecord] = []
    bests: list[TakeRecord] = []
    for i, text in enumerate(lines or LINES):
        natural = engine.synthesize(SynthesisRequest(text, "en"))
        span = speech_span(natural.samples, natural.sample_rate)
        target = round(span.length * 1000 / natural.sample_rate * FACTORS[i % len(FACTORS)])
        cue = Cue(i + 1, 0, target, text)
        takes = [render_take(cue, plan, options, seed, None, transcriber, None)[0] for seed in range(k)]
        firsts.append(takes[0])
        bests.append(takes[best_take(takes)])
        print(f"  line {i + 1:2}: ×{FACTORS[i % len(FACTORS)]:.2f}  K=1 err {takes[0].error_ms:+4} ms "
              f"WER {takes[0].wer:.2f}  |  K={k} seed {bests[-1].seed} err {bests[-1].error_ms:+4} ms "
              f"WER {bests[-1].wer:.2f}", file=sys.stderr, flush=True)

    def row(label: str, takes: list[TakeRecord]) -> str:
        errors = [abs(t.error_ms) for t in takes if t.error_ms is not None]
        ok = sum(t.status == "ok" for t in takes)
        words = sum(len(t.transcript.split()) if t.transcript else 0 for t in takes)
        wer = statistics.mean(t.wer for t in takes if t.wer is not None)
        sim = statistics.mean(t.similarity for t in takes if t.similarity is not None)
        return (f"| {label} | {ok}/{len(takes)} | {statistics.median(errors):.0f} ms | {max(errors)} ms | "
                f"{wer:.3f} | {sim:.3f} | {words} |")

    print(f"(c) candidates: {len(firsts)} Piper lines, targets natural × {FACTORS[0]}…{FACTORS[-1]}, "
          f"K=1 (seed 0) vs best of K={k}")
    print("| takes | ok (±50 ms) | median abs err | max abs err | mean WER | mean similarity | words heard |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(row("K=1", firsts))
    print(row(f"K={k}", bests))
    gain = statistics.mean(f.wer for f in firsts) - statistics.mean(b.wer for b in bests)
    print(f"WER gain {gain:+.3f} (K=1 minus K={k}); chosen seeds: "
          f"{dict(sorted(__import__('collections').Counter(b.seed for b in bests).items()))}")
    print(f"[candidates {time.monotonic() - started:.0f} s]", file=sys.stderr)


if __name__ == "__main__":
    candidates_gain()
