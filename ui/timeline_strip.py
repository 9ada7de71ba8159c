"""The timeline: a ruler, the original audio with its speech spans, and one lane of cue blocks per speaker.

Editors see whether each spoken line fits its slot and follows the actor, drag a block's edges or body
(snapping to the original speech, the playhead, other cues and frames), and seek by clicking. It takes
plain data (`StripCue`, numpy arrays, a take source) so it depends on no other dubber UI code.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from dubber.ui.peaks import Peaks, Spectrogram, Track, envelope_columns
from dubber.ui.timeline_paint import StripPainter
from dubber.ui.timeline_mouse import StripMouse
from dubber.ui.timeline_snap import Candidate
from dubber.ui.timeline_style import (
    CUE_BACKGROUND, LABEL_HEIGHT, LANE_MIN, LANE_PREFERRED, ORIGINAL_MAX, ORIGINAL_MIN, ORIGINAL_PREFERRED,
    PLAYHEAD, RULER_HEIGHT, SKIPPED_HATCH, STATE_COLOURS, STATE_WORDS, TARGET_COLOUR, WAVE_BACKGROUND,
    WAVE_COLOUR, WAVE_OVERFLOW, format_tick, span_text, tick_step,
)

__all__ = ["CUE_BACKGROUND", "PLAYHEAD", "SKIPPED_HATCH", "STATE_COLOURS", "TARGET_COLOUR", "WAVE_BACKGROUND",
           "WAVE_COLOUR", "WAVE_OVERFLOW", "StripCue", "TakeSource", "TimelineStrip", "envelope_columns",
           "format_tick", "tick_step"]

SELECT_MARGIN_MS = 2000
MIN_SPAN_MS = 200
MAX_SPAN_MS = 6 * 3600 * 1000
EDGE_PX = 5  # a press this close to a block's edge drags that edge
ZOOM_STEP = 1.5  # + and - change the visible span by this factor

TakeSource = Callable[[int], "tuple[np.ndarray, int, int] | None"]  # cue index -> (mono samples, rate, start ms)


TAKE_CACHE = 1000  # takes' waveforms kept (each holds its samples): more than a feature's lines in one view


@dataclass(frozen=True)
class StripMark:
    """A timing problem of one line where it lies on the timeline: marked on its lane, said in its tooltip."""

    index: int  # the line's cue index
    kind: str  # "overlap" | "cannot-fit" | "runs-past-end" are drawn; the rest only said
    words: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class StripCue:
    """One subtitle line as the strip shows it."""

    index: int  # cue index, as in the subtitle file
    start_ms: int
    end_ms: int
    label: str  # short text shown inside the block (elided to fit)
    state: str  # "ok" | "off" (out of sync) | "overlap" | "failed" | "pending" | "skipped" (not spoken)
    target: tuple[int, int] | None = None  # the original speech it follows (ms), shaded on the original lane
    slot: tuple[int, int] | None = None  # where its take lies: its onset and the latest it may end
    note: str = ""  # said in the tooltip: why it is not spoken, the take's note
    speaker: str = ""  # whose lane it sits in

    @property
    def extent(self) -> tuple[int, int]:
        """From the earliest to the latest of its cue, original speech and slot."""
        spans = [(self.start_ms, self.end_ms), *(s for s in (self.target, self.slot) if s is not None)]
        return min(s for s, _ in spans), max(e for _, e in spans)


@cache
def lane_heights(height: int, lanes: int) -> tuple[int, int]:
    """The original lane's height and each speaker lane's in a strip `height` px high with `lanes` speakers."""
    room = height - RULER_HEIGHT - 1
    original = min(max(round(room * 0.34), ORIGINAL_MIN), ORIGINAL_MAX)
    lane = max(LANE_MIN, (room - original) // lanes)
    if original + lanes * lane > room:  # too many speakers: the original lane gives way first
        original = max(ORIGINAL_MIN, room - lanes * lane)
    return original, lane


@dataclass(frozen=True)
class PlacedPeaks:
    """A take's waveform pyramid and where its first sample plays (video ms)."""

    peaks: Peaks
    start_ms: int


