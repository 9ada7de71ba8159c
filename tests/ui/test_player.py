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


def test_toggle_and_stop(qtbot, player: PreviewPlayer, clip: Path) -> None:
    button = player.findChild(QPushButton)
    with qtbot.waitSignal(player.stateChanged, check_params_cb=lambda s: s == "playing", timeout=5000):
        player.play_file(clip)
    assert player.is_playing() and button.text() == "Pause"
    with qtbot.waitSignal(player.stateChanged, check_params_cb=lambda s: s == "paused", timeout=5000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert not player.is_playing() and button.text() == "Play"
    with qtbot.waitSignal(player.stateChanged, check_params_cb=lambda s: s == "playing", timeout=5000):
        player.toggle()
    with qtbot.waitSignal(player.stateChanged, check_params_cb=lambda s: s == "stopped", timeout=5000):
        player.stop()
    assert not player.is_playing()


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
