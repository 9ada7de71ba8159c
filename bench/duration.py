"""Benchmark duration control: dubber's fitting ladder against the stretch-afterwards baseline (issue #3).

Each line is synthesized once at its natural rate; its target is the natural speech length times a factor
from 0.7 (speed up) to 1.4 (slow down), the factors cycling across lines. In one run it fits every
(line, target) two ways and measures both with the same speech-span detector on the produced audio:
  dubber    `fit_line`: engine duration control first, then a bounded residual stretch;
  baseline  the natural take, WSOLA-stretched to the target afterwards, unbounded, as peers do with atempo;
  natural   the natural take left as it is, for reference.
Both methods' seconds per line include the one natural take they share (fit_line is handed it, not re-made).
Per engine and language it prints the share of lines within ±50 ms and ±20 ms (over all targets and over
the issue's acceptance range 0.75–1.33×), the median and max |error|, the largest stretch ratio applied,
Whisper tiny.en WER on English, and seconds per line; then dubber's fit statuses and methods, the median
|error| per factor, and a one-line comparison of dubber with the baseline.

    .venv/bin/python bench/duration.py [--engines piper,kokoro] [--langs en,ja] [--lines N] [--targets 1|2]
                                       [--no-wer]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from dubber.audio.samples import fit_length, ms_to_samples, samples_to_ms
from dubber.audio.speech import speech_span
from dubber.errors import DubberError
from dubber.fitting.fitter import STATUS_MISSED, STATUS_OK, STATUS_TOO_LONG, STATUS_TOO_SHORT, fit_line
from dubber.fitting.intelligibility import Transcriber
from dubber.plugin.engine import Engine, SynthesisRequest, Take
from dubber.plugin.registry import get_engine

ENGLISH = [
    "Do you know what time the pharmacy closes tonight?",
    "I'll call you back in about twenty minutes.",
    "The printer on the second floor is out of paper again.",
    "Honestly, I thought the movie was a little too long.",
    "Where did you put the spare batteries?",
    "She bought fourteen tulips for her mother's birthday.",
    "If it keeps raining, we should cancel the picnic.",
    "Our neighbours have a dog that barks at every bicycle.",
    "How much does a ticket to the aquarium cost?",
    "Sorry, I didn't catch your name.",
    "The bus was so crowded that I had to stand the whole way.",
    "We planted tomatoes, beans and a few rows of lettuce.",
    "Is there a quieter table near the window?",
    "My phone battery died halfway through the call.",
    "Add two cups of flour and stir until smooth.",
    "He practised his speech in front of the mirror all evening.",
    "Wait, did anyone remember to feed the cat?",
    "The hotel breakfast starts at half past six.",
    "I have never seen so many stars in the sky.",
    "Could you speak a little more slowly, please?",
    "They moved to a small village near the mountains last year.",
    "The meeting has been moved to Thursday afternoon.",
    "Why is the oven still on?",
    "Fifty people signed up for the cooking class in one day.",
    "Let's take the stairs, the lift is broken.",
    "My sister works as a nurse at the children's hospital.",
    "Do we need to bring anything for the party?",
    "The coffee machine makes a strange noise in the morning.",
    "Please keep your receipt in case you want to return it.",
    "After dinner, we played cards until midnight.",
    "Which platform does the express train leave from?",
    "I usually walk to work when the weather is nice.",
    "The kids built a snowman with a carrot for a nose.",
    "Have you finished reading the book I lent you?",
    "There are seven days left until the end of the month.",
    "The soup needs a bit more salt and pepper.",
    "We got lost twice, but the view was worth it.",
    "Who left the lights on in the basement?",
    "My uncle repairs old clocks in his spare time.",
    "The waiter brought us the wrong order, so we sent it back.",
    "It's colder today than it was yesterday.",
    "Can I borrow your pen for a second?",
    "The parking fine was only three dollars, thankfully.",
    "She speaks French, Spanish, and a little bit of Greek.",
    "Remember to water the plants while I'm away.",
    "The post office is right next to the bank.",
    "How long have you been waiting here?",
    "Our team won the match by a single point.",
    "I forgot to set my alarm, so I overslept.",
    "The baby finally fell asleep at ten o'clock.",
    "Would you like to join us for lunch on Sunday?",
    "The shop around the corner sells fresh bread every morning.",
    "He fixed the leaking tap with a piece of tape.",
    "We should leave early to avoid the traffic.",
    "What do you usually eat for breakfast?",
    "The tickets sold out twelve minutes after they went on sale.",
    "My cousin is getting married in the spring.",
    "Be careful, the floor is still wet.",
    "I'd rather stay home and watch a film tonight.",
    "The children were laughing so hard they could barely breathe.",
    "Is it true that you once met the president?",
    "Turn off the stove before the rice burns.",
    "It took us three hours to assemble the wardrobe.",
    "Thanks for the ride, I really appreciate it.",
]
JAPANESE = [
    "今日は少し寒いですね。",
    "すみません、トイレはどこですか。",
    "電車が遅れているので、少し遅刻します。",
    "この店のラーメンは本当においしいです。",
    "週末に何か予定はありますか。",
    "昨日の夜、友達と映画を見に行きました。",
    "窓を開けてもいいですか。",
    "牛乳と卵を買うのを忘れないでね。",
    "子供たちは公園で元気に遊んでいます。",
    "駅から歩いて十分ぐらいかかります。",
    "明日は朝早く起きなければなりません。",
    "このかばんはいくらですか。",
    "先週、新しい自転車を買いました。",
    "日曜日は図書館で勉強するつもりです。",
    "冷蔵庫の中に何も残っていないよ。",
    "夏休みに祖母の家へ遊びに行きます。",
    "コーヒーと紅茶、どちらがいいですか。",
    "会議は三時から始まる予定です。",
    "郵便局は銀行の隣にあります。",
    "傘を電車の中に忘れてしまいました。",
    "弟は毎朝六時に犬の散歩をします。",
    "少しゆっくり話していただけますか。",
    "今夜は家で料理を作ろうと思います。",
    "桜の花がもうすぐ咲きそうですね。",
    "駐車場がいっぱいで、車を止められませんでした。",
    "誕生日のプレゼントは何がいいと思う？",
    "宿題が終わったら、テレビを見てもいいよ。",
    "この道をまっすぐ行くと、海が見えます。",
    "昼ご飯はもう食べましたか。",
    "隣の部屋から、ピアノの音が聞こえてきます。",
    "来月から新しい仕事を始めます。",
    "風邪をひいたので、今日は早く寝ます。",
]
RUNS = {"piper": ("en",), "kokoro": ("en", "ja")}  # engine: languages it is benchmarked in
FACTORS = (0.7, 0.75, 0.85, 1.0, 1.15, 1.33, 1.4)  # target / natural: <1 speeds up, >1 slows down
ACCEPT = (0.75, 1.33)  # the issue's acceptance range of factors
SECOND_OFFSET = 3  # with --targets 2, a line's second factor is this many places further round FACTORS
STATUSES = (STATUS_OK, STATUS_TOO_LONG, STATUS_TOO_SHORT, STATUS_MISSED)
METHODS = ("natural", "dubber", "baseline")


@dataclass
class Trial:
    """One line fitted to one target by one method."""

    factor: float
    error_ms: int | None  # speech-span length minus target; None when the fit failed
    stretch: float  # largest of the stretch ratio and its inverse (1.0: none)
    secs: float


@dataclass
class Method:
    """What one method produced over all lines of one engine and language."""

    trials: list[Trial] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    hyps: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    methods: Counter[str] = field(default_factory=Counter)  # how dubber fitted: natural, rate, +stretch...


class NaturalTakes:
    """Wrap an engine so that `fit_line` reuses the natural take the benchmark has already made and timed."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._takes: dict[SynthesisRequest, Take] = {}

    def __getattr__(self, name: str) -> object:
        return getattr(self._engine, name)

    def natural(self, text: str, lang: str, seed: int = 0) -> Take:
        """Synthesize `text` at the natural rate and keep the take for `fit_line`'s first call."""
        self._takes.clear()
        request = SynthesisRequest(text, lang, seed=seed)
        take = self._takes[request] = self._engine.synthesize(request)
        return take

    def synthesize(self, request: SynthesisRequest) -> Take:
        """Return the kept natural take when this is the call for it, else ask the engine."""
        if request in self._takes:
            return self._takes[request]
        return self._engine.synthesize(request)


