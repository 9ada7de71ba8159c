"""The fitter with an engine that plans (`Engine.plan`): one render when it lands, a correction when it does not."""

from __future__ import annotations

import numpy as np
import pytest

from dubber.fitting.fitter import CORRECTION, FitPolicy, fit_line, fit_to_slot
from dubber.fitting.slots import Slot
from dubber.models.frame_budget import STOP, token_class
from dubber.plugin.engine import SynthesisRequest, Take, Timing
from dubber.synthesis.guard import guard_engine
from dubber.synthesis.limits import LimitedEngine
from tests.conftest import FrameToneEngine


class PlanningToneEngine(FrameToneEngine):
    """The frame-tone engine with a plan (its natural frames, no audio), and stops as silent closures,
    as a real voice's final stop measures."""

    name = "planning"

    def __init__(self) -> None:
        super().__init__()
        self.plans = 0

    def plan(self, request: SynthesisRequest) -> Timing:
        self.check_request(request)
        self.plans += 1
        return Timing(self.capabilities.sample_rate, request.text, self.natural_frames(request.text), self.FRAME,
                      engine=self.name, seed=request.seed)

    def synthesize_frames(self, request: SynthesisRequest, frames: np.ndarray) -> Take:
        take = super().synthesize_frames(request, frames)
        ends = np.cumsum(np.asarray(frames)) * self.FRAME
        for i, ch in enumerate(request.text, start=1):
            if ch.isalpha() and token_class(ch) == STOP:
                take.samples[ends[i - 1]:ends[i]] = 0.0
        return take


def test_a_planned_line_that_lands_is_rendered_once() -> None:
    engine = PlanningToneEngine()
    # Ends on a stop, whose closure the plan predicts as quiet: the first render lands within tolerance.
    fit = fit_line(engine, SynthesisRequest("a cat sat", "en"), 600)
    assert engine.plans == 1 and engine.calls == 1, fit.attempts
    assert fit.calls == {"plan": 1, "frames": 1} and fit.attempts[0][0] == "plan"
    assert abs(fit.error_ms) <= FitPolicy().tolerance_ms and fit.status == "ok" and fit.method == "native"
    assert fit.natural_ms == fit.attempts[0][1]  # predicted: no natural take was rendered


def test_a_planned_line_a_few_percent_off_is_stretched_not_rendered_again() -> None:
    engine = PlanningToneEngine()
    # Ends on a vowel the plan expects to fade, but this engine holds it loud: the first render runs 3% long.
    fit = fit_line(engine, SynthesisRequest("a cat sat on a sofa", "en"), 1500)
    (_, first), = fit.attempts[1:]
    assert FitPolicy().tolerance_ms < first - 1500 <= CORRECTION * 1500
    assert engine.plans == 1 and engine.calls == 1 and fit.calls == {"plan": 1, "frames": 1}
    assert fit.method == "native+stretch" and fit.stretch < 1.0
    assert abs(fit.error_ms) <= FitPolicy().tolerance_ms and fit.status == "ok"


def test_a_planned_line_that_may_not_be_stretched_is_rendered_again() -> None:
    engine = PlanningToneEngine()
    fit = fit_line(engine, SynthesisRequest("a cat sat on a sofa", "en"), 1500, FitPolicy(allow_stretch=False))
    (_, first), (_, second) = fit.attempts[1:]
    assert abs(first - 1500) > FitPolicy().tolerance_ms >= abs(second - 1500)
    assert engine.plans == 1 and engine.calls == 2 and fit.calls == {"plan": 1, "frames": 2}
    assert fit.speech_ms == second and fit.stretch == 1.0 and fit.status == "ok"


def test_a_planned_line_far_off_is_rendered_again_not_stretched() -> None:
    engine = PlanningToneEngine()
    fit = fit_line(engine, SynthesisRequest("a sofa", "en"), 500)  # the loud final vowel is 9% of this line
    (_, first), (_, second) = fit.attempts[1:]
    assert first - 500 > CORRECTION * 500 and abs(second - 500) <= FitPolicy().tolerance_ms
    assert engine.calls == 2 and fit.calls == {"plan": 1, "frames": 2}
    assert fit.method == "native" and fit.stretch == 1.0 and fit.status == "ok"


