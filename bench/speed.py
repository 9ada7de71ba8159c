"""Speed of fitting (issue #22): per line, dubber's fitted render against one natural render of the same line.

For each line of bench/duration.py's English and Japanese sets, in one run: one natural render (the engine's
own pace, the cost a line has at the least), then `fit_line` to a target of the natural speech length times a
factor from 0.75 to 1.33 (cycling), started afresh: it makes its own natural take, as a dub does. Every engine
call is counted and timed. Per engine and language it prints the median and mean of fitted / natural seconds,
the engine calls per fitted line by kind (plan: the durations alone, natural, frames: budgeted renders), the seconds spent outside the engine
(measuring, stretching), and the share of lines within ±50 ms of their target, so a faster ladder can be seen
to keep its accuracy. The target the issue sets: fitted ≤ 1.25× natural.

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
        self.secs = 0.0

    def __getattr__(self, name: str) -> object:
        return getattr(self._engine, name)

    def reset(self) -> None:
        self.calls.clear()
        self.secs = 0.0

    def _timed(self, kind: str, call, *args) -> Take:  # noqa: ANN001
        started = time.perf_counter()
        try:
            return call(*args)
        finally:
            self.secs += time.perf_counter() - started
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


@dataclass
class Row:
    """What one engine and language measured."""

    ratios: list[float] = field(default_factory=list)  # fitted seconds / natural seconds, per line
    natural_s: list[float] = field(default_factory=list)
    fitted_s: list[float] = field(default_factory=list)
    outside_s: list[float] = field(default_factory=list)  # fitted seconds not spent in the engine
    calls: list[int] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    errors: list[int] = field(default_factory=list)
    failed: int = 0


def run(name: str, lang: str, lines: list[str]) -> Row:
    engine = Counted(get_engine(name))
    engine.synthesize(SynthesisRequest(lines[0], lang))  # the model loaded outside the timings
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
        row.outside_s.append(fitted_s - engine.secs)
        row.calls.append(sum(engine.calls.values()))
        row.kinds.update(engine.calls)
        row.errors.append(span_ms(fit.samples, fit.sample_rate) - target)
    return row


def report(name: str, lang: str, row: Row) -> None:
    n = len(row.ratios)
    within = sum(abs(e) <= 50 for e in row.errors) / max(n, 1)
    print(f"\n{name}/{lang}: {n} lines ({row.failed} failed)")
    print(f"  natural render        {statistics.mean(row.natural_s):6.3f} s per line (mean)")
    print(f"  fitted render         {statistics.mean(row.fitted_s):6.3f} s per line (mean), "
          f"of which {statistics.mean(row.outside_s):.3f} s outside the engine")
    print(f"  fitted / natural      median {statistics.median(row.ratios):.2f}x, mean {statistics.mean(row.ratios):.2f}x,"
          f" sum {sum(row.fitted_s) / sum(row.natural_s):.2f}x  (target <= {TARGET_RATIO}x)")
    kinds = ", ".join(f"{kind} {count / n:.2f}" for kind, count in sorted(row.kinds.items()))
    print(f"  engine calls per line {statistics.mean(row.calls):.2f} ({kinds})")
    print(f"  within ±50 ms         {within:.0%}   median |error| {statistics.median(abs(e) for e in row.errors):.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="piper,kokoro")
    parser.add_argument("--lines", type=int, default=0, help="at most this many lines per language (0: all)")
    args = parser.parse_args()
    for name in args.engines.split(","):
        for lang, lines in LANGS[name]:
            report(name, lang, run(name, lang, lines[:args.lines] if args.lines else lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
