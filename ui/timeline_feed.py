"""What the timeline shows of the open session, and what its gestures do to it: every line's block in its
speaker's lane, each chosen take's waveform where it plays, the original audio (its waveform pyramid built on
a thread of its own, reading the track a block at a time: a feature film's sound takes seconds), the video's
length and frame rate; a seek moves the playhead, a dropped block is one undoable edit, the playhead follows
playback."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from dubber.pipeline.checks import timeline_marks
from dubber.pipeline.session import Session
from dubber.project.store import LineEntry
from dubber.ui.line_actions import LineActions
from dubber.ui.line_timing import placed_take, strip_cues, take_start_ms
from dubber.ui.peaks import Peaks
from dubber.ui.player import PreviewPlayer
from dubber.ui.timeline_strip import StripMark, TimelineStrip
from dubber.ui.transport import Transport


class TimelineFeed(QObject):
    """Feeds `strip` from the session given to `set_session`, and wires its gestures to the panel's actions."""

    _peaks_ready = Signal(object, object)  # the session they were built for, the Peaks (or None)

    def __init__(self, strip: TimelineStrip, player: PreviewPlayer, transport: Transport, edits: LineActions,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.strip, self.player = strip, player
        self.session: Session | None = None
        self._positions: dict[int, int] = {}  # line index -> its position in the session's lines, when last seen
        self._peaks_ready.connect(self._on_peaks)
        strip.seekRequested.connect(transport.seek)
        strip.blockMoved.connect(edits.move_block)
        # While a preview plays the playhead runs with it, and the view pages to keep it in sight.
        player.positionChanged.connect(
            lambda pos: strip.set_playhead(player.absolute_ms(pos), follow=player.is_playing()))

    def set_session(self, session: Session | None) -> None:
        """Show another session (None: nothing)."""
        self.session = session
        strip = self.strip
        strip.set_original_peaks(None)
        strip.set_take_source(self._take if session is not None else None)
        strip.invalidate_takes()
        self.refresh()
        if session is None:
            strip.set_duration(None)
            strip.set_frame_rate(None)
            return
        strip.set_duration(session.duration_ms)
        try:
            video = session.info.video_streams
            rate = video[0].frame_rate if video else None
        except Exception:  # an unreadable video shows no frames to snap to; opening it said why
            rate = None
        strip.set_frame_rate(float(rate) if rate else None)

        def build() -> None:
            try:
                original = session.original
                peaks = Peaks(original, session.rate) if original is not None else None
            except Exception:  # no original lane; the rest of the panel works without it
                peaks = None
            try:
                self._peaks_ready.emit(session, peaks)
            except RuntimeError:  # the window closed meanwhile
                pass

        threading.Thread(target=build, name="original-peaks", daemon=True).start()

    def refresh(self, positions: list[int] | None = None) -> None:
        """Draw every line as it stands now (after an edit: statuses and slots may all have moved), with its timing
        problems marked where they lie; the takes of the lines at `positions` (all with None) are read again."""
        session = self.session
        self.strip.set_cues(strip_cues(session) if session is not None else [])
        self.strip.set_marks([StripMark(index, problem.kind, problem.words, problem.start_ms, problem.end_ms)
                              for index, problem in timeline_marks(session)] if session is not None else [])
        lines = session.project.lines if session is not None else []
        changed = None if positions is None else [lines[p].index for p in positions if p < len(lines)]
        self.strip.invalidate_takes(changed)

    def _line(self, session: Session, index: int) -> LineEntry | None:
        """The line numbered `index` now: its position is remembered (a whole film in view asks for every
        line's take) and looked up again only when the line there is another."""
        lines = session.project.lines
        at = self._positions.get(index)
        if at is None or at >= len(lines) or lines[at].index != index:
            self._positions = {line.index: p for p, line in enumerate(lines)}
            at = self._positions.get(index)
        return lines[at] if at is not None else None

    def _take(self, index: int) -> tuple[np.ndarray, int, int] | None:
        session = self.session
        line = self._line(session, index) if session is not None else None
        if session is None or line is None or not line.spoken:
            return None
        clip = placed_take(session, line)
        if clip is None or clip.samples is None:
            return None
        return clip.samples, clip.sample_rate, take_start_ms(clip)

    @Slot(object, object)
    def _on_peaks(self, session: object, peaks: object) -> None:
        if session is self.session:
            self.strip.set_original_peaks(peaks if isinstance(peaks, Peaks) else None)