def test_a_planned_render_within_the_render_tolerance_is_kept_as_it_lands() -> None:
    engine = PlanningToneEngine()
    # Re-rolled (seed 3), the first render lands 16 ms long: past the ladder's tolerance, within a render's.
    fit = fit_line(engine, SynthesisRequest("a cat sat on a sofa", "en", seed=3), 1500)
    policy = FitPolicy()
    assert policy.tolerance_ms < fit.error_ms <= policy.render_tolerance_ms
    assert engine.calls == 1 and fit.method == "native" and fit.stretch == 1.0 and fit.status == "ok"


def test_a_line_slowed_toward_the_original_keeps_a_render_near_it_never_slower_than_its_limit() -> None:
    # The plan puts "a cat sat" at 520 ms and the original speech lasts 1,050: the line is slowed toward it, no
    # further than x0.85 (612 ms). Re-rolled (seed 3), the render lands 26 ms short: nearer its natural pace, on a
    # soft aim, so it is kept.
    policy = FitPolicy()
    engine = PlanningToneEngine()
    fit = fit_to_slot(engine, SynthesisRequest("a cat sat", "en", seed=3), Slot(0, 4000, 1050))
    assert policy.render_tolerance_ms < 612 - fit.speech_ms <= policy.accept_ms
    assert engine.calls == 1 and fit.calls == {"plan": 1, "frames": 1} and fit.status == "ok" and fit.stretch == 1.0
    # Past the aim by more than a render's tolerance (seed 1: 24 ms; slower than x0.85), it is rendered again.
    engine = PlanningToneEngine()
    fit = fit_to_slot(engine, SynthesisRequest("a cat sat", "en", seed=1), Slot(0, 4000, 1050))
    (_, first), (_, second) = fit.attempts[1:]
    assert first - 612 > policy.render_tolerance_ms >= abs(second - 612) and engine.calls == 2
    # "a cat sat on a sofa" (planned 1,185 ms, so x0.85 is 1,394) aimed at an original of 1,340 lands 46 ms past it
    # (a loud final vowel the plan expects to fade): within accept_ms and no slower than x0.85, kept.
    text = "a cat sat on a sofa"
    engine = PlanningToneEngine()
    fit = fit_to_slot(engine, SynthesisRequest(text, "en"), Slot(0, 3000, 1340))
    assert fit.speech_ms - 1340 == 46 and fit.speech_ms <= 1394 and engine.calls == 1 and fit.status == "ok"
    # Aimed at 1,360, the same 46 ms would pass x0.85: rendered again.
    engine = PlanningToneEngine()
    fit = fit_to_slot(engine, SynthesisRequest(text, "en"), Slot(0, 3000, 1360))
    (_, first), (_, second) = fit.attempts[1:]
    assert first > 1394 and abs(second - 1360) <= policy.render_tolerance_ms and engine.calls == 2
    # And past the window it never is: the window 10 ms after the aim, the take is rendered again inside it.
    engine = PlanningToneEngine()
    fit = fit_to_slot(engine, SynthesisRequest(text, "en"), Slot(0, 1350, 1340))
    assert engine.calls == 2 and fit.speech_ms <= 1350 and fit.status == "ok"


def test_a_stretched_planned_line_is_the_same_for_the_same_seed() -> None:
    request = SynthesisRequest("a cat sat on a sofa", "en", seed=3)
    first, again = (fit_line(PlanningToneEngine(), request, 1200) for _ in range(2))
    assert first.stretch != 1.0 and np.array_equal(first.samples, again.samples)


def test_a_planned_natural_fit_renders_the_plans_own_frames() -> None:
    engine = PlanningToneEngine()
    first = fit_line(engine, SynthesisRequest("a cat sat", "en"), 1000)
    natural_ms = first.attempts[0][1]
    fit = fit_line(engine, SynthesisRequest("a cat sat", "en"), natural_ms + 5)
    assert fit.method == "natural" and np.array_equal(fit.take.durations, engine.natural_frames("a cat sat"))
    assert fit.calls == {"plan": 1, "frames": 1}


