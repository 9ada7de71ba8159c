"""Benchmark fitting: dubber's rate-controlled ladder against the stretch-afterwards baseline.

For every line and every target (natural length divided by a ratio from 0.8 to 1.25), it fits the line
two ways, measured with the same speech-span detector, in one run:
  dubber    the fitting ladder (engine rate control, then a small residual stretch);
  baseline  the natural take, time-stretched by WSOLA to the target, as peers do with atempo.
It prints, per engine and method: the share of lines within ±50 ms and ±20 ms, the median and max
|error|, the largest stretch applied, Whisper tiny.en WER on English, and seconds per line.

    .venv/bin/python bench/fit.py [--engines piper,kokoro] [--lines 12] [--no-wer]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from dubber.audio import fit_length, ms_to_samples, samples_to_ms
from dubber.fitting import FitPolicy, fit_line
from dubber.intelligibility import Transcriber
from dubber.plugin.registry import get_engine
from dubber.speech import speech_span

ENGLISH = [
    "The train to the coast leaves every hour on the hour.",
    "I left my umbrella at the office again.",
    "Could you pass me the salt, please?",
    "Nobody expected the concert to sell out so quickly.",
    "We need at least three more chairs for the meeting.",
    "The garden looks beautiful after the rain.",
    "He has been learning to play the violin since March.",
    "Turn left at the bakery and walk two blocks.",
    "That was the best soup I have ever tasted.",
    "Please remember to lock the door when you leave.",
    "The museum is closed on Mondays and public holidays.",
    "My grandmother still writes letters by hand.",
    "They painted the kitchen a bright shade of yellow.",
    "Can we talk about this tomorrow morning?",
    "The river rose quickly after the storm last night.",
    "She finished the marathon in just under four hours.",
]
JAPANESE = [
    "明日の朝、駅の前で会いましょう。",
    "この本はとても面白かったです。",
    "雨が降りそうなので、傘を持って行きます。",
    "週末は家族と山に登る予定です。",
    "駅までの道を教えていただけますか。",
    "昨日の会議は思ったより長くかかりました。",
]
RATIOS = (0.8, 0.9, 1.1, 1.25)  # natural / target: <1 slows down, >1 speeds up


def span_ms(samples: np.ndarray, rate: int) -> int:
    span = speech_span(samples, rate)
    return samples_to_ms(span.length, rate) if span else 0


def baseline(take_samples: np.ndarray, rate: int, target_ms: int) -> tuple[np.ndarray, float]:
    """Stretch the natural speech to the target length afterwards, the way peers do."""
    span = speech_span(take_samples, rate)
    speech = take_samples[span.start:span.end]
    want = ms_to_samples(target_ms, rate)
    import pytsmod  # unbounded on purpose: peers stretch by whatever ratio the slot asks

    stretched = np.asarray(pytsmod.wsola(speech.astype(np.float64), want / speech.size), dtype=np.float32)
    return fit_length(stretched, want), want / speech.size


def run_engine(name: str, lang: str, lines: list[str], asr: Transcriber | None) -> list[dict]:
    engine = get_engine(name)
    engine.synthesize(lines[0], lang)  # load the model outside the timings
    rows: dict[str, dict] = {m: {"errors": [], "stretch": [], "secs": [], "refs": [], "hyps": []}
                             for m in ("natural", "dubber", "baseline")}
    for text in lines:
        t0 = time.monotonic()
        natural = engine.synthesize(text, lang)
        t_nat = time.monotonic() - t0
        nat_ms = span_ms(natural.samples, natural.sample_rate)
        if asr:
            rows["natural"]["refs"].append(text)
            rows["natural"]["hyps"].append(asr.transcribe(natural.samples, natural.sample_rate))
        for ratio in RATIOS:
            target = round(nat_ms / ratio)
            t0 = time.monotonic()
            fit = fit_line(engine, text, lang, None, target, policy=FitPolicy())
            rows["dubber"]["secs"].append(time.monotonic() - t0)
            rows["dubber"]["errors"].append(fit.speech_ms - target)
            rows["dubber"]["stretch"].append(max(fit.stretch, 1 / fit.stretch))
            t0 = time.monotonic()
            stretched, st = baseline(natural.samples, natural.sample_rate, target)
            rows["baseline"]["secs"].append(t_nat + time.monotonic() - t0)
            rows["baseline"]["errors"].append(span_ms(stretched, natural.sample_rate) - target)
            rows["baseline"]["stretch"].append(max(st, 1 / st))
            if asr:
                for method, audio, sr in (("dubber", fit.samples, fit.sample_rate),
                                          ("baseline", stretched, natural.sample_rate)):
                    rows[method]["refs"].append(text)
                    rows[method]["hyps"].append(asr.transcribe(audio, sr))
    out = []
    for method, r in rows.items():
        errs = [abs(e) for e in r["errors"]]
        out.append({
            "engine": name, "lang": lang, "method": method, "n": len(errs),
            "within50": sum(e <= 50 for e in errs) / len(errs) if errs else None,
            "within20": sum(e <= 20 for e in errs) / len(errs) if errs else None,
            "median": statistics.median(errs) if errs else None,
            "max": max(errs) if errs else None,
            "max_stretch": max(r["stretch"]) if r["stretch"] else None,
            "wer": asr.wer(r["refs"], r["hyps"]) if asr and r["refs"] else None,
            "s_per_line": statistics.mean(r["secs"]) if r["secs"] else None,
        })
    return out


def fmt(v: object, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engines", default="piper,kokoro")
    ap.add_argument("--lines", type=int, default=len(ENGLISH), help="English lines per engine")
    ap.add_argument("--no-wer", action="store_true", help="skip the Whisper intelligibility check")
    args = ap.parse_args()
    asr = None if args.no_wer else Transcriber()
    print(f"targets: natural / {', '.join(map(str, RATIOS))}; errors are speech-span length minus target")
    print(f"{'engine':8} {'lang':4} {'method':9} {'n':>4} {'±50ms':>6} {'±20ms':>6} {'med|e|':>7} {'max|e|':>7} "
          f"{'stretch':>7} {'WER':>6} {'s/line':>7}", flush=True)
    results = []
    for name in args.engines.split(","):
        runs = [("en", ENGLISH[:args.lines], asr)] + ([("ja", JAPANESE, None)] if name == "kokoro" else [])
        for lang, lines, transcriber in runs:
            rows = run_engine(name, lang, lines, transcriber)
            for r in rows:
                print(f"{r['engine']:8} {r['lang']:4} {r['method']:9} {r['n']:>4} {fmt(r['within50'], '6.0%')} "
                      f"{fmt(r['within20'], '6.0%')} {fmt(r['median'], '7.1f')} {fmt(r['max'], '7.0f')} "
                      f"{fmt(r['max_stretch'], '7.3f')} {fmt(r['wer'], '6.1%')} {fmt(r['s_per_line'], '7.2f')}",
                      flush=True)
            results += rows
    by = {(r["engine"], r["lang"], r["method"]): r for r in results}
    for (eng, lang, method), r in by.items():
        base = by.get((eng, lang, "baseline"))
        if method == "dubber" and base and r["wer"] is not None and base["wer"] is not None:
            print(f"{eng}/{lang}: WER dubber {r['wer']:.1%} vs baseline {base['wer']:.1%}; "
                  f"largest stretch ×{r['max_stretch']:.3f} vs ×{base['max_stretch']:.3f}")


if __name__ == "__main__":
    main()
