"""The panel over speech-timed lines: the original speech beside each cue, lines not spoken, speak anyway."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from dubber.audio.media import probe
from dubber.errors import UsageError
from dubber.pipeline.session import OK, PENDING, SKIPPED, STALE, STATUS_COLOURS, Session
from dubber.plugin import registry
from dubber.project.edits import add_take, change_line
from dubber.project.store import LineEntry, TakeRecord, load_project, store_take_audio
from dubber.subtitles.cue import SKIP_SOUND
from dubber.ui.commands import EditCommand
from dubber.ui.line_model import COL_ERROR, COL_SPEECH, COL_STATUS, COL_TARGET, COL_TEXT, COL_TIME, COLUMNS
from tests.conftest import ToneEngine
from tests.ui.opened import close, project_session, shown_window

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
RATE = 24_000
SLAMS = "sound description '[Door slams]'"


def lines() -> list[LineEntry]:
    """Two lines with their original speech, a sound description, and a line whose speech was not found."""
    return [
        LineEntry(1, 800, 3195, "Good morning. Today we are going to the old harbour.", "", target_start_ms=850,
                  target_end_ms=3000),
        LineEntry(2, 3895, 5766, "The boats leave at nine, so we should hurry.", "", target_start_ms=4100,
                  target_end_ms=5600),
        LineEntry(3, 5900, 6400, "[Door slams]", "", skip=SKIP_SOUND, skip_reason=SLAMS),
        LineEntry(4, 6466, 8279, "Did you remember to bring the camera?", ""),
    ]


@pytest.fixture
def session(tmp_path) -> Session:
    """A speech-timed project over a copy of the sample video, built directly (no speech detector)."""
    return project_session(tmp_path, lines(), "speech")


@pytest.fixture
def window(qtbot, session):
    win = shown_window(qtbot, session)
    yield win
    close(win)


@pytest.fixture
def engine(monkeypatch):
    tone = ToneEngine(ms_per_char=50, pause_ms=50)
    monkeypatch.setattr(registry, "get_engine", lambda name, config=None: tone)
    return tone


def cell(win, row, column, role=Qt.ItemDataRole.DisplayRole):
    return win.model.index(row, column).data(role)


def take_of(session: Session, position: int, speech_ms: int, lead: int = 2400, audio: bool = False) -> TakeRecord:
    """A take made for the line's slot as it is, with `lead` samples of silence before its speech."""
    slot = session.slots()[session.project.lines[position].index]
    path = None
    if audio:
        samples = np.zeros(lead + speech_ms * RATE // 1000 + 2400, np.float32)
        samples[lead:lead + speech_ms * RATE // 1000] = 0.3
        path = store_take_audio(samples, RATE, session.path)
    return TakeRecord(seed=0, engine="tone", voice="a", status="ok", error_ms=0, speech_ms=speech_ms,
                      target_ms=slot.target_ms, window_ms=slot.window_ms, sample_rate=RATE, lead=lead, audio=path,
                      reason=f"{slot.target_ms - speech_ms} ms shorter than the original speech"
                      if slot.target_ms else "")


def give_take(win, position: int, take: TakeRecord) -> None:
    edit = add_take(win.session.project, position, take, "test take")
    win.undo.push(EditCommand(win.session, edit, win.lines_changed))


def test_the_speech_column_sits_beside_the_cue(window):
    assert COLUMNS[COL_TIME:COL_SPEECH + 1] == ("Time", "Speech")
    assert cell(window, 0, COL_TIME) == "0:00.800 → 0:03.195"
    assert cell(window, 0, COL_SPEECH) == "0:00.850 → 0:03.000"
    assert cell(window, 1, COL_SPEECH) == "0:04.100 → 0:05.600"
    assert cell(window, 3, COL_SPEECH) == "—"  # no original speech found
    assert cell(window, 0, COL_TARGET) == "2.150 s"  # the original speech's length
    assert cell(window, 3, COL_TARGET).startswith("≤ ")  # natural length, within its cue
    assert "original speech" in window.model.headerData(COL_SPEECH, Qt.Orientation.Horizontal,
                                                        Qt.ItemDataRole.ToolTipRole)


def test_a_spoken_line_says_both_spans_the_policy_and_the_take_note(window, session):
    give_take(window, 0, take_of(session, 0, 2150 - 312))
    assert session.status(session.project.lines[0]) == OK
    tip = cell(window, 0, COL_STATUS, Qt.ItemDataRole.ToolTipRole)
    assert "Line 1 · in sync" in tip
    assert "Cue: 0:00.800 → 0:03.195 (2.395 s)" in tip
    assert "Original speech: 0:00.850 → 0:03.000 (2.150 s)" in tip
    assert "follows the original speech" in tip and "ends by 0:03." in tip
    assert "Take: 312 ms shorter than the original speech" in tip
    text_tip = cell(window, 0, COL_TEXT, Qt.ItemDataRole.ToolTipRole)
    assert text_tip.startswith("Good morning.") and "312 ms shorter" in text_tip  # the whole text, then the rest
    # a line whose speech was not found is timed to its cue, and says so
    tip = cell(window, 3, COL_TIME, Qt.ItemDataRole.ToolTipRole)
    assert "Original speech: none" in tip and "no original speech to follow" in tip


def test_a_line_not_spoken_is_grey_with_its_reason(window):
    grey = STATUS_COLOURS[SKIPPED]
    for column in range(len(COLUMNS)):
        assert cell(window, 2, column, Qt.ItemDataRole.ForegroundRole).color().name() == grey
        assert cell(window, 2, column, Qt.ItemDataRole.FontRole).italic()
        tip = cell(window, 2, column, Qt.ItemDataRole.ToolTipRole)
        assert SLAMS in tip and "Press S to speak it anyway" in tip
    assert cell(window, 2, COL_STATUS) == "not spoken"
    assert cell(window, 2, COL_SPEECH) == cell(window, 2, COL_TARGET) == cell(window, 2, COL_ERROR) == "—"
    assert cell(window, 0, COL_TEXT, Qt.ItemDataRole.ForegroundRole) is None  # spoken lines keep their colours
    window.set_filter(True)  # not spoken is not work to do
    assert [window.proxy.index(r, 0).data() for r in range(window.proxy.rowCount())] == ["1", "2", "4"]


def test_s_speaks_a_skipped_line_anyway_and_again_stops_undoably(qtbot, window, session):
    window.select_position(0)
    assert not window.speak_action.isEnabled() and not window.editor.speak_button.isEnabled()
    qtbot.keyClick(window.table, Qt.Key.Key_S)  # an ordinary line: nothing to do
    assert window.undo.count() == 0

    window.select_position(2)
    assert window.speak_action.isEnabled() and not window.speak_action.isChecked()
    assert SLAMS in window.editor.timing_label.text()
    qtbot.keyClick(window.table, Qt.Key.Key_S)
    line = session.project.lines[2]
    assert line.speak and session.status(line) == PENDING and cell(window, 2, COL_STATUS) == "not dubbed"
    assert cell(window, 2, COL_TEXT, Qt.ItemDataRole.ForegroundRole) is None  # no longer grey
    assert window.speak_action.isChecked() and window.editor.speak_button.text() == "Stop speaking (S)"
    assert "Spoken anyway" in cell(window, 2, COL_TIME, Qt.ItemDataRole.ToolTipRole)
    assert load_project(session.path).lines[2].speak  # saved
    assert window.strip.cues()[2].state == "pending" and window.strip.cues()[2].slot == (5900, 6400)

    qtbot.keyClick(window.table, Qt.Key.Key_S)  # again: stop speaking it
    assert not session.project.lines[2].speak and cell(window, 2, COL_STATUS) == "not spoken"
    assert window.undo.count() == 2
    window.undo.undo()
    assert session.project.lines[2].speak and window.speak_action.isChecked()
    window.undo.undo()
    assert not session.project.lines[2].speak and session.status(session.project.lines[2]) == SKIPPED
    assert not load_project(session.path).lines[2].speak
    window.undo.redo()
    assert session.project.lines[2].speak


def test_speaking_a_line_says_which_neighbour_it_cuts_short(window, session):
    edit = change_line(session.project, 1, "speech runs on", target=(4100, 6300))  # into the door slam's cue
    window.undo.push(EditCommand(session, edit, window.lines_changed))
    give_take(window, 1, take_of(session, 1, 2100))  # fits up to 6300
    assert session.status(session.project.lines[1]) == OK
    window.select_position(2)
    window.edits.toggle_speak()  # line 3 now starts at 5900: line 2 must end by 5860
    assert session.status(session.project.lines[1]) == STALE and cell(window, 1, COL_STATUS).startswith("edited")
    assert "Line(s) 2 now need a new take" in window.message.text()
    assert "another slot" in cell(window, 1, COL_STATUS, Qt.ItemDataRole.ToolTipRole)


def test_a_line_not_spoken_is_not_rendered_until_spoken_anyway(qtbot, window, session, engine):
    with pytest.raises(UsageError, match="speak it anyway first"):
        session.render(session.project.lines[2])
    window.takes.dub_pending()
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=120_000)
    assert [line.take is not None for line in session.project.lines] == [True, True, False, True]
    assert "failed" not in window.message.last_message[0]
    assert "dubbed and are silent" not in window.message.last_message[1]

    window.select_position(2)
    assert not window.editor.reroll_button.isEnabled()
    window.edits.reroll()  # R on a line not spoken says how to speak it, and starts nothing
    assert not window.jobs.busy and "Press S to speak it anyway" in window.message.text()
    assert session.project.lines[2].takes == []

    window.edits.toggle_speak()
    assert window.editor.reroll_button.isEnabled()
    window.takes.dub_pending()
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=120_000)
    line = session.project.lines[2]
    assert line.take is not None and session.status(line) not in (SKIPPED, PENDING)
    assert session.slots()[line.index].onset_ms == line.start_ms  # no original speech: it starts at its cue
    window.undo.undo()  # the dub, then speaking it
    window.undo.undo()
    assert session.project.lines[2].take is None and not session.project.lines[2].speak
    assert session.project.lines[2].takes == [line.take]  # takes are never deleted


