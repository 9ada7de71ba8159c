"""Fit one spoken line to its slot, re-measuring the take after every step of a ladder.

The ladder, stopping at the first step that lands within tolerance:
1. the natural take;
2. the native duration budget: the model renders the per-token frames we give it, spread over the
   tokens by `frame_budget.allocate` (engines without native control search their speaking rate);
3. pause compression or expansion: pauses between words and sentences may move far beyond the
   phonemes' bounds;
4. a bounded residual WSOLA time-stretch of the best take, never beyond ×1.25 overall;
5. borrowing the gap before the next cue, when the policy allows (decided up front, so the
   steps above aim at the widened slot);
6. the bounded stretch, only where the policy allows it (`FitPolicy.stretch_ratio`, which a line's own
   "allow the bounded stretch" sets to STRETCHED_RATIO): a line beyond the fastest (slowest) rung,
   native ×1.45 (×0.70) or rate ×1.25 (×0.80), is rendered at that rung and WSOLA-stretched the rest
   of the way, up to ×1.6 (×0.625) overall, the stretch itself never beyond ×1.25 (so a rate engine
   reaches ×1.5625 at most). Without it, stretching past ×1.25 overall is only a correction of a few
   percent, and a line beyond the rung is not stretched at all;
7. otherwise `too_long` or `too_short`, rendered at the bounding ratio, never squeezed further,
   with the speaking rate that would be needed (`Fit.needed_rate`).

An engine that can plan (`Engine.plan`: the natural durations without audio) skips step 1's render: the
natural length is predicted from the plan, the line is rendered once with the frames budgeted for its
target and measured. A render within `FitPolicy.render_tolerance_ms` (20 ms) is kept; one off by more but
within a few percent (`CORRECTION`) is corrected by step 4's residual stretch, which costs far less than a
render; only one off by more (or one the stretch cannot correct, or one that may not be stretched) is
rendered again.

Before the natural take, the line's natural length is estimated (`dubber.synthesis.budget`): a line far
beyond what the ladder can compress into its slot is refused (`OverBudget`), not synthesised.

`fit_line` fills a given length (`dubber say`, `--fill`); `fit_to_slot` times a line to its slot
on the timeline (`dubber.fitting.slots`): the natural length, slowed toward the original speech's length,
sped up only as far as its window needs; slowed, a take within `accept_ms` of that aim is kept (past it
only as far as the slowest pace and the window allow).
Either way the status is decided on the finished clip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from dubber.audio.samples import BOUND_SLACK, MAX_STRETCH, ms_to_samples, samples_to_ms, time_stretch
from dubber.audio.speech import Span, speech_span
from dubber.errors import SynthesisError
from dubber.fitting.slots import (
    STATUS_FAILED,
    STATUS_MISSED,
    STATUS_OK,
    STATUS_TOO_LONG,
    STATUS_TOO_SHORT,
    Slot,
    judge_take,
)
from dubber.models.frame_budget import RATIO_BOUNDS, WIDE_PAUSES, allocate, planned_speech_frames, sounding
from dubber.plugin.engine import DURATION_STRETCH_ONLY, Engine, SynthesisRequest, Take, Timing
from dubber.synthesis.budget import check_speech_fits

__all__ = ["CORRECTION", "STATUS_FAILED", "STATUS_MISSED", "STATUS_OK", "STATUS_TOO_LONG", "STATUS_TOO_SHORT",
           "STRETCHED_RATIO", "Fit", "FitPolicy", "compressible", "fit_line", "fit_to_slot"]

PRE_ROLL_MS = 30  # quiet lead kept before the measured onset, so soft attacks are not cut
TAIL_MS = 60  # quiet tail kept after the measured offset, for natural decay
EDGE_FADE_MS = 3  # fades at the clip's cut points, against clicks
SILENCE = "<sil>"  # the token for the silence before and after the speech in `Take.durations`
JITTER_SIGMA = 0.08  # per-token log-normal spread of durations when a line is re-rolled (seed != 0)
STRETCHED_RATIO = 1.6  # "allow the bounded stretch": the fastest overall (1/this the slowest), see step 6
CORRECTION = 0.05  # a stretch this close to ×1 corrects a take by a few percent; it does not squeeze it


@dataclass(frozen=True)
class FitPolicy:
    """How hard to try and what counts as fitted."""

    tolerance_ms: int = 12  # stop searching once this close
    # A planned render (one render per line) is kept this close: correcting it costs a stretch or a render, and
    # its measured span moves by about as much when a soft sound crosses the detector's threshold.
    render_tolerance_ms: int = 20
    # A take this far short of its length is kept too (a soft aim: slowing toward the original speech, where
    # short means nearer the line's natural pace); 0: `tolerance_ms` either way.
    short_tolerance_ms: int = 0
    accept_ms: int = 50  # a line is `ok` within this error
    min_ratio: float = 1 / MAX_STRETCH  # rate control: natural/target below this is too_short (0.8)
    max_ratio: float = MAX_STRETCH  # rate control: natural/target above this is too_long (1.25)
    native_min_ratio: float = 0.7  # native durations re-time the phonemes themselves: a wider range
    native_max_ratio: float = 1.45
    max_rate_steps: int = 5  # engine calls spent on rate search after the natural take
    max_native_steps: int = 3  # engine calls spent on the native budget after the natural take
    allow_native: bool = True
    allow_stretch: bool = True
    borrow_gap: bool = False  # let a too-long line run on into the silence before the next cue
    slow_limit: float = 0.85  # speech sync: the slowest a line is spoken (natively) to approach the original
    # Step 6: stretch past the fastest (slowest) rung up to this overall ratio; None: not past the rung.
    stretch_ratio: float | None = None

    def for_line(self, borrow_gap: bool = False, allow_stretch: bool = False) -> FitPolicy:
        """This policy with a line's own choices added: borrow the gap after it, allow the bounded stretch."""
        if allow_stretch:
            return replace(self, borrow_gap=self.borrow_gap or borrow_gap, allow_stretch=True,
                           stretch_ratio=max(self.stretch_ratio or 0.0, STRETCHED_RATIO))
        return replace(self, borrow_gap=self.borrow_gap or borrow_gap)

    @property
    def stretch_bound(self) -> float:
        """The largest overall change the residual stretch may bring a line to (either way)."""
        if self.allow_stretch and self.stretch_ratio:
            return max(MAX_STRETCH, self.stretch_ratio)
        return MAX_STRETCH

    def fastest(self, rung: float) -> float:
        """The fastest overall ratio, given the fastest rung (native or rate): the rung, or past it by stretching."""
        if not (self.allow_stretch and self.stretch_ratio):
            return rung
        return max(rung, min(self.stretch_bound, rung * MAX_STRETCH))

    def slowest(self, rung: float) -> float:
        """The slowest overall ratio, given the slowest rung."""
        if not (self.allow_stretch and self.stretch_ratio):
            return rung
        return min(rung, max(1 / self.stretch_bound, rung / MAX_STRETCH))


