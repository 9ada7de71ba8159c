"""The playhead and playing from it: the picture follows every seek, Space pauses and resumes where it was,
any stretch plays from the playhead, and A/B switches the playing preview between the dub and the original."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.ui.opened import close, open_once, window_over_copy
from tests.ui.test_main_window import WAIT_MS, SlowToneEngine, started

SHIFT = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture(scope="module")
def opened_sample(tmp_path_factory):
    return open_once(tmp_path_factory.mktemp("opened"), "demo.en.ass")


@pytest.fixture
def window(qtbot, opened_sample, tmp_path, monkeypatch):
    win = window_over_copy(qtbot, opened_sample, tmp_path, monkeypatch, SlowToneEngine(), position=1)
    yield win
    close(win)


def playing(qtbot, win) -> None:
    qtbot.waitUntil(lambda: win.preview.job is None and win.player.is_playing(), timeout=WAIT_MS)
    started(qtbot, win)


def test_selecting_a_line_puts_the_playhead_where_its_speech_starts(window):
    for position in (1, 3):
        window.select_position(position)
        line = window.session.project.lines[position]
        at = line.target_start_ms if line.target_start_ms is not None else line.start_ms
        assert window.strip.playhead() == at
        assert window.player.still.wanted() == (str(window.session.video), at)


def test_a_seek_away_from_any_clip_shows_that_frame_with_the_subtitles_then_on_screen(qtbot, window):
    lines = window.session.project.lines
    between = (lines[0].end_ms + lines[1].start_ms) // 2 if lines[1].start_ms > lines[0].end_ms else None
    inside = (lines[2].start_ms + lines[2].end_ms) // 2
    still = window.player.still
    with qtbot.waitSignal(still.frameShown, check_params_cb=lambda ms: ms == inside, timeout=10_000):
        window.transport.seek(inside)
    assert window.strip.playhead() == inside and window.player.showing_still()
    shown = [line.text for line in lines if line.start_ms <= inside < line.end_ms]
    assert still.subtitle() == "\n".join(shown) and lines[2].text in shown
    if between is not None:  # between two cues no subtitle is on screen
        window.transport.seek(between)
        assert still.subtitle() == ""
    window.transport.seek(10 ** 9)  # past the end: the last moment of the video
    assert window.strip.playhead() == window.session.duration_ms


def test_space_pauses_and_resumes_where_it_was_without_cutting_again(qtbot, window):
    qtbot.keyClick(window.table, Qt.Key.Key_Space)
    playing(qtbot, window)
    source = window.player.media_player.source()
    qtbot.keyClick(window.table, Qt.Key.Key_Space)
    qtbot.waitUntil(window.player.is_paused, timeout=5_000)
    paused_at = window.player.media_player.position()
    assert window.message.text().startswith("Paused"), window.message.text()
    qtbot.keyClick(window.table, Qt.Key.Key_Space)
    qtbot.waitUntil(window.player.is_playing, timeout=5_000)
    assert window.preview.job is None and window.player.media_player.source() == source  # resumed, not recut
    assert window.player.media_player.position() >= paused_at


def test_a_seek_inside_the_paused_clip_moves_the_clip(qtbot, window):
    qtbot.keyClick(window.table, Qt.Key.Key_Space)
    playing(qtbot, window)
    window.player.toggle()
    qtbot.waitUntil(window.player.is_paused, timeout=5_000)
    player = window.player
    qtbot.waitUntil(lambda: player.media_player.duration() > 0, timeout=5_000)
    at = player.offset_ms + player.media_player.duration() // 2
    window.transport.seek(at)
    assert player.is_paused() and not player.showing_still()
    qtbot.waitUntil(lambda: abs(player.absolute_ms(player.media_player.position()) - at) <= 50, timeout=5_000)
    assert window.strip.playhead() == at


def test_shift_space_plays_from_the_playhead(qtbot, window):
    lines = window.session.project.lines
    at = lines[3].start_ms - 700
    window.transport.seek(at)
    qtbot.keyClick(window.table, Qt.Key.Key_Space, SHIFT)
    playing(qtbot, window)
    assert window.player.offset_ms == at
    assert window.message.text().startswith("Playing from"), window.message.text()


def test_a_b_switches_the_playing_preview_to_the_original_and_back(qtbot, window):
    qtbot.keyClick(window.table, Qt.Key.Key_Space)
    playing(qtbot, window)
    qtbot.waitUntil(lambda: len(window.player.media_player.audioTracks()) == 2, timeout=5_000)
    assert window.player.active_track() == 0
    qtbot.keyClick(window.table, Qt.Key.Key_A)
    assert window.ab_action.isChecked() and window.player.active_track() == 1
    assert "hearing the original" in window.message.text()
    assert window.player.is_playing()  # switched while playing, not restarted
    qtbot.keyClick(window.table, Qt.Key.Key_A)
    assert not window.ab_action.isChecked() and window.player.active_track() == 0
