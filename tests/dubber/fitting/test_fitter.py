import numpy as np
import pytest

from dubber.errors import OverBudget, SynthesisError
from dubber.fitting.fitter import (
    STATUS_OK,
    STATUS_TOO_LONG,
    STATUS_TOO_SHORT,
    FitPolicy,
    compressible,
    fit_line,
    fit_to_slot,
)
from dubber.fitting.slots import Slot
from dubber.plugin.engine import SynthesisRequest, Take

TEXT = "the quick brown fox jumps over the lazy dog"


def natural_ms(engine) -> int:
    return fit_line(engine, SynthesisRequest(TEXT, "en"), 1000, policy=FitPolicy(max_ratio=99, min_ratio=0)).natural_ms


@pytest.mark.parametrize("factor", [0.82, 0.9, 1.0, 1.1, 1.2])
def test_fittable_lines_land_within_tolerance(tone_engine, factor):
    target = round(natural_ms(tone_engine) / factor)
    fit = fit_line(tone_engine, SynthesisRequest(TEXT, "en"), target)
    assert fit.status == STATUS_OK
    assert abs(fit.error_ms) <= 20, (fit.method, fit.attempts)
    assert 1 / 1.25 <= fit.stretch <= 1.25


def test_natural_take_is_kept_when_it_already_fits(tone_engine):
    nat = natural_ms(tone_engine)
    fit = fit_line(tone_engine, SynthesisRequest(TEXT, "en"), nat + 5)
    assert fit.method == "natural" and fit.rate == 1.0 and fit.stretch == 1.0


def test_rate_search_is_used_before_stretching(tone_engine):
    nat = natural_ms(tone_engine)
    fit = fit_line(tone_engine, SynthesisRequest(TEXT, "en"), round(nat / 1.15))
    assert fit.method.startswith("rate") and fit.rate > 1.05


def test_too_long_is_never_squeezed(tone_engine):
    nat = natural_ms(tone_engine)
    fit = fit_line(tone_engine, SynthesisRequest(TEXT, "en"), round(nat / 1.6))
    assert fit.status == STATUS_TOO_LONG
    assert fit.rate == pytest.approx(1.25, abs=1e-3) and fit.stretch == 1.0
    assert fit.needed_rate == pytest.approx(1.6, rel=0.02)
    assert fit.speech_ms > fit.target_ms + 50


def test_too_short_is_marked(tone_engine):
    nat = natural_ms(tone_engine)
    fit = fit_line(tone_engine, SynthesisRequest(TEXT, "en"), round(nat / 0.6))
    assert fit.status == STATUS_TOO_SHORT and fit.rate == pytest.approx(0.8, abs=1e-3)


def test_borrowing_the_gap_fits_a_long_line(tone_engine):
    nat = natural_ms(tone_engine)
    target = round(nat / 1.6)
    fit = fit_line(tone_engine, SynthesisRequest(TEXT, "en"), target, policy=FitPolicy(borrow_gap=True),
                   max_slot_ms=nat + 500)
    assert fit.status == STATUS_OK and fit.borrowed_ms > 0 and "borrow" in fit.method
    assert fit.target_ms == target + fit.borrowed_ms and abs(fit.error_ms) <= 20


def test_borrowing_is_bounded_by_the_next_cue(tone_engine):
    nat = natural_ms(tone_engine)
    target = round(nat / 2)
    fit = fit_line(tone_engine, SynthesisRequest(TEXT, "en"), target, policy=FitPolicy(borrow_gap=True),
                   max_slot_ms=target + 100)
    assert fit.status == STATUS_TOO_LONG and fit.borrowed_ms == 100


def test_a_line_far_beyond_its_slot_is_refused_before_any_synthesis(tone_engine, frame_engine):
    text = "go " * 100  # about 11 s at the text's pace; 24 s as the tone engine speaks it
    with pytest.raises(OverBudget, match="spoken naturally") as caught:
        fit_line(tone_engine, SynthesisRequest(text, "en"), 2000)
    assert caught.value.limit == "speech" and caught.value.max_ratio == compressible(tone_engine, FitPolicy()) == 1.25
    with pytest.raises(OverBudget, match=r"×1\.45"):
        fit_to_slot(frame_engine, SynthesisRequest(text, "en"), Slot(0, 1500, None))
    assert tone_engine.calls == frame_engine.calls == 0
    # The widest slot the line may take is judged: with the gap it may borrow, it is spoken (too long).
    fit = fit_line(tone_engine, SynthesisRequest(text, "en"), 2000, policy=FitPolicy(borrow_gap=True),
                   max_slot_ms=12_000)
    assert fit.status == STATUS_TOO_LONG and tone_engine.calls > 0