@dataclass
class Fit:
    """A fitted line: the clip to place and what was measured on it."""

    samples: np.ndarray  # float32 mono clip: pre-roll, speech, tail
    sample_rate: int
    speech: Span  # where the speech lies inside `samples`
    target_ms: int  # the slot the line was fitted to (after any borrowing)
    natural_ms: int  # the natural take's speech length
    rate: float  # the engine's rate knob used (1.0 when the durations were given natively)
    stretch: float  # residual stretch ratio applied (1.0: none; >1 made it longer)
    method: str
    status: str
    borrowed_ms: int = 0
    take: Take | None = None
    # (step, speech_ms) for every engine call: the plan first ("plan", its predicted ms), then every take made
    attempts: list[tuple[str, int]] = field(default_factory=list)
    reason: str = ""

    @property
    def speech_ms(self) -> int:
        return samples_to_ms(self.speech.length, self.sample_rate)

    @property
    def error_ms(self) -> int:
        return self.speech_ms - self.target_ms

    @property
    def calls(self) -> dict[str, int]:
        """Engine calls by kind: "plan" (durations only), "natural", "frames" (budgeted renders), "rate"."""
        counts: dict[str, int] = {}
        for step, _ in self.attempts:
            kind = step.split()[0]
            counts[kind] = counts.get(kind, 0) + 1
        return counts

    @property
    def heard_rate(self) -> float:
        """The speaking rate a listener hears, relative to the natural take."""
        return self.natural_ms / self.speech_ms if self.speech_ms else 0.0

    @property
    def needed_rate(self) -> float:
        """The speaking rate the line would need to fit its slot."""
        return self.natural_ms / self.target_ms if self.target_ms else 0.0


