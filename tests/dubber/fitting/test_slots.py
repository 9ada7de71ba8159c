"""Slots on the timeline and the one rule that judges a rendered line."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from dubber.fitting.slots import (
    GUARD_MS,
    Slot,
    judge,
    judge_take,
    next_onsets,
    overlap_pairs,
    overlapping,
    plan_slots,
    with_overlap,
)


@dataclass
class Line:
    index: int
    start_ms: int
    end_ms: int
    target_start_ms: int | None = None
    target_end_ms: int | None = None


def test_speech_lines_start_on_the_original_speech_and_end_by_the_next_onset():
    lines = [Line(1, 1000, 4500, 1200, 2500), Line(2, 3900, 6000, 4100, 5000), Line(3, 7000, 8000)]
    slots = plan_slots(lines, "speech", video_end_ms=7600)
    assert slots[1] == Slot(1200, 4100 - GUARD_MS, 1300)  # the cue is held on, but line 2 speaks at 4100
    assert slots[2] == Slot(4100, 6000, 900)
    assert slots[3] == Slot(7000, 7600, None)  # no original speech: at its cue, natural length; the video ends


def test_speech_running_past_the_cue_widens_the_window():
    slots = plan_slots([Line(1, 1000, 1220, 1050, 1900), Line(2, 3000, 4000, 3000, 3500)], "speech")
    assert slots[1] == Slot(1050, 1900, 850)


def test_borrowing_runs_to_the_next_line_and_fill_keeps_the_cue():
    lines = [Line(1, 1000, 2000, 1100, 1700), Line(2, 3000, 4000, 3100, 3800)]
    assert plan_slots(lines, "speech", borrow_gap=True)[1].end_ms == 3100 - GUARD_MS
    assert plan_slots(lines, "cue")[1] == Slot(1000, 2000, None)
    assert plan_slots(lines, "fill")[1] == Slot(1000, 2000, 1000, fill=True)
    assert plan_slots(lines, "fill", borrow_gap=True)[1].end_ms == 3000 - GUARD_MS


def test_lines_said_at_the_same_moment_do_not_bound_each_other():
    slots = plan_slots([Line(1, 1000, 2000), Line(2, 1000, 2000), Line(3, 2500, 3000)], "cue")
    assert slots[1].end_ms == slots[2].end_ms == 2000


def test_a_line_ending_inside_its_window_is_in_sync_with_a_note_when_shorter_than_the_original():
    slot = Slot(1000, 3000, 1500)
    verdict = judge((1000, 2100), slot, next_onset_ms=3040)
    assert verdict.status == "ok" and verdict.error_ms == 0 and verdict.reason == "400 ms shorter than the original speech"
    assert judge((1002, 2500), slot).reason == "" and judge((1002, 2500), slot).error_ms == 2


@pytest.mark.parametrize("speech, next_onset, status, reason", [
    ((1000, 3020), None, "ok", ""),  # within a frame's rounding of its window
    ((1000, 3100), None, "too_long", "runs 100 ms past its window"),
    ((1000, 3060), 3040, "too_long", "runs 20 ms into line 9's speech"),
    ((1080, 2000), None, "missed", "starts +80 ms off its onset"),
    (None, None, "failed", "no speech found"),
])
def test_the_rule(speech, next_onset, status, reason):
    verdict = judge(speech, Slot(1000, 3000, None), next_onset, next_index=9)
    assert verdict.status == status and reason in verdict.reason


def test_fill_wants_both_edges_on_the_cue():
    slot = Slot(1000, 2000, 1000, fill=True)
    assert judge((1010, 2040), slot).status == "ok"
    assert judge((1000, 2060), slot).status == "too_long"
    assert judge((1000, 1900), slot).status == "too_short"
    assert judge((1070, 2000), slot).status == "missed"
    assert judge((1000, 2200), slot.borrowing(200)).status == "ok"


def test_a_take_is_judged_where_it_will_lie():
    slot = Slot(500, 1500, 800)
    assert judge_take(900, slot).status == "ok"
    assert judge_take(1100, slot).status == "too_long"
    assert judge_take(None, slot).status == "failed"


def test_the_next_onset_is_the_first_strictly_later_one():
    assert next_onsets({1: 1000, 2: 1000, 3: 2500, 4: 4000}) == {1: (2500, 3), 2: (2500, 3), 3: (4000, 4), 4: None}


def test_lines_whose_speech_overlaps_are_found_in_pairs_each_naming_the_other():
    spans = {1: (1000, 2600), 2: (2400, 3500), 3: (3500, 4000), 4: (1200, 1500), 5: (6000, 7000)}
    assert overlap_pairs(spans) == [(1, 4, 300), (1, 2, 200)]  # touching (3 after 2) is not overlapping
    assert overlapping(spans) == {1: (4, 300), 4: (1, 300), 2: (1, 200)}


def test_an_overlapping_line_is_never_in_sync_whatever_it_is_alone():
    slot = Slot(1000, 3000, None)
    alone = judge((1000, 2500), slot)
    assert alone.status == "ok"
    verdict = with_overlap(alone, 8, 500)
    assert verdict.status == "overlap" and verdict.reason == "overlaps line 8's speech by 500 ms"
    assert verdict.overlap_ms == 500 and verdict.onset_error_ms == 0
    late = with_overlap(judge((1000, 3100), slot), 8, 40)  # its own fault stays in words
    assert late.status == "overlap" and late.reason.startswith("overlaps line 8's") and "past its window" in late.reason
    into = with_overlap(judge((1000, 3060), slot, 3040, next_index=8), 8, 20)  # said once, not twice
    assert into.reason == "overlaps line 8's speech by 20 ms"
    assert with_overlap(judge(None, slot), 8, 20).status == "failed"
