"""Speed of fitting (issue #22): per line, dubber's fitted render against one natural render of the same line.

For each line of bench/duration.py's English and Japanese sets, in one run: one natural render (the engine's
own pace, the cost a line has at the least), then `fit_line` to a target of the natural speech length times a
factor from 0.75 to 1.33 (cycling), started afresh, as a dub does. Every engine call is counted and timed by
kind, and so are the fitter's own measuring and stretching. Per engine and language it prints fitted / natural
seconds per line (median, mean) and over all lines (total), the engine calls per fitted line by kind (plan:
the durations alone, natural, frames: budgeted renders), where a fitted line's seconds go (in natural renders'
worth), the share of lines within ±50 ms of their target and the largest stretch applied, so a faster ladder
can be seen to keep its accuracy. The target the issue sets: fitted <= 1.25x natural.

    .venv/bin/python bench/speed.py [--engines piper,kokoro] [--lines N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dubber.fitting.fitter as fitter  # noqa: E402
from bench.duration import ENGLISH, JAPANESE, span_ms  # noqa: E402
from dubber.errors import DubberError  # noqa: E402
from dubber.fitting.fitter import fit_line  # noqa: E402
from dubber.plugin.engine import Engine, SynthesisRequest, Take, Timing  # noqa: E402
from dubber.plugin.registry import get_engine  # noqa: E402

FACTORS = (0.75, 0.85, 1.0, 1.15, 1.33)  # the acceptance range, cycled over the lines
TARGET_RATIO = 1.25
LANGS = {"piper": [("en", ENGLISH)], "kokoro": [("en", ENGLISH), ("ja", JAPANESE)]}


class Counted:
    """An engine whose every synthesis call is counted and timed, by kind."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.calls: Counter[str] = Counter()
        self.secs: Counter[str] = Counter()

    def __getattr__(self, name: str) -> object:
        return getattr(self._engine, name)

    def reset(self) -> None:
        self.calls.clear()
        self.secs.clear()

    def _timed(self, kind: str, call, *args) -> Take:  # noqa: ANN001
        started = time.perf_counter()
        try:
            return call(*args)
        finally:
            self.secs[kind] += time.perf_counter() - started
            self.calls[kind] += 1

    def synthesize(self, request: SynthesisRequest) -> Take:
        natural = request.target_ms is None and (request.rate in (None, 1.0))
        return self._timed("natural" if natural else "budgeted", self._engine.synthesize, request)

    def synthesize_frames(self, request: SynthesisRequest, frames) -> Take:  # noqa: ANN001
        return self._timed("frames", self._engine.synthesize_frames, request, frames)

    def plan(self, request: SynthesisRequest) -> Timing | None:
        """The durations alone: counted as their own kind (cheap, no decoder, but not free)."""
        if type(self._engine).plan is Engine.plan:
            return None  # the engine cannot plan: not an engine call
        return self._timed("plan", self._engine.plan, request)


class Steps:
    """Time the fitter's own work outside the engine: measuring speech spans and WSOLA stretching."""

    def __init__(self) -> None:
        self.secs: Counter[str] = Counter()
        self._span, self._stretch = fitter.speech_span, fitter.time_stretch
        fitter.speech_span = self._timed("measure", self._span)  # type: ignore[assignment]
        fitter.time_stretch = self._timed("stretch", self._stretch)  # type: ignore[assignment]

    def _timed(self, kind: str, call):  # noqa: ANN001, ANN202
        def timed(*args):  # noqa: ANN002, ANN202
            started = time.perf_counter()
            try:
                return call(*args)
            finally:
                self.secs[kind] += time.perf_counter() - started
        return timed


@dataclass
class Row:
    """What one engine and language measured."""

    ratios: list[float] = field(default_factory=list)  # fitted seconds / natural seconds, per line
    natural_s: list[float] = field(default_factory=list)
    fitted_s: list[float] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    secs: Counter[str] = field(default_factory=Counter)  # fitted seconds by where they went
    errors: list[int] = field(default_factory=list)
    stretches: list[float] = field(default_factory=list)  # max(s, 1/s) per line
    failed: int = 0