def fit_line(engine: Engine, request: SynthesisRequest, target_ms: int, policy: FitPolicy | None = None,
             max_slot_ms: int | None = None) -> Fit:
    """Synthesize the request so its speech lasts `target_ms`; raise SynthesisError if there is no speech.

    The request's own `target_ms` and `rate` are left aside: each step of the ladder sets the rate.
    """
    policy = policy or FitPolicy()
    if target_ms <= 0:
        raise ValueError(f"target must be positive, got {target_ms} ms")
    widest = max(target_ms, max_slot_ms or 0) if policy.borrow_gap else target_ms
    check_speech_fits(engine, request, widest, compressible(engine, policy))
    takes = _Takes(engine, request, policy)
    while True:
        natural_ms, native = _natural_length(takes, policy)
        low, high = ((policy.native_min_ratio, policy.native_max_ratio) if native
                     else (policy.min_ratio, policy.max_ratio))

        slot_ms, borrowed = target_ms, 0
        ratio = natural_ms / slot_ms
        too_long = ratio > high * (1 + BOUND_SLACK)
        if too_long and policy.borrow_gap and max_slot_ms and max_slot_ms > target_ms:
            # Borrow only as much of the gap as the line needs to be spoken naturally.
            slot_ms = min(max_slot_ms, natural_ms)
            borrowed = slot_ms - target_ms
            ratio = natural_ms / slot_ms
            too_long = ratio > high * (1 + BOUND_SLACK)
        too_short = ratio < low * (1 - BOUND_SLACK)
        if takes.timing is None or not (too_long or too_short):
            break
        takes.unplan()  # past a bound by the plan's guess: judged on the measured natural take instead
    # With the bounded stretch (step 6) the line may go past the rung: these are the overall bounds.
    fastest, slowest = policy.fastest(high), policy.slowest(low)

    if too_long or too_short:
        bound, edge = (high, fastest) if too_long else (low, slowest)
        best, method = _at_rate(takes, bound, native, policy)
        beyond = ratio > fastest * (1 + BOUND_SLACK) or ratio < slowest * (1 - BOUND_SLACK)
        stretch = 1.0
        if edge != bound:
            best, method, stretch = _stretch_beyond(best, method, round(natural_ms / edge) if beyond else slot_ms,
                                                    natural_ms, policy)
        fit = _finish(best, slot_ms, natural_ms, stretch, method, borrowed, takes)
        predicted = (STATUS_TOO_LONG if too_long else STATUS_TOO_SHORT) if beyond else STATUS_MISSED
        reason = f"needs rate ×{ratio:.2f}; allowed ×{slowest:.2f}–×{fastest:.2f}" if beyond else ""
    else:
        best, method, stretch = _ladder(takes, slot_ms, natural_ms, native, policy)
        fit = _finish(best, slot_ms, natural_ms, stretch, method + ("+borrow" if borrowed else ""), borrowed, takes)
        predicted, reason = STATUS_MISSED, ""
    # The status is what the clip measures, not what the ratio predicted.
    if abs(fit.error_ms) <= policy.accept_ms:
        fit.status, fit.reason = STATUS_OK, ""
    else:
        fit.status = predicted
        fit.reason = reason or f"speech {fit.error_ms:+d} ms off its {slot_ms} ms slot"
    return fit