def test_the_strip_draws_the_original_speech_under_each_cue(window, session):
    strip = window.strip
    strip.resize(900, 140)
    cues = {cue.index: cue for cue in strip.cues()}
    assert cues[1].target == (850, 3000) and cues[1].slot == (850, session.slots()[1].end_ms)
    assert cues[3].state == "skipped" and cues[3].slot is None and SLAMS in cues[3].note
    assert cues[4].target is None and strip.target_rect(cues[4]) is None
    strip.set_window(0, 9000)
    block, band = strip.block_rect(cues[2]), strip.target_rect(cues[2])
    assert band.left() == pytest.approx(strip.x_at(4100)) and band.right() == pytest.approx(strip.x_at(5600))
    assert band.bottom() <= block.top() and strip.original_lane().contains(band.center().toPoint())  # above its block
    assert strip.target_at(band.center()) == cues[2]
    assert strip.tooltip_at(band.center()) == "Original speech of #2: 4.10 s – 5.60 s"
    tip = strip.tooltip_at(strip.block_rect(cues[3]).center())
    assert "not spoken" in tip and SLAMS in tip
    assert "original speech 4.10 s – 5.60 s" in strip.tooltip_at(block.center())
    # selecting a line frames its cue and the speech it follows
    window.select_position(1)
    assert strip.window() == (3895 - 2000, 5766 + 2000)


