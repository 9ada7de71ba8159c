"""The timeline's lanes: takes read from their source only in view, the original audio and its spectrogram,
the video's end, keys, the following playhead, sizes, and a picture of it all."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QImage, QWheelEvent  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from dubber.ui.peaks import Peaks  # noqa: E402
from dubber.ui.timeline_strip import (  # noqa: E402
    WAVE_BACKGROUND, WAVE_COLOUR, StripCue, TimelineStrip,
)
from tests.ui.test_timeline_drag import shown_strip  # noqa: E402

RATE = 8000
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def tone(ms: int, freq: float = 300.0, amplitude: float = 0.6, rate: int = RATE) -> np.ndarray:
    t = np.arange(ms * rate // 1000) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def rgb(widget: TimelineStrip) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    raw = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    return raw[:, : image.width() * 4].reshape(image.height(), image.width(), 4)[..., [2, 1, 0]].copy()


def colour(qcolor) -> np.ndarray:
    return np.array([qcolor.red(), qcolor.green(), qcolor.blue()], np.uint8)


CUES = [
    StripCue(1, 1000, 2500, "Hello there", "ok", target=(1100, 2300), slot=(1100, 2400), speaker="Ann"),
    StripCue(2, 3000, 4500, "Who is it?", "off", target=(3300, 4400), slot=(3300, 4400), speaker="Bob"),
    StripCue(3, 5200, 6000, "[knock]", "skipped", speaker="Ann"),
    StripCue(4, 6500, 8200, "It's me, open up", "failed", target=(6600, 8000), speaker="Ann"),
    StripCue(5, 50_000, 51_000, "Much later", "ok", target=(50_000, 50_900), speaker="Bob"),
]


@pytest.fixture
def strip(qtbot) -> TimelineStrip:
    return shown_strip(qtbot, CUES)


def take_source(calls: list[int], syllables: bool = False):
    """Each cue's take: a tone of its slot's length starting at its slot (rising and falling four times a
    second with syllables), recording who asked."""
    def source(index: int):
        calls.append(index)
        cue = next(c for c in CUES if c.index == index)
        if cue.state == "skipped":
            return None
        start, end = cue.slot or (cue.start_ms, cue.end_ms)
        samples = tone(end - start)
        if syllables:
            samples *= np.abs(np.sin(np.pi * 4 * np.arange(samples.size) / RATE)).astype(np.float32)
        return samples, RATE, start
    return source


def test_takes_are_read_only_for_cues_in_view_once_each(strip):
    calls: list[int] = []
    strip.set_take_source(take_source(calls))
    strip.grab()
    assert sorted(calls) == [1, 2, 4]  # 5 lies at 50 s, 3 is not spoken
    strip.grab()
    assert sorted(calls) == [1, 2, 4]  # cached
    strip.invalidate_takes([2])
    strip.grab()
    assert sorted(calls) == [1, 2, 2, 4]
    strip.set_window(45_000, 55_000)
    strip.grab()
    assert calls[-1] == 5 and calls.count(5) == 1
    strip.invalidate_takes()
    strip.set_window(0, 10_000)
    strip.grab()
    assert sorted(calls[5:]) == [1, 2, 4]


def test_each_take_is_drawn_in_its_speakers_lane_where_it_plays(strip):
    calls: list[int] = []
    strip.set_take_source(take_source(calls))
    image = rgb(strip)
    wave = colour(WAVE_COLOUR)

    def waved(speaker: str, ms: int) -> bool:
        lane = strip.take_lane(speaker)
        return bool(np.all(image[lane.top(): lane.bottom() + 1, round(strip.x_at(ms))] == wave, axis=1).any())

    assert waved("Ann", 1700) and not waved("Bob", 1700)
    assert waved("Bob", 3800) and not waved("Ann", 3800)
    assert not waved("Ann", 2700) and not waved("Ann", 5500)  # between takes; a line not spoken


def test_set_waveform_draws_the_selected_lines_take_in_place_of_the_sources(strip):
    calls: list[int] = []
    strip.set_take_source(take_source(calls))
    strip.set_selected(2)
    strip.set_window(0, 10_000)
    strip.set_waveform(tone(400), RATE, 3300)  # a shorter take than the source's
    assert strip.waveform_start() == 3300
    image = rgb(strip)
    lane = strip.take_lane("Bob")
    column = image[lane.top(): lane.bottom() + 1]
    wave = np.all(column == colour(WAVE_COLOUR), axis=2).any(axis=0)
    assert wave[round(strip.x_at(3500))] and not wave[round(strip.x_at(4000))]
    assert 2 not in calls


def test_the_original_audio_is_a_waveform_or_a_spectrogram(strip):
    audio = np.zeros((10 * RATE, 2), np.float32)
    audio[RATE * 1: RATE * 2] = tone(1000)[:, None]
    strip.set_cues([])
    strip.set_original(audio, RATE)
    lane = strip.original_lane()
    image = rgb(strip)[lane.top(): lane.bottom() + 1]
    drawn = np.any(np.any(image != colour(WAVE_BACKGROUND), axis=2), axis=0)
    assert drawn[110:190].all() and not drawn[:95].any() and not drawn[210:].any()
    assert not strip.spectrogram()
    strip.set_spectrogram(True)
    assert strip.spectrogram()
    spectrum = rgb(strip)[lane.top(): lane.bottom() + 1].astype(int)
    # 300 Hz lies low in the 0-4 kHz shown: a bright row near the bottom inside the tone, dark outside it
    inside, outside = spectrum[:, 150].sum(axis=1), spectrum[:, 500].sum(axis=1)
    assert inside.argmax() > lane.height() * 0.8 and inside.max() > 300
    assert outside.max() < 120
    strip.set_original(None, RATE)
    assert strip.original() is None and strip.spectrum() is None
    strip.set_original_peaks(Peaks(audio, RATE))  # built elsewhere: the same picture
    assert (rgb(strip)[lane.top(): lane.bottom() + 1].astype(int) == spectrum).all()


def test_the_time_past_the_videos_end_is_shaded_and_a_line_there_marked(strip):
    before = rgb(strip)
    strip.set_duration(7000)
    after = rgb(strip)
    y = strip.speaker_lane("Bob").center().y()
    assert after[y, 950].sum() < before[y, 950].sum()  # darker past the end
    assert (after[y, 400] == before[y, 400]).all()  # untouched before it
    fourth = CUES[3]
    assert strip.past_end(fourth) and not strip.past_end(CUES[0])
    assert "past the video's end" in strip.tooltip_at(strip.block_rect(fourth).center())
    # scrolling stops a tenth of a view past the end of the last line (at 51 s)
    strip.setFocus()
    QTest.keyClick(strip, Qt.Key.Key_End)
    assert strip.window() == (51_000 + 1000 - 10_000, 51_000 + 1000)
    QTest.keyClick(strip, Qt.Key.Key_Right)
    assert strip.window() == (42_000, 52_000)
    QTest.keyClick(strip, Qt.Key.Key_Home)
    assert strip.window() == (0, 10_000)


def test_keys_zoom_and_pan(strip):
    strip.set_duration(120_000)
    strip.setFocus()
    assert strip.focusPolicy() == Qt.FocusPolicy.StrongFocus
    QTest.keyClick(strip, Qt.Key.Key_Right)
    assert strip.window() == (1000, 11_000)
    QTest.keyClick(strip, Qt.Key.Key_Left)
    QTest.keyClick(strip, Qt.Key.Key_Left)
    assert strip.window() == (0, 10_000)  # not before 0
    strip.set_window(10_000, 20_000)
    QTest.keyClick(strip, Qt.Key.Key_Plus, Qt.KeyboardModifier.ShiftModifier)
    assert strip.window() == (11_666, 18_333)  # two thirds of the span, around the middle
    QTest.keyClick(strip, Qt.Key.Key_Minus)
    start, end = strip.window()
    assert end - start == 10_000 and abs((start + end) / 2 - 15_000) <= 1
    QTest.keyClick(strip, Qt.Key.Key_Equal)
    assert strip.window()[1] - strip.window()[0] < 10_000
    strip.set_selected(2)
    QTest.keyClick(strip, Qt.Key.Key_Z)
    assert strip.window() == (3000 - 150, 4500 + 150)  # the line, its speech and slot, a tenth either side
    before = strip.window()
    QTest.keyClick(strip, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)  # the window's key, not the strip's
    assert strip.window() == before


def wheel(strip: TimelineStrip, x: float, delta: QPoint, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    pos = QPointF(x, 100)
    QApplication.sendEvent(strip, QWheelEvent(pos, strip.mapToGlobal(pos), QPoint(), delta, Qt.MouseButton.NoButton,
                                              modifiers, Qt.ScrollPhase.NoScrollPhase, False))


def test_the_wheel_zooms_around_the_pointer_and_shift_or_a_horizontal_wheel_pans(strip):
    strip.set_duration(120_000)
    strip.set_window(10_000, 20_000)
    wheel(strip, 250, QPoint(0, -120))  # away from the user: zoom out, the time under the pointer stays
    assert strip.window() == (9375, 21_875)
    strip.set_window(10_000, 20_000)
    wheel(strip, 250, QPoint(0, -120), Qt.KeyboardModifier.ShiftModifier)
    assert strip.window() == (11_000, 21_000)
    wheel(strip, 250, QPoint(120, 0))
    assert strip.window() == (10_000, 20_000)


def test_a_following_playhead_pages_the_view(strip):
    strip.set_duration(120_000)
    strip.set_playhead(9000, follow=True)
    assert strip.window() == (0, 10_000)
    strip.set_playhead(10_400, follow=True)
    assert strip.window() == (9400, 19_400)
    strip.set_playhead(30_000)
    assert strip.window() == (9400, 19_400)  # without follow the view stays
    strip.set_playhead(2000, follow=True)
    assert strip.window() == (1000, 11_000)


def test_lanes_fit_two_speakers_in_the_strips_room_and_many_ask_for_more(strip):
    strip.resize(1000, 210)
    assert strip.speakers() == ("Ann", "Bob")
    hint = strip.sizeHint().height()
    assert 180 <= hint <= 240 and strip.minimumSizeHint().height() <= 200
    original, ann, bob = strip.original_lane(), strip.speaker_lane("Ann"), strip.speaker_lane("Bob")
    assert original.height() >= 50 and ann.height() >= 50 and bob.bottom() < strip.height()
    assert strip.take_lane("Ann").height() >= 30  # a title row and the take under it
    many = [StripCue(i, i * 1000, i * 1000 + 800, "x", "ok", speaker=f"S{i}") for i in range(8)]
    strip.set_cues(many)
    assert strip.sizeHint().height() > hint + 200
    heights = {strip.speaker_lane(f"S{i}").height() for i in range(8)}
    assert min(heights) >= 29  # lanes shrink to their minimum, no further


def test_a_picture_of_two_speakers_with_takes_and_a_drag(strip):
    """Saved to tests/artifacts/timeline_strip.png for a person to look at."""
    strip.resize(1000, 230)
    audio = np.random.default_rng(3).normal(0, 0.02, 10 * RATE).astype(np.float32)
    for cue in CUES[:4]:
        if cue.target:
            a, b = (v * RATE // 1000 for v in cue.target)
            audio[a:b] += tone(cue.target[1] - cue.target[0], 180, 0.5)[: b - a] * np.hanning(b - a).astype(np.float32)
    strip.set_original(audio, RATE)
    strip.set_take_source(take_source([], syllables=True))
    strip.set_duration(9000)
    strip.set_frame_rate(25)
    strip.set_selected(1)
    strip.set_window(0, 10_000)
    strip.set_playhead(4200)
    first = strip.block_rect(CUES[0])
    y = round(first.center().y())
    QTest.mousePress(strip, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(round(first.right()), y))
    QTest.mouseMove(strip, QPoint(round(first.right()) + 40, y))
    QTest.mouseMove(strip, QPoint(round(strip.x_at(3300)) + 4, y))  # snaps onto Bob's speech onset
    preview = strip.drag_preview()
    assert preview is not None and preview[2] == 3300
    image = strip.grab()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert image.save(str(ARTIFACTS / "timeline_strip.png"))
    QTest.mouseRelease(strip, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       QPoint(round(strip.x_at(3300)) + 4, y))


def test_the_takes_kept_are_bounded_and_read_again_once_dropped(qtbot, monkeypatch):
    import dubber.ui.timeline_strip as module

    monkeypatch.setattr(module, "TAKE_CACHE", 3)
    cues = [StripCue(k, k * 1000, k * 1000 + 800, f"line {k}", "ok", speaker="Ann") for k in range(1, 6)]
    strip = shown_strip(qtbot, cues)
    reads: list[int] = []
    strip.set_take_source(lambda index: reads.append(index) or (tone(500), RATE, index * 1000))
    for cue in cues:
        strip.take_for(cue)
    assert reads == [1, 2, 3, 4, 5] and len(strip._takes) == 3
    strip.take_for(cues[4])  # kept: not read again
    strip.take_for(cues[0])  # dropped when the fourth came: read again
    assert reads == [1, 2, 3, 4, 5, 1]