def test_engine_calls_are_bounded(tone_engine):
    fit_line(tone_engine, SynthesisRequest(TEXT, "en"), round(natural_ms(tone_engine) / 1.2))
    assert tone_engine.calls <= 1 + 1 + FitPolicy().max_rate_steps


def test_silence_from_the_engine_is_an_error(tone_engine):
    import numpy as np

    tone_engine.synthesize = lambda *a, **k: Take(np.zeros(24000, np.float32), 24000, "")
    with pytest.raises(SynthesisError, match="silence"):
        fit_line(tone_engine, SynthesisRequest(TEXT, "en"), 1000)


def test_nan_from_the_engine_is_an_error(tone_engine):
    import numpy as np

    tone_engine.synthesize = lambda *a, **k: Take(np.full(24000, np.nan, np.float32), 24000, "")
    with pytest.raises(SynthesisError, match="NaN"):
        fit_line(tone_engine, SynthesisRequest(TEXT, "en"), 1000)


def test_same_seed_same_samples(tone_engine):
    a = fit_line(tone_engine, SynthesisRequest(TEXT, "en", seed=3), 2500)
    b = fit_line(tone_engine, SynthesisRequest(TEXT, "en", seed=3), 2500)
    assert (a.samples == b.samples).all()


@pytest.mark.parametrize("ratio", [0.8, 1.25])
def test_the_fittable_range_is_inclusive_despite_ms_rounding(tone_engine, ratio):
    nat = natural_ms(tone_engine)
    fit = fit_line(tone_engine, SynthesisRequest(TEXT, "en"), round(nat / ratio))
    assert fit.status == STATUS_OK and abs(fit.error_ms) <= 20


# --- native duration control (an engine that renders the per-token frames it is given) ---


@pytest.mark.parametrize("factor", [0.7, 0.75, 0.85, 1.0, 1.15, 1.33, 1.4])
def test_native_budget_lands_across_the_wide_range(frame_engine, factor):
    nat = natural_ms(frame_engine)
    fit = fit_line(frame_engine, SynthesisRequest(TEXT, "en"), round(nat * factor))
    assert fit.status == STATUS_OK and abs(fit.error_ms) <= 20, (fit.method, fit.attempts)
    assert fit.stretch == 1.0 or abs(fit.stretch - 1) <= 0.05
    if factor != 1.0:
        assert fit.method.startswith("native"), fit.method


def test_native_budget_needs_few_engine_calls(frame_engine):
    nat = natural_ms(frame_engine)
    frame_engine.calls = 0
    fit_line(frame_engine, SynthesisRequest(TEXT, "en"), round(nat * 1.2))
    assert frame_engine.calls <= 1 + FitPolicy().max_native_steps


def test_pause_step_reaches_what_phonemes_cannot(frame_engine):
    text = "ttt ttt"  # stops barely compress; only the pause between the words can give way
    nat = fit_line(frame_engine, SynthesisRequest(text, "en"), 1000,
                   policy=FitPolicy(native_max_ratio=99, native_min_ratio=0)).natural_ms
    fit = fit_line(frame_engine, SynthesisRequest(text, "en"), round(nat * 0.7))
    assert fit.status == STATUS_OK and fit.method.startswith("native+pauses"), (fit.method, fit.attempts)


def test_native_too_long_reports_the_needed_rate(frame_engine):
    nat = natural_ms(frame_engine)
    fit = fit_line(frame_engine, SynthesisRequest(TEXT, "en"), round(nat / 2))
    assert fit.status == STATUS_TOO_LONG and fit.needed_rate == pytest.approx(2, rel=0.02)
    assert fit.stretch == 1.0


def test_reroll_varies_the_rhythm_deterministically(frame_engine):
    nat = natural_ms(frame_engine)
    a = fit_line(frame_engine, SynthesisRequest(TEXT, "en", seed=5), round(nat * 1.1))
    b = fit_line(frame_engine, SynthesisRequest(TEXT, "en", seed=5), round(nat * 1.1))
    c = fit_line(frame_engine, SynthesisRequest(TEXT, "en", seed=6), round(nat * 1.1))
    assert np.array_equal(a.samples, b.samples)
    assert not np.array_equal(a.take.durations, c.take.durations)
    assert abs(c.error_ms) <= 20


