"""What the status bar says after each action: what happened, or that it failed; never a stale word."""

from __future__ import annotations


import pytest
from PySide6.QtCore import Qt
from PySide6.QtMultimedia import QMediaDevices, QMediaPlayer

from tests.ui.opened import close, open_once, window_over_copy
from tests.ui.test_main_window import WAIT_MS, SlowToneEngine, idle, started


@pytest.fixture(scope="module")
def opened_sample(tmp_path_factory):
    return open_once(tmp_path_factory.mktemp("opened"))


class VoiceBFails(SlowToneEngine):
    def synthesize(self, request):
        if request.voice == "b":
            raise RuntimeError("voice b is not installed")
        return super().synthesize(request)


@pytest.fixture
def window(qtbot, opened_sample, tmp_path, monkeypatch):
    win = window_over_copy(qtbot, opened_sample, tmp_path, monkeypatch, VoiceBFails(), position=2)
    yield win
    close(win)


def said(win) -> str:
    return win.message.text()


def test_a_failed_voice_change_says_it_failed(qtbot, window):
    window.editor.voice_box.setCurrentText("b")
    window.edits.apply_voice()
    idle(qtbot, window)
    assert "failed" in said(window) and "done" not in said(window), said(window)
    assert "voice b is not installed" in said(window)


def test_a_nudge_says_what_it_did(window):
    window.edits.nudge(100)
    assert said(window) == "Nudge line 3 by +100 ms: done."


def test_undo_and_redo_say_what_they_undid_and_redid(qtbot, window):
    window.edits.nudge(-10)
    qtbot.keyClick(window.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert said(window) == "Undone: Nudge line 3 by -10 ms."
    window.redo_action.trigger()
    assert said(window) == "Redone: Nudge line 3 by -10 ms."


def play_in_context(qtbot, win):
    win.preview.play_in_context()
    qtbot.waitUntil(lambda: win.preview.job is None and win.player.is_playing(), timeout=WAIT_MS)
    started(qtbot, win)


def test_the_end_of_playback_is_said(qtbot, window):
    play_in_context(qtbot, window)
    assert said(window).startswith("Playing line 3 in context")
    player = window.player.media_player
    qtbot.waitUntil(lambda: player.duration() > 0, timeout=10_000)
    player.setPosition(player.duration() - 150)  # to its end without waiting seconds
    qtbot.waitUntil(lambda: player.playbackState() == QMediaPlayer.PlaybackState.StoppedState, timeout=10_000)
    assert said(window).startswith("Played line 3 in context"), said(window)


def test_playing_without_a_sound_device_says_so_once(qtbot, window, monkeypatch):
    monkeypatch.setattr(QMediaDevices, "audioOutputs", staticmethod(list))
    play_in_context(qtbot, window)
    assert said(window).count("No sound device") == 1, said(window)
    assert window.message.last_message == ("", "")  # in the status bar, not a box
    window.player.stop()
    assert said(window).startswith("Stopped line 3 in context")