@pytest.mark.parametrize(("target_ms", "status"), [(200, "too_long"), (1500, "too_short")])
def test_a_line_the_plan_puts_past_a_bound_is_judged_on_its_natural_take(target_ms: int, status: str) -> None:
    engine = PlanningToneEngine()
    fit = fit_line(engine, SynthesisRequest("a cat sat", "en"), target_ms)  # far beyond the rungs
    assert fit.status == status and abs(fit.error_ms) > 50
    assert fit.calls["plan"] == 1 and fit.calls["natural"] == 1 and fit.natural_ms == fit.attempts[1][1]


def test_a_slot_the_plan_finds_too_short_is_judged_on_the_natural_take() -> None:
    engine = PlanningToneEngine()
    fit = fit_to_slot(engine, SynthesisRequest("a cat sat on a sofa", "en"), Slot(0, 600, 2000))
    assert fit.status == "too_long" and fit.calls == {"plan": 1, "natural": 1, "frames": 1}


def test_a_slot_fit_plans_through_the_guard() -> None:
    engine = PlanningToneEngine()
    fit = fit_to_slot(guard_engine(engine), SynthesisRequest("a cat sat", "en"), Slot(0, 2000, 600))
    assert engine.plans == 1 and fit.attempts[0][0] == "plan" and "natural" not in fit.calls
    assert fit.status == "ok"


def test_an_engine_without_a_plan_climbs_the_ladder_from_its_natural_take(frame_engine: FrameToneEngine) -> None:
    fit = fit_line(frame_engine, SynthesisRequest("a cat sat on a sofa", "en"), 1500)
    assert fit.attempts[0][0] == "natural" and "plan" not in fit.calls
    assert fit.calls["natural"] == 1 and frame_engine.calls == len(fit.attempts)


def test_no_plan_is_asked_when_native_durations_are_off() -> None:
    engine = PlanningToneEngine()
    fit = fit_line(engine, SynthesisRequest("a cat sat", "en"), 600, FitPolicy(allow_native=False))
    assert engine.plans == 0 and fit.attempts[0][0] == "natural"


def test_a_line_spoken_at_its_natural_pace_is_its_natural_take_not_the_plans_guess() -> None:
    engine = PlanningToneEngine()
    # No original speech to follow: the aim is the natural take, which the plan mispredicts here (a loud final vowel).
    fit = fit_to_slot(engine, SynthesisRequest("a cat sat on a sofa", "en"), Slot(0, 4000, None))
    assert fit.method == "natural" and fit.stretch == 1.0 and fit.calls == {"plan": 1, "natural": 1}
    assert fit.natural_ms == fit.attempts[1][1] != fit.attempts[0][1]  # measured, not predicted


def test_a_planned_lines_natural_take_is_the_plans_frames_rendered() -> None:
    """Judged on its natural take, a planned line renders the plan's own frames (Piper then only decodes what
    the plan encoded), never a second full synthesis."""

    class Counting(PlanningToneEngine):
        full = 0

        def synthesize(self, request: SynthesisRequest) -> Take:
            self.full += 1
            return super().synthesize(request)

    engine = Counting()
    fit = fit_to_slot(engine, SynthesisRequest("a cat sat on a sofa", "en"), Slot(0, 4000, None))
    assert fit.method == "natural" and fit.calls == {"plan": 1, "natural": 1} and engine.full == 0
    assert np.array_equal(fit.take.durations, engine.natural_frames("a cat sat on a sofa"))


def test_a_line_over_the_text_limit_is_not_planned_but_fitted_from_its_pieces() -> None:
    engine = PlanningToneEngine()
    limited = LimitedEngine(engine, limit=12)
    assert isinstance(limited.plan(SynthesisRequest("a cat sat", "en")), Timing)
    long = SynthesisRequest("a cat sat on a sofa, and a dog sat on a mat", "en")
    assert limited.plan(long) is None  # its pieces' natural takes are what splits frames back
    fit = fit_line(limited, long, 3600)
    assert fit.attempts[0][0] == "natural" and "plan" not in fit.calls and fit.status == "ok"
