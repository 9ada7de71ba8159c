"""The timeline strip: cue blocks, the original speech under them, the chosen take's waveform and a playhead.

Editors use it to see at a glance whether a spoken line fits its slot and follows the actor. It takes
plain data (`StripCue`, a numpy array) so it depends on no other dubber UI code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QLine, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush, QColor, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF, QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

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
CUE_BACKGROUND = QColor("#202226")
WAVE_BACKGROUND = QColor("#151619")
RULER_TEXT = QColor("#b9bdc4")
WAVE_COLOUR = QColor("#9fc3e6")
WAVE_OVERFLOW = QColor("#e5734f")  # the part of a take outside its slot
SLOT_BAND = QColor(255, 255, 255, 34)
SLOT_EDGE = QColor(255, 255, 255, 110)
SELECTED_OUTLINE = QColor("#ffffff")
PLAYHEAD = QColor("#ffe14d")

SELECT_MARGIN_MS = 2000
MIN_SPAN_MS = 200
MAX_SPAN_MS = 6 * 3600 * 1000
RULER_HEIGHT = 18
TARGET_HEIGHT = 7
MIN_TICK_SPACING_PX = 80
_NICE_STEPS_MS = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000,
                  300_000, 600_000, 1_800_000, 3_600_000)


@dataclass(frozen=True)
class StripCue:
    """One subtitle line as the strip shows it."""

    index: int  # cue index, as in the subtitle file
    start_ms: int
    end_ms: int
    label: str  # short text shown inside the block (elided to fit)
    state: str  # "ok" | "off" (out of sync) | "overlap" | "failed" | "pending" | "skipped" (not spoken)
    target: tuple[int, int] | None = None  # the original speech it follows (ms), drawn under the block
    slot: tuple[int, int] | None = None  # where its take lies: its onset and the latest it may end
    note: str = ""  # said in the tooltip: why it is not spoken, the take's note

    @property
    def extent(self) -> tuple[int, int]:
        """From the earliest to the latest of its cue, original speech and slot."""
        spans = [(self.start_ms, self.end_ms), *(s for s in (self.target, self.slot) if s is not None)]
        return min(s for s, _ in spans), max(e for _, e in spans)


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


def envelope_columns(samples: np.ndarray, rate: int, start_ms: int, window: tuple[int, int],
                     columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-column (min, max) of samples placed at start_ms, for `columns` equal slices of window.

    samples is [n] or [n, channels]; columns that hold no sample are NaN. Each column covers the
    samples whose time falls in it; when zoomed in past one sample per column it shows the sample at
    its left edge, so the envelope stays continuous.
    """
    data = np.asarray(samples, dtype=np.float32)
    lo_src, hi_src = (data, data) if data.ndim == 1 else (data.min(axis=1), data.max(axis=1))
    n = lo_src.shape[0]
    lo = np.full(columns, np.nan, np.float32)
    hi = np.full(columns, np.nan, np.float32)
    if n == 0 or columns <= 0:
        return lo, hi
    w_start, w_end = window
    edges_ms = w_start + np.arange(columns + 1, dtype=np.float64) * ((w_end - w_start) / columns)
    edges = np.floor((edges_ms - start_ms) * rate / 1000.0).astype(np.int64)
    first, after = edges[:-1], np.maximum(edges[1:], edges[:-1] + 1)
    valid = (first < n) & (after > 0)
    if not valid.any():
        return lo, hi
    starts = np.clip(first[valid], 0, n - 1)
    ends = np.minimum(after[valid], n)  # > starts for every valid column
    # reduceat over interleaved (start, end) pairs reduces exactly samples[start:end] at the even slots;
    # one padding sample keeps an end of n a legal index.
    bounds = np.empty(starts.size * 2, np.int64)
    bounds[0::2], bounds[1::2] = starts, ends
    lo[valid] = np.minimum.reduceat(np.append(lo_src, np.float32(0)), bounds)[0::2]
    hi[valid] = np.maximum.reduceat(np.append(hi_src, np.float32(0)), bounds)[0::2]
    return lo, hi