@pytest.fixture
def played(window, monkeypatch):
    """What the window asks the player to play, and from which video time; nothing is played
    (test_main_window plays for real)."""
    calls: list[tuple[Path, int]] = []
    monkeypatch.setattr(window.player, "play_file", lambda path, offset_ms=0: calls.append((Path(path), offset_ms)))
    return calls


def take_start(window, position: int) -> int | None:
    """Where the timeline draws the first sample of a line's take (video ms), or None without one."""
    index = window.session.project.lines[position].index
    placed = window.strip.take_for(next(c for c in window.strip.cues() if c.index == index))
    return None if placed is None else placed.start_ms


def test_the_take_lies_and_plays_at_its_slot_onset(window, session, played):
    give_take(window, 1, take_of(session, 1, 1200, lead=2400, audio=True))  # 100 ms of silence, then speech
    give_take(window, 3, take_of(session, 3, 1500, lead=1200, audio=True))  # 50 ms
    window.select_position(1)
    assert session.slots()[2].onset_ms == 4100  # the original speech's onset, not the cue's 3895
    assert take_start(window, 1) == 4100 - 100
    window.preview.play_take()
    take = session.project.lines[1].take
    assert played == [(session.path.parent / take.audio, 4100 - 100)]  # the playhead runs where the take lies
    assert take_start(window, 3) == 6466 - 50  # no original speech: the take lies at its cue
    assert take_start(window, 2) is None


def test_play_in_context_frames_the_cue_the_speech_and_the_take(qtbot, window, session, played):
    give_take(window, 1, take_of(session, 1, 1200, audio=True))
    window.select_position(1)
    window.preview.play_in_context()
    qtbot.waitUntil(lambda: window.preview.job is None and bool(played), timeout=120_000)
    (path, offset), = played
    assert offset == 3895 - 1500  # the cue starts before the speech here
    # to 1.5 s past the cue's end, which is after the speech's and the take's (4100 + 1200)
    assert abs(probe(path).duration_ms - (5766 + 1500 - offset)) <= 80


def test_pressing_s_in_the_text_field_types_an_s(qtbot, window):
    window.select_position(2)
    window.editor.text_edit.setFocus()
    window.editor.text_edit.clear()
    qtbot.keyClicks(window.editor.text_edit, "s")
    assert window.editor.text_edit.toPlainText() == "s" and window.undo.count() == 0


def test_a_point_off_the_strip_blocks_says_nothing(window):
    assert window.strip.tooltip_at(QPointF(-50, -50)) is None