class TimelineStrip(QWidget):
    """Ruler on top, the original audio under it, then one lane per speaker with its blocks and takes."""

    lineClicked = Signal(int)  # cue index of the block pressed
    windowChanged = Signal(int, int)  # the visible range, whenever it changes
    seekRequested = Signal(int)  # ms clicked on the ruler, the original lane or empty lane space
    blockDragging = Signal(int, int, int)  # index, start ms, end ms of a block being dragged
    blockMoved = Signal(int, int, int)  # index, start ms, end ms when a drag ends somewhere new

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cues: tuple[StripCue, ...] = ()
        self._speakers: tuple[str, ...] = ("",)
        self._selected: int | None = None
        self._window = (0, 10_000)
        self._playhead: int | None = None
        self._duration: int | None = None
        self._fps: float | None = None
        self._original: Peaks | None = None
        self._spectrum: Spectrogram | None = None
        self._show_spectrogram = False
        self._take_source: TakeSource | None = None
        self._takes: OrderedDict[int, PlacedPeaks | None] = OrderedDict()  # least recently drawn first
        self._selected_take: tuple[int | None, PlacedPeaks] | None = None  # set_waveform's take and its line
        self._marks: dict[int, tuple[StripMark, ...]] = {}
        self._mouse = StripMouse(self)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)  # the resize cursor over a block's edge

    # -- data ---------------------------------------------------------------------------------------

    def set_cues(self, cues: Sequence[StripCue]) -> None:
        self._cues = tuple(cues)
        speakers = tuple(dict.fromkeys(c.speaker for c in self._cues)) or ("",)
        if speakers != self._speakers:
            self._speakers = speakers
            self.updateGeometry()
        self.update()

    def cues(self) -> tuple[StripCue, ...]:
        return self._cues

    def set_marks(self, marks: Sequence[StripMark]) -> None:
        """The lines' timing problems (overlaps, lines that cannot fit or run past the video's end …)."""
        grouped: dict[int, list[StripMark]] = {}
        for mark in marks:
            grouped.setdefault(mark.index, []).append(mark)
        self._marks = {index: tuple(found) for index, found in grouped.items()}
        self.update()

    def marks(self, index: int) -> tuple[StripMark, ...]:
        """A line's timing problems."""
        return self._marks.get(index, ())

    def speakers(self) -> tuple[str, ...]:
        """The lanes' speakers, top to bottom, in order of first appearance."""
        return self._speakers

    def set_selected(self, index: int | None) -> None:
        """Highlight the cue with this index and centre the window on it, its speech and slot (2 s either side).

        A block held by the pointer keeps the view where it is, so selecting it by pressing it moves nothing.
        """
        self._selected = index
        cue = self.cue(index)
        held = self._mouse.drag()
        if cue is not None and (held is None or held.index != index):
            start, end = cue.extent
            self.set_window(max(0, start - SELECT_MARGIN_MS), end + SELECT_MARGIN_MS)
        self.update()

    def selected(self) -> int | None:
        return self._selected

    def set_original(self, samples: Track | None, rate: int) -> None:
        """The video's own audio, [n] or [n, channels] (an array, or a DiskAudio read by ranges), drawn on the
        original lane."""
        self.set_original_peaks(None if samples is None else Peaks(samples, rate))

    def set_original_peaks(self, peaks: Peaks | None) -> None:
        """The original audio as a pyramid built elsewhere (a long track's takes a fraction of a second:
        a worker thread may build it)."""
        self._original = peaks
        self._spectrum = None  # made on first use
        self.update()

    def original(self) -> Peaks | None:
        return self._original

    def set_spectrogram(self, on: bool) -> None:
        """Show the original audio as a spectrogram (True) or a waveform (False)."""
        self._show_spectrogram = bool(on)
        self.update()

    def spectrogram(self) -> bool:
        return self._show_spectrogram

    def spectrum(self) -> Spectrogram | None:
        """The original audio's spectrogram maker, or None without original audio."""
        if self._spectrum is None and self._original is not None:
            self._spectrum = Spectrogram(self._original.samples, self._original.rate)
        return self._spectrum

    def set_take_source(self, source: TakeSource | None) -> None:
        """Where takes come from: cue index -> (mono samples, rate, ms its first sample plays) or None."""
        self._take_source = source
        self._takes.clear()
        self.update()

    def invalidate_takes(self, indices: Iterable[int] | None = None) -> None:
        """Forget the takes of these cues (all with None), so they are read again from the source."""
        if indices is None:
            self._takes.clear()
        else:
            for index in indices:
                self._takes.pop(index, None)
        self.update()

    def take_for(self, cue: StripCue) -> PlacedPeaks | None:
        """The take drawn for a cue: the one set_waveform gave for it, else the source's (read once)."""
        if self._selected_take is not None and self._selected_take[0] == cue.index:
            return self._selected_take[1]
        if cue.index not in self._takes:
            found = self._take_source(cue.index) if self._take_source is not None else None
            self._takes[cue.index] = None if found is None else PlacedPeaks(Peaks(found[0], found[1]), int(found[2]))
            while len(self._takes) > TAKE_CACHE:  # a long dub scrolled end to end keeps only the latest
                self._takes.popitem(last=False)
        else:
            self._takes.move_to_end(cue.index)
        return self._takes[cue.index]

    def set_waveform(self, samples: np.ndarray | None, rate: int, start_ms: int) -> None:
        """The selected line's take as placed on the timeline: its first sample plays at start_ms (video time).

        It is drawn in that line's lane in place of the source's take (in the first lane when no line is
        selected).
        """
        if samples is None:
            self._selected_take = None
        else:
            self._selected_take = (self._selected, PlacedPeaks(Peaks(samples, rate), int(start_ms)))
        self.update()

    def selected_take(self) -> tuple[int | None, PlacedPeaks] | None:
        return self._selected_take

    def waveform_start(self) -> int | None:
        """Where set_waveform's take's first sample lies (video ms), or None without one."""
        return None if self._selected_take is None else self._selected_take[1].start_ms

    def set_duration(self, ms: int | None) -> None:
        """The video's length: the time past it is shaded and bounds scrolling."""
        self._duration = None if ms is None else int(ms)
        self.update()

    def duration(self) -> int | None:
        return self._duration

    def set_frame_rate(self, fps: float | None) -> None:
        """The video's frame rate, for snapping to frame boundaries (None: no frame snapping)."""
        self._fps = None if fps is None or fps <= 0 else float(fps)

    def frame_rate(self) -> float | None:
        return self._fps

    def set_playhead(self, ms: int | None, follow: bool = False) -> None:
        """Move the playhead; with follow, page the view when it leaves it so it stays in sight."""
        self._playhead = None if ms is None else int(ms)
        start, end = self._window
        if follow and self._playhead is not None and not start <= self._playhead < end:
            span = end - start
            self.show_span(self._playhead - span // 10, span)
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

    def past_end(self, cue: StripCue) -> bool:
        """Whether the cue runs past the video's end."""
        return self._duration is not None and cue.end_ms > self._duration

    def drag_preview(self) -> tuple[int, int, int, Candidate | None] | None:
        """The block being dragged: its index, new start and end, and what it snapped to; None when none is."""
        return self._mouse.preview()

    # -- geometry -----------------------------------------------------------------------------------

    def ms_at(self, x: float) -> int:
        """The time (ms) at widget x."""
        start, end = self._window
        return round(start + x * (end - start) / max(self.width(), 1))

    def x_at(self, ms: int) -> float:
        """The widget x of a time (ms)."""
        start, end = self._window
        return (ms - start) * max(self.width(), 1) / (end - start)

    def _heights(self) -> tuple[int, int]:
        """The original lane's height and each speaker lane's."""
        return lane_heights(self.height(), len(self._speakers))

    def ruler_rect(self) -> QRect:
        return QRect(0, 0, self.width(), RULER_HEIGHT)

    def original_lane(self) -> QRect:
        """Where the original audio and its speech spans are drawn."""
        return QRect(0, RULER_HEIGHT + 1, self.width(), self._heights()[0])

    def target_lane(self) -> QRect:
        """Where the original speech spans are drawn: the original lane."""
        return self.original_lane()

    def speaker_lane(self, speaker: str) -> QRect:
        """The lane of a speaker's blocks and takes (the first lane for a speaker it does not know)."""
        original, lane = self._heights()
        row = self._speakers.index(speaker) if speaker in self._speakers else 0
        return QRect(0, RULER_HEIGHT + 1 + original + 1 + row * lane, self.width(), lane - 1)

    def cue_lane(self) -> QRect:
        """Where the cue blocks are drawn: every speaker's lane."""
        first, last = self.speaker_lane(self._speakers[0]), self.speaker_lane(self._speakers[-1])
        return QRect(0, first.top(), self.width(), last.bottom() - first.top() + 1)

    def take_lane(self, speaker: str) -> QRect:
        """Where a speaker's takes are drawn: their lane under the blocks' title row."""
        lane = self.speaker_lane(speaker)
        title = LABEL_HEIGHT if lane.height() >= 2 * LABEL_HEIGHT else lane.height() // 2
        return lane.adjusted(0, title + 2, 0, -2)

    def block_rect(self, cue: StripCue, span: tuple[int, int] | None = None) -> QRectF:
        """Where a cue's block is drawn (or would be, at span)."""
        lane = self.speaker_lane(cue.speaker)
        start, end = span if span is not None else (cue.start_ms, cue.end_ms)
        x0 = self.x_at(start)
        width = max(self.x_at(end) - x0, 2.0)  # a very short cue stays visible and clickable
        return QRectF(x0, lane.top() + 2, width, lane.height() - 4)

    def target_rect(self, cue: StripCue) -> QRectF | None:
        """Where a cue's original speech is shaded on the original lane, or None when it has none."""
        if cue.target is None:
            return None
        lane = self.original_lane()
        x0 = self.x_at(cue.target[0])
        return QRectF(x0, lane.top(), max(self.x_at(cue.target[1]) - x0, 2.0), lane.height())

    def slot_span(self, cue: StripCue) -> tuple[int, int]:
        """Where the cue's take may lie: its slot, or its cue when it has none."""
        return cue.slot if cue.slot is not None else (cue.start_ms, cue.end_ms)

    def in_view(self, span: tuple[int, int]) -> bool:
        start, end = self._window
        return span[1] >= start and span[0] <= end

    def hit_at(self, pos: QPointF) -> tuple[StripCue, str] | None:
        """The block under pos and the part pressed: "start" or "end" within EDGE_PX of an edge, else "body"."""
        best: tuple[float, StripCue, str] | None = None
        for cue in reversed(self.draw_order()):
            rect = self.block_rect(cue)
            if not rect.top() <= pos.y() <= rect.bottom():
                continue
            reach = min(EDGE_PX, rect.width() / 3)  # a narrow block keeps a middle to drag it by
            for part, x in (("start", rect.left()), ("end", rect.right())):
                distance = abs(pos.x() - x)
                if distance <= reach and (best is None or distance < best[0]):
                    best = (distance, cue, part)
            if best is None and rect.contains(pos):
                return cue, "body"
        return None if best is None else (best[1], best[2])

    def cue_at(self, pos: QPointF) -> StripCue | None:
        """The cue whose block lies under pos (the selected one wins where blocks overlap)."""
        for cue in reversed(self.draw_order()):
            if self.block_rect(cue).contains(pos):
                return cue
        return None

    def target_at(self, pos: QPointF) -> StripCue | None:
        """The cue whose original speech lies under pos."""
        for cue in reversed(self.draw_order()):
            rect = self.target_rect(cue)
            if rect is not None and rect.contains(pos):
                return cue
        return None

    def tooltip_at(self, pos: QPointF) -> str | None:
        """What the strip says about what lies under pos: a cue block or an original speech span."""
        cue = self.cue_at(pos)
        if cue is not None:
            text = f"#{cue.index}  {span_text(cue.start_ms, cue.end_ms)}  ({STATE_WORDS.get(cue.state, cue.state)})"
            if cue.target is not None:
                text += f"\noriginal speech {span_text(*cue.target)}"
            end = "past the video's end" if self.past_end(cue) else ""
            said = [mark.words for mark in self.marks(cue.index) if mark.words not in (cue.note, end)]
            return "\n".join(t for t in (text, end, *said, cue.note, cue.label) if t)
        cue = self.target_at(pos)
        if cue is not None:
            return f"Original speech of #{cue.index}: {span_text(*cue.target)}" if cue.target else None
        return None

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return QSize(800, RULER_HEIGHT + 2 + ORIGINAL_PREFERRED + len(self._speakers) * LANE_PREFERRED)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        """Every lane at its least: the window scrolls the strip when many speakers need more than it has."""
        return QSize(200, RULER_HEIGHT + 2 + ORIGINAL_MIN + len(self._speakers) * LANE_MIN)

    # -- the view -----------------------------------------------------------------------------------

    def scroll_limit(self) -> int | None:
        """The latest time worth scrolling to: the video's end or the last line's, whichever is later (the
        playhead's too while the video's length is unknown)."""
        if self._duration is not None:
            return max([self._duration, *(c.extent[1] for c in self._cues)])
        ends = [c.extent[1] for c in self._cues] + ([self._playhead] if self._playhead is not None else [])
        return max(ends) if ends else None

    def show_span(self, start: int, span: int) -> None:
        """Show span ms from start, kept within 0 and a tenth of a view past the end."""
        limit = self.scroll_limit()
        top = MAX_SPAN_MS if limit is None else max(MIN_SPAN_MS, limit + limit // 10)
        span = min(max(int(span), MIN_SPAN_MS), top)
        if limit is not None:
            start = min(start, limit + span // 10 - span)
        start = max(0, int(start))
        self.set_window(start, start + span)

    def zoom_by(self, factor: float, anchor_x: float) -> None:
        """Scale the visible span by factor, the time at anchor_x staying put."""
        start, end = self._window
        anchor = self.ms_at(anchor_x)
        span = round((end - start) * factor)
        self.show_span(round(anchor - anchor_x / max(self.width(), 1) * span), span)

    def pan_by(self, fraction: float) -> None:
        start, end = self._window
        self.show_span(start + round((end - start) * fraction), end - start)

    def zoom_to_selected(self) -> None:
        """Fit the view to the selected line, its speech and slot, with a tenth of it either side."""
        cue = self.cue(self._selected)
        if cue is not None:
            start, end = cue.extent
            margin = max((end - start) // 10, 50)
            self.show_span(start - margin, end - start + 2 * margin)

    # -- events -------------------------------------------------------------------------------------

    def seek_at(self, x: float) -> None:
        """Move the playhead to the time at x and ask the player to go there."""
        ms = max(0, self.ms_at(x))
        self.set_playhead(ms)
        self.seekRequested.emit(ms)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        event.accept()
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        self._mouse.press(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self._mouse.move(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        event.accept()
        self._mouse.release(event)

    def cancel_drag(self) -> None:
        """Drop the drag in progress: the block stays where it was and blockMoved is not emitted."""
        self._mouse.cancel()

    def key_action(self, event: QKeyEvent) -> Callable[[], None] | None:
        """What a key does on the focused strip, or None for a key it leaves to the window."""
        key, mods = event.key(), event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        plain = mods == Qt.KeyboardModifier.NoModifier
        typed = not mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                            | Qt.KeyboardModifier.MetaModifier)  # + may need Shift
        centre = self.width() / 2
        span = self._window[1] - self._window[0]
        if key == Qt.Key.Key_Escape:
            return self.cancel_drag if self._mouse.drag() is not None else None
        if typed and key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            return lambda: self.zoom_by(1 / ZOOM_STEP, centre)
        if typed and key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            return lambda: self.zoom_by(ZOOM_STEP, centre)
        if not plain:
            return None
        limit = self.scroll_limit()
        plain_keys: tuple[tuple[Qt.Key, Callable[[], None]], ...] = (
            (Qt.Key.Key_Left, lambda: self.pan_by(-0.1)),
            (Qt.Key.Key_Right, lambda: self.pan_by(0.1)),
            (Qt.Key.Key_Home, lambda: self.show_span(0, span)),
            (Qt.Key.Key_End, lambda: None if limit is None else self.show_span(limit + span // 10 - span, span)),
            (Qt.Key.Key_Z, self.zoom_to_selected),
        )
        return next((action for k, action in plain_keys if key == k), None)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        action = self.key_action(event)
        if action is None:
            super().keyPressEvent(event)
            return
        action()
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        """Wheel zooms around the pointer; horizontal wheel (or shift+wheel) pans."""
        delta = event.angleDelta()
        pan = delta.x() or (delta.y() if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 0)
        if pan:
            self.pan_by(-pan / 120 * 0.1)
        elif delta.y():
            self.zoom_by(0.8 ** (delta.y() / 120), event.position().x())
        event.accept()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and self.key_action(event) is not None:
            event.accept()  # the strip's own keys (Esc while dragging) win over the window's shortcuts
            return True
        if event.type() == QEvent.Type.ToolTip:
            text = self.tooltip_at(QPointF(event.pos()))
            if text is None:
                QToolTip.hideText()
                event.ignore()
            else:
                QToolTip.showText(event.globalPos(), text, self)
            return True
        return super().event(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        try:
            StripPainter(self, painter).paint()
        finally:
            painter.end()

    # -- helpers ------------------------------------------------------------------------------------

    def cue(self, index: int | None) -> StripCue | None:
        if index is None:
            return None
        return next((c for c in self._cues if c.index == index), None)

    def draw_order(self) -> list[StripCue]:
        """Cues in painting order: the selected one last, so it sits on top."""
        return sorted(self._cues, key=lambda c: c.index == self._selected)