def fit_to_slot(engine: Engine, request: SynthesisRequest, slot: Slot, policy: FitPolicy | None = None) -> Fit:
    """Synthesize the request for a slot on the timeline (dubber.fitting.slots).

    `fill` slots go to `fit_line`. Otherwise the line is spoken at its natural rate, slowed natively
    (never below `policy.slow_limit`, never by stretching) toward the original speech's length when
    it is shorter than that, and sped up only as far as its window needs. A line that cannot fit
    its window even at the fastest allowed rate is rendered at that rate and is `too_long`.
    """
    policy = policy or FitPolicy()
    if slot.fill:
        return fit_line(engine, request, slot.target_ms or slot.window_ms, policy, max_slot_ms=slot.window_ms)
    check_speech_fits(engine, request, slot.window_ms, compressible(engine, policy))
    takes = _Takes(engine, request, policy)
    natural_ms, native = _natural_length(takes, policy)
    high = policy.native_max_ratio if native else policy.max_ratio
    can_slow = native or engine.capabilities.duration_control != DURATION_STRETCH_ONLY
    slows = slot.target_ms is not None and slot.target_ms > natural_ms and can_slow
    if takes.timing is not None and (not slows or slot.window_ms < math.ceil(natural_ms / high) * (1 - BOUND_SLACK)):
        # Spoken at its natural pace, the aim is the natural take itself, not the plan's prediction of it; a
        # line the plan puts past the fastest rung is judged on its measured natural take, as without a plan.
        takes.unplan()
        natural_ms, native = _natural_length(takes, policy)
    want, slowest_ms = natural_ms, round(natural_ms / policy.slow_limit)
    if slot.target_ms is not None and slot.target_ms > natural_ms and can_slow:
        want = min(slot.target_ms, slowest_ms)
    aim = min(want, slot.window_ms)
    shortest = math.ceil(natural_ms / high)
    fastest = policy.fastest(high)
    needed = natural_ms / slot.window_ms
    if aim < shortest * (1 - BOUND_SLACK):
        best, method = _at_rate(takes, high, native, policy)
        stretch, goal = 1.0, shortest
        if fastest > high:  # the bounded stretch (step 6) takes it the rest of the way, or as far as it may
            goal = max(aim, math.ceil(natural_ms / fastest))
            best, method, stretch = _stretch_beyond(best, method, goal, natural_ms, policy)
        aim = goal if stretch != 1.0 else shortest
    else:
        ladder_policy = policy
        if aim > natural_ms:
            # Slowing toward the original speech is an aim, not a must: no audio is stretched for it, and a take
            # within `accept_ms` of it is kept, not rendered again: short of it (nearer its natural pace), or past
            # it as far as the slowest pace and the window allow.
            over = max(policy.tolerance_ms, min(policy.accept_ms, slowest_ms - aim, slot.window_ms - aim))
            ladder_policy = replace(policy, allow_stretch=False, short_tolerance_ms=policy.accept_ms, tolerance_ms=over)
        best, method, stretch = _ladder(takes, aim, natural_ms, native, ladder_policy)
    fit = _finish(best, aim, natural_ms, stretch, method, 0, takes)
    verdict = judge_take(fit.speech_ms, slot, accept_ms=policy.accept_ms)
    fit.status, fit.reason = verdict.status, verdict.reason
    if verdict.status == STATUS_TOO_LONG and needed > fastest:
        fit.reason += f"; needs rate ×{needed:.2f} to fit, allowed up to ×{fastest:.2f}"
    return fit


def compressible(engine: Engine, policy: FitPolicy) -> float:
    """How much faster than natural the ladder can make a line on `engine`: natively, or by rate or stretch."""
    native = policy.allow_native and engine.takes_durations
    return policy.fastest(max(policy.native_max_ratio if native else 0.0, policy.max_ratio))


