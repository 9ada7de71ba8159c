"""Blocks moved on the timeline edit the line through the core: one undoable step each, a new take only when
the line's slot is no longer the one its take was made for."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from dubber.project.edits import nudge
from tests.ui.opened import close, window_over_copy
from tests.ui.test_main_window import SlowToneEngine, idle
from tests.ui.test_timeline_drag import LEFT, NONE, SHIFT, at, drag
from tests.ui.test_transport import opened_sample  # noqa: F401  (the two-speaker sample, opened once)

CTRL = Qt.KeyboardModifier.ControlModifier


def strip_ms_per_px(strip) -> int:
    start, end = strip.window()
    return max(1, round((end - start) / strip.width()))


@pytest.fixture
def window(qtbot, opened_sample, tmp_path, monkeypatch):  # noqa: F811  (a fixture)
    win = window_over_copy(qtbot, opened_sample, tmp_path, monkeypatch, SlowToneEngine(), position=1)
    win.takes.dub_pending()
    idle(qtbot, win)
    win.undo.clear()
    yield win
    close(win)


def spoken_with_speech(win, room: bool = True) -> int:
    """A dubbed line that follows its original speech, with (or without) room to move 200 ms later."""
    session = win.session
    return next(p for p, line in enumerate(session.project.lines)
                if line.take is not None and line.target_start_ms is not None
                and session.keeps_take(nudge(session.project, p, 200).after) == room)


def test_moving_a_block_moves_line_and_speech_and_keeps_the_take(qtbot, window):
    position = spoken_with_speech(window)
    before = window.session.project.lines[position]
    window.edits.move_block(before.index, before.start_ms + 200, before.end_ms + 200)
    assert not window.jobs.busy  # the same slot, moved: nothing to render
    after = window.session.project.lines[position]
    assert (after.start_ms, after.end_ms) == (before.start_ms + 200, before.end_ms + 200)
    assert (after.target_start_ms, after.target_end_ms) == (before.target_start_ms + 200, before.target_end_ms + 200)
    assert after.takes == before.takes and after.chosen == before.chosen
    assert window.session.slots()[after.index].onset_ms == before.target_start_ms + 200  # the dub moved with it
    assert window.undo.count() == 1 and window.undo.text(0) == f"Move line {before.index} by +200 ms"
    qtbot.keyClick(window.table, Qt.Key.Key_Z, CTRL)
    assert window.session.project.lines[position] == before


def test_a_move_into_the_next_line_renders_the_line_for_its_narrower_slot(qtbot, window):
    position = spoken_with_speech(window, room=False)  # the sample's first line ends where the second begins
    before = window.session.project.lines[position]
    window.edits.move_block(before.index, before.start_ms + 200, before.end_ms + 200)
    idle(qtbot, window)
    after = window.session.project.lines[position]
    assert after.start_ms == before.start_ms + 200 and len(after.takes) == len(before.takes) + 1
    slot = window.session.slots()[after.index]
    assert after.take.window_ms == slot.window_ms < before.take.window_ms  # made for where it lies now
    assert window.undo.count() == 1


def test_an_edge_that_changes_the_slot_renders_a_new_take_in_one_step(qtbot, window):
    position = spoken_with_speech(window)
    before = window.session.project.lines[position]
    window.edits.move_block(before.index, before.start_ms, before.end_ms - 300)
    idle(qtbot, window)
    after = window.session.project.lines[position]
    assert after.end_ms == before.end_ms - 300 and len(after.takes) == len(before.takes) + 1
    assert after.target_start_ms is None  # timed by hand: it starts at its cue
    assert window.undo.count() == 1
    qtbot.keyClick(window.table, Qt.Key.Key_Z, CTRL)
    undone = window.session.project.lines[position]
    assert (undone.start_ms, undone.end_ms, undone.chosen) == (before.start_ms, before.end_ms, before.chosen)
    assert len(undone.takes) == len(before.takes) + 1  # takes are never deleted


def test_a_move_refused_by_the_core_says_why_and_changes_nothing(window):
    position = spoken_with_speech(window)
    before = window.session.project.lines[position]
    window.edits.move_block(before.index, before.end_ms + 10, before.end_ms)
    assert "must come after the start" in window.message.text(), window.message.text()
    assert window.session.project.lines[position] == before and window.undo.count() == 0


# -- under a real mouse, in the window ------------------------------------------------------------


def strip_cue(win, position: int):
    index = win.session.project.lines[position].index
    return next(c for c in win.strip.cues() if c.index == index)


def shown_strip(qtbot, win, start_ms: int, end_ms: int):
    strip = win.strip
    qtbot.waitUntil(lambda: strip.isVisible() and strip.width() > 500, timeout=5_000)
    strip.set_window(start_ms, end_ms)
    return strip


def test_a_block_dragged_with_the_mouse_moves_its_line_and_the_keys_undo_and_redo_it(qtbot, window):
    position = spoken_with_speech(window)
    before = window.session.project.lines[position]
    strip = shown_strip(qtbot, window, before.start_ms - 3000, before.end_ms + 3000)
    cue = strip_cue(window, position)
    middle = (cue.start_ms + cue.end_ms) // 2
    # Released with Shift: unsnapped, exactly where the mouse put it.
    drag(strip, at(strip, middle, cue), QPoint(round(strip.x_at(middle + 200)), at(strip, middle, cue).y()), SHIFT)
    moved = window.session.project.lines[position]
    shift = moved.start_ms - before.start_ms
    assert abs(shift - 200) <= strip_ms_per_px(strip) and moved.end_ms - moved.start_ms == before.duration_ms
    assert moved.takes == before.takes and not window.jobs.busy
    assert window.undo.text(0) == f"Move line {before.index} by {shift:+d} ms"
    assert strip_cue(window, position).start_ms == moved.start_ms  # the block redrawn where it was dropped
    qtbot.keyClick(window.table, Qt.Key.Key_Z, CTRL)
    assert window.session.project.lines[position] == before
    qtbot.keyClick(window.table, Qt.Key.Key_Z, CTRL | SHIFT)
    assert window.session.project.lines[position] == moved


def test_an_edge_dragged_near_the_original_speech_snaps_onto_it(qtbot, window):
    position = next(p for p, line in enumerate(window.session.project.lines)
                    if line.take is not None and line.target_end_ms is not None and line.target_end_ms - line.end_ms > 300)
    before = window.session.project.lines[position]
    strip = shown_strip(qtbot, window, before.start_ms - 2000, before.target_end_ms + 2000)
    cue = strip_cue(window, position)
    near = before.target_end_ms - 3 * strip_ms_per_px(strip)  # released 3 px short of the speech's end
    drag(strip, at(strip, cue.end_ms, cue), at(strip, near, cue))
    idle(qtbot, window)  # a longer slot: a new take
    after = window.session.project.lines[position]
    assert (after.start_ms, after.end_ms) == (before.start_ms, before.target_end_ms)
    assert len(after.takes) == len(before.takes) + 1 and window.undo.count() == 1
    qtbot.keyClick(window.table, Qt.Key.Key_Z, CTRL)
    assert window.session.project.lines[position].end_ms == before.end_ms
    qtbot.keyClick(window.table, Qt.Key.Key_Y, CTRL)
    redone = window.session.project.lines[position]
    assert redone.end_ms == before.target_end_ms and len(redone.takes) == len(after.takes)  # nothing rendered again


def test_a_click_on_the_ruler_moves_the_playhead_and_the_picture_there(qtbot, window):
    line = window.session.project.lines[3]
    strip = shown_strip(qtbot, window, line.start_ms - 1000, line.end_ms + 1000)
    point = QPoint(round(strip.x_at(line.start_ms + 400)), strip.ruler_rect().center().y())
    ms = strip.ms_at(point.x())
    with qtbot.waitSignal(window.player.still.frameShown, check_params_cb=lambda shown: shown == ms, timeout=10_000):
        QTest.mouseClick(strip, LEFT, NONE, point)
    assert strip.playhead() == ms and window.player.showing_still()
    assert line.text in window.player.still.subtitle()



def test_after_a_move_only_the_moved_lines_take_is_read_again(qtbot, window):
    position = spoken_with_speech(window)
    strip = shown_strip(qtbot, window, 0, window.session.duration_ms)  # every line in view
    feed_source = window.timeline._take
    reads: list[int] = []
    strip.set_take_source(lambda index: reads.append(index) or feed_source(index))
    strip.grab()
    assert sorted(reads) == sorted(c.index for c in strip.cues())
    reads.clear()
    line = window.session.project.lines[position]
    window.edits.move_block(line.index, line.start_ms + 200, line.end_ms + 200)
    strip.grab()
    assert reads == [line.index]


def test_each_block_draws_its_own_lines_take_when_the_lines_change_places(window):
    """The feed remembers where each line sits; lines that move in the list are found again, never mixed up."""
    session, feed = window.session, window.timeline
    lines = session.project.lines
    takes = {line.index: feed._take(line.index) for line in lines}
    assert sum(take is not None for take in takes.values()) >= 2
    lines.reverse()  # as if lines had been inserted or removed before each one
    try:
        for line in lines:
            again, first = feed._take(line.index), takes[line.index]
            assert (again is None) == (first is None)
            if first is not None:
                assert again[1:] == first[1:] and again[0].shape == first[0].shape and (again[0] == first[0]).all()
    finally:
        lines.reverse()
