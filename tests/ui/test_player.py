"""Tests for the preview player, offscreen: with no sound device Qt still plays the picture clock."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtMultimedia import QMediaPlayer  # noqa: E402
from PySide6.QtWidgets import QLabel, QPushButton  # noqa: E402

from dubber.audio import media  # noqa: E402
from dubber.pipeline.preview import write_preview  # noqa: E402
from dubber.ui.player import PreviewPlayer, format_ms  # noqa: E402
from dubber.ui.still_frame import StillFrame  # noqa: E402
from tests.dubber.pipeline.test_preview import make_red_then_blue  # noqa: E402

RATE = 48000
Status = QMediaPlayer.MediaStatus


def tone(duration_ms: int) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * 440 * np.arange(duration_ms * RATE // 1000) / RATE)).astype(np.float32)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return media.make_test_video(tmp_path_factory.mktemp("player") / "source.mp4", 3000, None, RATE)


@pytest.fixture
def clip(source: Path, tmp_path: Path) -> Path:
    return write_preview(source, tone(800), RATE, 1000, tmp_path / "line.mp4", height=90)


@pytest.fixture
def player(qtbot) -> PreviewPlayer:
    widget = PreviewPlayer()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_format_ms() -> None:
    assert [format_ms(ms) for ms in (0, 1, 61_234, 600_000, -1500)] == \
        ["0:00.000", "0:00.001", "1:01.234", "10:00.000", "-0:01.500"]


def test_plays_to_the_end(qtbot, player: PreviewPlayer, clip: Path) -> None:
    positions: list[int] = []
    states: list[str] = []
    player.positionChanged.connect(positions.append)
    player.stateChanged.connect(states.append)
    player.play_file(clip, offset_ms=1000)
    qtbot.waitUntil(lambda: player.media_player.mediaStatus() == Status.EndOfMedia, timeout=10_000)

    assert abs(player.media_player.duration() - media.probe(clip).duration_ms) <= 5
    assert states == ["playing", "stopped"] and not player.is_playing()
    moved = [p for p in positions if p > 0]
    assert len(moved) >= 3 and moved == sorted(moved)  # the position advanced, in order
    assert abs(moved[-1] - 800) <= 80
    assert player.absolute_ms(moved[-1]) == 1000 + moved[-1]
    assert player.findChild(QLabel).text() == format_ms(1000 + moved[-1])
    assert player.showing_still()  # the still is back once the clip has ended


def test_toggle_and_stop(qtbot, player: PreviewPlayer, clip: Path) -> None:
    button = player.findChild(QPushButton)
    assert player.showing_still()
    with qtbot.waitSignal(player.stateChanged, check_params_cb=lambda s: s == "playing", timeout=5000):
        player.play_file(clip)
    assert player.is_playing() and button.text() == "Pause" and not player.showing_still()
    with qtbot.waitSignal(player.stateChanged, check_params_cb=lambda s: s == "paused", timeout=5000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert not player.is_playing() and button.text() == "Play"
    with qtbot.waitSignal(player.stateChanged, check_params_cb=lambda s: s == "playing", timeout=5000):
        player.toggle()
    with qtbot.waitSignal(player.stateChanged, check_params_cb=lambda s: s == "stopped", timeout=5000):
        player.stop()
    assert not player.is_playing() and player.showing_still()


def test_replay_after_the_end_starts_again(qtbot, player: PreviewPlayer, clip: Path) -> None:
    player.play_file(clip)
    qtbot.waitUntil(lambda: player.media_player.mediaStatus() == Status.EndOfMedia, timeout=10_000)
    positions: list[int] = []
    player.positionChanged.connect(positions.append)
    player.toggle()
    qtbot.waitUntil(lambda: any(0 < p < 600 for p in positions), timeout=10_000)
    assert player.is_playing()


def test_rewritten_file_under_the_same_name_is_reloaded(qtbot, player: PreviewPlayer, clip: Path,
                                                         source: Path) -> None:
    player.play_file(clip)
    qtbot.waitUntil(lambda: abs(player.media_player.duration() - 800) <= 80, timeout=10_000)
    write_preview(source, tone(1600), RATE, 0, clip, height=90)
    player.play_file(clip)
    qtbot.waitUntil(lambda: abs(player.media_player.duration() - 1600) <= 80, timeout=10_000)


def test_missing_file_fails_with_its_name(qtbot, player: PreviewPlayer, tmp_path: Path) -> None:
    with qtbot.waitSignal(player.failed, timeout=5000) as signal:
        player.play_file(tmp_path / "gone.mp4")
    assert "gone.mp4" in signal.args[0] and "does not exist" in signal.args[0]
    assert not player.is_playing()


def test_garbage_file_fails_with_its_name(qtbot, player: PreviewPlayer, tmp_path: Path) -> None:
    garbage = tmp_path / "broken.mp4"
    garbage.write_bytes(b"not a video at all " * 100)
    with qtbot.waitSignal(player.failed, timeout=10_000) as signal:
        player.play_file(garbage)
    assert "broken.mp4" in signal.args[0]
    assert player.media_player.mediaStatus() == Status.InvalidMedia


@pytest.fixture(scope="module")
def red_then_blue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_red_then_blue(tmp_path_factory.mktemp("still") / "red_then_blue.mp4")


def centre_and_band(still: StillFrame) -> tuple[tuple[int, int, int], int]:
    """The widget as drawn: its centre pixel, and how many near-white pixels its bottom fifth has (the text)."""
    image = still.grab().toImage()
    centre = image.pixelColor(image.width() // 2, image.height() // 3)
    white = sum(1 for y in range(image.height() * 4 // 5, image.height()) for x in range(0, image.width(), 2)
                if min(image.pixelColor(x, y).getRgb()[:3]) > 200)
    return centre.getRgb()[:3], white


def test_the_still_shows_the_frame_with_its_subtitle(qtbot, player: PreviewPlayer, red_then_blue: Path) -> None:
    player.resize(480, 360)
    still = player.still
    with qtbot.waitSignal(still.frameShown, timeout=10_000):
        player.show_still(red_then_blue, 500, "Good morning.")
    assert player.showing_still() and still.subtitle() == "Good morning."
    assert (still.image().width(), still.image().height()) == (640, 360)
    (r, g, b), white = centre_and_band(still)
    assert r > 200 and max(g, b) < 60 and white > 20  # red, with white text at the bottom

    with qtbot.waitSignal(still.frameShown, timeout=10_000):
        player.show_still(red_then_blue, 1500, "")
    (r, g, b), white = centre_and_band(still)
    assert b > 200 and max(r, g) < 60 and white == 0 and still.subtitle() == ""

    player.show_still(None, 0, "gone")
    assert still.image() is None and still.subtitle() == ""
    (r, g, b), white = centre_and_band(still)
    assert max(r, g, b) < 10 and white == 0


def test_the_latest_request_wins_and_frames_are_cached(qtbot, player: PreviewPlayer, red_then_blue: Path) -> None:
    shown: list[int] = []
    player.still.frameShown.connect(shown.append)
    for ms in (200, 1500, 700):  # asked faster than frames come: 1500 is never fetched, 200 never shown
        player.show_still(red_then_blue, ms, f"at {ms}")
    qtbot.waitUntil(lambda: shown == [700], timeout=10_000)
    qtbot.wait(300)
    assert shown == [700] and player.still.subtitle() == "at 700"
    player.show_still(red_then_blue, 200, "again")  # fetched meanwhile and cached: shown at once
    assert shown == [700, 200]


def test_a_frame_that_cannot_be_had_is_black_with_the_reason(qtbot, player: PreviewPlayer,
                                                               red_then_blue: Path, tmp_path: Path) -> None:
    with qtbot.waitSignal(player.still.frameShown, timeout=10_000):
        player.show_still(red_then_blue, 500, "first")
    player.show_still(tmp_path / "gone.mp4", 500, "second")
    qtbot.waitUntil(lambda: player.still.image() is None, timeout=10_000)
    assert "gone.mp4" in player.still.toolTip() and player.still.subtitle() == "second"
