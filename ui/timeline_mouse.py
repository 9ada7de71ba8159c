"""What the mouse does on the timeline strip: drag a block's edge or body, seek, scrub and pan.

A press on a block selects its line and may start a drag: past a few pixels the block's ghost follows
the pointer, snapped (timeline_snap) unless Shift is held; the release reports the new span once.
Escape or another button cancels. A press anywhere else seeks; on the ruler, dragging scrubs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QMouseEvent

from dubber.ui.timeline_snap import CUE, PLAYHEAD, SPEECH, Candidate, Drag, frame_candidates
from dubber.ui.timeline_style import RULER_HEIGHT

if TYPE_CHECKING:
    from dubber.ui.timeline_strip import StripCue, TimelineStrip

SNAP_PX = 8  # an edge this close to a candidate lands on it
DRAG_START_PX = 3  # a block moves once the pointer has gone this far


def snap_candidates(cues: Sequence[StripCue], playhead: int | None, index: int) -> list[Candidate]:
    """What a dragged edge of cue `index` may snap to, frames aside: every line's original speech edges
    (its own included), the playhead and the other cues' edges."""
    found: list[Candidate] = []
    for cue in cues:
        if cue.target is not None:
            found += [Candidate(cue.target[0], SPEECH, cue.index), Candidate(cue.target[1], SPEECH, cue.index)]
        if cue.index != index:
            found += [Candidate(cue.start_ms, CUE, cue.index), Candidate(cue.end_ms, CUE, cue.index)]
    if playhead is not None:
        found.append(Candidate(playhead, PLAYHEAD))
    return found


class StripMouse:
    """The strip's pointer state: at most one of a drag, a scrub or a pan at a time."""

    def __init__(self, strip: TimelineStrip) -> None:
        self.strip = strip
        self._drag: Drag | None = None
        self._press_x = 0.0  # where the press that may start a drag happened
        self._ghost: tuple[int, int, Candidate | None] | None = None  # the dragged block's new place
        self._candidates: list[Candidate] = []
        self._scrubbing = False
        self._panning: tuple[float, tuple[int, int]] | None = None

    def drag(self) -> Drag | None:
        """The block held by the pointer (moved or not yet), or None."""
        return self._drag

    def preview(self) -> tuple[int, int, int, Candidate | None] | None:
        """The dragged block's index, new start and end, and what it snapped to; None until it moves."""
        if self._drag is None or self._ghost is None:
            return None
        return (self._drag.index, *self._ghost)

    def press(self, event: QMouseEvent) -> None:
        strip, button, pos = self.strip, event.button(), event.position()
        if self._drag is not None:  # another button while dragging cancels the drag
            if button != Qt.MouseButton.LeftButton:
                self.cancel()
            return
        if button == Qt.MouseButton.MiddleButton:
            self._panning = (pos.x(), strip.window())
            strip.setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if button != Qt.MouseButton.LeftButton:
            return
        hit = strip.hit_at(pos) if pos.y() > strip.original_lane().bottom() else None
        if hit is None:
            self._scrubbing = pos.y() < RULER_HEIGHT
            strip.seek_at(pos.x())
            return
        cue, part = hit
        self._drag = Drag(cue.index, part, cue.start_ms, cue.end_ms, strip.ms_at(pos.x()))
        self._press_x = pos.x()
        strip.lineClicked.emit(cue.index)

    def move(self, event: QMouseEvent) -> None:
        strip, pos = self.strip, event.position()
        if self._panning is not None:
            x0, (start, end) = self._panning
            strip.show_span(start - round((pos.x() - x0) * (end - start) / max(strip.width(), 1)), end - start)
        elif self._scrubbing:
            strip.seek_at(pos.x())
        elif self._drag is not None:
            if self._ghost is None and abs(pos.x() - self._press_x) < DRAG_START_PX:
                return
            if self._ghost is None:
                self._candidates = snap_candidates(strip.cues(), strip.playhead(), self._drag.index)
            self._ghost = self._dragged(pos.x(), event.modifiers())
            strip.blockDragging.emit(self._drag.index, self._ghost[0], self._ghost[1])
            strip.update()
        else:
            hit = strip.hit_at(pos) if pos.y() > strip.original_lane().bottom() else None
            if hit is not None and hit[1] != "body":
                strip.setCursor(Qt.CursorShape.SizeHorCursor)
            else:
                strip.unsetCursor()

    def release(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton and self._panning is not None:
            self._panning = None
            self.strip.unsetCursor()
        elif event.button() == Qt.MouseButton.LeftButton:
            self._scrubbing = False
            drag = self._drag
            if drag is not None and self._ghost is not None:
                start, end, _ = self._dragged(event.position().x(), event.modifiers())
                if (start, end) != (drag.start_ms, drag.end_ms):
                    self.strip.blockMoved.emit(drag.index, start, end)
            self.cancel()

    def cancel(self) -> None:
        """Drop the drag in progress, if any: the block stays where it was."""
        self._drag, self._ghost, self._candidates = None, None, []
        self.strip.update()

    def _dragged(self, x: float, modifiers: Qt.KeyboardModifier) -> tuple[int, int, Candidate | None]:
        """The dragged block's span with the pointer at x (Shift: unsnapped)."""
        assert self._drag is not None
        strip, drag = self.strip, self._drag
        pointer = strip.ms_at(x)
        if modifiers & Qt.KeyboardModifier.ShiftModifier:
            return drag.moved(pointer, [], 0)
        start, end = strip.window()
        tolerance = SNAP_PX * (end - start) / max(strip.width(), 1)
        candidates = self._candidates
        fps = strip.frame_rate()
        if fps is not None:  # only the frame boundaries near the edges that move
            delta = pointer - drag.anchor_ms
            near = {"start": [drag.start_ms], "end": [drag.end_ms]}.get(drag.part, [drag.start_ms, drag.end_ms])
            candidates = candidates + [c for ms in near for c in frame_candidates(ms + delta, fps, tolerance)]
        return drag.moved(pointer, candidates, tolerance)
