"""The timing checks in the panel: a line that cannot fit says why and offers what helps; borrowing the gap
is one undoable step that renders the line in sync, and shortening proposes a text to review."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QPoint, Qt

from dubber.fitting.fitter import fit_to_slot
from dubber.fitting.slots import GUARD_MS, Slot
from dubber.pipeline.session import OK, STALE, UNFITTABLE, Session
from dubber.plugin.engine import SynthesisRequest
from dubber.project.edits import add_take
from dubber.project.store import LineEntry
from dubber.subtitles.cue import SKIP_PAST_END
from dubber.ui.line_model import COL_STATUS
from dubber.ui.timing_checks import NO_PROBLEMS
from tests.ui.opened import close, project_session, shown_window
from tests.ui.test_panel_layout import scroll_area_of, shown_in_window, sized, text_fits
from tests.ui.test_takes import engine  # noqa: F401  (the tone engine, at a pace every line fits)

WAIT_MS = 60_000
TEXT = "Well, you know, we really need to leave before the storm comes over the hills."
GAP_MS = 1500


@pytest.fixture
def session(tmp_path, engine) -> Session:  # noqa: F811  (a fixture)
    """Line 1 a cue 1.4 times too short for its words, with silence after it; line 5 after the video's end."""
    natural = fit_to_slot(engine, SynthesisRequest(TEXT, "en"), Slot(0, 60_000, None)).natural_ms
    end = 800 + round(natural / 1.4)
    lines = [LineEntry(1, 800, end, TEXT, ""), LineEntry(2, end + GAP_MS, end + GAP_MS + 900, "Go now.", ""),
             LineEntry(5, 600_000, 601_000, "Too late.", "", skip=SKIP_PAST_END,
                       skip_reason="starts at 10:00.000, after the video ends")]
    session = project_session(tmp_path, lines, "cue")
    session.apply(add_take(session.project, 0, session.render(session.project.lines[0])))
    return session


@pytest.fixture
def window(qtbot, session):
    win = shown_window(qtbot, session)
    win.select_position(0)
    yield win
    close(win)


def shown(button) -> bool:
    return not button.isHidden()


def test_a_line_that_cannot_fit_shows_its_check_and_the_fixes_that_apply(window, session):
    box = window.editor.checks_box
    assert session.status(session.project.lines[0]) == UNFITTABLE
    assert box.words.text().startswith("Cannot fit: needs ") and "1.40× too fast" in box.words.text()
    assert box.borrow_button.text() == f"Borrow the gap (+{GAP_MS - GUARD_MS} ms)"
    assert shown(box.borrow_button) and shown(box.stretch_button) and shown(box.shorten_button)
    assert "then it fits" in box.borrow_button.toolTip()
    tip = window.model.index(0, COL_STATUS).data(Qt.ItemDataRole.ToolTipRole)
    assert "Cannot fit: needs " in tip and f"Borrow the gap (+{GAP_MS - GUARD_MS} ms)" in tip
    window.select_position(1)  # a line without problems shows none, and no button
    assert box.words.text() == NO_PROBLEMS and not any(shown(b) for b in box.buttons.values())


def test_borrowing_the_gap_is_one_undoable_step_that_puts_the_line_in_sync(qtbot, window, session):
    box = window.editor.checks_box
    steps = window.undo.count()
    qtbot.mouseClick(box.borrow_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=WAIT_MS)
    line = session.project.lines[0]
    assert window.undo.count() == steps + 1 and line.borrow_gap and line.take.borrow_gap
    assert session.status(line) == OK and line.take.speech_ms > line.duration_ms
    assert len(line.takes) == 2
    assert box.words.text() == NO_PROBLEMS and not shown(box.borrow_button)
    assert window.model.index(0, COL_STATUS).data() == "in sync"
    window.undo_action.trigger()  # Ctrl+Z
    line = session.project.lines[0]
    assert not line.borrow_gap and line.chosen == 0 and session.status(line) == UNFITTABLE
    assert shown(box.borrow_button) and "Cannot fit" in box.words.text()
    window.redo_action.trigger()  # the same take again, nothing rendered
    assert session.project.lines[0].borrow_gap and session.status(session.project.lines[0]) == OK


def test_shortening_fills_the_text_box_for_review_and_changes_nothing_yet(qtbot, window, session):
    steps = window.undo.count()
    qtbot.mouseClick(window.editor.checks_box.shorten_button, Qt.MouseButton.LeftButton)
    proposal = window.editor.text_edit.toPlainText()
    assert proposal == "We really need to leave before the storm comes over the hills."  # enough cut: the hedge stays
    assert session.project.lines[0].text == TEXT and window.undo.count() == steps
    assert window.message.text().startswith("A shorter text is in the box: it cuts 3 words")
    window.edits.apply_text()  # Speak this text: the shorter line, rendered
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=WAIT_MS)
    line = session.project.lines[0]
    assert line.text == proposal and session.status(line) not in (UNFITTABLE, STALE)


def test_a_line_past_the_videos_end_says_so_in_the_table(window):
    row = 2
    assert window.model.index(row, COL_STATUS).data() == "past the video's end"
    window.select_position(row)
    assert window.editor.checks_box.words.text().startswith("Past the video's end")


def test_at_1024_by_640_the_fixes_can_be_reached_and_read(qtbot, window):
    sized(qtbot, window, 1024, 640)
    box = window.editor.checks_box
    for button in box.buttons.values():
        area = scroll_area_of(button)
        at = button.mapTo(area.widget(), QPoint(0, 0))
        area.ensureVisible(at.x() + button.width() // 2, at.y() + button.height() // 2, button.width() // 2 + 1,
                           button.height() // 2 + 1)
        assert shown_in_window(window, button) and text_fits(button), button.text()