def test_native_can_be_turned_off(frame_engine):
    nat = natural_ms(frame_engine)
    fit = fit_line(frame_engine, SynthesisRequest(TEXT, "en"), round(nat * 1.1), policy=FitPolicy(allow_native=False))
    assert fit.method.startswith("rate")


@pytest.mark.parametrize("engine_name", ["piper", "kokoro"])
def test_real_engines_fit_natively_and_deterministically(engine_name):
    from dubber.plugin.registry import get_engine

    engine = get_engine(engine_name)
    text = "Thank you for coming to the meeting today."
    nat = fit_line(engine, SynthesisRequest(text, "en"), 1000,
                   policy=FitPolicy(native_min_ratio=0, native_max_ratio=99)).natural_ms
    target = round(nat * 1.2)
    a = fit_line(engine, SynthesisRequest(text, "en", seed=3), target)
    b = fit_line(engine, SynthesisRequest(text, "en", seed=3), target)
    c = fit_line(engine, SynthesisRequest(text, "en", seed=4), target)
    assert a.method.startswith("native") and a.status == STATUS_OK and abs(a.error_ms) <= 20
    assert np.array_equal(a.samples, b.samples)
    assert not np.array_equal(a.take.durations, c.take.durations) and abs(c.error_ms) <= 20


# -- timed to a slot on the timeline (dubber.fitting.slots) ----------------------------------------------


def natural_frames_ms(engine) -> int:
    return fit_to_slot(engine, SynthesisRequest(TEXT, "en"), Slot(0, 60_000, None)).natural_ms


def test_a_line_with_room_is_spoken_at_its_natural_length_in_one_call(frame_engine):
    nat = natural_frames_ms(frame_engine)
    frame_engine.calls = 0
    fit = fit_to_slot(frame_engine, SynthesisRequest(TEXT, "en"), Slot(0, 2 * nat, None))
    assert fit.method == "natural" and fit.status == STATUS_OK and fit.speech_ms == nat and frame_engine.calls == 1


def test_a_line_shorter_than_the_original_slows_natively_but_only_to_085(frame_engine):
    nat = natural_frames_ms(frame_engine)
    near = fit_to_slot(frame_engine, SynthesisRequest(TEXT, "en"), Slot(0, 3 * nat, round(nat * 1.1)))
    assert near.method.startswith("native") and abs(near.speech_ms - round(nat * 1.1)) <= 13
    far = fit_to_slot(frame_engine, SynthesisRequest(TEXT, "en"), Slot(0, 3 * nat, 2 * nat))
    assert abs(far.speech_ms - nat / 0.85) <= 13 and far.stretch == pytest.approx(1.0, abs=0.02)
    assert far.status == STATUS_OK and "shorter than the original speech" in far.reason


def test_a_line_longer_than_the_original_keeps_its_rate_while_its_window_allows(frame_engine):
    nat = natural_frames_ms(frame_engine)
    fit = fit_to_slot(frame_engine, SynthesisRequest(TEXT, "en"), Slot(0, nat + 300, round(nat * 0.7)))
    assert fit.method == "natural" and fit.status == STATUS_OK


def test_a_line_speeds_up_only_as_far_as_its_window_needs(frame_engine, tone_engine):
    nat = natural_frames_ms(frame_engine)
    fit = fit_to_slot(frame_engine, SynthesisRequest(TEXT, "en"), Slot(1000, 1000 + round(nat / 1.3), None))
    assert fit.status == STATUS_OK and round(nat / 1.3) - 40 <= fit.speech_ms <= round(nat / 1.3) + 13
    nat = natural_frames_ms(tone_engine)
    fit = fit_to_slot(tone_engine, SynthesisRequest(TEXT, "en"), Slot(0, round(nat / 1.15), None))
    assert fit.status == STATUS_OK and fit.method.startswith("rate")


def test_a_line_that_cannot_fit_its_window_is_too_long_as_measured(frame_engine):
    nat = natural_frames_ms(frame_engine)
    fit = fit_to_slot(frame_engine, SynthesisRequest(TEXT, "en"), Slot(0, round(nat / 1.8), None))
    assert fit.status == STATUS_TOO_LONG and "past its window" in fit.reason and "needs rate ×1.8" in fit.reason
    assert abs(fit.speech_ms - nat / 1.45) <= 13  # spoken at the fastest allowed rate, never squeezed further


