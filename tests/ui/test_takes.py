"""Takes in the panel: undoing a re-roll keeps its take, and lines whose speech overlaps are never green."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import Qt

from dubber.pipeline.session import OK, OVERLAP, STATUS_COLOURS, Session
from dubber.plugin import registry
from dubber.project.store import LineEntry
from dubber.ui.line_model import COL_ERROR, COL_STATUS, COL_TAKES
from dubber.ui.line_timing import strip_cues
from tests.conftest import ToneEngine
from tests.ui.opened import close, project_session, shown_window

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
GREEN = STATUS_COLOURS[OK]
WAIT_MS = 60_000


def lines() -> list[LineEntry]:
    """Three lines filling their cues, each near the tone engine's natural length."""
    return [
        LineEntry(1, 800, 2000, "alpha beta gamma delta echo", ""),
        LineEntry(2, 2100, 3300, "foxtrot golf hotel india", ""),
        LineEntry(3, 4000, 5200, "juliet kilo lima mike oscar", ""),
    ]


@pytest.fixture
def session(tmp_path) -> Session:
    """A project that fills each cue (subtitles made for dubbing), over a copy of the sample video."""
    return project_session(tmp_path, lines(), "fill")


@pytest.fixture
def engine(monkeypatch):
    tone = ToneEngine(ms_per_char=50, pause_ms=50)
    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: tone)
    return tone


@pytest.fixture
def window(qtbot, session, engine):
    win = shown_window(qtbot, session)
    yield win
    close(win)


def idle(qtbot, win):
    qtbot.waitUntil(lambda: not win.jobs.busy, timeout=WAIT_MS)


def colour(win, row, column):
    return win.model.index(row, column).data(Qt.ItemDataRole.ForegroundRole).color().name()


def reroll(qtbot, win, position):
    win.select_position(position)
    win.edits.reroll()
    idle(qtbot, win)


def test_undoing_a_reroll_keeps_its_take_in_the_list_and_redo_chooses_it(qtbot, window, session, engine):
    reroll(qtbot, window, 1)
    reroll(qtbot, window, 1)
    first, second = session.project.lines[1].takes
    assert session.project.lines[1].chosen == 1 and window.editor.takes_list.count() == 2
    qtbot.keyClick(window.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    line = session.project.lines[1]
    assert line.take == first and line.takes == [first, second]  # the new take stays in its history
    assert window.editor.takes_list.count() == 2 and window.editor.takes_list.currentRow() == 0
    assert window.model.index(1, COL_TAKES).data() == "2"
    calls = engine.calls
    window.undo.redo()  # chooses that same take again, nothing is rendered
    assert session.project.lines[1].take == second and engine.calls == calls
    window.undo.undo()
    window.undo.undo()  # the line's first dub, too: the line is not dubbed, its takes stay to pick from
    line = session.project.lines[1]
    assert line.take is None and line.takes == [first, second] and window.editor.takes_list.count() == 2
    window.edits.use_take(1)
    assert session.project.lines[1].take == second


def test_an_end_set_past_the_next_lines_start_flags_both_lines(qtbot, window, session):
    window.takes.dub_pending()
    idle(qtbot, window)
    assert [session.status(line) for line in session.project.lines] == [OK] * 3, window.message.last_message
    assert colour(window, 0, COL_STATUS) == colour(window, 1, COL_STATUS) == GREEN
    window.select_position(0)
    window.editor.end_box.setValue(session.project.lines[1].start_ms + 200)
    window.edits.apply_timing()  # accepted: an editor may overlap cues on purpose
    idle(qtbot, window)
    assert session.project.lines[0].end_ms == 2300 and session.project.lines[0].take.target_ms == 1500
    assert [session.status(line) for line in session.project.lines] == [OVERLAP, OVERLAP, OK]
    for row in (0, 1):
        assert colour(window, row, COL_STATUS) != GREEN and colour(window, row, COL_ERROR) != GREEN
        assert window.model.index(row, COL_STATUS).data() == "overlaps another line"
    assert session.overlap(session.project.lines[0]).startswith("overlaps line 2's speech by ")
    assert session.overlap(session.project.lines[1]).startswith("overlaps line 1's speech by ")
    assert colour(window, 2, COL_STATUS) == GREEN
    strip = {cue.index: cue for cue in strip_cues(session)}  # the strip says it too, not "failed or cannot fit"
    assert [strip[line.index].state for line in session.project.lines] == ["overlap", "overlap", "ok"]
    assert strip[session.project.lines[0].index].note.startswith("overlaps line 2's speech by ")
    window.undo.undo()
    assert [session.status(line) for line in session.project.lines] == [OK] * 3


def test_an_overlap_is_marked_on_the_timeline_where_it_lies_and_said_in_its_tooltip(qtbot, window, session):
    window.takes.dub_pending()
    idle(qtbot, window)
    window.select_position(0)
    window.editor.end_box.setValue(session.project.lines[1].start_ms + 200)
    window.edits.apply_timing()
    idle(qtbot, window)
    first, second = session.project.lines[:2]
    marks = [m for m in window.strip.marks(first.index) if m.kind == "overlap"]
    assert len(marks) == 1 and marks[0].words.startswith("Overlaps line 2's speech by ")
    assert [m.kind for m in window.strip.marks(second.index)] == ["overlap"]
    spans = session.spans()
    assert (marks[0].start_ms, marks[0].end_ms) == (spans[second.index][0], spans[first.index][1])  # where both speak
    strip = window.strip
    qtbot.waitUntil(lambda: strip.isVisible() and strip.width() > 500, timeout=5_000)
    strip.set_window(0, session.project.lines[2].end_ms)
    cue = next(c for c in strip.cues() if c.index == first.index)
    assert marks[0].words in strip.tooltip_at(strip.block_rect(cue).center())
    image, lane = strip.grab().toImage(), strip.speaker_lane(cue.speaker)
    x = round(strip.x_at((marks[0].start_ms + marks[0].end_ms) // 2))
    foot = [image.pixelColor(x + dx, lane.bottom() - 2) for dx in range(-3, 4)]
    assert any(c.red() > 150 and c.green() < 120 for c in foot), [c.name() for c in foot]  # the red band
    window.undo.undo()
    assert strip.marks(first.index) == () and strip.marks(second.index) == ()
