"""Painting the timeline strip: one pass over what is in view, waveforms read from peak pyramids."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QLine, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetrics, QImage, QPainter, QPen, QPolygonF

from dubber.ui.peaks import Peaks
from dubber.ui.timeline_style import (
    CUE_BACKGROUND, GHOST_EDGE, GHOST_FILL, LANE_SEPARATOR, ORIGINAL_WAVE, PAST_END, PAST_END_HATCH,
    PAST_END_MARK, PLAYHEAD, RULER_BACKGROUND, RULER_HEIGHT, RULER_TEXT, SELECTED_OUTLINE, SKIPPED_HATCH,
    SLOT_BAND, SLOT_EDGE, SNAP_GUIDE, SPEAKER_BACKGROUND, SPEAKER_TEXT, SPECTRUM_QUIETEST_DB, SPECTRUM_RANGE_DB,
    SPECTRUM_LUT, SPECTRUM_TOP_HZ, STATE_COLOURS, STATE_TEXT, TARGET_COLOUR, WAVE_BACKGROUND, WAVE_COLOUR,
    WAVE_OVERFLOW, format_tick, tick_step,
)

from dubber.ui.timeline_style import DRAWN_MARKS, MARK_FILL, MARK_HATCH, MARK_HEIGHT

if TYPE_CHECKING:
    from dubber.ui.timeline_strip import StripCue, TimelineStrip


def envelope_lines(lo: np.ndarray, hi: np.ndarray, rect: QRect) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Columns, tops and bottoms of the vertical lines that draw an envelope in rect; silent columns dropped."""
    mid, half = rect.top() + rect.height() / 2, rect.height() / 2 - 1
    cols = np.flatnonzero(np.nan_to_num(np.maximum(np.abs(lo), np.abs(hi))) * half >= 0.5)
    tops = np.floor(mid - np.clip(hi[cols], -1, 1) * half).astype(int)
    bottoms = np.maximum(np.ceil(mid - np.clip(lo[cols], -1, 1) * half).astype(int), tops + 1)
    return cols, tops, bottoms


def draw_lines(painter: QPainter, colour: QColor, cols: np.ndarray, tops: np.ndarray, bottoms: np.ndarray) -> None:
    if cols.size:
        painter.setPen(QPen(colour, 1))
        painter.drawLines([QLine(c, t, c, b) for c, t, b in zip(cols.tolist(), tops.tolist(), bottoms.tolist())])