class TimelineStrip(QWidget):
    """A horizontal strip: time ruler on top, cue blocks below it, the selected take's waveform at the bottom."""

    lineClicked = Signal(int)  # cue index of the block clicked
    windowChanged = Signal(int, int)  # the visible range after set_window, set_selected or a wheel zoom/pan

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cues: tuple[StripCue, ...] = ()
        self._selected: int | None = None
        self._window = (0, 10_000)
        self._playhead: int | None = None
        self._samples: np.ndarray | None = None
        self._rate = 0
        self._wave_start_ms = 0
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    # -- data ---------------------------------------------------------------------------------------

    def set_cues(self, cues: Sequence[StripCue]) -> None:
        self._cues = tuple(cues)
        self.update()

    def cues(self) -> tuple[StripCue, ...]:
        return self._cues

    def set_selected(self, index: int | None) -> None:
        """Highlight the cue with this index and centre the window on it, its speech and slot (2 s either side)."""
        self._selected = index
        cue = self._cue(index)
        if cue is not None:
            start, end = cue.extent
            self.set_window(max(0, start - SELECT_MARGIN_MS), end + SELECT_MARGIN_MS)
        self.update()

    def selected(self) -> int | None:
        return self._selected

    def set_waveform(self, samples: np.ndarray | None, rate: int, start_ms: int) -> None:
        """The selected line's take as placed on the timeline: its first sample plays at start_ms (video time)."""
        if samples is None:
            self._samples = None
        else:
            if rate <= 0:
                raise ValueError(f"sample rate must be positive, got {rate}")
            data = np.asarray(samples)
            if data.ndim not in (1, 2):
                raise ValueError(f"samples must be [n] or [n, channels], got shape {data.shape}")
            if np.issubdtype(data.dtype, np.integer):
                data = data.astype(np.float32) / float(np.iinfo(data.dtype).max)
            self._samples = np.ascontiguousarray(data, dtype=np.float32)
            self._rate, self._wave_start_ms = int(rate), int(start_ms)
        self.update()

    def waveform_start(self) -> int | None:
        """Where the waveform's first sample lies (video ms), or None without one."""
        return None if self._samples is None else self._wave_start_ms

    def set_playhead(self, ms: int | None) -> None:
        self._playhead = None if ms is None else int(ms)
        self.update()

    def playhead(self) -> int | None:
        """Where the playhead stands (video ms), or None before anything has played."""
        return self._playhead

    def set_window(self, start_ms: int, end_ms: int) -> None:
        """Set the visible time range [start_ms, end_ms)."""
        start_ms, end_ms = int(start_ms), int(end_ms)
        if end_ms <= start_ms:
            raise ValueError(f"empty window: {start_ms}..{end_ms} ms")
        if (start_ms, end_ms) != self._window:
            self._window = (start_ms, end_ms)
            self.windowChanged.emit(start_ms, end_ms)
        self.update()

    def window(self) -> tuple[int, int]:
        return self._window

    # -- geometry -----------------------------------------------------------------------------------

    def ms_at(self, x: float) -> int:
        """The time (ms) at widget x."""
        start, end = self._window
        return round(start + x * (end - start) / max(self.width(), 1))

    def x_at(self, ms: int) -> float:
        """The widget x of a time (ms)."""
        start, end = self._window
        return (ms - start) * max(self.width(), 1) / (end - start)

    def cue_lane(self) -> QRect:
        """Where the cue blocks are drawn."""
        height = max(22, int((self.height() - RULER_HEIGHT) * 0.4))
        return QRect(0, RULER_HEIGHT + 2, self.width(), height)

    def target_lane(self) -> QRect:
        """Where the original speech is drawn: a thin band under the cue blocks."""
        return QRect(0, self.cue_lane().bottom() + 1, self.width(), TARGET_HEIGHT)

    def wave_lane(self) -> QRect:
        """Where the waveform is drawn."""
        top = self.target_lane().bottom() + 4
        return QRect(0, top, self.width(), max(self.height() - 2 - top, 1))

    def block_rect(self, cue: StripCue) -> QRectF:
        """Where a cue's block is drawn."""
        lane = self.cue_lane()
        x0 = self.x_at(cue.start_ms)
        width = max(self.x_at(cue.end_ms) - x0, 2.0)  # a very short cue stays visible and clickable
        return QRectF(x0, lane.top() + 2, width, lane.height() - 4)

    def target_rect(self, cue: StripCue) -> QRectF | None:
        """Where a cue's original speech is drawn, or None when it has none."""
        if cue.target is None:
            return None
        lane = self.target_lane()
        x0 = self.x_at(cue.target[0])
        return QRectF(x0, lane.top(), max(self.x_at(cue.target[1]) - x0, 2.0), lane.height())

    def slot_span(self, cue: StripCue) -> tuple[int, int]:
        """Where the cue's take may lie: its slot, or its cue when it has none."""
        return cue.slot if cue.slot is not None else (cue.start_ms, cue.end_ms)

    def cue_at(self, pos: QPointF) -> StripCue | None:
        """The cue whose block lies under pos (the selected one wins where blocks overlap)."""
        for cue in reversed(self._draw_order()):
            if self.block_rect(cue).contains(pos):
                return cue
        return None

    def target_at(self, pos: QPointF) -> StripCue | None:
        """The cue whose original speech lies under pos."""
        for cue in reversed(self._draw_order()):
            rect = self.target_rect(cue)
            if rect is not None and rect.contains(pos):
                return cue
        return None

    def tooltip_at(self, pos: QPointF) -> str | None:
        """What the strip says about what lies under pos: a cue block or an original speech band."""
        cue = self.cue_at(pos)
        if cue is not None:
            text = f"#{cue.index}  {_span(cue.start_ms, cue.end_ms)}  ({STATE_WORDS.get(cue.state, cue.state)})"
            if cue.target is not None:
                text += f"\noriginal speech {_span(*cue.target)}"
            return "\n".join(t for t in (text, cue.note, cue.label) if t)
        cue = self.target_at(pos)
        if cue is not None:
            return f"Original speech of #{cue.index}: {_span(*cue.target)}" if cue.target else None
        return None

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return QSize(800, 120)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(200, 90)

    # -- events -------------------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        cue = self.cue_at(event.position()) if event.button() == Qt.MouseButton.LeftButton else None
        if cue is None:
            super().mousePressEvent(event)
            return
        event.accept()
        self.lineClicked.emit(cue.index)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        """Wheel zooms around the pointer; horizontal wheel (or shift+wheel) pans."""
        delta = event.angleDelta()
        start, end = self._window
        span = end - start
        pan = delta.x() or (delta.y() if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 0)
        if pan:
            shift = round(-pan / 120 * span * 0.1)
            new_start = max(0, start + shift)
            self.set_window(new_start, new_start + span)
        elif delta.y():
            x = event.position().x()
            anchor = self.ms_at(x)
            new_span = min(max(round(span * 0.8 ** (delta.y() / 120)), MIN_SPAN_MS), MAX_SPAN_MS)
            new_start = max(0, round(anchor - x / max(self.width(), 1) * new_span))
            self.set_window(new_start, new_start + new_span)
        event.accept()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            text = self.tooltip_at(QPointF(event.pos()))
            if text is None:
                QToolTip.hideText()
                event.ignore()
            else:
                QToolTip.showText(event.globalPos(), text, self)
            return True
        return super().event(event)

    # -- painting -----------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), RULER_BACKGROUND)
            painter.fillRect(self.cue_lane(), CUE_BACKGROUND)
            painter.fillRect(self.wave_lane(), WAVE_BACKGROUND)
            self._paint_ruler(painter)
            self._paint_slot(painter)
            self._paint_waveform(painter)
            self._paint_cues(painter)
            self._paint_targets(painter)
            self._paint_playhead(painter)
        finally:
            painter.end()

    def _paint_ruler(self, painter: QPainter) -> None:
        start, end = self._window
        step = tick_step(end - start, self.width())
        minor = step // (4 if str(step).startswith("2") else 5)
        px_per_ms = self.width() / (end - start)
        painter.setPen(QPen(RULER_TEXT, 1))
        if minor * px_per_ms >= 6:
            for ms in range(math.ceil(start / minor) * minor, end + 1, minor):
                x = round(self.x_at(ms))
                painter.drawLine(x, RULER_HEIGHT - 4, x, RULER_HEIGHT - 1)
        font = painter.font()
        font.setPointSizeF(7.5)
        painter.setFont(font)
        ascent = QFontMetrics(font).ascent()
        for ms in range(math.ceil(start / step) * step, end + 1, step):
            x = round(self.x_at(ms))
            painter.drawLine(x, RULER_HEIGHT - 9, x, RULER_HEIGHT - 1)
            painter.drawText(x + 3, min(ascent + 1, RULER_HEIGHT - 4), format_tick(ms, step))

    def _paint_slot(self, painter: QPainter) -> None:
        """The selected cue's slot as a band over the waveform lane, so a take that overruns it shows."""
        cue = self._cue(self._selected)
        if cue is None or cue.state == "skipped":
            return
        lane = self.wave_lane()
        start, end = self.slot_span(cue)
        x0, x1 = self.x_at(start), self.x_at(end)
        painter.fillRect(QRectF(x0, lane.top(), x1 - x0, lane.height()), SLOT_BAND)
        painter.setPen(QPen(SLOT_EDGE, 1, Qt.PenStyle.DashLine))
        for x in (round(x0), round(x1)):
            painter.drawLine(x, lane.top(), x, lane.bottom())

    def _paint_waveform(self, painter: QPainter) -> None:
        if self._samples is None or self.width() <= 0:
            return
        lo, hi = envelope_columns(self._samples, self._rate, self._wave_start_ms, self._window, self.width())
        lane = self.wave_lane()
        mid, half = lane.top() + lane.height() / 2, lane.height() / 2 - 1
        cols = np.flatnonzero(np.nan_to_num(np.maximum(np.abs(lo), np.abs(hi))) * half >= 0.5)  # silence: nothing
        if cols.size == 0:
            return
        tops = np.floor(mid - np.clip(hi[cols], -1, 1) * half).astype(int)
        bottoms = np.maximum(np.ceil(mid - np.clip(lo[cols], -1, 1) * half).astype(int), tops + 1)
        cue = self._cue(self._selected)
        if cue is None:
            inside = np.ones(cols.size, bool)
        else:
            start, end = self.slot_span(cue)
            times = self._window[0] + (cols + 0.5) * (self._window[1] - self._window[0]) / self.width()
            inside = (times >= start) & (times < end)
        for colour, mask in ((WAVE_COLOUR, inside), (WAVE_OVERFLOW, ~inside)):
            if mask.any():
                painter.setPen(QPen(colour, 1))
                painter.drawLines([QLine(c, t, c, b) for c, t, b in zip(cols[mask].tolist(), tops[mask].tolist(),
                                                                         bottoms[mask].tolist())])

    def _paint_cues(self, painter: QPainter) -> None:
        font = painter.font()
        font.setPointSizeF(8)
        painter.setFont(font)
        metrics = QFontMetrics(font)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        start, end = self._window
        for cue in self._draw_order():
            if cue.end_ms < start or cue.start_ms > end:
                continue
            rect = self.block_rect(cue)
            fill = STATE_COLOURS.get(cue.state, STATE_COLOURS["pending"])
            painter.fillRect(rect, fill)
            if cue.state == "skipped":
                painter.fillRect(rect, QBrush(SKIPPED_HATCH, Qt.BrushStyle.BDiagPattern))
            if cue.index == self._selected:
                painter.setPen(QPen(SELECTED_OUTLINE, 3))
                painter.drawRect(rect.adjusted(1.5, 1.5, -1.5, -1.5))
            else:
                painter.setPen(QPen(fill.darker(150), 1))
                painter.drawRect(rect.adjusted(0.5, 0.5, -0.5, -0.5))
            text_rect = rect.adjusted(5, 0, -5, 0)
            text = metrics.elidedText(f"{cue.index}  {cue.label}".rstrip(), Qt.TextElideMode.ElideRight,
                                      int(text_rect.width()))
            if text and text != "\u2026":  # a lone ellipsis says nothing
                painter.setPen(STATE_TEXT.get(cue.state, STATE_TEXT["pending"]))
                painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)

    def _paint_targets(self, painter: QPainter) -> None:
        """Each cue's original speech as a band under its block, the selected one brighter."""
        start, end = self._window
        for cue in self._draw_order():
            rect = self.target_rect(cue)
            if rect is None or cue.target is None or cue.target[1] < start or cue.target[0] > end:
                continue
            colour = TARGET_COLOUR if cue.index == self._selected else TARGET_COLOUR.darker(150)
            # One pixel short at each end, so back-to-back speech reads as two spans; the onset marked full height.
            painter.fillRect(rect.adjusted(1, 2, -1, -1), colour)
            painter.fillRect(QRectF(rect.left(), rect.top(), 2, rect.height()), colour.lighter(130))

    def _paint_playhead(self, painter: QPainter) -> None:
        if self._playhead is None:
            return
        x = round(self.x_at(self._playhead))
        if not 0 <= x <= self.width():
            return
        painter.setPen(QPen(PLAYHEAD, 1))
        painter.drawLine(x, 0, x, self.height())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(PLAYHEAD)
        painter.drawPolygon(QPolygonF([QPointF(x - 5, 0), QPointF(x + 5, 0), QPointF(x, 6)]))

    # -- helpers ------------------------------------------------------------------------------------

    def _cue(self, index: int | None) -> StripCue | None:
        if index is None:
            return None
        return next((c for c in self._cues if c.index == index), None)

    def _draw_order(self) -> list[StripCue]:
        """Cues in painting order: the selected one last, so it sits on top."""
        return sorted(self._cues, key=lambda c: c.index == self._selected)


def _span(start_ms: int, end_ms: int) -> str:
    return f"{format_tick(start_ms, 10)} – {format_tick(end_ms, 10)}"
