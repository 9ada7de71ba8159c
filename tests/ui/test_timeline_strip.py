"""The timeline strip: time mapping, selection window, clicks, and what it paints where (one speaker lane)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QImage, QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from dubber.ui.timeline_strip import (  # noqa: E402
    CUE_BACKGROUND, PLAYHEAD, SKIPPED_HATCH, STATE_COLOURS, WAVE_BACKGROUND, WAVE_COLOUR, WAVE_OVERFLOW, StripCue,
    TimelineStrip, envelope_columns, format_tick, tick_step,
)

WIDTH, HEIGHT = 800, 120
RATE = 8000


@pytest.fixture
def strip(qtbot) -> TimelineStrip:
    widget = TimelineStrip()
    qtbot.addWidget(widget)
    widget.resize(WIDTH, HEIGHT)
    widget.show()
    qtbot.waitExposed(widget)
    assert (widget.width(), widget.height()) == (WIDTH, HEIGHT)
    return widget


def rgb(widget: TimelineStrip) -> np.ndarray:
    """The widget as rendered, [height, width, 3] uint8 RGB."""
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    assert (image.width(), image.height()) == (widget.width(), widget.height())
    raw = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    bgra = raw[:, : image.width() * 4].reshape(image.height(), image.width(), 4)
    return bgra[..., [2, 1, 0]].copy()


def colour(qcolor) -> np.ndarray:
    return np.array([qcolor.red(), qcolor.green(), qcolor.blue()], np.uint8)


def tone(start_ms: int, end_ms: int, total_ms: int, amplitude: float = 0.6) -> np.ndarray:
    """Silence with a 300 Hz tone between start_ms and end_ms."""
    samples = np.zeros(total_ms * RATE // 1000, np.float32)
    a, b = start_ms * RATE // 1000, end_ms * RATE // 1000
    samples[a:b] = amplitude * np.sin(2 * np.pi * 300 * np.arange(b - a) / RATE)
    return samples


def lane_columns(image: np.ndarray, lane, background) -> np.ndarray:
    """For each pixel column: does the lane hold anything but its background there?"""
    rows = image[lane.top(): lane.bottom() + 1]
    return np.any(np.any(rows != colour(background), axis=2), axis=0)


CUES = [
    StripCue(1, 1000, 2500, "Hello there", "ok"),
    StripCue(2, 4000, 6000, "", "failed"),
    StripCue(3, 10_000, 12_500, "A long line that cannot possibly fit in its block", "off"),
    StripCue(4, 13_000, 14_000, "Later", "pending"),
]


def test_ms_and_x_map_onto_each_other(strip):
    strip.set_window(5000, 15_000)
    assert strip.x_at(5000) == 0
    assert strip.x_at(15_000) == WIDTH
    assert strip.x_at(7500) == pytest.approx(200)
    assert strip.ms_at(200) == 7500
    assert strip.ms_at(WIDTH) == 15_000
    for ms in range(5000, 15_001, 37):
        assert strip.ms_at(strip.x_at(ms)) == ms
    with pytest.raises(ValueError):
        strip.set_window(3000, 3000)


def test_selecting_a_cue_centres_the_window_on_it(strip, qtbot):
    strip.set_cues(CUES)
    with qtbot.waitSignal(strip.windowChanged) as changed:
        strip.set_selected(3)
    assert strip.window() == (8000, 14_500)
    assert changed.args == [8000, 14_500]
    assert strip.selected() == 3
    strip.set_selected(1)
    assert strip.window() == (0, 4500)  # clamped at 0
    strip.set_selected(99)  # unknown: the view stays put
    assert strip.window() == (0, 4500)
    strip.set_selected(None)
    assert strip.window() == (0, 4500) and strip.selected() is None


def test_clicking_a_block_emits_its_index_and_empty_space_nothing(strip, qtbot):
    strip.set_cues(CUES)
    strip.set_window(0, 16_000)
    y = strip.cue_lane().center().y()
    for cue in CUES:
        x = round(strip.x_at((cue.start_ms + cue.end_ms) // 2))
        with qtbot.waitSignal(strip.lineClicked, timeout=1000) as clicked:
            qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
        assert clicked.args == [cue.index]
    gap_x = round(strip.x_at(8000))
    above_block = QPoint(round(strip.x_at(5000)), strip.original_lane().center().y())
    with qtbot.assertNotEmitted(strip.lineClicked, wait=50):
        qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=QPoint(gap_x, y))
        qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=above_block)
        qtbot.mouseClick(strip, Qt.MouseButton.RightButton, pos=QPoint(round(strip.x_at(5000)), y))


def test_waveform_is_drawn_only_where_the_take_has_sound(strip):
    strip.set_window(0, 4000)  # 5 ms per pixel: the tone at 1000-1500 ms spans x 200-300
    strip.set_waveform(tone(1000, 1500, 3000), RATE, start_ms=0)
    drawn = lane_columns(rgb(strip), strip.take_lane(""), CUE_BACKGROUND)
    assert drawn[205:296].all()
    assert not drawn[:196].any()
    assert not drawn[305:].any()  # silent samples up to 3000 ms, then no take at all

    # the take is placed at absolute video time: starting it 2 s later moves the sound 400 px right
    strip.set_waveform(tone(1000, 1500, 3000), RATE, start_ms=2000)
    drawn = lane_columns(rgb(strip), strip.take_lane(""), CUE_BACKGROUND)
    assert drawn[605:696].all()
    assert not drawn[:596].any() and not drawn[705:].any()

    strip.set_waveform(None, RATE, 0)
    assert not lane_columns(rgb(strip), strip.take_lane(""), CUE_BACKGROUND).any()


def test_envelope_height_follows_the_amplitude(strip):
    strip.set_window(0, 4000)
    lane = strip.take_lane("")
    strip.set_waveform(tone(1000, 1500, 2000, amplitude=0.9), RATE, 0)
    loud = rgb(strip)[lane.top(): lane.bottom() + 1, 250]
    strip.set_waveform(tone(1000, 1500, 2000, amplitude=0.2), RATE, 0)
    quiet = rgb(strip)[lane.top(): lane.bottom() + 1, 250]
    loud_px = np.all(loud == colour(WAVE_COLOUR), axis=1).sum()
    quiet_px = np.all(quiet == colour(WAVE_COLOUR), axis=1).sum()
    assert loud_px > 0.8 * lane.height()
    assert 0.1 * lane.height() < quiet_px < 0.3 * lane.height()


def test_the_part_of_a_take_past_its_slot_stands_out(strip):
    strip.set_cues([StripCue(7, 1000, 1300, "short slot", "off")])
    strip.set_selected(7)
    strip.set_window(0, 4000)
    strip.set_waveform(tone(1000, 1500, 2000), RATE, start_ms=0)
    image = rgb(strip)
    lane = strip.take_lane("")
    inside = image[lane.top(): lane.bottom() + 1, round(strip.x_at(1150))]
    overrun = image[lane.top(): lane.bottom() + 1, round(strip.x_at(1400))]
    assert np.all(inside == colour(WAVE_COLOUR), axis=1).sum() > lane.height() // 2
    assert np.all(overrun == colour(WAVE_OVERFLOW), axis=1).sum() > lane.height() // 2
    assert not np.all(inside == colour(WAVE_OVERFLOW), axis=1).any()
    # the slot band tints the lane inside the slot only
    quiet_row = lane.top() + 2
    assert (image[quiet_row, round(strip.x_at(1150))] != colour(CUE_BACKGROUND)).any()
    assert (image[quiet_row, round(strip.x_at(2500))] == colour(CUE_BACKGROUND)).all()


def test_blocks_are_coloured_by_state_and_the_selected_one_is_outlined(strip):
    strip.set_cues(CUES)
    strip.set_window(0, 16_000)

    def title_pixel(index: int, dx: int = 0) -> np.ndarray:
        """A pixel of the block's title row, dx px into the block (its middle with dx=0), above any text."""
        cue = next(c for c in CUES if c.index == index)
        rect = strip.block_rect(cue)
        x = round(rect.left()) + dx if dx else round(rect.center().x())
        return rgb(strip)[round(rect.top()) + 2, x].astype(int)

    r, g, b = title_pixel(2)  # "failed", no label
    assert r > 150 and r > 2 * g and r > 2 * b
    r, g, b = title_pixel(1, dx=3)  # "ok": left of its label
    assert g > 120 and g > r + 50 and g > b + 50
    body = rgb(strip)[round(strip.take_lane("").center().y()), round(strip.x_at(5000))].astype(int)
    assert body[0] > body[1] + 20 and body.max() < 150  # the body is the state's colour, dimmed for the take

    before = title_pixel(2, dx=1)
    strip.set_selected(2)
    strip.set_window(0, 16_000)
    after = title_pixel(2, dx=1)
    assert before[0] > 2 * before[1]  # still the red fill
    assert after.min() > 200  # now the white selection outline