class StripPainter:
    """Paints one frame of a TimelineStrip."""

    def __init__(self, strip: TimelineStrip, painter: QPainter) -> None:
        self.strip, self.p = strip, painter
        self.width = max(strip.width(), 1)
        start, end = strip.window()
        self.start, self.end = start, end
        margin = (end - start) // 20
        # The lanes once per frame: hundreds of blocks ask for them.
        self.lanes = {speaker: strip.speaker_lane(speaker) for speaker in strip.speakers()}
        self.take_lanes = {speaker: strip.take_lane(speaker) for speaker in strip.speakers()}
        self.visible = [c for c in strip.draw_order() if strip.in_view((c.extent[0] - margin, c.extent[1] + margin))]

    def paint(self) -> None:
        strip, p = self.strip, self.p
        p.fillRect(strip.rect(), RULER_BACKGROUND)
        p.fillRect(strip.original_lane(), WAVE_BACKGROUND)
        for speaker in strip.speakers():
            p.fillRect(strip.speaker_lane(speaker), CUE_BACKGROUND)
        self.ruler()
        self.original()
        self.block_fills()
        self.slot()
        self.takes()
        self.block_frames()
        self.marks()
        self.speakers()
        self.past_end()
        self.ghost()
        self.playhead()

    # -- lanes --------------------------------------------------------------------------------------

    def ruler(self) -> None:
        p, start, end = self.p, self.start, self.end
        step = tick_step(end - start, self.width)
        minor = step // (4 if str(step).startswith("2") else 5)
        px_per_ms = self.width / (end - start)
        p.setPen(QPen(RULER_TEXT, 1))
        if minor * px_per_ms >= 6:
            for ms in range(math.ceil(start / minor) * minor, end + 1, minor):
                x = round(self.strip.x_at(ms))
                p.drawLine(x, RULER_HEIGHT - 4, x, RULER_HEIGHT - 1)
        font = p.font()
        font.setPointSizeF(7.5)
        p.setFont(font)
        ascent = QFontMetrics(font).ascent()
        for ms in range(math.ceil(start / step) * step, end + 1, step):
            x = round(self.strip.x_at(ms))
            p.drawLine(x, RULER_HEIGHT - 9, x, RULER_HEIGHT - 1)
            p.drawText(x + 3, min(ascent + 1, RULER_HEIGHT - 4), format_tick(ms, step))

    def original(self) -> None:
        """The original audio (waveform or spectrogram) with each line's speech span shaded over it."""
        strip, p = self.strip, self.p
        lane = strip.original_lane()
        peaks = strip.original()
        if peaks is not None and strip.spectrogram():
            self.spectrum(lane)
        elif peaks is not None:
            lo, hi = peaks.columns(0, (self.start, self.end), self.width)
            draw_lines(p, ORIGINAL_WAVE, *envelope_lines(lo, hi, lane))
        selected = strip.selected()
        for cue in self.visible:
            rect = strip.target_rect(cue)
            if rect is None:
                continue
            colour = QColor(TARGET_COLOUR if cue.index == selected else TARGET_COLOUR.darker(140))
            colour.setAlpha(95 if cue.index == selected else 60)
            # One pixel short at the end, so back-to-back speech reads as two spans; the edges marked.
            p.fillRect(rect.adjusted(0, 0, -1, 0), colour)
            colour.setAlpha(230)
            p.fillRect(QRectF(rect.left(), rect.top(), 2, rect.height()), colour)
            p.fillRect(QRectF(rect.right() - 2, rect.top(), 1, rect.height()), colour)

    def spectrum(self, lane: QRect) -> None:
        maker = self.strip.spectrum()
        if maker is None or lane.height() <= 0:
            return
        db = maker.window((self.start, self.end), self.width)
        rows = min(db.shape[0], int(SPECTRUM_TOP_HZ / maker.bin_hz) + 1)
        shown = db[:rows][::-1]
        # The range follows the loudest part in view, so quiet recordings show as much as loud ones.
        ceiling = max(float(shown.max()), SPECTRUM_QUIETEST_DB)
        level = np.clip((shown - (ceiling - SPECTRUM_RANGE_DB)) / SPECTRUM_RANGE_DB, 0, 1)
        rgb = SPECTRUM_LUT[(level * 255).astype(np.uint8)]
        argb = np.empty(rgb.shape[:2], np.uint32)
        argb[:] = (0xFF << 24) | (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) \
            | rgb[..., 2].astype(np.uint32)
        data = argb.tobytes()  # held until drawn: the image reads it in place
        image = QImage(data, argb.shape[1], argb.shape[0], argb.shape[1] * 4, QImage.Format.Format_RGB32)
        self.p.drawImage(QRectF(lane), image)

    def takes(self) -> None:
        """Each take's waveform in its speaker's lane, where it plays; red past its slot.

        Every take of a lane goes into one envelope per colour, drawn in one call: a wide view holds
        hundreds of takes.
        """
        strip = self.strip
        chosen = strip.selected_take()
        envelopes: dict[tuple[str, bool], tuple[np.ndarray, np.ndarray]] = {}
        drawn = set()
        for cue in self.visible:
            if cue.state == "skipped":
                continue
            placed = strip.take_for(cue)
            if placed is not None:
                self.take(envelopes, placed.peaks, placed.start_ms, cue.speaker, strip.slot_span(cue))
                drawn.add(cue.index)
        if chosen is not None and chosen[0] not in drawn and strip.cue(chosen[0]) is None:
            # set_waveform's take with no line to belong to: the first lane, unjudged
            self.take(envelopes, chosen[1].peaks, chosen[1].start_ms, strip.speakers()[0], None)
        for (speaker, inside), (lo, hi) in envelopes.items():
            lines = envelope_lines(lo, hi, self.take_lanes[speaker])
            draw_lines(self.p, WAVE_COLOUR if inside else WAVE_OVERFLOW, *lines)

    def take(self, envelopes: dict[tuple[str, bool], tuple[np.ndarray, np.ndarray]], peaks: Peaks, start_ms: int,
             speaker: str, slot: tuple[int, int] | None) -> None:
        """Add a take to its lane's envelopes: (speaker, inside its slot) -> per-column (min, max)."""
        # Only the pixel columns the take covers are computed.
        x0 = max(0, math.floor(self.strip.x_at(start_ms)))
        x1 = min(self.width, math.ceil(self.strip.x_at(start_ms + peaks.duration_ms)) + 1)
        if x1 <= x0:
            return
        per_px = (self.end - self.start) / self.width
        if x1 - x0 <= 4:  # a take a few pixels wide (a wide view): its whole range, off the pyramid's top
            (top_lo, top_hi), count = peaks.levels[-1], x1 - x0
            lo, hi = np.repeat(top_lo[:1], count), np.repeat(top_hi[:1], count)
        else:
            lo, hi = peaks.columns(start_ms, (self.start + x0 * per_px, self.start + x1 * per_px), x1 - x0)
        if slot is None:
            inside = np.ones(x1 - x0, bool)
        else:
            times = self.start + (np.arange(x0, x1) + 0.5) * per_px
            inside = (times >= slot[0]) & (times < slot[1])
        for flag, mask in ((True, inside), (False, ~inside)):
            if not mask.any():
                continue
            if (speaker, flag) not in envelopes:
                envelopes[speaker, flag] = (np.full(self.width, np.nan, np.float32),
                                            np.full(self.width, np.nan, np.float32))
            lane_lo, lane_hi = envelopes[speaker, flag]
            # fmin and fmax skip NaN: a column without this take keeps what the lane had
            lane_lo[x0:x1] = np.where(mask, np.fmin(lane_lo[x0:x1], lo), lane_lo[x0:x1])
            lane_hi[x0:x1] = np.where(mask, np.fmax(lane_hi[x0:x1], hi), lane_hi[x0:x1])

    # -- blocks -------------------------------------------------------------------------------------

    def blocks_in_view(self) -> list[StripCue]:
        return [c for c in self.visible if c.end_ms >= self.start and c.start_ms <= self.end]

    def block_fills(self) -> None:
        """Each cue in view as a block: a title row in its state's colour over a dim body that holds its take."""
        strip, p = self.strip, self.p
        for cue in self.blocks_in_view():
            rect = strip.block_rect(cue)
            fill = STATE_COLOURS.get(cue.state, STATE_COLOURS["pending"])
            body = QColor(fill)
            body.setAlpha(70)
            p.fillRect(rect, body)
            p.fillRect(self.title_rect(cue, rect), fill)
            if cue.state == "skipped":
                p.fillRect(rect, QBrush(SKIPPED_HATCH, Qt.BrushStyle.BDiagPattern))
            if strip.past_end(cue):
                self.past_end_mark(rect)

    def title_rect(self, cue: StripCue, rect: QRectF) -> QRectF:
        bottom = min(self.take_lanes[cue.speaker].top() - 2, rect.bottom())
        return QRectF(rect.left(), rect.top(), rect.width(), bottom - rect.top())

    def block_frames(self) -> None:
        """Each block's outline (white when selected) and its title."""
        strip, p = self.strip, self.p
        font = p.font()
        font.setPointSizeF(8)
        p.setFont(font)
        metrics = QFontMetrics(font)
        for cue in self.blocks_in_view():
            rect = strip.block_rect(cue)
            if cue.index == strip.selected():
                p.setPen(QPen(SELECTED_OUTLINE, 2))
                p.drawRect(rect.adjusted(1, 1, -1, -1))
            else:
                p.setPen(QPen(STATE_COLOURS.get(cue.state, STATE_COLOURS["pending"]).lighter(115), 1))
                p.drawRect(rect.adjusted(0.5, 0.5, -0.5, -0.5))
            self.label(cue, self.title_rect(cue, rect), metrics)

    def slot(self) -> None:
        """The selected line's slot as a band across its take's lane, so a take that overruns it shows."""
        cue = self.strip.cue(self.strip.selected())
        if cue is None or cue.state == "skipped":
            return
        lane = self.strip.take_lane(cue.speaker)
        start, end = self.strip.slot_span(cue)
        x0, x1 = self.strip.x_at(start), self.strip.x_at(end)
        self.p.fillRect(QRectF(x0, lane.top(), x1 - x0, lane.height()), SLOT_BAND)
        self.p.setPen(QPen(SLOT_EDGE, 1, Qt.PenStyle.DashLine))
        for x in (round(x0), round(x1)):
            self.p.drawLine(x, lane.top(), x, lane.bottom())

    def label(self, cue: StripCue, title: QRectF, metrics: QFontMetrics) -> None:
        text_rect = title.adjusted(4, 0, -4, 0)
        if text_rect.width() < metrics.averageCharWidth() * 2 or text_rect.height() < 6:
            return  # no room for a word
        text = metrics.elidedText(f"{cue.index}  {cue.label}".rstrip(), Qt.TextElideMode.ElideRight,
                                  int(text_rect.width()))
        if text and text != "\u2026":  # a lone ellipsis says nothing
            self.p.setPen(STATE_TEXT.get(cue.state, STATE_TEXT["pending"]))
            self.p.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)

    def marks(self) -> None:
        """Each drawn timing problem: a red hatched band along the foot of its line's lane, where it lies (the
        stretch where two speeches overlap, where a take runs past its slot or the video)."""
        strip, p = self.strip, self.p
        for cue in self.visible:
            lane = self.lanes.get(cue.speaker)
            if lane is None:
                continue
            for mark in strip.marks(cue.index):
                if mark.kind not in DRAWN_MARKS or not strip.in_view((mark.start_ms, mark.end_ms)):
                    continue
                x0 = strip.x_at(mark.start_ms)
                band = QRectF(x0, lane.bottom() - MARK_HEIGHT, max(strip.x_at(mark.end_ms) - x0, 3.0), MARK_HEIGHT)
                p.fillRect(band, MARK_FILL)
                p.fillRect(band, QBrush(MARK_HATCH, Qt.BrushStyle.BDiagPattern))
                p.fillRect(QRectF(band.left(), band.top(), 2, band.height()), MARK_HATCH)
                p.fillRect(QRectF(band.right() - 2, band.top(), 2, band.height()), MARK_HATCH)

    def past_end_mark(self, rect: QRectF) -> None:
        """A bright bar along the bottom of a block that runs past the video's end."""
        duration = self.strip.duration()
        assert duration is not None
        x0 = max(rect.left(), min(self.strip.x_at(duration), rect.right()))
        self.p.fillRect(QRectF(rect.left(), rect.bottom() - 3, rect.width(), 4), PAST_END_MARK)
        self.p.fillRect(QRectF(x0, rect.top(), rect.right() - x0, rect.height()),
                        QBrush(PAST_END_MARK, Qt.BrushStyle.DiagCrossPattern))

    def speakers(self) -> None:
        """Each lane's speaker named at its left, over whatever lies there."""
        p = self.p
        font = p.font()
        font.setPointSizeF(8)
        font.setBold(True)
        p.setFont(font)
        metrics = QFontMetrics(font)
        for speaker in self.strip.speakers():
            lane = self.strip.speaker_lane(speaker)
            p.setPen(QPen(LANE_SEPARATOR, 1))
            p.drawLine(0, lane.bottom() + 1, self.width, lane.bottom() + 1)
            if not speaker:
                continue
            text = metrics.elidedText(speaker, Qt.TextElideMode.ElideRight, 120)
            box = QRectF(0, lane.bottom() - metrics.height() - 2, metrics.horizontalAdvance(text) + 10,
                         metrics.height() + 2)
            p.fillRect(box, SPEAKER_BACKGROUND)
            p.setPen(SPEAKER_TEXT)
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    # -- overlays -----------------------------------------------------------------------------------

    def past_end(self) -> None:
        """Everything after the video's end, darkened and hatched."""
        duration = self.strip.duration()
        if duration is None or duration >= self.end:
            return
        x = max(0.0, self.strip.x_at(duration))
        rect = QRectF(x, RULER_HEIGHT, self.width - x, self.strip.height() - RULER_HEIGHT)
        self.p.fillRect(rect, PAST_END)
        self.p.fillRect(rect, QBrush(PAST_END_HATCH, Qt.BrushStyle.BDiagPattern))
        self.p.setPen(QPen(PAST_END_MARK, 1))
        self.p.drawLine(QPointF(x, 0), QPointF(x, self.strip.height()))

    def ghost(self) -> None:
        """The dragged block at its new place, and the guide of what it snapped to."""
        preview = self.strip.drag_preview()
        if preview is None:
            return
        index, start, end, hit = preview
        cue = self.strip.cue(index)
        if cue is None:
            return
        rect = self.strip.block_rect(cue, (start, end))
        self.p.fillRect(rect, GHOST_FILL)
        self.p.setPen(QPen(GHOST_EDGE, 1, Qt.PenStyle.DashLine))
        self.p.drawRect(rect.adjusted(0.5, 0.5, -0.5, -0.5))
        if hit is not None:
            x = round(self.strip.x_at(hit.ms))
            self.p.setPen(QPen(SNAP_GUIDE, 1))
            self.p.drawLine(x, 0, x, self.strip.height())

    def playhead(self) -> None:
        ms = self.strip.playhead()
        if ms is None:
            return
        x = round(self.strip.x_at(ms))
        if not 0 <= x <= self.width:
            return
        p = self.p
        p.setPen(QPen(PLAYHEAD, 1))
        p.drawLine(x, 0, x, self.strip.height())
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setBrush(PLAYHEAD)
        p.drawPolygon(QPolygonF([QPointF(x - 5, 0), QPointF(x + 5, 0), QPointF(x, 6)]))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
