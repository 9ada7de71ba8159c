"""The snapping rules and the drag arithmetic, without Qt."""

from __future__ import annotations

import pytest

from dubber.ui.timeline_snap import (
    CUE, FRAME, MIN_LENGTH_MS, PLAYHEAD, SPEECH, Candidate, Drag, frame_candidates, snap, snap_span,
)


def test_the_nearest_candidate_within_tolerance_wins():
    candidates = [Candidate(1000, CUE), Candidate(1030, SPEECH), Candidate(980, PLAYHEAD)]
    assert snap(1012, candidates, 50) == (1000, candidates[0])
    assert snap(1022, candidates, 50) == (1030, candidates[1])
    assert snap(1200, candidates, 50) == (1200, None)
    assert snap(1051, [Candidate(1000, SPEECH)], 50) == (1051, None)
    assert snap(1050, [Candidate(1000, SPEECH)], 50)[0] == 1000  # the tolerance is inclusive


def test_ties_prefer_speech_then_the_playhead_then_cues():
    speech, playhead, cue = Candidate(990, SPEECH), Candidate(1010, PLAYHEAD), Candidate(1010, CUE)
    assert snap(1000, [cue, playhead, speech], 20)[1] == speech
    assert snap(1000, [cue, playhead], 20)[1] == playhead


def test_frames_are_the_fallback_when_nothing_else_is_in_reach():
    frames = frame_candidates(1000, 25.0, 50)
    assert [c.ms for c in frames] == [960, 1000, 1040]
    assert all(c.kind == FRAME for c in frames)
    near_speech = [Candidate(1030, SPEECH), *frame_candidates(1012, 25.0, 50)]
    assert snap(1012, near_speech, 50) == (1030, near_speech[0])  # a frame is nearer, speech still wins
    assert snap(1012, frame_candidates(1012, 25.0, 50), 50)[0] == 1000
    assert [c.ms for c in frame_candidates(1000, 23.976, 45)] == [959, 1001, 1043]  # rounded frame times
    assert frame_candidates(10, 25.0, 50)[0].ms == 0  # none before 0
    assert frame_candidates(1000, 0, 50) == []


def test_a_span_snaps_by_whichever_edge_lies_nearer_and_keeps_its_length():
    candidates = [Candidate(2000, SPEECH), Candidate(3515, CUE)]
    assert snap_span(1990, 3500, candidates, 20) == (2000, 3510, candidates[0])  # the start is 10 ms off, the end 15
    nearer_end = [Candidate(2000, SPEECH), Candidate(3507, CUE)]
    assert snap_span(1990, 3500, nearer_end, 20) == (1997, 3507, nearer_end[1])  # nearest wins, whatever its kind
    tie = [Candidate(3510, CUE), Candidate(1980, SPEECH)]
    assert snap_span(1990, 3500, tie, 20) == (1980, 3490, tie[1])  # 10 ms each: speech wins
    assert snap_span(1500, 2500, candidates, 20) == (1500, 2500, None)


@pytest.mark.parametrize("part,pointer,expected", [
    ("end", 2100, (1000, 2600)),
    ("end", 500, (1000, 1000 + MIN_LENGTH_MS)),  # never across the start
    ("start", 1400, (900, 2000)),
    ("start", 2500, (2000 - MIN_LENGTH_MS, 2000)),  # never across the end
    ("start", -4000, (0, 2000)),
    ("body", 1700, (1200, 2200)),
    ("body", -3000, (0, 1000)),
])
def test_a_drag_moves_its_part_and_never_crosses_or_goes_below_zero(part, pointer, expected):
    drag = Drag(7, part, 1000, 2000, anchor_ms=1500)
    start, end, hit = drag.moved(pointer, [], 0)
    assert (start, end) == expected and hit is None


def test_a_dragged_edge_snaps_unless_it_would_cross():
    drag = Drag(7, "start", 1000, 2000, anchor_ms=1000)
    speech = Candidate(1205, SPEECH)
    assert drag.moved(1190, [speech], 30) == (1205, 2000, speech)
    assert drag.moved(1190, [speech], 0) == (1190, 2000, None)  # no tolerance: unsnapped
    too_late = Candidate(1950, SPEECH)
    assert drag.moved(1940, [too_late], 30) == (2000 - MIN_LENGTH_MS, 2000, None)