def test_a_stretch_only_engine_is_never_slowed_toward_the_original(tone_engine, monkeypatch):
    from dubber.plugin.engine import Capabilities

    monkeypatch.setattr(type(tone_engine), "capabilities",
                        Capabilities(languages=("en",), sample_rate=24000, voices=("a", "b"),
                                     default_voice={"en": "a"}, duration_control="stretch"))
    nat = natural_frames_ms(tone_engine)
    fit = fit_to_slot(tone_engine, SynthesisRequest(TEXT, "en"), Slot(0, 3 * nat, 2 * nat))
    assert fit.method == "natural" and fit.stretch == 1.0


def test_a_fill_status_is_what_the_clip_measures_not_the_predicted_ratio(tone_engine, frame_engine):
    nat = natural_frames_ms(frame_engine)
    # Just outside the native range: rendered at the bound, which lands within the acceptance window.
    fit = fit_line(frame_engine, SynthesisRequest(TEXT, "en"), round(nat / 0.695))
    assert abs(fit.error_ms) <= 50 and fit.status == STATUS_OK and fit.reason == ""
    nat = natural_ms(tone_engine)
    fit = fit_to_slot(tone_engine, SynthesisRequest(TEXT, "en"), Slot(0, round(nat / 0.6), round(nat / 0.6), fill=True))
    assert fit.status == STATUS_TOO_SHORT and "needs rate" in fit.reason


# -- the bounded stretch (step 6), a line's own choice ---------------------------------------------------

STRETCHED = FitPolicy().for_line(allow_stretch=True)


def test_the_bounded_stretch_takes_a_line_past_the_native_rung(frame_engine):
    nat = natural_frames_ms(frame_engine)
    slot = Slot(0, round(nat / 1.55), None)
    plain = fit_to_slot(frame_engine, SynthesisRequest(TEXT, "en"), slot)
    assert plain.status == STATUS_TOO_LONG and plain.stretch == 1.0
    fit = fit_to_slot(frame_engine, SynthesisRequest(TEXT, "en"), slot, STRETCHED)
    assert fit.status == STATUS_OK and fit.method.startswith("native") and fit.method.endswith("+stretch")
    assert fit.heard_rate == pytest.approx(1.55, abs=0.04) and 1 / 1.25 <= fit.stretch < 1


def test_the_bounded_stretch_stops_at_its_bound(frame_engine):
    nat = natural_frames_ms(frame_engine)
    fit = fit_to_slot(frame_engine, SynthesisRequest(TEXT, "en"), Slot(0, round(nat / 1.9), None), STRETCHED)
    assert fit.status == STATUS_TOO_LONG and "allowed up to ×1.60" in fit.reason
    assert fit.heard_rate == pytest.approx(1.6, abs=0.04)  # as far as it may go, never further


@pytest.mark.parametrize(("ratio", "status"), [(1.5, STATUS_TOO_LONG), (0.66, STATUS_TOO_SHORT)])
def test_filling_a_cue_the_bounded_stretch_reaches_past_the_rate(tone_engine, ratio, status):
    nat = natural_ms(tone_engine)
    plain = fit_line(tone_engine, SynthesisRequest(TEXT, "en"), round(nat / ratio))
    assert plain.status == status
    fit = fit_line(tone_engine, SynthesisRequest(TEXT, "en"), round(nat / ratio), STRETCHED)
    assert fit.status == STATUS_OK and fit.method.endswith("+stretch") and abs(fit.error_ms) <= 50
    assert fit.rate == pytest.approx(1.25 if ratio > 1 else 0.8, abs=1e-3)  # the rung, then the stretch


def test_the_bounded_stretch_widens_what_is_refused_before_synthesis(tone_engine, frame_engine):
    assert compressible(tone_engine, STRETCHED) == pytest.approx(1.5625)
    assert compressible(frame_engine, STRETCHED) == pytest.approx(1.6)
    assert compressible(frame_engine, FitPolicy()) == pytest.approx(1.45)


def test_piper_takes_the_bounded_stretch_only_when_the_line_allows_it():
    from dubber.plugin.registry import get_engine

    engine = get_engine("piper")
    text = "We have to leave before the storm comes over the hills."
    nat = fit_to_slot(engine, SynthesisRequest(text, "en"), Slot(0, 60_000, None)).natural_ms
    slot = Slot(0, round(nat / 1.55), None)
    plain = fit_to_slot(engine, SynthesisRequest(text, "en"), slot)
    assert plain.status == STATUS_TOO_LONG and plain.method.startswith("native") and plain.stretch == 1.0
    fit = fit_to_slot(engine, SynthesisRequest(text, "en"), slot, STRETCHED)
    assert fit.status == STATUS_OK and fit.method.endswith("+stretch") and fit.speech_ms <= slot.window_ms + 25
    assert 1.45 <= fit.heard_rate <= 1.6
