"""Benchmark voice matching for engines that cannot clone (issue #5).

References are lines spoken by the built-in voices (Kokoro's five, Piper's joe) with texts used
nowhere else (not the catalogue's probe sentences); each reference is described by its speaker
vector, as a speaker's clip from a video would be. In one run:

(a) identification: for references of each built-in voice, does matching pick that voice among all
    of them? English over all six voices (Kokoro and Piper together), Japanese over Kokoro's five.
    Prints the accuracy, the per-voice confusion and the margin of the right voice over the runner-up.
(b) out of set: leave-one-out over the English references, matched among Kokoro's voices with the
    reference's own voice removed (Piper's joe is outside Kokoro anyway). Prints the similarity of
    the matched voice against the default voice (Kokoro's default for English, or its first voice
    left when the default is the one removed): mean, mean gain, and how often matched > default;
    with and without blends, and with and without the pitch shift toward the reference's median F0
    (kept only when it raises the similarity; also shown: the similarity had it always been applied).
(c) candidates: K=3 takes per line against K=1, in fit and WER (bench/candidates.py).
(d) real speakers: LibriSpeech readers; per system (Piper, --voice auto --match-pitch on Kokoro, and
    --voice tune: that voice tuned toward the reader) the normalised similarity to each reader's held-out clips under the d-vector and GE2E encoders, Whisper
    WER and time per speaker (bench/voice_real.py).

The catalogue (each voice's and blend's vector from its probe sentences) is cached under the dubber
cache folder, so the first run also measures it and later runs only synthesize the references.

    .venv/bin/python bench/voice.py [--quick] [--texts N] [--no-ja] [--no-pitch] [--no-candidates]
                                    [--no-real | --only-real] [--speakers N] [--systems piper,auto,tune]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dubber.audio.pitch import median_f0
from dubber.plugin.engine import Engine, SynthesisRequest
from dubber.plugin.registry import get_engine
from dubber.voices.match import PROBES, VoiceCatalogue, VoiceMatch, match_voice, reference_vector

ENGLISH = [
    "The library will be closed for repairs until the end of next week.",
    "I think we should paint the kitchen a lighter shade of green.",
    "Nobody expected the old wooden bridge to survive the storm.",
    "Please send me the photos from the wedding when you get a chance.",
    "The train to the airport leaves every fifteen minutes in the morning.",
    "My grandfather taught me how to whistle when I was six years old.",
]
JAPANESE = [
    "図書館は来週の終わりまで修理のため閉まっています。",
    "台所の壁は、もう少し明るい緑に塗りたいですね。",
    "古い木の橋が嵐に耐えるとは、誰も思っていませんでした。",
    "結婚式の写真を、時間があるときに送ってください。",
]
ENGINES = {"en": ("kokoro", "piper"), "ja": ("kokoro",)}  # engines whose voices are identified, per language
MATCH_ENGINE = "kokoro"  # the engine voices are matched in for the out-of-set section
QUICK_TEXTS = {"en": 3, "ja": 2}


@dataclass
class Spoken:
    """One reference: who spoke it, what, and its speaker vector."""

    engine: str
    voice: str
    lang: str
    text: str
    vector: np.ndarray
    samples: np.ndarray
    rate: int
    _f0: float | None = None
    _f0_known: bool = False

    @property
    def label(self) -> str:
        return f"{self.engine}:{self.voice}"

    def f0(self) -> float | None:
        """Return the reference's median F0, measured on first use."""
        if not self._f0_known:
            self._f0, self._f0_known = median_f0(self.samples, self.rate), True
        return self._f0


def progress(text: str) -> None:
    if sys.stderr.isatty():
        print(f"  {text}".ljust(60), end="\r", file=sys.stderr, flush=True)


def speak_references(lang: str, texts: list[str]) -> list[Spoken]:
    """Have every voice of the language's engines speak every reference text."""
    out = []
    for name in ENGINES[lang]:
        engine = get_engine(name)
        for voice in engine.capabilities.voices:
            for i, text in enumerate(texts):
                progress(f"references {lang} {name}:{voice} {i + 1}/{len(texts)}")
                take = engine.synthesize(SynthesisRequest(text, lang, voice))
                out.append(Spoken(name, voice, lang, text, reference_vector(take.samples, take.sample_rate),
                                  take.samples, take.sample_rate))
    return out