def _natural_length(takes: _Takes, policy: FitPolicy) -> tuple[int, bool]:
    """The line's natural speech length, and whether its durations can be given natively.

    Planned: predicted from the plan's frames, no audio rendered. Otherwise measured on the natural take.
    """
    if takes.timing is not None:
        return takes.natural_ms(), True
    natural = takes.natural()
    native = policy.allow_native and takes.engine.takes_durations and natural.take.durations is not None
    return natural.speech_ms, native


def _at_rate(takes: _Takes, rate: float, native: bool, policy: FitPolicy) -> tuple[_Measured, str]:
    """The take spoken `rate` times faster than natural: natively re-timed, or by the engine's rate."""
    if native:
        return _native_budget(takes, round(takes.natural_ms() / rate), policy)
    return takes.at_rate(rate), "rate"


def _ladder(takes: _Takes, target_ms: int, natural_ms: int, native: bool,
            policy: FitPolicy) -> tuple[_Measured, str, float]:
    """Climb the ladder (natural, native budget or rate search, residual stretch) toward `target_ms`."""
    # Planned, a render within `render_tolerance_ms` is kept, and one a few percent off is left to the residual
    # stretch below instead of rendered again.
    residual = CORRECTION if takes.timing is not None and policy.allow_stretch else 0.0
    if takes.timing is not None:  # planned: the budget's first render is the natural take when that fits
        policy = replace(policy, tolerance_ms=max(policy.tolerance_ms, policy.render_tolerance_ms))
        best, method = _native_budget(takes, target_ms, policy, residual)
    else:
        best, method = takes.natural(), "natural"
        if not _within(natural_ms - target_ms, policy.tolerance_ms, policy):
            if native:
                best, method = _native_budget(takes, target_ms, policy)
            elif takes.engine.capabilities.duration_control != DURATION_STRETCH_ONLY:
                best, method = takes.converge_rate(target_ms, natural_ms / target_ms, policy), "rate"
    corrected = _corrected(best, method, target_ms, natural_ms, policy)
    if residual and abs(corrected[0].speech_ms - target_ms) > policy.tolerance_ms:
        # The stretch could not correct the render: correct it by rendering, as without the shortcut (the
        # renders already made are not made again).
        best, method = _native_budget(takes, target_ms, policy)
        corrected = _corrected(best, method, target_ms, natural_ms, policy)
    return corrected


def _corrected(best: _Measured, method: str, target_ms: int, natural_ms: int,
               policy: FitPolicy) -> tuple[_Measured, str, float]:
    """Step 4: the take stretched by its small residual when it lands farther than the tolerance off and that
    brings it closer; the stretch applied (1.0: none)."""
    if abs(best.speech_ms - target_ms) > policy.tolerance_ms and policy.allow_stretch:
        stretched, ratio_applied = _stretch_residual(best, target_ms, natural_ms, policy.stretch_bound,
                                                     policy.tolerance_ms)
        if stretched is not None and abs(stretched.speech_ms - target_ms) < abs(best.speech_ms - target_ms):
            return stretched, f"{method}+stretch", ratio_applied
    return best, method, 1.0


@dataclass
class _Measured:
    """A take with its measured speech span."""

    take: Take
    samples: np.ndarray
    span: Span
    step: str

    @property
    def speech_ms(self) -> int:
        return samples_to_ms(self.span.length, self.take.sample_rate)