def span_ms(samples: np.ndarray, rate: int) -> int:
    """Return the length of the speech in `samples`, 0 for silence."""
    span = speech_span(samples, rate)
    return samples_to_ms(span.length, rate) if span else 0


def factors_for(index: int, targets: int) -> list[float]:
    """Return the factors line `index` is fitted to: one or two, cycling through FACTORS."""
    picks = [FACTORS[index % len(FACTORS)]]
    if targets > 1:
        picks.append(FACTORS[(index + SECOND_OFFSET) % len(FACTORS)])
    return picks


def baseline(speech: np.ndarray, rate: int, target_ms: int) -> tuple[np.ndarray, float]:
    """Stretch the natural speech to the target length afterwards, by whatever ratio it takes."""
    import pytsmod

    want = ms_to_samples(target_ms, rate)
    stretched = np.asarray(pytsmod.wsola(speech.astype(np.float64), want / speech.size), dtype=np.float32)
    return fit_length(stretched, want), want / speech.size


def run(name: str, lang: str, lines: list[str], targets: int, asr: Transcriber | None) -> dict[str, Method]:
    """Fit every line of one engine and language to its targets, both ways, and return what was measured."""
    engine = NaturalTakes(get_engine(name))
    engine.synthesize(SynthesisRequest(lines[0], lang))  # load the model outside the timings
    out = {m: Method() for m in METHODS}
    for i, text in enumerate(lines):
        if sys.stderr.isatty():
            print(f"  {name}/{lang} {i + 1}/{len(lines)}", end="\r", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        natural = engine.natural(text, lang, seed=0)
        t_nat = time.monotonic() - t0
        rate = natural.sample_rate
        span = speech_span(natural.samples, rate)
        if span is None:
            print(f"skipped, no speech: {name}/{lang} {text!r}", file=sys.stderr)
            continue
        nat_ms = samples_to_ms(span.length, rate)
        speech = natural.samples[span.start:span.end].copy()
        if asr:
            out["natural"].refs.append(text)
            out["natural"].hyps.append(asr.transcribe(natural.samples, rate))
        for factor in factors_for(i, targets):
            target = round(nat_ms * factor)
            out["natural"].trials.append(Trial(factor, nat_ms - target, 1.0, t_nat))

            t0 = time.monotonic()
            try:
                fit = fit_line(engine, SynthesisRequest(text, lang), target)  # type: ignore[arg-type]
            except DubberError as exc:
                out["dubber"].trials.append(Trial(factor, None, 1.0, t_nat + time.monotonic() - t0))
                out["dubber"].statuses["failed"] += 1
                print(f"fit failed: {name}/{lang} {text!r} at {factor}×: {exc}", file=sys.stderr)
            else:
                secs = t_nat + time.monotonic() - t0  # its natural take is the one timed above
                error = span_ms(fit.samples, fit.sample_rate) - target
                out["dubber"].trials.append(Trial(factor, error, max(fit.stretch, 1 / fit.stretch), secs))
                out["dubber"].statuses[fit.status] += 1
                out["dubber"].methods[fit.method] += 1
                if asr:
                    out["dubber"].refs.append(text)
                    out["dubber"].hyps.append(asr.transcribe(fit.samples, fit.sample_rate))

            t0 = time.monotonic()
            stretched, ratio = baseline(speech, rate, target)
            secs = t_nat + time.monotonic() - t0
            out["baseline"].trials.append(Trial(factor, span_ms(stretched, rate) - target, max(ratio, 1 / ratio), secs))
            if asr:
                out["baseline"].refs.append(text)
                out["baseline"].hyps.append(asr.transcribe(stretched, rate))
    if sys.stderr.isatty():
        print(" " * 40, end="\r", file=sys.stderr, flush=True)
    return out


def share(errors: list[int], limit: int) -> float | None:
    return sum(e <= limit for e in errors) / len(errors) if errors else None


def summarize(m: Method, asr: Transcriber | None) -> dict[str, float | int | None]:
    """Reduce one method's trials to the figures the issue asks for."""
    errs = [abs(t.error_ms) for t in m.trials if t.error_ms is not None]
    accepted = [abs(t.error_ms) for t in m.trials
                if t.error_ms is not None and ACCEPT[0] <= t.factor <= ACCEPT[1]]
    return {
        "n": len(m.trials),
        "within50": share(errs, 50), "within20": share(errs, 20),
        "acc50": share(accepted, 50), "acc20": share(accepted, 20),
        "median": statistics.median(errs) if errs else None,
        "max": max(errs) if errs else None,
        "stretch": max((t.stretch for t in m.trials), default=None),
        "wer": asr.wer(m.refs, m.hyps) if asr and m.refs else None,
        "secs": statistics.mean(t.secs for t in m.trials) if m.trials else None,
    }


def fmt(v: object, spec: str) -> str:
    width = int("".join(c for c in spec.split(".")[0] if c.isdigit()) or 0)
    return "-".rjust(width) if v is None else format(v, spec)


def by_factor(m: Method) -> dict[float, float]:
    """Return the median |error| per factor."""
    errs: dict[float, list[int]] = {}
    for t in m.trials:
        if t.error_ms is not None:
            errs.setdefault(t.factor, []).append(abs(t.error_ms))
    return {f: statistics.median(e) for f, e in sorted(errs.items())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engines", default=",".join(RUNS), help="comma-separated: piper, kokoro")
    ap.add_argument("--lines", type=int, default=None, help="first N lines of each language (default: all)")
    ap.add_argument("--targets", type=int, choices=(1, 2), default=1, help="targets per line")
    ap.add_argument("--no-wer", action="store_true", help="skip the Whisper intelligibility check")
    ap.add_argument("--langs", default=None, help="comma-separated languages to run (default: each engine's all)")
    args = ap.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in RUNS]
    if unknown:
        ap.error(f"unknown engine(s) {', '.join(unknown)}; choose from {', '.join(RUNS)}")
    texts = {"en": ENGLISH[:args.lines], "ja": JAPANESE[:args.lines]}
    asr = None if args.no_wer else Transcriber()

    print(f"targets: natural speech × {', '.join(map(str, FACTORS))}, cycling across lines, {args.targets} per line; "
          f"acceptance range {ACCEPT[0]}–{ACCEPT[1]}×")
    print("errors: speech-span length of the produced audio minus target; stretch: max(s, 1/s); WER: Whisper tiny.en")
    print(f"{'engine':8} {'lang':4} {'method':9} {'n':>4} {'±50ms':>6} {'±20ms':>6} {'acc±50':>6} {'acc±20':>6} "
          f"{'med|e|':>7} {'max|e|':>7} {'stretch':>7} {'WER':>6} {'s/line':>7}", flush=True)
    started = time.monotonic()
    results: dict[tuple[str, str], tuple[dict[str, Method], dict[str, dict]]] = {}
    for name in engines:
        for lang in [lang for lang in RUNS[name] if args.langs is None or lang in args.langs.split(",")]:
            transcriber = asr if lang == "en" else None  # tiny.en only scores English
            methods = run(name, lang, texts[lang], args.targets, transcriber)
            summary = {k: summarize(m, transcriber) for k, m in methods.items()}
            results[(name, lang)] = (methods, summary)
            for method, r in summary.items():
                print(f"{name:8} {lang:4} {method:9} {r['n']:>4} {fmt(r['within50'], '6.0%')} "
                      f"{fmt(r['within20'], '6.0%')} {fmt(r['acc50'], '6.0%')} {fmt(r['acc20'], '6.0%')} "
                      f"{fmt(r['median'], '7.1f')} {fmt(r['max'], '7.0f')} {fmt(r['stretch'], '7.3f')} "
                      f"{fmt(r['wer'], '6.1%')} {fmt(r['secs'], '7.2f')}", flush=True)

    print()
    for (name, lang), (methods, _) in results.items():
        statuses = methods["dubber"].statuses
        names = list(STATUSES) + sorted(set(statuses) - set(STATUSES))
        print(f"{name}/{lang} dubber statuses: " + ", ".join(f"{s} {statuses[s]}" for s in names)
              + "; methods: " + ", ".join(f"{m} {k}" for m, k in methods["dubber"].methods.most_common()))
        dub, base = by_factor(methods["dubber"]), by_factor(methods["baseline"])
        print(f"{name}/{lang} median |error| ms per factor (dubber/baseline): "
              + ", ".join(f"{f}× {dub.get(f, float('nan')):.0f}/{base.get(f, float('nan')):.0f}" for f in base))
    print()
    for (name, lang), (_, s) in results.items():
        dub, base, nat = s["dubber"], s["baseline"], s["natural"]
        print(f"{name}/{lang}: WER dubber {fmt(dub['wer'], '.1%')} vs baseline {fmt(base['wer'], '.1%')} "
              f"(natural {fmt(nat['wer'], '.1%')}); median |error| dubber {fmt(dub['median'], '.0f')} ms "
              f"vs baseline {fmt(base['median'], '.0f')} ms")
    print(f"total {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