def test_playhead_is_a_vertical_line(strip):
    strip.set_window(0, 4000)
    strip.set_playhead(2000)
    image = rgb(strip)
    lane = strip.take_lane("")
    column = image[lane.top(): lane.bottom() + 1, 400]
    assert np.all(column == colour(PLAYHEAD), axis=1).all()
    strip.set_playhead(None)
    assert not np.all(rgb(strip)[lane.top(): lane.bottom() + 1, 400] == colour(PLAYHEAD), axis=1).any()


def test_envelope_columns_take_min_and_max_per_column():
    samples = np.array([0.1, -0.5, 0.9, 0.2, -0.3, 0.4], np.float32)  # at 1 kHz, one sample per ms
    lo, hi = envelope_columns(samples, 1000, start_ms=2, window=(0, 10), columns=5)  # 2 ms per column
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    np.testing.assert_allclose(lo[1:4], [-0.5, 0.2, -0.3])
    np.testing.assert_allclose(hi[1:4], [0.1, 0.9, 0.4])
    assert np.isnan(lo[4])
    # zoomed in past one sample per column, each column shows its sample
    lo, hi = envelope_columns(samples, 1000, start_ms=0, window=(0, 3), columns=12)
    np.testing.assert_allclose(hi, np.repeat(samples[:3], 4))
    # channels: the envelope spans every channel
    stereo = np.stack([samples, -samples], axis=1)
    lo, hi = envelope_columns(stereo, 1000, start_ms=0, window=(0, 6), columns=1)
    assert (lo[0], hi[0]) == pytest.approx((-0.9, 0.9))


