"""Fit one spoken line to its slot: engine rate control first, then a small bounded residual.

The ladder, stopping at the first step that lands within tolerance, re-measuring after each:
1. the natural take (rate 1.0);
2. the engine's own rate control, searched by a safeguarded secant/bisection on `rate`;
3. a residual WSOLA time-stretch of the best take, never beyond ×1.25 overall;
4. optionally borrowing the gap up to the next cue when the line is too long.
A line whose natural length is outside [0.8, 1.25]× its slot is never squeezed to fit:
it is rendered at the bounding rate and marked `too_long` or `too_short`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dubber.audio import BOUND_SLACK, MAX_STRETCH, ms_to_samples, samples_to_ms, time_stretch
from dubber.errors import SynthesisError
from dubber.plugin.engine import Engine, Take
from dubber.speech import Span, speech_span

STATUS_OK = "ok"
STATUS_TOO_LONG = "too_long"
STATUS_TOO_SHORT = "too_short"
STATUS_MISSED = "missed"  # fittable, but the ladder ended outside the acceptance window
STATUS_FAILED = "failed"  # the engine failed or returned no speech

PRE_ROLL_MS = 30  # quiet lead kept before the measured onset, so soft attacks are not cut
TAIL_MS = 60  # quiet tail kept after the measured offset, for natural decay
EDGE_FADE_MS = 3  # fades at the clip's cut points, against clicks


@dataclass(frozen=True)
class FitPolicy:
    """How hard to try and what counts as fitted."""

    tolerance_ms: int = 12  # stop searching once this close
    accept_ms: int = 50  # a line is `ok` within this error
    min_ratio: float = 1 / MAX_STRETCH  # natural/target below this is too_short (0.8)
    max_ratio: float = MAX_STRETCH  # natural/target above this is too_long (1.25)
    max_rate_steps: int = 5  # engine calls spent on rate search after the natural take
    allow_stretch: bool = True
    borrow_gap: bool = False  # let a too-long line run on into the silence before the next cue


@dataclass
class Fit:
    """A fitted line: the clip to place and what was measured on it."""

    samples: np.ndarray  # float32 mono clip: pre-roll, speech, tail
    sample_rate: int
    speech: Span  # where the speech lies inside `samples`
    target_ms: int  # the slot the line was fitted to (after any borrowing)
    natural_ms: int  # the natural take's speech length
    rate: float
    stretch: float  # residual stretch ratio applied (1.0: none; >1 made it longer)
    method: str
    status: str
    borrowed_ms: int = 0
    take: Take | None = None
    attempts: list[tuple[float, int]] = field(default_factory=list)  # (rate, speech_ms) tried
    reason: str = ""

    @property
    def speech_ms(self) -> int:
        return samples_to_ms(self.speech.length, self.sample_rate)

    @property
    def error_ms(self) -> int:
        return self.speech_ms - self.target_ms

    @property
    def needed_rate(self) -> float:
        """The speaking rate the line would need to fit its slot naturally."""
        return self.natural_ms / self.target_ms if self.target_ms else 0.0


def fit_line(
    engine: Engine,
    text: str,
    lang: str,
    voice: str | None,
    target_ms: int,
    seed: int = 0,
    policy: FitPolicy | None = None,
    max_slot_ms: int | None = None,
) -> Fit:
    """Synthesize `text` so its speech lasts `target_ms`; raise SynthesisError if there is no speech."""
    policy = policy or FitPolicy()
    if target_ms <= 0:
        raise ValueError(f"target must be positive, got {target_ms} ms")
    search = _RateSearch(engine, text, lang, voice, seed)
    natural = search.measure(1.0)
    natural_ms = natural.speech_ms
    slot_ms, borrowed = target_ms, 0
    ratio = natural_ms / slot_ms
    too_long = ratio > policy.max_ratio * (1 + BOUND_SLACK)
    if too_long and policy.borrow_gap and max_slot_ms and max_slot_ms > target_ms:
        # Borrow only as much of the gap as needed to speak at a comfortable rate.
        slot_ms = min(max_slot_ms, natural_ms)
        borrowed = slot_ms - target_ms
        ratio = natural_ms / slot_ms
        too_long = ratio > policy.max_ratio * (1 + BOUND_SLACK)
    too_short = ratio < policy.min_ratio * (1 - BOUND_SLACK)

    if too_long or too_short:
        bound = policy.max_ratio if too_long else policy.min_ratio
        best = search.measure(bound)
        status = STATUS_TOO_LONG if too_long else STATUS_TOO_SHORT
        return _finish(best, slot_ms, natural_ms, 1.0, "rate", status, borrowed, search,
                       reason=f"needs rate ×{ratio:.2f}; allowed ×{policy.min_ratio:.2f}–×{policy.max_ratio:.2f}")

    best, method = natural, "natural"
    if abs(natural_ms - slot_ms) > policy.tolerance_ms:
        best = search.converge(slot_ms, ratio, policy)
        method = "rate"
    stretch = 1.0
    if abs(best.speech_ms - slot_ms) > policy.tolerance_ms and policy.allow_stretch:
        stretched, stretch = _stretch_residual(best, slot_ms, natural_ms)
        if stretched is not None and abs(stretched.speech_ms - slot_ms) < abs(best.speech_ms - slot_ms):
            best, method = stretched, f"{method}+stretch"
        else:
            stretch = 1.0
    if borrowed:
        method += "+borrow"
    status = STATUS_OK if abs(best.speech_ms - slot_ms) <= policy.accept_ms else STATUS_MISSED
    return _finish(best, slot_ms, natural_ms, stretch, method, status, borrowed, search)


@dataclass
class _Measured:
    """A take with its measured speech span."""

    take: Take
    samples: np.ndarray
    span: Span
    rate: float

    @property
    def speech_ms(self) -> int:
        return samples_to_ms(self.span.length, self.take.sample_rate)


class _RateSearch:
    """Call the engine at chosen rates and remember every measured take."""

    def __init__(self, engine: Engine, text: str, lang: str, voice: str | None, seed: int) -> None:
        self.engine, self.text, self.lang, self.voice, self.seed = engine, text, lang, voice, seed
        lo, hi = engine.capabilities.rate_range
        self.rate_lo, self.rate_hi = lo, hi
        self.tried: dict[float, _Measured] = {}

    def measure(self, rate: float) -> _Measured:
        rate = round(min(max(rate, self.rate_lo), self.rate_hi), 4)
        if rate in self.tried:
            return self.tried[rate]
        take = self.engine.synthesize(self.text, self.lang, self.voice, seed=self.seed, rate=rate)
        if not np.all(np.isfinite(take.samples)):
            raise SynthesisError(f"engine {self.engine.name!r} returned NaN or infinite samples",
                                 engine=self.engine.name)
        span = speech_span(take.samples, take.sample_rate)
        if span is None:
            raise SynthesisError(f"engine {self.engine.name!r} returned silence for {self.text!r}",
                                 engine=self.engine.name)
        found = _Measured(take, take.samples, span, rate)
        self.tried[rate] = found
        return found

    def converge(self, target_ms: int, first_guess: float, policy: FitPolicy) -> _Measured:
        """Search the rate whose take is closest to `target_ms`, bracketing as it goes."""
        lo, hi = self.rate_lo, self.rate_hi  # rate too slow / too fast bounds
        best = self.tried[1.0]
        if best.speech_ms > target_ms:
            lo = 1.0
        else:
            hi = 1.0
        rate = first_guess
        for _ in range(policy.max_rate_steps):
            rate = min(max(rate, lo), hi)
            m = self.measure(rate)
            if abs(m.speech_ms - target_ms) < abs(best.speech_ms - target_ms):
                best = m
            if abs(m.speech_ms - target_ms) <= policy.tolerance_ms:
                break
            if m.speech_ms > target_ms:
                lo = max(lo, m.rate)
            else:
                hi = min(hi, m.rate)
            # Speech length is close to inversely proportional to rate: step on that model,
            # falling back to bisection when the model leaves the bracket.
            guess = m.rate * m.speech_ms / target_ms
            rate = guess if lo < guess < hi else (lo + hi) / 2
            if hi - lo < 1e-3:
                break
        return best


def _stretch_residual(best: _Measured, target_ms: int, natural_ms: int) -> tuple[_Measured | None, float]:
    """Time-stretch the best take so its speech span lasts `target_ms`, if the total stays within bounds."""
    rate_sr = best.take.sample_rate
    want = ms_to_samples(target_ms, rate_sr)
    ratio = want / best.span.length
    overall = natural_ms / target_ms  # the total change the listener hears
    low, high = (1 - BOUND_SLACK) / MAX_STRETCH, MAX_STRETCH * (1 + BOUND_SLACK)
    if not (low <= ratio <= high and low <= overall <= high):
        return None, 1.0
    clip = _clip_around(best.samples, best.span, rate_sr)
    stretched = time_stretch(clip, round(clip.size * ratio))
    span = speech_span(stretched, rate_sr)
    if span is None:
        return None, 1.0
    return _Measured(best.take, stretched, span, best.rate), ratio


def _clip_around(samples: np.ndarray, span: Span, rate: int) -> np.ndarray:
    """Cut the pre-roll, speech and tail out of a take."""
    start = max(0, span.start - ms_to_samples(PRE_ROLL_MS, rate))
    end = min(samples.size, span.end + ms_to_samples(TAIL_MS, rate))
    return samples[start:end]


def _finish(best: _Measured, target_ms: int, natural_ms: int, stretch: float, method: str, status: str,
            borrowed: int, search: _RateSearch, reason: str = "") -> Fit:
    """Cut the final clip, fade its edges and re-measure it."""
    rate_sr = best.take.sample_rate
    clip = _clip_around(best.samples, best.span, rate_sr).astype(np.float32, copy=True)
    fade = min(ms_to_samples(EDGE_FADE_MS, rate_sr), clip.size // 2)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        clip[:fade] *= ramp
        clip[-fade:] *= ramp[::-1]
    span = speech_span(clip, rate_sr) or Span(0, clip.size)
    attempts = [(m.rate, m.speech_ms) for m in search.tried.values()]
    return Fit(clip, rate_sr, span, target_ms, natural_ms, best.rate, round(stretch, 4), method, status,
               borrowed, best.take, attempts, reason)
