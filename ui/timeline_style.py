"""The timeline's colours, sizes and ruler steps: what the strip and its painter share."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor

STATE_COLOURS = {
    "ok": QColor("#2e9d4f"),
    "off": QColor("#d99a1e"),
    "failed": QColor("#c8402f"),
    "overlap": QColor("#c8402f"),  # red as in the table: two voices at once
    "pending": QColor("#7d828a"),
    "skipped": QColor("#44474d"),
}
STATE_TEXT = {"ok": QColor("#ffffff"), "off": QColor("#1b1b1b"), "failed": QColor("#ffffff"),
              "overlap": QColor("#ffffff"), "pending": QColor("#111111"), "skipped": QColor("#a9adb4")}
STATE_WORDS = {"ok": "in sync", "off": "out of sync", "failed": "failed or cannot fit", "pending": "not dubbed",
               "skipped": "not spoken", "overlap": "overlaps another line"}
SKIPPED_HATCH = QColor("#6c7078")  # diagonal lines over a cue that is not spoken
TARGET_COLOUR = QColor("#b58cf0")  # the original speech a line follows
RULER_BACKGROUND = QColor("#1a1b1e")
CUE_BACKGROUND = QColor("#202226")  # a speaker's lane
LANE_SEPARATOR = QColor("#2d3036")
WAVE_BACKGROUND = QColor("#151619")  # the original audio's lane
ORIGINAL_WAVE = QColor("#7f8894")
RULER_TEXT = QColor("#b9bdc4")
WAVE_COLOUR = QColor("#9fc3e6")  # a take inside its slot
WAVE_OVERFLOW = QColor("#e5734f")  # the part of a take outside its slot
SLOT_BAND = QColor(255, 255, 255, 34)  # the selected line's slot across its take's lane
SLOT_EDGE = QColor(255, 255, 255, 110)
SPEAKER_TEXT = QColor("#e4e6ea")
SPEAKER_BACKGROUND = QColor(16, 17, 19, 200)
SELECTED_OUTLINE = QColor("#ffffff")
PLAYHEAD = QColor("#ffe14d")
GHOST_FILL = QColor(255, 255, 255, 60)
GHOST_EDGE = QColor("#ffffff")
SNAP_GUIDE = QColor("#3fd0ff")
PAST_END = QColor(0, 0, 0, 150)  # over everything after the video's end
PAST_END_HATCH = QColor(200, 64, 47, 110)
PAST_END_MARK = QColor("#ff5a3c")  # the bar under a block that runs past the video's end
MARK_FILL = QColor(200, 64, 47, 120)  # a timing problem (overlap, cannot fit) along the foot of its lane
MARK_HATCH = QColor("#ff5a3c")
MARK_HEIGHT = 6
DRAWN_MARKS = ("overlap", "cannot-fit", "runs-past-end")  # the rest (past the end, not spoken) show on the block

RULER_HEIGHT = 18
ORIGINAL_MIN, ORIGINAL_PREFERRED, ORIGINAL_MAX = 28, 64, 110  # the original audio's lane
LANE_MIN, LANE_PREFERRED = 30, 60  # a speaker's lane
LABEL_HEIGHT = 14  # a block's title row; its take's waveform lies under it
MIN_TICK_SPACING_PX = 80
_NICE_STEPS_MS = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000,
                  300_000, 600_000, 1_800_000, 3_600_000)

# The spectrogram's colour map: dark blue through violet and orange to pale yellow.
_STOPS = np.array([[8, 9, 24], [46, 20, 92], [128, 32, 110], [214, 78, 62], [250, 176, 60], [252, 246, 190]],
                  np.float64)
SPECTRUM_LUT = np.stack([np.interp(np.linspace(0, len(_STOPS) - 1, 256), np.arange(len(_STOPS)), _STOPS[:, c])
                         for c in range(3)], axis=1).astype(np.uint8)
SPECTRUM_RANGE_DB = 60.0  # shown below the loudest bin in view
SPECTRUM_QUIETEST_DB = -50.0  # a view of near silence stays dark rather than showing its noise at full scale
SPECTRUM_TOP_HZ = 8000  # speech lies below; more rows would only squeeze it


def tick_step(span_ms: int, width_px: int, min_spacing_px: int = MIN_TICK_SPACING_PX) -> int:
    """The smallest 'nice' ruler step (ms) whose ticks are at least min_spacing_px apart."""
    px_per_ms = width_px / max(span_ms, 1)
    for step in _NICE_STEPS_MS:
        if step * px_per_ms >= min_spacing_px:
            return step
    return _NICE_STEPS_MS[-1]


def format_tick(ms: int, step_ms: int) -> str:
    """A ruler label in seconds, with as many decimals as the step needs ("12 s", "12.5 s", "12.25 s")."""
    decimals = 0 if step_ms % 1000 == 0 else 1 if step_ms % 100 == 0 else 2
    return f"{ms / 1000:.{decimals}f} s"


def span_text(start_ms: int, end_ms: int) -> str:
    return f"{format_tick(start_ms, 10)} – {format_tick(end_ms, 10)}"