def run(name: str, lang: str, lines: list[str], steps: Steps) -> Row:
    engine = Counted(get_engine(name))
    engine.synthesize(SynthesisRequest(lines[0], lang))  # the model loaded outside the timings
    fit_line(engine, SynthesisRequest(lines[0], lang), 1000)  # type: ignore[arg-type]  # so are the fitter's graphs
    row = Row()
    for i, text in enumerate(lines):
        request = SynthesisRequest(text, lang)
        started = time.perf_counter()
        natural = engine.synthesize(request)
        natural_s = time.perf_counter() - started
        natural_ms = span_ms(natural.samples, natural.sample_rate)
        if natural_ms == 0:
            continue
        target = round(natural_ms * FACTORS[i % len(FACTORS)])
        engine.reset()
        steps.secs.clear()
        started = time.perf_counter()
        try:
            fit = fit_line(engine, request, target)  # type: ignore[arg-type]
        except DubberError as exc:
            row.failed += 1
            print(f"fit failed: {name}/{lang} {text!r}: {exc}", file=sys.stderr)
            continue
        fitted_s = time.perf_counter() - started
        row.natural_s.append(natural_s)
        row.fitted_s.append(fitted_s)
        row.ratios.append(fitted_s / natural_s)
        row.calls.append(sum(engine.calls.values()))
        row.kinds.update(engine.calls)
        row.secs.update(engine.secs)
        row.secs.update(steps.secs)
        row.secs["other"] += fitted_s - sum(engine.secs.values()) - sum(steps.secs.values())
        row.errors.append(span_ms(fit.samples, fit.sample_rate) - target)
        row.stretches.append(max(fit.stretch, 1 / fit.stretch))
    return row


def _natural(engine: Counted, request: SynthesisRequest) -> tuple[float, int]:
    """One natural render of the line, timed: its seconds and its speech length."""
    started = time.perf_counter()
    take = engine.synthesize(request)
    return time.perf_counter() - started, span_ms(take.samples, take.sample_rate)


def report(name: str, lang: str, row: Row) -> None:
    n = len(row.ratios)
    if not n:
        print(f"\n{name}/{lang}: no line fitted ({row.failed} failed)")
        return
    within = sum(abs(e) <= 50 for e in row.errors) / n
    fitted = sum(row.fitted_s)
    print(f"\n{name}/{lang}: {n} lines ({row.failed} failed)")
    print(f"  natural render        {statistics.mean(row.natural_s):6.3f} s per line (mean)")
    print(f"  fitted render         {statistics.mean(row.fitted_s):6.3f} s per line (mean)")
    print(f"  fitted / natural      median {statistics.median(row.ratios):.2f}x, mean {statistics.mean(row.ratios):.2f}x,"
          f" total {fitted / sum(row.natural_s):.2f}x  (target <= {TARGET_RATIO}x)")
    kinds = ", ".join(f"{kind} {count / n:.2f}" for kind, count in sorted(row.kinds.items()))
    print(f"  engine calls per line {statistics.mean(row.calls):.2f} ({kinds})")
    parts = ", ".join(f"{kind} {secs / sum(row.natural_s):.3f}" for kind, secs in row.secs.most_common())
    print(f"  fitted time, x natural {parts}")
    print(f"  within ±50 ms         {within:.0%}   median |error| {statistics.median(abs(e) for e in row.errors):.0f} ms,"
          f" max {max(abs(e) for e in row.errors)} ms")
    print(f"  stretch               largest x{max(row.stretches):.3f}, on {sum(s > 1 for s in row.stretches) / n:.0%}"
          " of lines")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="piper,kokoro")
    parser.add_argument("--lines", type=int, default=0, help="at most this many lines per language (0: all)")
    args = parser.parse_args()
    steps = Steps()
    for name in args.engines.split(","):
        for lang, lines in LANGS[name]:
            report(name, lang, run(name, lang, lines[:args.lines] if args.lines else lines, steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