class _Takes:
    """Ask the engine for takes of one line and remember every measured one."""

    def __init__(self, engine: Engine, request: SynthesisRequest, policy: FitPolicy | None = None) -> None:
        self.engine = engine
        self.request = replace(request, target_ms=None, rate=1.0)  # the line as spoken naturally
        self.rate_lo, self.rate_hi = engine.capabilities.rate_range
        self.made: dict[object, _Measured] = {}
        self.timing: Timing | None = None
        # The natural speech length the plan predicts (not measured: no audio was rendered); kept after `unplan`
        # for the count of calls.
        self.plan_ms: int | None = None
        self.plan_frames: np.ndarray | None = None  # the plan's own frames: the natural take's, kept after `unplan`
        if policy is not None and policy.allow_native and engine.takes_durations:
            timing = engine.plan(self.request)  # cheap: the durations alone, no decoder
            if (timing is not None and timing.frame_samples and timing.sample_rate
                    and timing.durations.size == len(timing.phonemes) + 2):
                self.timing, self.plan_frames = timing, timing.durations
                frames = planned_speech_frames(timing.durations, timing.phonemes)
                self.plan_ms = round(1000 * frames * timing.frame_samples / timing.sample_rate)

    def unplan(self) -> None:
        """Render the natural take and fit from it, as without a plan (the plan still counts as a call)."""
        self.natural()
        self.timing = None

    def natural_ms(self) -> int:
        """The natural speech length: measured on the natural take when one was made, else the plan's."""
        if self.timing is not None and self.plan_ms is not None and ("rate", 1.0) not in self.made:
            return self.plan_ms
        return self.natural().speech_ms

    def calls(self) -> list[tuple[str, int]]:
        """(step, speech ms) for every engine call made: the plan, then each take."""
        planned = [("plan", self.plan_ms)] if self.plan_ms is not None else []
        return planned + [(m.step, m.speech_ms) for m in self.made.values()]

    def _measure(self, key: object, step: str, take: Take) -> _Measured:
        if not np.all(np.isfinite(take.samples)):
            raise SynthesisError(f"engine {self.engine.name!r} returned NaN or infinite samples",
                                 engine=self.engine.name)
        span = speech_span(take.samples, take.sample_rate)
        if span is None:
            raise SynthesisError(f"engine {self.engine.name!r} returned silence for {self.request.text!r}",
                                 engine=self.engine.name)
        self.made[key] = _Measured(take, take.samples, span, step)
        return self.made[key]

    def natural(self) -> _Measured:
        return self.at_rate(1.0)

    def at_rate(self, rate: float) -> _Measured:
        rate = round(min(max(rate, self.rate_lo), self.rate_hi), 4)
        key = ("rate", rate)
        if key not in self.made:
            if rate == 1.0 and self.plan_frames is not None:
                # The natural take is the plan's frames rendered: an engine that keeps the plan's encoding (Piper)
                # then only decodes.
                take = self.engine.synthesize_frames(self.request, self.plan_frames)
            else:
                take = self.engine.synthesize(replace(self.request, rate=rate))
            self._measure(key, "natural" if rate == 1.0 else f"rate {rate}", take)
        return self.made[key]

    def with_frames(self, frames: np.ndarray) -> _Measured:
        key = ("frames", frames.tobytes())
        if key not in self.made:
            take = self.engine.synthesize_frames(self.request, frames)
            self._measure(key, f"frames {int(frames.sum())}", take)
        return self.made[key]

    def converge_rate(self, target_ms: int, first_guess: float, policy: FitPolicy) -> _Measured:
        """Search the rate whose take is closest to `target_ms`, bracketing as it goes."""
        lo, hi = self.rate_lo, self.rate_hi  # rates known to be too slow / too fast
        best = self.natural()
        if best.speech_ms > target_ms:
            lo = 1.0
        else:
            hi = 1.0
        rate = first_guess
        for _ in range(policy.max_rate_steps):
            m = self.at_rate(min(max(rate, lo), hi))
            rate_used = float(m.take.rate)
            if abs(m.speech_ms - target_ms) < abs(best.speech_ms - target_ms):
                best = m
            if abs(m.speech_ms - target_ms) <= policy.tolerance_ms:
                break
            if m.speech_ms > target_ms:
                lo = max(lo, rate_used)
            else:
                hi = min(hi, rate_used)
            # Speech length is close to inversely proportional to rate: step on that model,
            # falling back to bisection when the model leaves the bracket.
            guess = rate_used * m.speech_ms / target_ms
            rate = guess if lo < guess < hi else (lo + hi) / 2
            if hi - lo < 1e-3:
                break
        return best