def test_ruler_steps_and_labels():
    assert tick_step(10_000, 800) == 1000  # 80 px per second
    assert tick_step(4000, 800) == 500
    assert tick_step(600_000, 800) == 60_000
    assert format_tick(12_500, 500) == "12.5 s"
    assert format_tick(12_000, 1000) == "12 s"
    assert format_tick(250, 50) == "0.25 s"


def test_wheel_zooms_around_the_pointer(strip):
    strip.set_window(10_000, 20_000)
    x = 600.0
    anchor = strip.ms_at(x)
    event = QWheelEvent(QPointF(x, 50), strip.mapToGlobal(QPointF(x, 50)), QPoint(), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(strip, event)
    start, end = strip.window()
    assert end - start == 8000
    assert abs(strip.ms_at(x) - anchor) <= 1


SPEECH_CUES = [
    StripCue(1, 1000, 2500, "Hello there", "ok", target=(1200, 2900), slot=(1200, 2960)),
    StripCue(2, 3000, 3600, "[door slams]", "skipped", note="Not spoken: sound description"),
    StripCue(3, 4000, 6000, "Not found", "pending", slot=(4000, 6000)),
]


def test_the_original_speech_is_shaded_on_the_original_lane_above_its_block(strip):
    strip.set_cues(SPEECH_CUES)
    strip.set_window(0, 8000)  # 10 ms per pixel
    first = SPEECH_CUES[0]
    band, block = strip.target_rect(first), strip.block_rect(first)
    assert (band.left(), band.right()) == (pytest.approx(120), pytest.approx(290))  # past the cue's end
    lane = strip.original_lane()
    assert (band.top(), band.bottom()) == (lane.top(), lane.bottom() + 1)
    assert band.bottom() <= block.top()
    assert strip.target_rect(SPEECH_CUES[2]) is None
    assert strip.target_at(band.center()) == first and strip.cue_at(band.center()) is None
    assert strip.tooltip_at(band.center()) == "Original speech of #1: 1.20 s – 2.90 s"
    assert strip.tooltip_at(block.center()).splitlines()[:2] == ["#1  1.00 s – 2.50 s  (in sync)",
                                                                 "original speech 1.20 s – 2.90 s"]
    image = rgb(strip)
    y = lane.center().y()
    assert (image[y, round(strip.x_at(2000))] != colour(WAVE_BACKGROUND)).any()  # shaded inside the speech
    assert (image[y, round(strip.x_at(3500))] == colour(WAVE_BACKGROUND)).all()  # not between spans


def test_selecting_frames_the_cue_its_speech_and_its_slot(strip):
    strip.set_cues(SPEECH_CUES)
    strip.set_selected(1)
    assert SPEECH_CUES[0].extent == (1000, 2960)
    assert strip.window() == (0, 2960 + 2000)


def test_the_take_is_judged_against_its_slot_not_its_cue(strip):
    strip.set_cues(SPEECH_CUES)
    strip.set_selected(1)
    strip.set_window(0, 4000)
    assert strip.slot_span(SPEECH_CUES[0]) == (1200, 2960)
    assert strip.slot_span(SPEECH_CUES[1]) == (3000, 3600)  # no slot: its cue
    strip.set_waveform(tone(1200, 2700, 3000), RATE, start_ms=0)  # past the cue's end, inside the slot
    image = rgb(strip)
    lane = strip.take_lane("")
    past_cue = image[lane.top(): lane.bottom() + 1, round(strip.x_at(2600))]
    assert np.all(past_cue == colour(WAVE_COLOUR), axis=1).sum() > lane.height() // 2
    assert not np.all(image[lane.top(): lane.bottom() + 1] == colour(WAVE_OVERFLOW), axis=2).any()


def test_a_cue_not_spoken_is_grey_and_hatched(strip):
    strip.set_cues(SPEECH_CUES)
    strip.set_window(0, 8000)
    block = strip.block_rect(SPEECH_CUES[1])
    top, bottom, left, right = (round(v) for v in (block.top(), block.bottom(), block.left(), block.right()))
    pixels = rgb(strip)[top + 2: bottom - 2, left + 2: right - 2]
    found = {tuple(p) for p in pixels.reshape(-1, 3)}
    assert tuple(colour(STATE_COLOURS["skipped"])) in found and tuple(colour(SKIPPED_HATCH)) in found
    assert "not spoken" in strip.tooltip_at(block.center()) and "sound description" in strip.tooltip_at(block.center())
