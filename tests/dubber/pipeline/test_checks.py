"""A line's own fitting choices (borrow the gap, the bounded stretch) and its timing checks, on a generated
video with a tone engine whose natural lengths are measured first."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from dubber.audio import media
from dubber.fitting.fitter import STATUS_OK, STATUS_TOO_LONG, FitPolicy, fit_to_slot
from dubber.fitting.report import LineReport
from dubber.fitting.slots import GUARD_MS, SYNC_CUE, SYNC_FILL, Slot
from dubber.pipeline.checks import (
    BORROW,
    CANNOT_FIT,
    NOT_SPOKEN,
    OVERLAPS,
    PAST_END,
    RUNS_PAST_END,
    SHORTEN,
    STRETCH,
    cannot_fit_hint,
    line_checks,
    timeline_marks,
)
from dubber.pipeline.dub import DubOptions
from dubber.pipeline.session import OK, STALE, UNFITTABLE, Session
from dubber.plugin import registry
from dubber.plugin.engine import SynthesisRequest
from dubber.project.edits import add_take, change_line
from dubber.project.store import LineEntry, Project, load_project, save_project
from dubber.subtitles.cue import SKIP_PAST_END, SKIP_SOUND
from tests.conftest import ToneEngine

RATE = 48000
VIDEO_MS = 9000
TEXT = "we need to leave before the storm comes over the hills"


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    n = VIDEO_MS * RATE // 1000
    hum = (0.02 * np.sin(2 * np.pi * 110 * np.arange(n) / RATE)).astype(np.float32)
    return media.make_test_video(tmp_path_factory.mktemp("video") / "clip.mp4", VIDEO_MS, hum, RATE)


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> ToneEngine:
    engine = ToneEngine()
    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: engine)
    return engine


def natural_ms(engine: ToneEngine, text: str = TEXT) -> int:
    return fit_to_slot(engine, SynthesisRequest(text, "en"), Slot(0, 60_000, None)).natural_ms


def session_of(tmp_path: Path, video: Path, lines: list[LineEntry], sync: str = SYNC_CUE) -> Session:
    path = tmp_path / "clip.dubber.json"
    project = Project(str(video), str(tmp_path / "clip.srt"), "en", lines=lines, sync=sync)
    save_project(project, path)
    return Session(project, path, DubOptions(sync=sync))


def dub(session: Session, position: int) -> None:
    session.apply(add_take(session.project, position, session.render(session.project.lines[position])))


def squeezed(tmp_path: Path, video: Path, engine: ToneEngine, ratio: float, gap_ms: int = 1500,
             text: str = TEXT) -> Session:
    """Line 1 a cue `ratio` times too short for its words, line 2 `gap_ms` after it; line 1 dubbed."""
    window = round(natural_ms(engine, text) / ratio)
    start = 500
    lines = [LineEntry(1, start, start + window, text, "A"),
             LineEntry(2, start + window + gap_ms, start + window + gap_ms + 800, "go", "A")]
    session = session_of(tmp_path, video, lines)
    dub(session, 0)
    return session


def test_a_line_that_cannot_fit_says_its_numbers_and_what_helps(tmp_path, video, engine):
    session = squeezed(tmp_path, video, engine, 1.4)
    line = session.project.lines[0]
    assert line.take.status == STATUS_TOO_LONG and session.status(line) == UNFITTABLE
    checks = line_checks(session, line)
    [problem] = checks.problems
    assert problem.kind == CANNOT_FIT
    need, has, ratio = re.search(r"needs (\d+\.\d) s, has (\d+\.\d) s: (\d\.\d\d)× too fast", problem.words).groups()
    assert float(ratio) == pytest.approx(1.4, abs=0.02)
    assert float(need) == pytest.approx(line.take.natural_ms / 1000, abs=0.06)
    assert float(has) == pytest.approx(line.duration_ms / 1000, abs=0.06)
    assert "fastest allowed is ×1.25" in problem.words
    assert problem.start_ms == line.end_ms and problem.end_ms > line.end_ms  # where it runs over, on the timeline
    borrow = checks.fix(BORROW)
    assert borrow is not None and borrow.gap_ms == 1500 - GUARD_MS and "then it fits" in borrow.words
    assert borrow.label == f"Borrow the gap (+{1500 - GUARD_MS} ms)"
    stretch = checks.fix(STRETCH)
    assert stretch is not None and "allowed up to ×1.56" in stretch.words  # ×1.25 by rate, then ×1.25 of WSOLA


def test_borrowing_the_gap_is_one_undoable_edit_that_fits_the_line(tmp_path, video, engine):
    session = squeezed(tmp_path, video, engine, 1.4)
    old = session.project.lines[0]
    narrow = session.slots()[1]
    edit = change_line(session.project, 0, "Borrow the gap after line 1", borrow_gap=True)
    session.apply(edit)
    line = session.project.lines[0]
    assert session.slots()[1].end_ms == session.project.lines[1].start_ms - GUARD_MS > narrow.end_ms
    assert session.status(line) == STALE  # its take was made without the gap
    take = session.render(line)
    assert take.status == STATUS_OK and take.borrow_gap and take.speech_ms > narrow.window_ms
    added = add_take(session.project, 0, take)
    session.apply(added)
    assert session.status(session.project.lines[0]) == OK
    assert not line_checks(session, session.project.lines[0]).problems
    assert load_project(session.path).lines[0].borrow_gap  # saved
    session.revert(added)
    session.revert(edit)
    assert session.project.lines[0].take == old.take and not session.project.lines[0].borrow_gap
    assert session.status(session.project.lines[0]) == UNFITTABLE and session.slots()[1] == narrow


def test_the_bounded_stretch_fits_a_line_the_rate_cannot(tmp_path, video, engine):
    session = squeezed(tmp_path, video, engine, 1.4, gap_ms=GUARD_MS)  # no gap to borrow
    checks = line_checks(session, session.project.lines[0])
    assert checks.fix(BORROW) is None and checks.fix(STRETCH) is not None
    session.apply(change_line(session.project, 0, "Allow the bounded stretch", allow_stretch=True))
    assert session.status(session.project.lines[0]) == STALE
    take = session.render(session.project.lines[0])
    assert take.status == STATUS_OK and "+stretch" in take.method and take.allow_stretch
    assert take.heard_rate == pytest.approx(1.4, abs=0.05)
    session.apply(add_take(session.project, 0, take))
    assert session.status(session.project.lines[0]) == OK


def test_past_the_bound_only_shortening_helps_and_it_says_how_much_more(tmp_path, video, engine):
    text = "Well, you know, I really think that we we should just go now, before it gets dark."
    session = squeezed(tmp_path, video, engine, 2.2, gap_ms=GUARD_MS, text=text)
    checks = line_checks(session, session.project.lines[0])
    assert [f.kind for f in checks.fixes] == [SHORTEN]  # beyond ×1.56 no stretch helps; no gap to borrow
    shorten = checks.fix(SHORTEN)
    assert shorten.proposal == "I think that we should go now, before it gets dark."
    assert "cuts 6 words" in shorten.words and "cut about 2 more words" in shorten.words
    # With the gap, borrowing is offered; the stretch only with the gap borrowed too.
    session = squeezed(tmp_path / "b", video, engine, 1.9, gap_ms=1500)
    checks = line_checks(session, session.project.lines[0])
    assert checks.fix(BORROW) is not None and "with the gap borrowed too" in checks.fix(STRETCH).words


def test_a_fill_line_borrows_only_what_it_needs(tmp_path, video, engine):
    nat = natural_ms(engine)
    lines = [LineEntry(1, 500, 500 + round(nat / 1.5), TEXT, "A"), LineEntry(2, 500 + nat + 1000, 8000, "go", "A")]
    session = session_of(tmp_path, video, lines, SYNC_FILL)
    dub(session, 0)
    assert session.status(session.project.lines[0]) == UNFITTABLE
    assert line_checks(session, session.project.lines[0]).fix(BORROW).gap_ms == nat + 1000 - round(nat / 1.5) - GUARD_MS
    session.apply(change_line(session.project, 0, "Borrow", borrow_gap=True))
    dub(session, 0)
    take = session.project.lines[0].take
    assert session.status(session.project.lines[0]) == OK and 0 < take.borrowed_ms <= nat - round(nat / 1.5) + 50


def test_lines_past_the_end_not_spoken_and_overlapping_are_said(tmp_path, video, engine):
    lines = [LineEntry(1, 1000, 3000, "first words here", "A"), LineEntry(2, 2000, 4000, "second words", "B"),
             LineEntry(3, 5000, 5500, "[door slams]", "", skip=SKIP_SOUND, skip_reason="a sound description"),
             LineEntry(4, 8500, 9800, "the last one", "A"),
             LineEntry(5, 9500, 10500, "too late", "A", skip=SKIP_PAST_END,
                       skip_reason="starts at 0:09.500, after the video ends at 0:09.000")]
    session = session_of(tmp_path, video, lines, SYNC_FILL)
    by_line = {line.index: line_checks(session, line) for line in session.project.lines}
    [overlap] = by_line[1].problems
    assert overlap.kind == OVERLAPS and "line 2's speech by 1000 ms" in overlap.words
    assert (overlap.start_ms, overlap.end_ms) == (2000, 3000)
    assert by_line[3].problems[0].kind == NOT_SPOKEN and "a sound description" in by_line[3].problems[0].words
    [runs] = by_line[4].problems
    assert runs.kind == RUNS_PAST_END and "runs 0.8 s past the video's end" in runs.words
    assert (runs.start_ms, runs.end_ms) == (VIDEO_MS, 9800)
    assert by_line[5].problems[0].kind == PAST_END and "after the video ends" in by_line[5].problems[0].words
    assert not by_line[5].fixes
    marks = timeline_marks(session)
    assert [index for index, _ in marks] == [1, 2, 3, 4, 5]
    assert [m.start_ms for _, m in marks] == sorted(m.start_ms for _, m in marks)


def test_a_take_made_with_a_choice_the_line_no_longer_has_is_stale(tmp_path, video, engine):
    session = squeezed(tmp_path, video, engine, 1.1)
    line = session.project.lines[0]
    assert session.status(line) == OK
    session.apply(change_line(session.project, 0, "Allow", allow_stretch=True))
    assert session.status(session.project.lines[0]) == OK  # in sync already: more room changes nothing
    dub(session, 0)
    session.apply(change_line(session.project, 0, "Disallow", allow_stretch=False))
    assert session.status(session.project.lines[0]) == STALE


def test_a_line_policy_adds_to_the_dubs():
    policy = FitPolicy(borrow_gap=True).for_line(allow_stretch=True)
    assert policy.borrow_gap and policy.allow_stretch and policy.stretch_ratio == 1.6
    assert policy.fastest(1.45) == 1.6 and policy.fastest(1.25) == pytest.approx(1.5625)
    assert policy.slowest(0.7) == pytest.approx(0.625) and policy.slowest(0.8) == pytest.approx(0.64)
    plain = FitPolicy()
    assert plain.for_line() == plain and plain.fastest(1.45) == 1.45 and plain.slowest(0.7) == 0.7


def report_line(index: int, onset: int, room: int, natural: int, status: str = STATUS_TOO_LONG, method: str = "rate",
                text: str = "one two three four five") -> LineReport:
    return LineReport(index, onset, onset + room, "A", text, "tone", "a", 0, None, natural_ms=natural, method=method,
                      status=status, sync="cue", onset_ms=onset, window_end_ms=onset + room)


def test_the_dub_summary_says_what_borrowing_would_fit_and_what_the_panel_offers():
    lines = [report_line(1, 1000, 1000, 1700),  # ×1.7, 1460 ms of silence after it: borrowing fits it at ×1.16
             report_line(2, 3500, 1000, 1550, method="native"),  # ×1.55, no gap: natively ×1.45, stretched ×1.6
             report_line(3, 4540, 1000, 2500, text="Well, you know, I really think we should go."),  # ×2.5: cut
             report_line(4, 6000, 1000, 2500),  # ×2.5 with nothing to cut: no help offered
             report_line(5, 8000, 1000, 900, status=STATUS_OK)]
    assert cannot_fit_hint(lines, FitPolicy(), "en") == (
        "4 lines cannot fit their windows; --borrow-gap would fit 1 of them; the panel's timing checks offer the "
        "bounded stretch for 1 and a shorter text for 1")
    assert "--borrow-gap" not in cannot_fit_hint(lines, FitPolicy(borrow_gap=True), "en")  # borrowing already
    assert cannot_fit_hint(lines[4:], FitPolicy(), "en") == ""