def _native_budget(takes: _Takes, target_ms: int, policy: FitPolicy,
                   residual: float = 0.0) -> tuple[_Measured, str]:
    """Give the model per-token frames that make the speech last `target_ms`, correcting by measurement.

    Planned (`_Takes.timing`), the frames come from the plan and the first render is the first measurement;
    the pauses outside the sounding symbols and the last sounding symbol are kept as planned too. A render
    whose speech is within `residual` (a share) of the target ends the corrections: the caller stretches it.
    """
    planned = takes.timing
    natural = takes.natural() if planned is None else None
    timing: Take | Timing = natural.take if natural is not None else planned  # type: ignore[assignment]
    assert timing.durations is not None and timing.frame_samples  # guaranteed by the caller's `native`
    frame_ms = 1000 * timing.frame_samples / timing.sample_rate
    tokens = [SILENCE, *timing.phonemes, SILENCE]
    base = np.asarray(timing.durations, dtype=np.float64)
    if base.size != len(tokens):
        raise SynthesisError(f"engine {takes.engine.name!r} gave {base.size} durations for "
                             f"{len(tokens)} tokens", engine=takes.engine.name)
    fixed = np.zeros(base.size, bool)
    fixed[[0, -1]] = True  # the silence around the speech does not move the speech span
    if planned is not None:
        first, last = sounding(planned.phonemes)
        fixed[:first] = fixed[last:] = True  # the last sounding symbol too: what of it measures is a guess
    natural_ms = natural.speech_ms if natural is not None else takes.natural_ms()
    if takes.request.seed:
        # A re-roll varies the rhythm, deterministically per seed, even on engines without noise.
        rng = np.random.default_rng(takes.request.seed)
        base = np.where(fixed, base, base * np.exp(rng.normal(0.0, JITTER_SIGMA, base.size)))
    # Quantisation: the best any budget can do is half a frame.
    tolerance = max(policy.tolerance_ms, int(frame_ms / 2) + 1)
    want = int(round(base.sum() + (target_ms - natural_ms) / frame_ms))
    best, best_method, bounds, method = natural, "natural", RATIO_BOUNDS, "native"
    for step in range(policy.max_native_steps):
        if planned is not None and step == 0 and _within(natural_ms - target_ms, tolerance, policy):
            # The natural take fits: rendered from the plan's own frames, as the ladder's step 1 would.
            frames, budget_total, kind = planned.durations, int(planned.durations.sum()), "natural"
        else:
            budget = allocate(base, tokens, want, fixed=fixed, bounds=bounds)
            if not budget.reachable and bounds is RATIO_BOUNDS:
                bounds, method = WIDE_PAUSES, "native+pauses"
                budget = allocate(base, tokens, want, fixed=fixed, bounds=bounds)
            frames, budget_total, kind = budget.frames, budget.total, method
        m = takes.with_frames(frames)
        if best is None or abs(m.speech_ms - target_ms) < abs(best.speech_ms - target_ms):
            best, best_method = m, kind
        error_ms = m.speech_ms - target_ms
        if _within(error_ms, tolerance, policy) or abs(target_ms / m.speech_ms - 1) <= residual:
            break
        correction = int(round(error_ms / frame_ms))
        if correction == 0:
            break
        want = budget_total - correction
    assert best is not None  # max_native_steps >= 1
    return best, best_method


def _within(error_ms: int, tolerance_ms: int, policy: FitPolicy) -> bool:
    """Whether a take `error_ms` off its length (negative: short) is kept: within the tolerance, or short of it
    by no more than the policy's `short_tolerance_ms`."""
    return -max(tolerance_ms, policy.short_tolerance_ms) <= error_ms <= tolerance_ms


def _stretch_beyond(best: _Measured, method: str, goal_ms: int, natural_ms: int,
                    policy: FitPolicy) -> tuple[_Measured, str, float]:
    """Step 6: stretch a take spoken at the rung toward `goal_ms`, within the policy's overall bound; a take
    that landed short of its rung (pauses give way less) is stretched as far as WSOLA's own bound."""
    goal_ms = round(min(max(goal_ms, best.speech_ms / MAX_STRETCH), best.speech_ms * MAX_STRETCH))
    stretched, applied = _stretch_residual(best, goal_ms, natural_ms, policy.stretch_bound)
    if stretched is None or abs(stretched.speech_ms - goal_ms) >= abs(best.speech_ms - goal_ms):
        return best, method, 1.0
    return stretched, f"{method}+stretch", applied