def catalogues(lang: str) -> list[VoiceCatalogue]:
    """Measure (or read from the cache) every voice of the language's engines."""
    out = []
    for name in ENGINES[lang]:
        catalogue = VoiceCatalogue(get_engine(name), lang)
        for voice in catalogue.voices:
            progress(f"catalogue {lang} {name}:{voice}")
            catalogue.vector(voice)
        out.append(catalogue)
    return out


def short(label: str) -> str:
    """Shorten 'kokoro:jf_gongitsune' to 'gongitsune' and 'piper:en_US-joe-medium' to 'joe'."""
    voice = label.split(":", 1)[1]
    if "-" in voice:
        return voice.split("-")[1]
    return voice.split("_", 1)[-1]


def identification(lang: str, refs: list[Spoken], cats: list[VoiceCatalogue]) -> float:
    """Section (a): print how often the nearest voice is the reference's own, and the confusion."""
    labels = [f"{c.engine.name}:{v}" for c in cats for v in c.voices]
    confusion: dict[str, Counter[str]] = {label: Counter() for label in labels}
    margins = []
    for ref in refs:
        ranked = sorted(((f"{c.engine.name}:{v}", s) for c in cats for v, s in c.rank(ref.vector)),
                        key=lambda pair: -pair[1])
        confusion[ref.label][ranked[0][0]] += 1
        own = next(s for label, s in ranked if label == ref.label)
        best_other = next(s for label, s in ranked if label != ref.label)
        margins.append(own - best_other)
    hits = sum(confusion[label][label] for label in labels)
    accuracy = hits / len(refs)
    texts = len(refs) // len(labels)
    print(f"(a) identification, {lang}: {hits}/{len(refs)} = {accuracy:.1%} "
          f"({len(labels)} voices × {texts} texts; candidates: {', '.join(c.engine.name for c in cats)})")
    width = max(len(short(label)) for label in labels) + 1
    print("    spoken by \\ matched " + "".join(f"{short(label):>{width}}" for label in labels) + "   right")
    for label in labels:
        row = confusion[label]
        print(f"    {short(label):<21}" + "".join(f"{row[other]:>{width}}" for other in labels)
              + f"   {row[label]}/{sum(row.values())}")
    print(f"    margin own voice - best other: median {statistics.median(margins):+.3f}, "
          f"min {min(margins):+.3f}")
    return accuracy


@dataclass
class Variant:
    """One way of matching, for the out-of-set section."""

    name: str
    blends: bool
    pitch: bool


VARIANTS = (Variant("single voices", False, False), Variant("+ pitch", False, True),
            Variant("with blends", True, False), Variant("blends + pitch", True, True))


def out_of_set(refs: list[Spoken], engine: Engine, pitch: bool) -> None:
    """Section (b): match each reference without its own voice; compare the match with the default voice."""
    catalogue = VoiceCatalogue(engine, "en")
    variants = [v for v in VARIANTS if pitch or not v.pitch]
    results: dict[str, list[tuple[Spoken, VoiceMatch]]] = {v.name: [] for v in variants}
    for i, ref in enumerate(refs):
        progress(f"out of set {i + 1}/{len(refs)}")
        exclude = (ref.voice,) if ref.engine == engine.name else ()
        for v in variants:
            match = match_voice(ref.vector, engine, "en", blends=v.blends, pitch=v.pitch,
                                reference_f0=ref.f0() if v.pitch else None, exclude=exclude, catalogue=catalogue)
            results[v.name].append((ref, match))
    groups: dict[str, Callable[[Spoken], bool]] = {
        f"{engine.name} voices held out": lambda r: r.engine == engine.name,
        "voices of other engines": lambda r: r.engine != engine.name,
        "all": lambda r: True,
    }
    print(f"(b) out of set, en: each reference matched among {engine.name}'s voices without its own; "
          f"default {catalogue.default_voice} (its first voice left when that is held out)")
    print(f"    {'references':26} {'matching':15} {'n':>3} {'default':>8} {'matched':>8} {'gain':>7} "
          f"{'>default':>9} {'blend won':>9} {'pitch kept':>10} {'always pitched':>14}")
    for group, keep in groups.items():
        for v in variants:
            rows = [(ref, m) for ref, m in results[v.name] if keep(ref)]
            if not rows:
                continue
            matched = [m.final_similarity for _, m in rows]
            default = [m.default_similarity for _, m in rows]
            better = sum(a > b for a, b in zip(matched, default)) / len(rows)
            blended = sum("+" in m.voice for _, m in rows)
            kept = sum(bool(m.pitch_semitones) for _, m in rows)
            always = [m.pitched_similarity if m.pitched_similarity is not None else m.similarity for _, m in rows]
            print(f"    {group:26} {v.name:15} {len(rows):>3} {statistics.mean(default):>8.3f} "
                  f"{statistics.mean(matched):>8.3f} {statistics.mean(matched) - statistics.mean(default):>+7.3f} "
                  f"{better:>9.0%} {blended if v.blends else '-':>9} {kept if v.pitch else '-':>10} "
                  f"{f'{statistics.mean(always):.3f}' if v.pitch else '-':>14}")
    last = variants[-1].name
    picks = Counter(m.voice for _, m in results[last])
    print(f"    chosen ({last}): " + ", ".join(f"{voice} ×{n}" for voice, n in picks.most_common()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=f"fewer references per voice ({QUICK_TEXTS})")
    ap.add_argument("--texts", type=int, default=None, help="reference texts per voice and language")
    ap.add_argument("--no-ja", action="store_true", help="skip Japanese identification")
    ap.add_argument("--no-pitch", action="store_true", help="skip the pitch-shift variants of (b)")
    ap.add_argument("--no-candidates", action="store_true", help="skip (c), K=3 candidates against K=1")
    real = ap.add_mutually_exclusive_group()
    real.add_argument("--no-real", action="store_true", help="skip (d), real speakers")
    real.add_argument("--only-real", action="store_true", help="run (d), real speakers, alone")
    ap.add_argument("--speakers", type=int, default=None, help="real speakers in (d): the first N of ten")
    ap.add_argument("--systems", default=None, help="systems in (d), comma-separated (default: all)")
    args = ap.parse_args()
    langs = ["en"] + ([] if args.no_ja else ["ja"])
    all_texts = {"en": ENGLISH, "ja": JAPANESE}
    texts = {lang: all_texts[lang][:args.texts or (QUICK_TEXTS[lang] if args.quick else None)] for lang in langs}
    overlap = {t for lang in langs for t in texts[lang]} & {p for lang in langs for p in PROBES[lang]}
    if overlap:
        sys.exit(f"reference texts must not be probe sentences: {overlap}")

    started = time.monotonic()
    if not args.only_real:
        reference_sections(langs, texts, args)
    if not args.no_real:
        from voice_real import real_speakers  # bench/voice_real.py, on the path as candidates.py is

        real_speakers(args.systems.split(",") if args.systems else None, args.speakers, avoid=ENGLISH)
        print()
    print(f"total {time.monotonic() - started:.0f} s")


def reference_sections(langs: list[str], texts: dict[str, list[str]], args: argparse.Namespace) -> None:
    """Sections (a) to (c), on references spoken by the built-in voices."""
    refs: dict[str, list[Spoken]] = {}
    for lang in langs:
        t0 = time.monotonic()
        cats = catalogues(lang)
        t1 = time.monotonic()
        refs[lang] = speak_references(lang, texts[lang])
        print(f"[{lang}: catalogue {t1 - t0:.0f} s (cached after the first run), "
              f"{len(refs[lang])} references {time.monotonic() - t1:.0f} s]", file=sys.stderr, flush=True)
        identification(lang, refs[lang], cats)
        print(flush=True)
    # Sections after (a) reuse the English references; a new section is one more call here.
    out_of_set(refs["en"], get_engine(MATCH_ENGINE), pitch=not args.no_pitch)
    print()
    if not args.no_candidates:
        from candidates import candidates_gain  # bench/candidates.py; this folder is on the path as a script

        candidates_gain(k=3)
        print()


if __name__ == "__main__":
    main()