def _stretch_residual(best: _Measured, target_ms: int, natural_ms: int, overall_max: float = MAX_STRETCH,
                      tolerance_ms: int = 0) -> tuple[_Measured | None, float]:
    """Time-stretch the best take so its speech lasts `target_ms`, if the stretch stays within ×MAX_STRETCH
    and the total change within ×`overall_max`; with a `tolerance_ms`, a third pass is made when two miss it."""
    rate_sr = best.take.sample_rate
    ratio = ms_to_samples(target_ms, rate_sr) / best.span.length
    overall = natural_ms / target_ms  # the total change the listener hears
    low, high = (1 - BOUND_SLACK) / MAX_STRETCH, MAX_STRETCH * (1 + BOUND_SLACK)
    if not (low <= ratio <= high):
        return None, 1.0
    within = (1 - BOUND_SLACK) / overall_max <= overall <= overall_max * (1 + BOUND_SLACK)
    if not within and abs(ratio - 1) > CORRECTION:
        # Beyond the overall bound only native re-timing is allowed; a few percent of stretch on top
        # of it is a correction, not a squeeze.
        return None, 1.0
    clip = _clip_around(best.samples, best.span, rate_sr)
    want = ms_to_samples(target_ms, rate_sr)
    found: _Measured | None = None
    tried: list[tuple[float, int]] = []  # (ratio, speech samples) of each pass
    for attempt in range(3):  # WSOLA smears the edges a little: correct once by what was measured
        if attempt == 2:
            # A soft sound crossing the speech detector's threshold can make the span jump past the target:
            # when the two passes straddle it and miss by more than the tolerance, one more between them.
            (r0, n0), (r1, n1) = tried
            close = found is not None and abs(found.span.length - want) <= ms_to_samples(tolerance_ms, rate_sr)
            if not tolerance_ms or close or (n0 - want) * (n1 - want) >= 0:
                break
            ratio = min(max(r0 + (want - n0) * (r1 - r0) / (n1 - n0), low), high)
        stretched = time_stretch(clip, round(clip.size * ratio))
        span = speech_span(stretched, rate_sr)
        if span is None:
            break
        tried.append((ratio, span.length))
        m = _Measured(best.take, stretched, span, f"stretch {ratio:.3f}")
        if found is None or abs(m.span.length - want) < abs(found.span.length - want):
            found, applied = m, ratio
        ratio = min(max(ratio * want / span.length, low), high)
    return (found, applied) if found is not None else (None, 1.0)


def _clip_around(samples: np.ndarray, span: Span, rate: int) -> np.ndarray:
    """Cut the pre-roll, speech and tail out of a take."""
    start = max(0, span.start - ms_to_samples(PRE_ROLL_MS, rate))
    end = min(samples.size, span.end + ms_to_samples(TAIL_MS, rate))
    return samples[start:end]


def _finish(best: _Measured, target_ms: int, natural_ms: int, stretch: float, method: str, borrowed: int,
            takes: _Takes) -> Fit:
    """Cut the final clip, fade its edges and re-measure it."""
    rate_sr = best.take.sample_rate
    clip = _clip_around(best.samples, best.span, rate_sr).astype(np.float32, copy=True)
    fade = min(ms_to_samples(EDGE_FADE_MS, rate_sr), clip.size // 2)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        clip[:fade] *= ramp
        clip[-fade:] *= ramp[::-1]
    span = speech_span(clip, rate_sr) or Span(0, clip.size)
    if takes.timing is not None:
        natural_ms = takes.natural_ms()  # measured if a natural take was rendered after all, else predicted
    return Fit(clip, rate_sr, span, target_ms, natural_ms, float(best.take.rate), round(stretch, 4), method,
               STATUS_MISSED, borrowed, best.take, takes.calls())
